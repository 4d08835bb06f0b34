"""Self-diffusion coefficients from an MD trajectory (mean-squared displacement) with the finite-size correction
of a periodic box, and the Nernst-Einstein estimate of the ionic conductivity.

- **MSD**: of unwrapped positions (frame-to-frame minimum-image steps summed, so a molecule that crosses the box
  keeps its path), averaged over every time origin and over the particles of a species: Zn2+, water (its O), the
  additive (its centre of mass), the counter-ion (its centre of mass).
- **D**: the slope of MSD(t) = 6 D t, fitted between ``fit_start`` and ``fit_end`` (fractions of the longest lag;
  the short-time ballistic part and the noisy long lags left out). Its uncertainty: the spread of the slopes of the
  trajectory's two halves, each fitted alike (half their difference).
- **Finite size** (Yeh & Hummer, J. Phys. Chem. B 2004, 108, 15873): D_∞ = D_PBC + k_B T ξ / (6 π η L), ξ =
  2.837297 for a cubic box of edge L, η the viscosity of water at 298 K (0.890 mPa s; CRC Handbook) unless given.
- **Conductivity** (Nernst-Einstein, no ion-ion correlation): σ = e² / (V k_B T) Σ_i N_i z_i² D_i over the ions.

Measured references (25 °C): water's self-diffusion 2.30e-9 m²/s (Mills, J. Phys. Chem. 1973, 77, 685); Zn2+ at
infinite dilution 0.703e-9 m²/s (from the limiting molar conductivity of ½Zn2+, 52.8 S cm² mol⁻¹; CRC Handbook).
A picosecond trajectory of a few dozen molecules gives D to within a factor of about two at best: the figures carry
their uncertainty, and a trajectory shorter than ``min_ps`` gets no value (a clear message with the minimum).
"""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import ExitCode, calcfunction

from .errors import AnalysisInputError, minimum_image

KB = 1.380649e-23  # J/K
E = 1.602176634e-19  # C
XI_CUBIC = 2.837297
WATER_VISCOSITY = 0.890e-3  # Pa s at 298.15 K
DEFAULT_SETTINGS = {'fit_start': 0.1, 'fit_end': 0.5, 'min_ps': 1.0, 'temperature': 298.15, 'viscosity': None}
A2_PER_PS_TO_M2_PER_S = 1e-8  # Å²/ps -> m²/s

EXIT_TOO_SHORT = 385
EXIT_BAD_INPUT = 386


