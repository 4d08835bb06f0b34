"""The Zn-O vibrational signature: the symmetric stretch of [Zn(H2O)6]2+ found by projection, against the measured
Raman band, on a GFN2-xTB (ALPB water) Hessian that xtb 6.5.1 wrote (`xtb zn.xyz --gfn 2 --chrg 2 --alpb water
--ohess`, files in data/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from aiida import orm
from ase.io import read

from aiida_znadditive.analysis.thermochemistry import frequencies_from_hessian
from aiida_znadditive.analysis.vibrations import (
    EXIT_BAD_HESSIAN,
    EXIT_NO_SHELL,
    EXIT_NO_ZINC,
    HEXAAQUA_RAMAN_CM,
    zn_o_stretch,
    zn_o_stretch_shift,
    zn_stretch,
)
from aiida_znadditive.calculators.xtb.parser import read_hessian, read_vibspectrum, vibrational_modes

DATA = Path(__file__).parent / 'data'


@pytest.fixture(scope='module')
def hexaaqua():
    atoms = read(DATA / 'zn_hexaaqua_gfn2_alpb.xyz')
    hessian = read_hessian((DATA / 'zn_hexaaqua_gfn2_alpb.hessian').read_text(), len(atoms))
    return atoms, hessian


def test_hessian_units_give_xtbs_own_frequencies(hexaaqua):
    """Read in eV/Å² and diagonalised here, the Hessian gives xtb's own 51 wavenumbers to 1 cm⁻¹: the unit
    conversion and mass weighting are right."""
    atoms, hessian = hexaaqua
    spectrum = (DATA / 'zn_hexaaqua_gfn2_alpb.vibspectrum').read_text()
    wavenumbers = read_vibspectrum(spectrum)
    xtb = wavenumbers[vibrational_modes(wavenumbers, atoms)]
    ours = frequencies_from_hessian(hessian, atoms.get_masses(), atoms.positions)
    assert len(ours) == len(xtb) == 51
    assert np.abs(ours - xtb).max() < 1.0


def test_hexaaqua_stretch_against_the_raman_band(hexaaqua):
    """One mode carries the whole breathing of the ZnO6 shell (the a1g stretch, IR-inactive); GFN2-xTB puts it at
    320 cm⁻¹, 18 % below the measured 390 cm⁻¹ (the Zn-O bond is 1.99 Å where experiment gives 2.06-2.08 Å, and the
    cluster lacks the second shell that stiffens the band in solution). The bounds hold that, and would catch the
    T1u stretch (449 cm⁻¹) or a bend (235 cm⁻¹) taken for it."""
    atoms, hessian = hexaaqua
    result = zn_stretch(hessian, atoms.get_chemical_symbols(), atoms.get_masses(), atoms.positions)
    assert result['share'] > 0.99
    assert result['shell_symbols'] == ['O'] * 6
    assert 300 < result['stretch_cm'] < 340
    assert result['stretch_cm'] == pytest.approx(HEXAAQUA_RAMAN_CM, rel=0.2)
    assert result['mean_stretch_cm'] == pytest.approx(result['stretch_cm'], abs=3)
    spectrum = (DATA / 'zn_hexaaqua_gfn2_alpb.vibspectrum').read_text()
    modes = vibrational_modes(read_vibspectrum(spectrum), atoms)
    intensities = read_vibspectrum(spectrum, column=-3)[modes]
    assert intensities[result['mode_index']] < 0.01  # a1g: no dipole change
    assert intensities.max() > 500  # the T1u stretch


def test_calcfunction_outputs_and_exit_codes(aiida_profile, hexaaqua):
    atoms, hessian = hexaaqua
    structure = orm.StructureData(ase=atoms)
    array = orm.ArrayData()
    array.set_array('hessian', hessian)
    result = zn_o_stretch(structure, array, orm.Float(2.6))
    assert result['share'] > 0.99
    assert zn_o_stretch_shift(result, result).value == 0.0
    _, node = zn_o_stretch.run_get_node(structure, array, orm.Float(1.5))
    assert node.exit_status == EXIT_NO_SHELL and '1.5 Å' in node.exit_message
    water = orm.StructureData(ase=atoms[1:4])
    small = orm.ArrayData()
    small.set_array('hessian', np.eye(9))
    _, node = zn_o_stretch.run_get_node(water, small, orm.Float(2.6))
    assert node.exit_status == EXIT_NO_ZINC
    _, node = zn_o_stretch.run_get_node(structure, small, orm.Float(2.6))
    assert node.exit_status == EXIT_BAD_HESSIAN
