"""Zn2+ exchange free energies in the order measured stability constants give them (real tblite numbers).

log K1 (25 °C, I = 0; data/calibration/zn_stability_constants.csv): EDTA4- 18.0, glycinate 5.38, acetate 1.58, so
ΔG_exp = -1.065, -0.318 and -0.093 eV. The raw GFN2-xTB ΔG overbinds acetate (monodentate carboxylates come out
0.2-0.3 eV too strong), so glycinate below acetate holds only after the shipped calibration; EDTA4- far below
glycinate holds in both.
"""

from __future__ import annotations

import pytest

from aiida_znadditive.analysis.calibration import Calibration
from aiida_znadditive.ml.labels.xtb import label_molecule
from aiida_znadditive.ml.labels.zn_binding import shipped_calibration

AS_WRITTEN = {'ph': None}  # the species of each stability constant's definition


@pytest.fixture(scope='module')
def ligands() -> dict:
    rows = {
        name: label_molecule(smiles, AS_WRITTEN)
        for name, smiles in (('glycinate', 'NCC(=O)[O-]'), ('acetate', 'CC(=O)[O-]'))
    }
    # EDTA4- from one start per mode (its nine modes from two starts take four minutes); the shipped calibration is
    # for two starts, so it is applied here by hand to the one-start ΔG.
    edta = label_molecule('O=C([O-])CN(CC(=O)[O-])CCN(CC(=O)[O-])CC(=O)[O-]', {**AS_WRITTEN, 'starts': 1})
    edta['zn_exchange_free_energy_calibrated_ev'] = shipped().apply(
        edta['zn_exchange_free_energy_ev'], edta['charge'], edta['zn_denticity']
    )
    return {**rows, 'EDTA4-': edta}


def shipped() -> Calibration:
    return Calibration.from_dict(shipped_calibration())


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