def unwrap(positions: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Positions (n_frames, n, 3) made continuous: each frame-to-frame step taken as its minimum image."""
    steps = np.diff(positions, axis=0)
    for frame in range(len(steps)):
        steps[frame] = minimum_image(steps[frame], cells[frame + 1])
    return np.concatenate([positions[:1], positions[:1] + np.cumsum(steps, axis=0)])


def msd(trajectory: np.ndarray) -> np.ndarray:
    """MSD (Å²) at lags 0..n_frames-1, averaged over time origins and particles; ``trajectory``: (n_frames, n, 3)."""
    n_frames = len(trajectory)
    values = np.zeros(n_frames)
    for lag in range(1, n_frames):
        values[lag] = np.mean(np.sum((trajectory[lag:] - trajectory[:-lag]) ** 2, axis=2))
    return values


def _slope(times: np.ndarray, values: np.ndarray, start: float, end: float) -> float:
    span = times[-1] - times[0]
    window = (times - times[0] >= start * span) & (times - times[0] <= end * span)
    if window.sum() < 3:
        raise AnalysisInputError(EXIT_TOO_SHORT, 'fewer than 3 frames in the MSD fit window: a longer trajectory')
    return float(np.polyfit(times[window] - times[0], values[window], 1)[0])


def diffusion(times, trajectory, fit_start: float, fit_end: float) -> dict:
    """D (m²/s) of particles ``trajectory`` (n_frames, n, 3; unwrapped) with its uncertainty from the two halves."""
    full = _slope(times, msd(trajectory), fit_start, fit_end) / 6
    half = len(times) // 2
    halves = [
        _slope(times[part], msd(trajectory[part]), fit_start, fit_end) / 6
        for part in (slice(0, half), slice(half, None))
    ]
    return {
        'D_pbc_m2_s': full * A2_PER_PS_TO_M2_PER_S,
        'uncertainty_m2_s': abs(halves[0] - halves[1]) / 2 * A2_PER_PS_TO_M2_PER_S,
    }


def transport(
    positions, cells, times, masses, *, species: dict[str, list[list[int]]], charges: dict[str, int], **options
):
    """D per species (finite-size corrected) and the Nernst-Einstein conductivity (module docstring)."""
    settings = {**DEFAULT_SETTINGS, **options}
    positions, cells, times = (np.asarray(x, dtype=float) for x in (positions, cells, times))
    span = times[-1] - times[0] if len(times) else 0.0
    if span < settings['min_ps'] or len(times) < 20:
        raise AnalysisInputError(
            EXIT_TOO_SHORT,
            f'{span:.2f} ps in {len(times)} frames: diffusion needs at least {settings["min_ps"]} ps and 20 frames',
        )
    if not 0 <= settings['fit_start'] < settings['fit_end'] <= 1:
        raise AnalysisInputError(EXIT_BAD_INPUT, 'need 0 <= fit_start < fit_end <= 1')
    unwrapped = unwrap(positions, cells)
    masses = np.asarray(masses, dtype=float)
    volume = abs(np.linalg.det(cells).mean())  # Å³
    edge = volume ** (1 / 3)
    viscosity = settings['viscosity'] or WATER_VISCOSITY
    correction = KB * settings['temperature'] * XI_CUBIC / (6 * np.pi * viscosity * edge * 1e-10)  # m²/s
    results, conductivity, variance = {}, 0.0, 0.0
    for name, molecules in species.items():
        if not molecules:
            continue
        centres = np.stack(
            [(unwrapped[:, m, :] * masses[m, None]).sum(axis=1) / masses[m].sum() for m in map(list, molecules)],
            axis=1,
        )
        value = diffusion(times, centres, settings['fit_start'], settings['fit_end'])
        value['D_m2_s'] = value['D_pbc_m2_s'] + correction
        value['n'] = len(molecules)
        results[name] = value
        charge = charges.get(name, 0)
        if charge:
            prefactor = E**2 / (volume * 1e-30 * KB * settings['temperature']) * len(molecules) * charge**2
            conductivity += prefactor * value['D_m2_s']
            variance += (prefactor * value['uncertainty_m2_s']) ** 2
    return {
        'diffusion': results,
        'finite_size_correction_m2_s': correction,
        'box_edge_A': edge,
        'nernst_einstein_conductivity_S_m': conductivity if any(charges.get(n) for n in results) else None,
        'conductivity_uncertainty_S_m': float(np.sqrt(variance)),
        'settings': {**settings, 'viscosity': viscosity},
        'time_analysed_ps': float(span),
    }


@calcfunction
def analyse_transport(trajectory: orm.TrajectoryData, settings: orm.Dict) -> orm.Dict | ExitCode:
    """Self-diffusion and conductivity of ``trajectory`` (module docstring). ``settings``: ``molecules`` (the solvation
    WorkChain's ``system['molecules']``: water, counter_ion, additive), ``zn_index``, ``charges`` (species -> charge
    of one molecule: zinc 2, counter_ion its charge, additive its charge), optionally ``skip_ps``, ``fit_start``,
    ``fit_end``, ``min_ps``, ``temperature`` and ``viscosity``."""
    options = settings.get_dict()
    molecules = options.pop('molecules', {})
    charges = options.pop('charges', {})
    skip = float(options.pop('skip_ps', 0.0))
    zn_index = options.pop('zn_index', None)
    times, cells = trajectory.get_times(), trajectory.get_cells()
    if times is None or cells is None or zn_index is None:
        return ExitCode(EXIT_BAD_INPUT, 'the trajectory needs cells and times, and the settings a zn_index')
    keep = times >= times[0] + skip - 1e-9
    symbols = list(trajectory.symbols)
    water_o = [[next(i for i in molecule if symbols[i] == 'O')] for molecule in molecules.get('water', [])]
    species = {
        'zinc': [[int(zn_index)]],
        'water': water_o,
        'counter_ion': molecules.get('counter_ion', []),
        'additive': molecules.get('additive', []),
    }
    from ase.data import atomic_masses, atomic_numbers

    masses = [atomic_masses[atomic_numbers[symbol]] for symbol in symbols]
    try:
        result = transport(
            trajectory.get_positions()[keep],
            cells[keep],
            times[keep],
            masses,
            species=species,
            charges=charges,
            **options,
        )
    except AnalysisInputError as error:
        return ExitCode(error.code, str(error))
    result['references'] = {
        'water_self_diffusion_m2_s': 2.30e-9,
        'zinc_infinite_dilution_m2_s': 0.703e-9,
        'sources': 'Mills, J. Phys. Chem. 1973, 77, 685; CRC Handbook (limiting ionic conductivity of 1/2 Zn2+)',
    }
    return orm.Dict(result)
