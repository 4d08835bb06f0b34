"""ZnComplexationWorkChain with the cheap calculator (GFN2-xTB) at both levels: mechanics, physics, bad input.

The PySCF run of the same WorkChain is in ``test_complexation_pyscf.py`` (slower, marked integration).
"""

from __future__ import annotations

import pytest
from aiida import orm
from aiida.common.links import LinkType
from aiida.engine import run_get_node

from aiida_znadditive.workchains.complexation import ZnComplexationWorkChain, load_protocol_file
from aiida_znadditive.workchains.references import EXTRA


@pytest.fixture
def run_complexation(znadditive_codes):
    def factory(smiles: str, **kwargs):
        builder = ZnComplexationWorkChain.get_builder_from_protocol(
            znadditive_codes['xtb'], znadditive_codes['xtb'], smiles, dft_calculator='xtb', **kwargs
        )
        return run_get_node(builder)

    return factory


@pytest.mark.parametrize('protocol', ['fast', 'moderate', 'precise'])
def test_protocol_builder_regression(protocol, aiida_localhost, data_regression):
    code = orm.InstalledCode(computer=aiida_localhost, filepath_executable='/bin/true', label='regression')
    builder = ZnComplexationWorkChain.get_builder_from_protocol(code, code, 'CO', protocol=protocol)
    data = {
        'settings': builder.settings.get_dict(),
        'ph': builder.ph.value,
        'prerank_calculator': builder.prerank.calculator.value,
        'dft_calculator': builder.dft.calculator.value,
    }
    data_regression.check(data, basename=f'complexation_{protocol}')


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
    """Acetic acid at pH 7, computed as acetate, must beat methanol (neutral alcohol) for Zn2+ in water; both stay
    octahedral. At pH 4.5 the neutral acid dominates (pKa 4.76: 36 % acetate), so the pH is that of a buffered
    electrolyte here."""
    energies, free = {}, {}
    for smiles in ('CO', 'CC(=O)O'):
        results, node = run_complexation(smiles, ph=7.0)
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
        # The best mode is chosen in a calcfunction from the numbers that decide: the free energies here.
        mode = results['binding_mode']
        assert mode.creator.process_type.endswith('znadditive.best_binding_mode')
        assert mode['criterion'] == 'exchange_free_energy'
        assert mode['exchange_free_energy'] == pytest.approx(results['exchange_free_energy'].value)
        free[smiles] = check_free_energy_outputs(results, energies[smiles])
    species = results['species']
    assert (species['smiles'], species['charge'], species['ph']) == ('CC(=O)[O-]', -1, 7.0)
    assert results['binding_mode']['charge'] == 1  # [Zn(H2O)5(OAc)]+
    # Every calculation of the free ligand (cheap conformers, DFT relax, solvated single point) is of the anion.
    ligands = node.base.links.get_outgoing(link_type=LinkType.CALL_WORK, link_label_filter='%ligand%').all_nodes()
    assert len(ligands) >= 3
    assert {child.inputs.charge.value for child in ligands} == {-1}
    assert energies['CC(=O)O'] < energies['CO']
    assert -2.0 < energies['CO'] < 1.0
    # Against experiment (log K1 = 1.58, I = 0: ΔG = -0.093 eV; data/calibration/zn_stability_constants.csv): the
    # calibrated cheap-level ΔG of acetate within the calibration's leave-one-out error, about 0.1 eV.
    assert free['CC(=O)O'] == pytest.approx(-0.093, abs=0.1)
    # Methanol binds Zn2+ more weakly than water (no measurable complex in water): a calibrated ΔG above acetate's.
    assert free['CO'] > free['CC(=O)O']


