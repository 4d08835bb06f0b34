"""Free-energy calcfunctions: the vibrational spectrum as xtb writes it, thermal corrections and their failures, the
exchange free energy's terms, calibration."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from ase import Atoms

from aiida_znadditive.analysis.calibration import shipped_calibration, shipped_calibration_names
from aiida_znadditive.analysis.free_energy import (
    EXIT_IMAGINARY_MODES,
    calibrate_exchange_free_energy,
    check_thermo_parameters,
    exchange_free_energy,
    thermal_correction,
)
from aiida_znadditive.analysis.thermochemistry import gas_to_1m, water_55m
from aiida_znadditive.calculators.xtb.parser import read_vibspectrum, vibrational_frequencies

# The vibspectrum file of xtb 6.5.1 --ohess for water in ALPB water (translations and rotations as zeros).
VIBSPECTRUM = """$vibrational spectrum
#  mode     symmetry     wave number   IR intensity    selection rules
#                         cm**(-1)      (km*mol⁻¹)       IR     RAMAN
     1                      -0.00         0.00000        -       -
     2                       0.00         0.00000        -       -
     3                       0.00         0.00000        -       -
     4                       0.00         0.00000        -       -
     5                       0.00         0.00000        -       -
     6                       0.00         0.00000        -       -
     7        a           1444.37       196.20595       YES     YES
     8        a           3595.16       129.23329       YES     YES
     9        a           3597.16        35.64857       YES     YES
$end
"""
WATER = Atoms('OH2', positions=[[0, 0, 0], [0, 0.7572, 0.5865], [0, -0.7572, 0.5865]])


def water_structure() -> orm.StructureData:
    atoms = WATER.copy()
    atoms.set_cell([10.0] * 3)
    return orm.StructureData(ase=atoms)


def frequencies_node(values) -> orm.ArrayData:
    node = orm.ArrayData()
    node.set_array('frequencies', np.asarray(values, dtype=float))
    return node


def test_vibspectrum_keeps_the_vibrations_only():
    wavenumbers = read_vibspectrum(VIBSPECTRUM)
    assert len(wavenumbers) == 9
    assert vibrational_frequencies(wavenumbers, WATER).tolist() == [1444.37, 3595.16, 3597.16]
    # An imaginary mode (a saddle point) is kept, as a negative number, and the six zeros are still dropped.
    saddle = wavenumbers.copy()
    saddle[6] = -250.0
    assert vibrational_frequencies(saddle, WATER).tolist() == [-250.0, 3595.16, 3597.16]


def test_a_saddle_point_has_no_thermal_correction():
    """A mode of 250i cm⁻¹ is beyond max_imaginary_cm (100): exit status 320 names it; 60i is treated as 60."""
    _, node = thermal_correction.run_get_node(
        frequencies_node([-250.0, 3595.16, 3597.16]), water_structure(), orm.Dict({})
    )
    assert node.exit_status == EXIT_IMAGINARY_MODES
    assert '-250.0' in node.exit_message
    result = thermal_correction(frequencies_node([-60.0, 3595.16, 3597.16]), water_structure(), orm.Dict({}))
    assert result['n_imaginary_treated'] == 1


def test_exchange_free_energy_terms():
    """ΔG = ΔE + ΔG_therm + ΔG_ss; a bidentate ligand: ΔG_ss = RT ln 24.46 + 2 RT ln 55.34."""
    corrections = {
        name: orm.Dict({'gibbs_correction': value, 'temperature': 298.15})
        for name, value in (('complex', 3.0), ('ligand', 1.0), ('hexaaqua', 2.5), ('water', 0.2))
    }
    result = exchange_free_energy(
        orm.Float(-0.5),
        corrections['complex'],
        corrections['ligand'],
        corrections['hexaaqua'],
        corrections['water'],
        orm.Int(2),
        orm.Bool(False),
    )
    assert result['thermal_contribution'].value == pytest.approx(3.0 + 0.4 - 2.5 - 1.0)
    assert result['standard_state_contribution'].value == pytest.approx(gas_to_1m() + 2 * water_55m())
    assert result['exchange_free_energy'].value == pytest.approx(
        -0.5 + result['thermal_contribution'].value + result['standard_state_contribution'].value
    )


def test_water_replacing_water_has_no_standard_state_term():
    corrections = [orm.Dict({'gibbs_correction': 0.5, 'temperature': 298.15}) for _ in range(4)]
    result = exchange_free_energy(orm.Float(0.0), *corrections, orm.Int(1), orm.Bool(True))
    assert result['exchange_free_energy'].value == pytest.approx(0.0)


def test_shipped_calibration_is_applied_as_fitted():
    assert 'gfn2_xtb' in shipped_calibration_names()
    fit = shipped_calibration('gfn2_xtb')
    calibrated = calibrate_exchange_free_energy(orm.Float(-1.0), orm.Dict(fit), orm.Int(-2), orm.Int(3))
    expected = fit['slope'] * -1.0 + fit['intercept'] + fit['charge_coefficient'] * -2 + fit['water_coefficient'] * 3
    assert calibrated.value == pytest.approx(expected)
    with pytest.raises(ValueError, match='no shipped calibration'):
        shipped_calibration('b3lyp_nowhere')


@pytest.mark.parametrize(
    ('settings', 'message'),
    [
        ({'scheme': 'qrrh'}, 'scheme'),
        ({'temperature': 0}, 'temperature'),
        ({'rotor_cutoff_cm': -5}, 'rotor_cutoff_cm'),
        ({'pressure': 1}, 'unknown thermochemistry setting'),
    ],
)
def test_bad_thermochemistry_settings_are_named(settings, message):
    assert message in check_thermo_parameters(settings)
    assert check_thermo_parameters({'temperature': 310.0, 'calibration': {'prerank': None}}) is None
