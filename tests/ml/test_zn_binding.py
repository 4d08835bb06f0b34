"""Zn2+ exchange free energies in the order measured stability constants give them (real tblite numbers).

log K1 (25 °C, I = 0; data/calibration/zn_stability_constants.csv): EDTA4- 18.0, glycinate 5.38, acetate 1.58, so
ΔG_exp = -1.065, -0.318 and -0.093 eV. The raw GFN2-xTB ΔG overbinds acetate (monodentate carboxylates come out
0.2-0.3 eV too strong), so glycinate below acetate holds only after the shipped calibration; EDTA4- far below
glycinate holds in both.
"""

from __future__ import annotations

import pytest

from aiida_znadditive.ml.labels.xtb import label_molecule

AS_WRITTEN = {'ph': None}  # the species of each stability constant's definition


@pytest.fixture(scope='module')
def ligands() -> dict:
    names = {'EDTA4-': 'O=C([O-])CN(CC(=O)[O-])CCN(CC(=O)[O-])CC(=O)[O-]', 'glycinate': 'NCC(=O)[O-]'}
    names['acetate'] = 'CC(=O)[O-]'
    return {name: label_molecule(smiles, AS_WRITTEN) for name, smiles in names.items()}


def test_edta_is_hexadentate_and_far_below_glycinate(ligands):
    edta, glycinate = ligands['EDTA4-'], ligands['glycinate']
    assert edta['zn_denticity'] == 6 and edta['zn_binding_mode'].startswith('6-dentate')
    assert edta['zn_exchange_free_energy_ev'] < glycinate['zn_exchange_free_energy_ev'] - 0.5
    assert edta['zn_exchange_free_energy_calibrated_ev'] < glycinate['zn_exchange_free_energy_calibrated_ev'] - 0.5


def test_glycinate_below_acetate_after_calibration(ligands):
    glycinate, acetate = ligands['glycinate'], ligands['acetate']
    assert glycinate['zn_denticity'] == 2 and acetate['zn_denticity'] == 1
    assert glycinate['zn_exchange_free_energy_calibrated_ev'] < acetate['zn_exchange_free_energy_calibrated_ev']


def test_calibrated_values_near_experiment(ligands):
    """Within 0.25 eV (the largest leave-one-out error of the shipped fit) of -RT ln K1."""
    measured = {'EDTA4-': -1.065, 'glycinate': -0.318, 'acetate': -0.093}
    for name, row in ligands.items():
        assert row['zn_exchange_free_energy_calibrated_ev'] == pytest.approx(measured[name], abs=0.25), name
