"""RedoxPotentialWorkChain with xtb (GFN2-xTB in ALPB water): calibrated one-electron reduction potentials against
measured ones (Wardman 1989, in data/calibration/redox_reduction_potentials.csv), the flags at the electrolyte's pH,
and bad input."""

from __future__ import annotations

import json

import pytest
from aiida import orm
from aiida.engine import run_get_node
from PIL import Image

from aiida_znadditive.analysis.redox import hydrogen_evolution, redox_potentials
from aiida_znadditive.provenance.redox import redox_table
from aiida_znadditive.provenance.report import write_tables
from aiida_znadditive.workchains.redox import RedoxPotentialWorkChain

# Measured E(Q/Q•-) and E(ArNO2/ArNO2•-), V vs SHE, pH 7 (Wardman, J. Phys. Chem. Ref. Data 1989, 18, 1637).
BENZOQUINONE, NITROBENZENE = 0.099, -0.485


def run(code, smiles, ph):
    return run_get_node(RedoxPotentialWorkChain, smiles=orm.Str(smiles), ph=orm.Float(ph), code=code)


def test_quinone_and_nitroarene_against_experiment(znadditive_codes, tmp_path):
    """Both within 0.25 V of experiment after the shipped calibration (its leave-one-out MAE is 0.11 V, worst
    0.29 V), benzoquinone above nitrobenzene; at pH 4.5 benzoquinone is reduced before hydrogen evolves
    (-0.27 V vs SHE) and nitrobenzene is not."""
    potentials, nodes = {}, []
    for smiles, measured in (('O=C1C=CC(=O)C=C1', BENZOQUINONE), ('O=[N+]([O-])c1ccccc1', NITROBENZENE)):
        results, node = run(znadditive_codes['xtb'], smiles, 7.0)
        assert node.is_finished_ok, node.exit_message
        value = results['reduction_potential'].value
        assert value == pytest.approx(measured, abs=0.25)
        assert results['reduction_potential'].creator.process_type.endswith('znadditive.redox_potentials')
        summary = results['summary'].get_dict()
        assert summary['calibration']['name'] == 'gfn2_xtb'
        assert summary['reduction_V_vs_zn'] == pytest.approx(value + 0.762)
        assert 'oxidation_raw_V_vs_she' in summary and summary['oxidised_inside_window'] is None
        potentials[smiles] = value
        nodes.append(node)
    assert potentials['O=C1C=CC(=O)C=C1'] > potentials['O=[N+]([O-])c1ccccc1']
    her = hydrogen_evolution(4.5)
    assert potentials['O=C1C=CC(=O)C=C1'] > her > potentials['O=[N+]([O-])c1ccccc1']
    # The paper layer: one row per WorkChain, each potential with the UUID of its node.
    table = redox_table(nodes)
    assert list(table['E_red']) == [potentials[node.inputs.smiles.value] for node in nodes]
    assert orm.load_node(table['E_red_uuid'][0]).value == table['E_red'][0]
    assert table['calibration'].tolist() == ['gfn2_xtb', 'gfn2_xtb'] and 'GFN2-xTB' in table['level'][0]
    written = write_tables('redox', nodes, tmp_path, formats=('csv', 'md'))
    assert written['files'] == ['redox.csv', 'redox.md', 'redox.png', 'redox.png.json']
    assert 'E_red_vs_zn' in (tmp_path / 'redox.md').read_text()
    sidecar = json.loads((tmp_path / 'redox.png.json').read_text())
    assert [row['value_uuid'] for row in sidecar['rows']] == list(table['E_red_uuid'])
    assert json.loads(Image.open(tmp_path / 'redox.png').info['aiida_uuids']) == [node.uuid for node in nodes]


def test_bad_smiles_is_named(znadditive_codes):
    _, node = run(znadditive_codes['xtb'], 'C1CC', 4.5)
    assert node.exit_status == RedoxPotentialWorkChain.exit_codes.ERROR_INVALID_SMILES.status


def test_a_missing_form_leaves_the_other_potential(aiida_profile):
    """Without the reduced form's energy only the oxidation is out; without a calibration, only raw values."""
    outputs = redox_potentials(orm.Float(-100.0), orm.Float(4.5), orm.Dict({}), oxidised=orm.Float(-93.0))
    assert set(outputs) == {'oxidation_potential_raw', 'summary'}
    assert outputs['oxidation_potential_raw'].value == pytest.approx(7.0 - 4.281)
    assert 'reduction_raw_V_vs_she' not in outputs['summary'].get_dict()
