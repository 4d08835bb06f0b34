"""Zn2+ exchange free energies as calcfunctions: each term a node of its own, so a paper can quote and a referee can
re-open every one.

ΔG = ΔE + ΔG_therm + ΔG_ss for [Zn(H2O)6]2+ + L -> [Zn(H2O)6-nL] + n H2O, where

- ΔE is the exchange energy of :mod:`.energies` (implicit water where computed);
- ΔG_therm = G_corr(complex) + n G_corr(H2O) - G_corr([Zn(H2O)6]2+) - G_corr(L): the quasi-RRHO thermal
  corrections (ZPE + H_thermal - TS, 1 atm ideal gas) of :func:`thermal_correction`, from each species' harmonic
  frequencies (scheme of :func:`~.thermochemistry.thermochemistry`: Grimme 2012 entropy, Head-Gordon 2015 enthalpy,
  as ``goodvibes -q``);
- ΔG_ss: the standard states, 1 M for the solutes and 55.34 M for the released water
  (:func:`~.thermochemistry.exchange_standard_state`).

The calibrated ΔG applies a fit against measured stability constants (:mod:`.calibration`); the shipped fits are
named by the level they were made for and are read with :func:`~.calibration.shipped_calibration`.
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import ExitCode, calcfunction

from .calibration import Calibration
from .thermochemistry import (
    SCHEMES,
    ThermoError,
    exchange_standard_state,
    rotational_symmetry_number,
    thermochemistry,
)

#: The defaults of :func:`thermal_correction`'s ``parameters`` (those of the labeller's ``LabelSettings``).
DEFAULT_THERMO = {'temperature': 298.15, 'scheme': 'qrrho', 'rotor_cutoff_cm': 100.0, 'max_imaginary_cm': 100.0}

EXIT_IMAGINARY_MODES = 320
EXIT_MODE_COUNT = 321


def check_thermo_parameters(parameters: dict) -> str | None:
    """Why ``parameters`` are no valid thermochemistry settings, or None."""
    unknown = sorted(set(parameters) - set(DEFAULT_THERMO) - {'calibration'})
    if unknown:
        return f'unknown thermochemistry setting(s) {", ".join(unknown)}; valid: {", ".join(DEFAULT_THERMO)}'
    settings = {**DEFAULT_THERMO, **parameters}
    if settings['scheme'] not in SCHEMES:
        return f'thermochemistry.scheme must be one of {SCHEMES}, got {settings["scheme"]!r}'
    for key in ('temperature', 'rotor_cutoff_cm', 'max_imaginary_cm'):
        value = settings[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or value < 0
            or (key == 'temperature' and not value)
        ):
            return f'thermochemistry.{key} must be a positive number, got {value!r}'
    return None


@calcfunction
def thermal_correction(frequencies: orm.ArrayData, structure: orm.StructureData, parameters: orm.Dict):
    """Quasi-RRHO (or RRHO) thermal correction of one species at its minimum: ``zpe``, ``enthalpy_correction``,
    ``entropy`` (eV/K), ``ts`` and ``gibbs_correction`` (eV), the rotational ``symmetry_number`` used and the
    ``frequencies`` (cm⁻¹, small imaginary ones as |ν|).

    ``parameters``: :data:`DEFAULT_THERMO` keys. Imaginary modes larger than ``max_imaginary_cm`` end with exit
    status 320 (the structure is a saddle point: its G would be meaningless); a frequency count other than 3N-6
    (3N-5) with 321.
    """
    settings = {**DEFAULT_THERMO, **{k: v for k, v in parameters.get_dict().items() if k in DEFAULT_THERMO}}
    atoms = structure.get_ase()
    symmetry = rotational_symmetry_number(atoms.get_chemical_symbols(), atoms.positions)
    try:
        thermo = thermochemistry(
            frequencies.get_array('frequencies'),
            atoms.get_masses(),
            atoms.positions,
            temperature=settings['temperature'],
            symmetry_number=symmetry,
            scheme=settings['scheme'],
            rotor_cutoff_cm=settings['rotor_cutoff_cm'],
            max_imaginary_cm=settings['max_imaginary_cm'],
        )
    except ThermoError as error:
        status = EXIT_IMAGINARY_MODES if error.reason == 'imaginary_modes' else EXIT_MODE_COUNT
        return ExitCode(status, str(error))
    return orm.Dict({**thermo.as_dict(), 'symmetry_number': symmetry, 'units': 'eV, eV/K, cm-1'})


# Seven inputs, as the graph shows them: each species' correction is its own node, so the arguments are positional.
@calcfunction
def exchange_free_energy(  # noqa: PLR0917
    exchange_energy: orm.Float,
    complex_thermal: orm.Dict,
    ligand_thermal: orm.Dict,
    hexaaqua_thermal: orm.Dict,
    water_thermal: orm.Dict,
    displaced_waters: orm.Int,
    ligand_is_water: orm.Bool,
) -> dict[str, orm.Float]:
    """ΔG of the exchange (eV) and its two corrections: ``thermal_contribution`` (ΔG_therm), ``standard_state_
    contribution`` (ΔG_ss) and ``exchange_free_energy`` = ΔE + both. The temperature is that of the thermal
    corrections, which must all share it."""
    species = (complex_thermal, ligand_thermal, hexaaqua_thermal, water_thermal)
    temperatures = {node['temperature'] for node in species}
    if len(temperatures) != 1:
        return ExitCode(322, f'thermal corrections at different temperatures: {sorted(temperatures)} K')
    displaced = displaced_waters.value
    thermal = (
        complex_thermal['gibbs_correction']
        + displaced * water_thermal['gibbs_correction']
        - hexaaqua_thermal['gibbs_correction']
        - ligand_thermal['gibbs_correction']
    )
    standard = exchange_standard_state(displaced, temperatures.pop(), ligand_is_water=ligand_is_water.value)
    return {
        'thermal_contribution': orm.Float(thermal),
        'standard_state_contribution': orm.Float(standard),
        'exchange_free_energy': orm.Float(exchange_energy.value + thermal + standard),
    }


@calcfunction
def calibrate_exchange_free_energy(
    free_energy: orm.Float, calibration: orm.Dict, charge: orm.Int, displaced_waters: orm.Int
) -> orm.Float:
    """ΔG calibrated against measured stability constants with ``calibration`` (a fit of :mod:`.calibration`, as
    :func:`~.calibration.shipped_calibration` reads it; its level, figures and source stay in the node)."""
    fitted = Calibration.from_dict(calibration.get_dict())
    return orm.Float(fitted.apply(free_energy.value, charge.value, displaced_waters.value))