def check_free_energy_outputs(results, exchange_energy: float) -> float:
    """ΔG = ΔE + ΔG_therm + ΔG_ss, each term an output made by a calcfunction; returns the calibrated cheap-level ΔG."""
    total = results['exchange_free_energy']
    assert total.creator.process_type.endswith('znadditive.exchange_free_energy')
    parts = exchange_energy + results['thermal_contribution'].value + results['standard_state_contribution'].value
    assert total.value == pytest.approx(parts)
    # A monodentate ligand: (n - 1) RT ln 24.46 + n RT ln 55.34 with n = 1 is RT ln 55.34 = 0.1031 eV.
    if results['displaced_waters'].value == 1:
        assert results['standard_state_contribution'].value == pytest.approx(0.1031, abs=1e-4)
    corrections = results['thermal_corrections']
    assert set(corrections) == {'complex', 'ligand', 'hexaaqua', 'water'}
    assert corrections['water']['symmetry_number'] == 2
    assert corrections['water']['n_imaginary_treated'] == 0
    # The dft level here is xtb (gas-phase relax): the protocol ships no calibration for it, only for the cheap level.
    assert 'exchange_free_energy_calibrated' not in results
    calibrated = results['prerank_exchange_free_energy_calibrated']
    assert calibrated.creator.process_type.endswith('znadditive.calibrate_exchange_free_energy')
    # The Zn-O signature from the cheap level's Hessians: [Zn(H2O)6]2+'s a1g stretch in one mode (GFN2 320 cm⁻¹,
    # Raman 390: tests/analysis/test_vibrations.py), the complex's shift beside it, each from a calcfunction.
    vibrations = results['vibrations']
    assert vibrations['hexaaqua']['share'] > 0.95 and 290 < vibrations['hexaaqua']['stretch_cm'] < 350
    assert vibrations['complex']['shell_symbols'].count('O') == 6
    shift = vibrations['zn_o_stretch_shift']
    assert shift.creator.process_type.endswith('znadditive.zn_o_stretch_shift')
    assert shift.value == pytest.approx(
        vibrations['complex']['mean_stretch_cm'] - vibrations['hexaaqua']['mean_stretch_cm']
    )
    assert abs(shift.value) < 100
    return calibrated.value


def test_references_are_computed_once(run_complexation):
    run_complexation('CO')
    _, node = run_complexation('CCO')
    # Every sub-process has a label naming its job, so `verdi process list -P pk label` tells them apart.
    workflows = [child for child in node.called_descendants if isinstance(child, orm.WorkChainNode)]
    assert workflows and all(child.label for child in workflows), [(c.pk, c.process_label) for c in workflows]
    tagged = (
        orm.QueryBuilder()
        .append(orm.WorkflowNode, filters={f'extras.{EXTRA}': {'like': 'hexaaqua|%'}}, project=[f'extras.{EXTRA}'])
        .all(flat=True)
    )
    assert len(tagged) == len(set(tagged)), 'a reference was computed twice'
    assert len(tagged) == 4  # cheap relax, DFT-level relax, solvated single point, cheap frequencies


@pytest.mark.parametrize(
    ('smiles', 'exit_code'),
    [
        ('C1CC', 'ERROR_INVALID_SMILES'),  # unclosed ring
        ('C[Si](C)(C)C[U]', 'ERROR_UNSUPPORTED_ELEMENTS'),  # uranium: no basis or parameters
        ('[CH3]', 'ERROR_RADICAL'),
        ('C[N+2]', 'ERROR_IMPOSSIBLE_CHARGE'),  # impossible formal charge
        ('C', 'ERROR_NO_DONOR'),
        ('C' * 30 + 'O', 'ERROR_TOO_LARGE'),  # too large for the protocol
    ],
)
def test_bad_ligand_exit_codes(run_complexation, smiles, exit_code):
    _, node = run_complexation(smiles)
    assert node.exit_status == ZnComplexationWorkChain.exit_codes[exit_code].status, node.exit_message
    assert smiles in node.exit_message
    # Nothing ran for a molecule that cannot work but the speciation, which the checks need (an amine's N is a donor
    # only when the pH leaves it unprotonated).
    assert [child.process_label for child in node.called] == ['speciate_additive']


