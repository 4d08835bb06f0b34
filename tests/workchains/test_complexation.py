"""ZnComplexationWorkChain with the cheap calculator (GFN2-xTB) at both levels: mechanics, physics, bad input.

The PySCF run of the same WorkChain is in ``test_complexation_pyscf.py`` (slower, marked integration).
"""

from __future__ import annotations

import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_znadditive.workchains.complexation import ZnComplexationWorkChain, load_protocol_file
from aiida_znadditive.workchains.references import EXTRA

from ..regression import check_regression


@pytest.fixture
def run_complexation(znadditive_codes):
    def factory(smiles: str, **kwargs):
        builder = ZnComplexationWorkChain.get_builder_from_protocol(
            znadditive_codes['xtb'], znadditive_codes['xtb'], smiles, dft_calculator='xtb', **kwargs
        )
        return run_get_node(builder)

    return factory


@pytest.mark.parametrize('protocol', ['fast', 'moderate', 'precise'])
def test_protocol_builder_regression(protocol, aiida_localhost):
    code = orm.InstalledCode(computer=aiida_localhost, filepath_executable='/bin/true', label='regression')
    builder = ZnComplexationWorkChain.get_builder_from_protocol(code, code, 'CO', protocol=protocol)
    data = {
        'settings': builder.settings.get_dict(),
        'prerank_calculator': builder.prerank.calculator.value,
        'dft_calculator': builder.dft.calculator.value,
    }
    check_regression(data, f'complexation_{protocol}')


def test_unknown_protocol_is_named(aiida_localhost):
    code = orm.InstalledCode(computer=aiida_localhost, filepath_executable='/bin/true', label='regression')
    with pytest.raises(ValueError, match='Unknown protocol `slow`'):
        ZnComplexationWorkChain.get_builder_from_protocol(code, code, 'CO', protocol='slow')
    assert load_protocol_file()['default_protocol'] == 'fast'


def test_water_as_additive_exchanges_nothing(run_complexation):
    """Replacing a water by a water must cost nothing: |ΔE| < 0.05 eV, gas and solvated."""
    results, node = run_complexation('O')
    assert node.is_finished_ok, node.exit_message
    assert abs(results['exchange_energy'].value) < 0.05
    assert abs(results['exchange_energy_solvated'].value) < 0.05
    assert results['geometry']['coordination_number'] == 6
    assert results['binding_mode']['kinds'] == ['water O']


def test_methanol_and_acetate(run_complexation):
    """Acetate (anionic carboxylate) must beat methanol (neutral alcohol) for Zn2+ in water; both stay octahedral."""
    energies = {}
    for smiles in ('CO', 'CC(=O)[O-]'):
        results, node = run_complexation(smiles)
        assert node.is_finished_ok, node.exit_message
        geometry = results['geometry'].get_dict()
        assert geometry['coordination_number'] == 6
        assert all(1.8 < d < 2.3 for distances in geometry['distances'].values() for d in distances)
        assert geometry['octahedral_max_angle_deviation'] < 20
        energies[smiles] = results['exchange_energy_solvated'].value
        # Every number in the outputs comes from a calcfunction or calculation in the graph.
        assert results['exchange_energy_solvated'].creator.process_type.endswith('znadditive.exchange_energy')
        assert results['ligand_gap'].value == pytest.approx(results['ligand_lumo'].value - results['ligand_homo'].value)
        assert results['ligand_gap'].value > 3  # closed-shell organic molecules: large GFN2 gaps
    assert energies['CC(=O)[O-]'] < energies['CO']
    assert -2.0 < energies['CO'] < 1.0


def test_references_are_computed_once(run_complexation):
    run_complexation('CO')
    run_complexation('CCO')
    tagged = (
        orm.QueryBuilder()
        .append(orm.WorkflowNode, filters={f'extras.{EXTRA}': {'like': 'hexaaqua|%'}}, project=[f'extras.{EXTRA}'])
        .all(flat=True)
    )
    assert len(tagged) == len(set(tagged)), 'a reference was computed twice'
    assert len(tagged) == 3  # cheap relax, DFT-level relax, solvated single point


@pytest.mark.parametrize(
    ('smiles', 'exit_status'),
    [
        ('C1CC', 210),  # unclosed ring
        ('C[Si](C)(C)C[U]', 211),  # uranium: no basis or parameters
        ('[CH3]', 212),  # radical
        ('C[N+2]', 213),  # impossible formal charge
        ('C', 214),  # no donor atom
        ('C' * 30 + 'O', 215),  # too large for the protocol
    ],
)
def test_bad_ligand_exit_codes(run_complexation, smiles, exit_status):
    _, node = run_complexation(smiles)
    assert node.exit_status == exit_status
    assert smiles in node.exit_message
    assert not node.called  # nothing ran for a molecule that cannot work
