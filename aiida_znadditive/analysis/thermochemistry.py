"""Ideal-gas thermochemistry from a Hessian: harmonic frequencies, RRHO and quasi-RRHO free-energy corrections.

Binding free energies need G = E_el + G_corr for every species; this module turns a Cartesian Hessian into
vibrational wavenumbers and those into G_corr = ZPE + H_thermal - T·S at a given temperature and pressure.

Units: energies in eV per molecule, entropies in eV/K per molecule, lengths in Å, masses in amu, wavenumbers in
cm⁻¹ (imaginary ones as negative numbers), temperatures in K, pressures in Pa.

Pure numpy and importable without AiiDA: the GFN2-xTB labeller runs it in worker processes and the WorkChains
wrap it. Constants are CODATA 2018 (exact SI values for h, k_B, N_A, e).

References:
    S. Grimme, Chem. Eur. J. 2012, 18, 9955: quasi-RRHO entropy (harmonic ↔ free-rotor interpolation).
    Y.-P. Li, J. Gomes, S. M. Sharada, A. T. Bell, M. Head-Gordon, J. Phys. Chem. C 2015, 119, 1840: the damping
        function w(ν) = 1/(1+(ν0/ν)^4) and the quasi-harmonic enthalpy.
    G. Luchini, J. V. Alegre-Requena, I. Funes-Ardoiz, R. S. Paton, F1000Research 2020, 9, 291 (GoodVibes): the
        combination of both (``goodvibes -q``) that ``scheme='qrrho'`` reproduces.
    D. A. McQuarrie, J. D. Simon, Molecular Thermodynamics (1999), ch. 4-5: the ideal-gas RRHO formulas.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

# CODATA 2018 (SI exact where defined).
PLANCK = 6.62607015e-34  # J s
BOLTZMANN = 1.380649e-23  # J/K
AVOGADRO = 6.02214076e23  # 1/mol
SPEED_OF_LIGHT_CM = 2.99792458e10  # cm/s
ELECTRONVOLT = 1.602176634e-19  # J
AMU = 1.66053906660e-27  # kg
ANGSTROM = 1e-10  # m
BOLTZMANN_EV = BOLTZMANN / ELECTRONVOLT  # eV/K

STANDARD_PRESSURE = 101325.0  # Pa, 1 atm: the reference of most quantum-chemistry codes (Gaussian, xtb, GoodVibes)
STANDARD_CONCENTRATION = 1000.0  # mol/m³, i.e. 1 mol/L

#: Grimme's average moment of inertia for the free-rotor limit (Chem. Eur. J. 2012, 18, 9955), kg m².
GRIMME_AVERAGE_MOMENT = 1e-44

#: Liquid water is 55.34 mol/L at 298.15 K (0.99705 g/mL / 18.0153 g/mol).
WATER_MOLARITY = 55.34

#: Smallest principal moment (amu·Å²) below which a molecule counts as linear; xtb uses 3e-4, the same scale.
LINEAR_MOMENT_TOLERANCE = 1e-3

SCHEMES = ('rrho', 'qrrho')

# eigenvalue of the mass-weighted Hessian, eV/(Å² amu), to angular frequency squared, 1/s²
_EIGENVALUE_TO_OMEGA2 = ELECTRONVOLT / (ANGSTROM**2 * AMU)


class ThermoError(ValueError):
    """The input does not describe a minimum the thermochemistry applies to.

    ``reason`` is machine-readable: ``'imaginary_modes'`` (``values`` holds the offending wavenumbers, cm⁻¹),
    ``'zero_modes'`` (wavenumbers of exactly 0), ``'mode_count'`` (not 3N-6 / 3N-5 frequencies).
    """

    def __init__(self, reason: str, message: str, values: Sequence[float] = ()):
        super().__init__(message)
        self.reason = reason
        self.values = [float(value) for value in values]


@dataclass(frozen=True)
class Thermo:
    """Thermal corrections of one species; G = E_el + ``gibbs_correction``. Energies in eV, entropies in eV/K."""

    scheme: str
    temperature: float  # K
    pressure: float  # Pa
    zpe: float  # harmonic zero-point energy, sum of hν/2 over all modes
    enthalpy_correction: float  # H - E_el, ZPE included ('qrrho': low modes' hν/2 + thermal damped towards kT/2)
    entropy: float  # total S
    entropy_translational: float
    entropy_rotational: float
    entropy_vibrational: float
    entropy_electronic: float
    ts: float  # T·S
    gibbs_correction: float  # G - E_el = enthalpy_correction - ts
    n_imaginary_treated: int  # imaginary modes taken as real (|ν|) because |ν| <= max_imaginary_cm
    frequencies: tuple[float, ...]  # the wavenumbers used, cm⁻¹ (treated imaginary ones as |ν|)

    def as_dict(self) -> dict:
        return {**asdict(self), 'frequencies': list(self.frequencies), 'units': 'eV, eV/K, K, Pa, cm^-1'}


# ---------------------------------------------------------------------------------------------------------------------
# Geometry helpers


def principal_moments(masses_amu, positions_A) -> np.ndarray:
    """Principal moments of inertia (amu·Å², ascending) about the centre of mass."""
    masses = np.asarray(masses_amu, dtype=float)
    positions = np.asarray(positions_A, dtype=float).reshape(-1, 3)
    centred = positions - masses @ positions / masses.sum()
    tensor = np.einsum('i,ij,ik->jk', masses, centred, centred)
    inertia = np.trace(tensor) * np.eye(3) - tensor
    return np.clip(np.linalg.eigvalsh(inertia), 0.0, None)


def is_linear(masses_amu, positions_A) -> bool:
    """True for diatomics and linear polyatomics (smallest principal moment < ``LINEAR_MOMENT_TOLERANCE``)."""
    if len(np.asarray(masses_amu)) < 2:
        return False
    return bool(principal_moments(masses_amu, positions_A)[0] < LINEAR_MOMENT_TOLERANCE)


def _resolve_linear(masses, positions, linear: bool | None) -> bool:
    """``linear`` as given, checked against the geometry, or detected from it when None.

    ``linear=True`` may be forced on a nearly linear geometry (a loosely optimised CO2, smallest moment up to 1% of
    the largest): the rotation about its axis then counts as a (soft) vibration. ``linear=False`` on an exactly
    linear geometry has no third rotation to project out and is refused.
    """
    detected = is_linear(masses, positions)
    if linear is None or len(masses) == 1:
        return detected
    moments = principal_moments(masses, positions)
    if linear and moments[0] > 0.01 * moments[-1]:
        raise ValueError(f'linear=True, but the principal moments {moments} amu·Å² are not those of a linear molecule')
    if not linear and moments[0] < 1e-8 * moments[-1]:
        raise ValueError('linear=False, but the geometry is linear (no third rotation)')
    return bool(linear)


def n_vibrations(masses_amu, positions_A, linear: bool | None = None) -> int:
    """3N-6, 3N-5 for linear molecules, 0 for atoms."""
    masses = np.asarray(masses_amu, dtype=float)
    if len(masses) == 1:
        return 0
    linear = _resolve_linear(masses, np.asarray(positions_A, dtype=float).reshape(-1, 3), linear)
    return 3 * len(masses) - (5 if linear else 6)


# ---------------------------------------------------------------------------------------------------------------------
# Hessian → frequencies


def finite_difference_hessian(
    gradient_fn: Callable[[np.ndarray], np.ndarray], positions, step: float = 0.005
) -> np.ndarray:
    """Cartesian Hessian (3N x 3N, eV/Å²) by central differences of analytic gradients, symmetrised.

    ``gradient_fn(positions)`` takes an (N, 3) array in Å and must return the GRADIENT dE/dx in eV/Å, shape (N, 3)
    (the negative of the forces; wrap a force callable as ``lambda x: -forces(x)``). Costs 6N gradient calls.
    ``step`` is in Å; xtb displaces by 0.005 bohr (0.0026 Å). The truncation error is O(step²), the SCF noise of
    the gradient is amplified by 1/(2 step); for GFN2-xTB water (tblite, default accuracy) steps of 0.0025, 0.005
    and 0.01 Å give frequencies within 0.9 cm⁻¹ of each other.

    Row 3i+a is d(gradient)/d(x_ia); the average with the transpose removes the antisymmetric part of the
    numerical noise.
    """
    positions = np.asarray(positions, dtype=float).reshape(-1, 3)
    n_coordinates = positions.size
    hessian = np.empty((n_coordinates, n_coordinates))
    for index in range(n_coordinates):
        displaced = positions.copy()
        displaced.flat[index] += step
        plus = np.asarray(gradient_fn(displaced.copy()), dtype=float).reshape(-1)
        displaced.flat[index] -= 2 * step
        minus = np.asarray(gradient_fn(displaced.copy()), dtype=float).reshape(-1)
        hessian[index] = (plus - minus) / (2 * step)
    return 0.5 * (hessian + hessian.T)


def _external_basis(masses: np.ndarray, positions: np.ndarray, n_external: int) -> np.ndarray:
    """Orthonormal basis (3N x 3N) whose first ``n_external`` columns span mass-weighted translations + rotations.

    Eckart conditions: a translation along e_k moves atom i by e_k, a rotation about e_k by e_k × r_i (r_i from the
    centre of mass); in mass-weighted coordinates both are multiplied by sqrt(m_i). The SVD orders the span by
    singular value, so for a linear molecule the rotation about its axis (a zero vector) is the one left out.
    """
    sqrt_m = np.sqrt(masses)
    centred = positions - masses @ positions / masses.sum()
    vectors = []
    for axis in np.eye(3):
        vectors.append((sqrt_m[:, None] * axis[None, :]).reshape(-1))
    for axis in np.eye(3):
        vectors.append((sqrt_m[:, None] * np.cross(axis, centred)).reshape(-1))
    basis, _, _ = np.linalg.svd(np.array(vectors).T, full_matrices=True)
    return basis


def frequencies_from_hessian(hessian_ev_per_A2, masses_amu, positions_A, linear: bool | None = None) -> np.ndarray:
    """Harmonic vibrational wavenumbers (cm⁻¹, ascending, imaginary ones negative) of a Cartesian Hessian.

    The Hessian (3N x 3N, eV/Å²) is mass-weighted, translations and rotations are projected out (Eckart) by
    diagonalising it in the orthogonal complement of their span, so exactly 3N-6 (3N-5 for ``linear``; detected
    from the moments of inertia when None) wavenumbers come back and none of them is a numerically-zero external
    mode. Away from a stationary point the rotations are not exact zero modes of the Hessian; the projection is then
    done all the same (as Gaussian, xtb and ORCA do), but the frequencies describe no minimum.
    """
    masses = np.asarray(masses_amu, dtype=float)
    positions = np.asarray(positions_A, dtype=float).reshape(-1, 3)
    hessian = np.asarray(hessian_ev_per_A2, dtype=float)
    n_atoms = len(masses)
    if hessian.shape != (3 * n_atoms, 3 * n_atoms) or positions.shape != (n_atoms, 3):
        raise ValueError(
            f'shapes do not match: hessian {hessian.shape}, masses {masses.shape}, positions {positions.shape}'
        )
    if n_atoms == 1:
        return np.empty(0)
    return normal_modes(hessian, masses, positions, linear)[0]


def normal_modes(hessian_ev_per_A2, masses_amu, positions_A, linear: bool | None = None):
    """Wavenumbers (as :func:`frequencies_from_hessian`) and the Cartesian displacement of each mode (3N x n_vib,
    columns of unit length, in Å): the direction to follow out of a saddle point."""
    masses = np.asarray(masses_amu, dtype=float)
    positions = np.asarray(positions_A, dtype=float).reshape(-1, 3)
    hessian = np.asarray(hessian_ev_per_A2, dtype=float)
    n_atoms = len(masses)
    n_vib = n_vibrations(masses, positions, linear)
    n_external = 3 * n_atoms - n_vib
    inv_sqrt_m = np.repeat(1.0 / np.sqrt(masses), 3)
    weighted = hessian * np.outer(inv_sqrt_m, inv_sqrt_m)
    weighted = 0.5 * (weighted + weighted.T)
    internal = _external_basis(masses, positions, n_external)[:, n_external:]
    eigenvalues, vectors = np.linalg.eigh(internal.T @ weighted @ internal)
    omega = np.sqrt(np.abs(eigenvalues) * _EIGENVALUE_TO_OMEGA2)  # rad/s
    displacements = inv_sqrt_m[:, None] * (internal @ vectors)
    displacements /= np.linalg.norm(displacements, axis=0)
    return np.sign(eigenvalues) * omega / (2 * np.pi * SPEED_OF_LIGHT_CM), displacements


# ---------------------------------------------------------------------------------------------------------------------
# Frequencies → thermochemistry


def _check_frequencies(
    frequencies: np.ndarray, expected: int, max_imaginary_cm: float | None
) -> tuple[np.ndarray, int]:
    if len(frequencies) != expected:
        raise ThermoError(
            'mode_count',
            f'{len(frequencies)} frequencies given, the molecule has {expected} vibrations (3N-6, 3N-5 if linear); '
            'pass only the vibrational ones (frequencies_from_hessian returns exactly these)',
        )
    zero = frequencies[frequencies == 0.0]
    if len(zero):
        raise ThermoError('zero_modes', f'{len(zero)} frequencies are exactly 0 cm^-1: not a vibration', zero)
    imaginary = frequencies[frequencies < 0.0]
    limit = -1.0 if max_imaginary_cm is None else float(max_imaginary_cm)
    too_large = imaginary[np.abs(imaginary) > limit]
    if len(too_large):
        raise ThermoError(
            'imaginary_modes',
            f'imaginary frequencies {[round(float(value), 1) for value in too_large]} cm^-1 (given as negative '
            f'numbers): not a minimum. Re-optimise, or pass max_imaginary_cm to treat small ones as real '
            f'(now {max_imaginary_cm})',
            too_large,
        )
    return np.abs(frequencies), len(imaginary)


def rotational_symmetry_number(symbols: Sequence[str], positions_A) -> int:
    """σ, the number of proper rotations of the point group (pymatgen, tolerance 0.3 Å): 2 for water.

    A relaxed cluster is rarely exactly symmetric; 0.3 Å is pymatgen's default tolerance and recognises water's C2v
    and methane's Td. Known limit: pymatgen lists 3 instead of 12 operations for the T point group (measured on the
    built hexaaqua ion); the difference, k_BT ln 4 = 0.036 eV, shifts every exchange energy alike and is absorbed
    by the calibration's intercept.
    """
    if len(symbols) < 2:
        return 1
    from pymatgen.core import Molecule
    from pymatgen.symmetry.analyzer import PointGroupAnalyzer

    analyser = PointGroupAnalyzer(Molecule(list(symbols), np.asarray(positions_A, dtype=float)), tolerance=0.3)
    return max(1, sum(1 for op in analyser.get_symmetry_operations() if np.linalg.det(op.rotation_matrix) > 0))


def harmonic_entropy(frequencies_cm, temperature: float) -> np.ndarray:
    """Per-mode harmonic-oscillator entropy S/k_B = x/(e^x-1) - ln(1-e^-x), x = hcν/(k_B T) (dimensionless)."""
    x = PLANCK * SPEED_OF_LIGHT_CM * np.asarray(frequencies_cm, dtype=float) / (BOLTZMANN * temperature)
    return x / np.expm1(x) - np.log(-np.expm1(-x))


def free_rotor_entropy(frequencies_cm, temperature: float, average_moment: float = GRIMME_AVERAGE_MOMENT) -> np.ndarray:
    """Per-mode free-rotor entropy S/k_B of Grimme's quasi-RRHO (Chem. Eur. J. 2012, 18, 9955, eqs 4-6).

    A mode of frequency ν is a rotor with moment μ = h/(8π²ν); μ' = μ B_av/(μ + B_av) caps it at the average
    molecular moment B_av (kg m²) so that ν → 0 does not give an infinite entropy.
    S_R/k_B = 1/2 + ln[(8π³ μ' k_B T / h²)^(1/2)].
    """
    nu = SPEED_OF_LIGHT_CM * np.asarray(frequencies_cm, dtype=float)  # Hz
    mu = PLANCK / (8 * np.pi**2 * nu)
    mu_eff = mu * average_moment / (mu + average_moment)
    return 0.5 + 0.5 * np.log(8 * np.pi**3 * mu_eff * BOLTZMANN * temperature / PLANCK**2)


def damping(frequencies_cm, cutoff_cm: float) -> np.ndarray:
    """Head-Gordon's damping w(ν) = 1/(1+(ν0/ν)^4): 1 for stiff modes (harmonic), 0 for soft ones (rotor/RT/2)."""
    return 1.0 / (1.0 + (cutoff_cm / np.asarray(frequencies_cm, dtype=float)) ** 4)


def translational_entropy(mass_amu: float, temperature: float, pressure_pa: float = STANDARD_PRESSURE) -> float:
    """Sackur-Tetrode S/k_B = ln[(2π m k_B T/h²)^(3/2) k_B T/p] + 5/2 of an ideal gas at pressure p."""
    mass = mass_amu * AMU
    thermal = (2 * np.pi * mass * BOLTZMANN * temperature / PLANCK**2) ** 1.5
    return float(np.log(thermal * BOLTZMANN * temperature / pressure_pa) + 2.5)


def rotational_entropy(moments_amu_A2, temperature: float, symmetry_number: int, linear: bool) -> float:
    """Rigid-rotor S/k_B (high-temperature limit): linear ln[8π²Ik_BT/(σh²)] + 1, nonlinear
    ln[√(π I_A I_B I_C) (8π²k_BT/h²)^(3/2)/σ] + 3/2. Moments in amu·Å² (ascending)."""
    moments = np.asarray(moments_amu_A2, dtype=float) * AMU * ANGSTROM**2
    scale = 8 * np.pi**2 * BOLTZMANN * temperature / PLANCK**2
    if linear:  # the two equal moments (geometric mean: a nearly linear geometry forced to linear has two close ones)
        return float(np.log(scale * np.sqrt(moments[-1] * moments[-2]) / symmetry_number) + 1.0)
    return float(np.log(np.sqrt(np.pi * np.prod(moments)) * scale**1.5 / symmetry_number) + 1.5)


def thermochemistry(
    frequencies_cm,
    masses_amu,
    positions_A,
    temperature: float = 298.15,
    *,
    symmetry_number: int = 1,
    spin_multiplicity: int = 1,
    scheme: str = 'qrrho',
    rotor_cutoff_cm: float = 100.0,
    pressure_pa: float = STANDARD_PRESSURE,
    max_imaginary_cm: float | None = None,
    linear: bool | None = None,
    average_moment: float = GRIMME_AVERAGE_MOMENT,
) -> Thermo:
    """Ideal-gas thermal corrections (eV) of one molecule at ``temperature`` and ``pressure_pa`` (default 1 atm).

    Arguments after ``temperature`` are keyword-only: a symmetry number and a multiplicity are easily swapped.

    ``frequencies_cm``: the 3N-6 (3N-5) vibrational wavenumbers, imaginary ones negative, e.g. from
    ``frequencies_from_hessian``. Any imaginary mode raises ``ThermoError(reason='imaginary_modes')`` unless
    ``max_imaginary_cm`` is given: modes with |ν| <= max_imaginary_cm are then used as |ν| (numerical noise on flat
    surfaces) and counted in ``n_imaginary_treated``; larger ones still raise.

    Schemes:
        ``'rrho'``: rigid rotor, harmonic oscillator for every mode.
        ``'qrrho'``: what ``goodvibes -q`` computes. Entropy per mode S = w S_HO + (1-w) S_free-rotor (Grimme 2012)
            and vibrational energy per mode E = w (hν/2 + hν/(e^x-1)) + (1-w) k_BT/2 (Head-Gordon 2015), both with
            w = 1/(1+(ν0/ν)^4), ν0 = ``rotor_cutoff_cm``, and B_av = ``average_moment`` (Grimme's 1e-44 kg m²).
            Low modes, whose harmonic entropy diverges as ν → 0 and is the least reliable part of G, become free
            rotors. Both interpolations use the one cutoff (GoodVibes' defaults are 100 cm⁻¹ for both).

    Translation: Sackur-Tetrode at ``pressure_pa``, H = 5/2 k_BT (3/2 k_BT + pV). Rotation: rigid rotor with
    ``symmetry_number`` σ (2 for H2O and CO2, 3 for NH3, 12 for CH4). Electronic: S = k_B ln(multiplicity), a
    single electronic level.
    """
    if scheme not in SCHEMES:
        raise ValueError(f'unknown scheme {scheme!r}; one of {SCHEMES}')
    if temperature <= 0:
        raise ValueError(f'temperature must be positive, got {temperature} K')
    masses = np.asarray(masses_amu, dtype=float)
    positions = np.asarray(positions_A, dtype=float).reshape(-1, 3)
    n_atoms = len(masses)
    atom = n_atoms == 1
    linear = _resolve_linear(masses, positions, linear)
    frequencies, n_treated = _check_frequencies(
        np.asarray(frequencies_cm, dtype=float).reshape(-1), n_vibrations(masses, positions, linear), max_imaginary_cm
    )
    kt = BOLTZMANN_EV * temperature

    s_trans = translational_entropy(masses.sum(), temperature, pressure_pa)
    h_trans = 2.5 * kt  # 3/2 kT kinetic + pV = kT
    if atom:
        s_rot, h_rot = 0.0, 0.0
    else:
        s_rot = rotational_entropy(principal_moments(masses, positions), temperature, symmetry_number, linear)
        h_rot = (1.0 if linear else 1.5) * kt
    s_elec = float(np.log(spin_multiplicity))

    quantum = PLANCK * SPEED_OF_LIGHT_CM * frequencies / ELECTRONVOLT  # hcν, eV
    zpe_modes = 0.5 * quantum
    thermal_modes = quantum / np.expm1(quantum / kt)
    s_vib_modes = harmonic_entropy(frequencies, temperature)
    e_vib_modes = zpe_modes + thermal_modes
    if scheme == 'qrrho' and len(frequencies):
        weight = damping(frequencies, rotor_cutoff_cm)
        s_vib_modes = weight * s_vib_modes + (1 - weight) * free_rotor_entropy(frequencies, temperature, average_moment)
        e_vib_modes = weight * e_vib_modes + (1 - weight) * 0.5 * kt
    s_vib = float(np.sum(s_vib_modes))

    enthalpy = h_trans + h_rot + float(np.sum(e_vib_modes))
    entropy = BOLTZMANN_EV * (s_trans + s_rot + s_vib + s_elec)
    ts = temperature * entropy
    return Thermo(
        scheme=scheme,
        temperature=float(temperature),
        pressure=float(pressure_pa),
        zpe=float(np.sum(zpe_modes)),
        enthalpy_correction=enthalpy,
        entropy=entropy,
        entropy_translational=BOLTZMANN_EV * s_trans,
        entropy_rotational=BOLTZMANN_EV * s_rot,
        entropy_vibrational=BOLTZMANN_EV * s_vib,
        entropy_electronic=BOLTZMANN_EV * s_elec,
        ts=ts,
        gibbs_correction=enthalpy - ts,
        n_imaginary_treated=n_treated,
        frequencies=tuple(float(value) for value in frequencies),
    )


# ---------------------------------------------------------------------------------------------------------------------
# Standard states


def gas_to_1m(temperature: float = 298.15, pressure_pa: float = STANDARD_PRESSURE) -> float:
    """RT ln(RT c°/p°) in eV (0.0822 eV = 1.89 kcal/mol at 298.15 K, 1 atm): from 1 atm gas to 1 mol/L.

    Free energies of species in solution at 1 M are G(1 atm ideal gas, (q)RRHO) + RT ln(RT c°/p°) + ΔG_solv, with
    ΔG_solv of an implicit-solvent model defined between 1 M gas and 1 M solution (Ben-Naim's convention: SMD's,
    and xtb's ALPB/GBSA with their default 'gsolv' state; xtb's 'bar1M' state already adds RT ln(24.79), from 1 bar,
    and its 'reference' state also RT ln(solvent molarity): src/solv/state.f90 of xtb 6.5.1).
    RT c°/p° = 24.46 is the volume of 1 mol of ideal gas at 1 atm and 298.15 K (24.46 L) over 1 L. Per molecule, so
    k_B T replaces RT. Reference: Bryantsev, Diallo, Goddard, J. Phys. Chem. B 2008, 112, 9709.
    """
    volume_ratio = BOLTZMANN * AVOGADRO * temperature * STANDARD_CONCENTRATION / pressure_pa
    return float(BOLTZMANN_EV * temperature * np.log(volume_ratio))


def water_55m(temperature: float = 298.15, molarity: float = WATER_MOLARITY) -> float:
    """RT ln(55.34) in eV (0.1031 eV = 2.38 kcal/mol at 298.15 K): from 1 M to pure liquid water.

    Water as a reactant or product (e.g. a water displaced from [Zn(H2O)6]2+) is not at 1 mol/L but the solvent at
    55.34 mol/L; its free energy is G(1 M, solvated) + RT ln(55.34), in addition to ``gas_to_1m``. Leaving it out
    biases every exchange energy by 2.38 kcal/mol per displaced water (Bryantsev, Diallo, Goddard, J. Phys. Chem. B
    2008, 112, 9709).
    """
    return float(BOLTZMANN_EV * temperature * np.log(molarity))


#: Upper-case names of the two corrections (functions of T returning eV), as they appear in the literature.
GAS_TO_1M = gas_to_1m
WATER_55M = water_55m


def standard_state_correction(temperature: float = 298.15, *, water: bool = False) -> float:
    """eV to add to G(1 atm gas) for a solute at 1 M: ``gas_to_1m``, plus ``water_55m`` when the species is the
    solvent water itself."""
    return gas_to_1m(temperature) + (water_55m(temperature) if water else 0.0)


def exchange_standard_state(displaced: int, temperature: float = 298.15, *, ligand_is_water: bool = False) -> float:
    """Standard-state terms (eV) of [Zn(H2O)6]2+ + L -> [Zn(H2O)6-nL] + n H2O from 1 atm ideal-gas free energies:
    (n - 1) RT ln(24.46) + (n - w) RT ln(55.34), w = 1 when L is water itself.

    Every solute (hexaaqua ion, ligand, complex) is at 1 M: one ``gas_to_1m`` per species, n - 1 net. Each released
    water is the solvent at 55.34 M: one ``water_55m`` per released water, less the one the ligand water brings when
    L is water (its exchange is then exactly 0). Bryantsev, Diallo, Goddard, J. Phys. Chem. B 2008, 112, 9709.
    """
    return (displaced - 1) * gas_to_1m(temperature) + (displaced - int(ligand_is_water)) * water_55m(temperature)