def test_glycine_is_computed_as_its_zwitterion(run_complexation):
    """At pH 4.5 glycine is +H3N-CH2-COO- (pKa 2.34 and 9.60): the WorkChain records that species, neutral overall,
    builds its complexes from it (the ammonium N is no donor, so no mode binds through N) and computes the ligand as
    the zwitterion; the graph leads from the SMILES as written through the species to the candidates."""
    results, node = run_complexation('NCC(=O)O', ph=4.5)
    assert node.is_finished_ok, node.exit_message
    species = results['species']
    assert (species['smiles'], species['charge'], species['ph']) == ('[NH3+]CC(=O)[O-]', 0, 4.5)
    assert species.creator.inputs.smiles.value == 'NCC(=O)O'
    (candidates,) = [child for child in node.called if child.process_label == 'build_complexation_candidates']
    assert candidates.inputs.ligand.uuid == species.uuid
    modes = candidates.outputs.binding_modes
    assert modes['smiles'] == '[NH3+]CC(=O)[O-]'
    assert modes['ligand_charge'] == 0
    placed = [mode for mode in modes['modes'] if mode['placed']]
    assert placed
    assert all(set(mode['elements']) == {'O'} for mode in placed)
    assert not any('amine N' in mode['label'] for mode in modes['modes'])
    assert results['binding_mode']['charge'] == 2
    assert set(results['binding_mode']['kinds']) == {'carboxylate O'}
    # Quality checks in the graph: in ALPB water (the cheap level) the zwitterion and its complexes stay what they
    # were built as; the gas-phase relaxation of the DFT stage (here GFN2-xTB standing in for DFT) returns the proton
    # to the carboxylate, which dft_quality records.
    prerank = results['prerank_quality']
    assert prerank.creator.process_label == 'check_relaxed_complexes'
    assert any(key.startswith('ligand') for key in prerank['passed'])
    assert results['binding_mode']['structure'] in prerank['passed']
    assert any(problem.startswith('ligand_bonds_changed') for problem in results['dft_quality']['problems']['ligand'])


def test_glycinate_goes_on_as_its_chelate(run_complexation):
    """At pH 9.6 (its pKa) glycinate binds Zn2+ as the five-membered N,O chelate ([Zn(gly)(H2O)4]+, crystal
    structures and log K1 5.4 against acetate's 1.6). By ΔE at the cheap level a monodentate O mode ranks first (the
    chelate releases two waters, whose entropy ΔE does not see); the modes the DFT level relaxes are chosen by ΔG, so
    with `n_best` 1 the chelate is the one relaxed and reported. Every mode that passed the cheap level has its
    frequencies and a cheap ΔG in the graph."""
    results, node = run_complexation('NCC(=O)[O-]', ph=9.6)
    assert node.is_finished_ok, node.exit_message
    assert results['species']['smiles'] == 'NCC(=O)[O-]'
    mode = results['binding_mode']
    assert mode['denticity'] == 2
    assert sorted(mode['elements']) == ['N', 'O']
    assert results['displaced_waters'].value == 2
    passed = [key for key in results['prerank_quality']['passed'] if not key.startswith('ligand')]
    thermo = node.base.links.get_outgoing(link_type=LinkType.CALL_WORK, link_label_filter='thermo_%').all()
    assert {link.link_label for link in thermo} >= {f'thermo_{key}' for key in passed} | {'thermo_ligand'}
    labels = {link.link_label for link in node.base.links.get_outgoing(link_type=LinkType.CALL_WORK).all()}
    assert [key for key in passed if f'dft_{key}' in labels] == [mode['structure']]
    by_energy = [entry for entry in results['prerank_ranking']['ranking'] if entry['exchange_energy'] is not None]
    assert by_energy[0]['structure'] != mode['structure'], 'ΔE alone would have chosen the chelate too'
    # The chelate wins on ΔG, and the released water's entropy is what makes it win.
    assert results['standard_state_contribution'].value == pytest.approx(0.1031 * 2 + 0.0822, abs=2e-3)


@pytest.mark.parametrize(
    ('smiles', 'ph', 'charge'),
    [
        ('OC(=O)CN(CCN(CC(=O)O)CC(=O)O)CCN(CC(=O)O)CC(=O)O', 10.0, -5),  # DTPA5-: five carboxylates, amines free
        ('NCCCCNCCCN', 4.5, +3),  # spermidine: three ammonium groups
    ],
)
def test_species_with_an_impossible_charge_ends_with_its_exit_code(run_complexation, smiles, ph, charge):
    """A molecule that is a fine ligand as written but whose species at the pH has a charge outside -4..+2."""
    _, node = run_complexation(smiles, ph=ph)
    assert node.exit_status == ZnComplexationWorkChain.exit_codes.ERROR_SPECIES_CHARGE.status == 222
    assert smiles in node.exit_message
    assert f'net charge {charge:+d}' in node.exit_message
    assert [child.process_label for child in node.called] == ['speciate_additive']
    assert 'species' not in node.outputs


def test_ph_outside_0_to_14_is_refused_by_the_builder(aiida_localhost):
    code = orm.InstalledCode(computer=aiida_localhost, filepath_executable='/bin/true', label='regression')
    with pytest.raises(ValueError, match=r'pH 15.0 is outside 0..14'):
        ZnComplexationWorkChain.get_builder_from_protocol(code, code, 'CO', ph=15.0)
