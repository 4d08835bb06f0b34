"""The first solvation shell of Zn2+ in an MD trajectory: g(r), running coordination numbers, shell composition and
residence times of waters, counter-ions and additive molecules.

Two layers: ``analyse_shell`` works on plain arrays (MDAnalysis does the periodic distances and the RDF) and the
calcfunctions ``analyse_solvation_shell`` and ``plot_solvation_shell`` wrap it so the numbers and the figure a paper
shows have provenance. Lengths are in Å, times in ps.

A group is a list of molecules, each molecule the list of its donor atoms (the water O, the four sulfate O, the
additive's O/N atoms): g(r) and n(r) count donor atoms, the shell composition counts molecules, so a bidentate
sulfate is one sulfate in the shell but two donor atoms around Zn.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import MDAnalysis
import numpy as np
from aiida import orm
from aiida.engine import ExitCode, calcfunction
from matplotlib.figure import Figure
from MDAnalysis.analysis.rdf import InterRDF
from MDAnalysis.coordinates.memory import MemoryReader
from MDAnalysis.lib.distances import distance_array
from MDAnalysis.lib.mdamath import triclinic_box, triclinic_vectors

DEFAULT_SETTINGS = {'r_max': 6.0, 'n_bins': 120, 'shell_cutoff': 2.8, 'tolerance_ps': 0.5, 'skip_ps': 0.0}

# Window (Å) over which a maximum or minimum of g(r) must be extremal: a one-bin spike of a short trajectory is noise.
EXTREMUM_WINDOW = 0.15

# Slack (ps) when comparing an absence with the tolerance: frame times are sums of floating-point time steps.
TIME_SLACK = 1e-6

# Values of g(r) this close to its minimum count as the minimum: the bottom of a flat well is its middle.
FLAT_TOLERANCE = 0.02


@dataclass
class ShellAnalysis:
    """Result of ``analyse_shell``; every dict is keyed by group name."""

    r: np.ndarray  # bin centres, Å
    rdf: dict[str, np.ndarray]  # g(r) between Zn and the group's donor atoms
    running_cn: dict[str, np.ndarray]  # donor atoms within r, mean over frames, at the bin centres
    first_peak: dict[str, float | None]  # Å; None when g(r) is zero over the whole range
    first_minimum: dict[str, float | None]  # Å; None when g(r) does not rise again after its first peak within r_max
    coordination: dict[str, float]  # mean number of molecules in the first shell
    coordination_atoms: dict[str, float]  # mean number of donor atoms within shell_cutoff, i.e. n(shell_cutoff)
    composition: dict[str, np.ndarray]  # molecules in the first shell per frame (int)
    shell_fraction: dict[str, float]  # fraction of frames with at least one molecule in the shell
    residence_time: dict[str, float | None]  # ps; None when no molecule ever entered the shell
    residence_censored: dict[str, bool]  # True: no exit seen, the time is the mean observed stay (lower bound)
    times: np.ndarray  # ps, the analysed frames


def _check_shapes(positions, cells, times_ps) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    positions = np.asarray(positions, dtype=float)
    cells = np.asarray(cells, dtype=float)
    times = np.asarray(times_ps, dtype=float)
    if positions.ndim != 3 or positions.shape[2] != 3:
        raise ValueError(f'positions must have shape (n_frames, n_atoms, 3), got {positions.shape}.')
    n_frames, n_atoms, _ = positions.shape
    if n_frames == 0 or n_atoms == 0:
        raise ValueError('The trajectory is empty: no frames or no atoms.')
    if cells.shape != (n_frames, 3, 3):
        raise ValueError(f'cells must have shape ({n_frames}, 3, 3) to match positions, got {cells.shape}.')
    if times.shape != (n_frames,):
        raise ValueError(f'times_ps must have shape ({n_frames},) to match positions, got {times.shape}.')
    if n_frames > 1 and np.any(np.diff(times) <= 0):
        raise ValueError('times_ps must increase strictly from frame to frame.')
    return positions, cells, times


def _check_indices(n_atoms: int, zn_index: int, groups: dict[str, list[list[int]]]) -> None:
    if not 0 <= zn_index < n_atoms:
        raise ValueError(f'zn_index {zn_index} is out of range for {n_atoms} atoms.')
    for name, molecules in groups.items():
        if any(len(molecule) == 0 for molecule in molecules):
            raise ValueError(f'Group {name!r} has a molecule without donor atoms.')
        indices = [index for molecule in molecules for index in molecule]
        if any(not 0 <= index < n_atoms for index in indices):
            raise ValueError(f'Group {name!r} has a donor index out of range for {n_atoms} atoms.')
        if zn_index in indices:
            raise ValueError(f'Group {name!r} lists the Zn atom {zn_index} as a donor.')


def _check_box(cells: np.ndarray, r_max: float) -> None:
    volumes = np.abs(np.linalg.det(cells))
    if np.any(volumes < 1e-6):
        raise ValueError('A frame has a degenerate (zero-volume) cell.')
    # Perpendicular width of each pair of faces: volume / area of the face. Minimum image holds up to half of it.
    a, b, c = cells[:, 0], cells[:, 1], cells[:, 2]
    areas = np.stack([np.cross(b, c), np.cross(c, a), np.cross(a, b)], axis=1)
    half_width = float((volumes[:, None] / np.linalg.norm(areas, axis=2)).min()) / 2
    if r_max > half_width * (1 + 1e-9):  # a rotated cube is still a cube, up to rounding
        raise ValueError(
            f'The box is too small for the RDF range: r_max = {r_max} Å exceeds half the shortest perpendicular box '
            f'width ({half_width:.3f} Å).'
        )


def _to_mdanalysis_frame(positions: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in MDAnalysis' box orientation (a along x, b in the xy plane) and [a, b, c, α, β, γ] per frame.

    MDAnalysis rebuilds the box from lengths and angles alone, so a cell with another orientation needs its atoms
    rotated with it; going through fractional coordinates does that for any cell.
    """
    dimensions = np.array([triclinic_box(*cell) for cell in cells], dtype=float)
    moved = np.empty_like(positions)
    for frame, (cell, dims) in enumerate(zip(cells, dimensions, strict=True)):
        moved[frame] = positions[frame] @ np.linalg.inv(cell) @ triclinic_vectors(dims)
    return moved, dimensions


def _extremum_indices(values: np.ndarray, half_window: int, maximum: bool) -> list[int]:
    """Indices that are the largest (smallest) value within ``half_window`` bins either side."""
    found = []
    for i in range(len(values)):
        window = values[max(0, i - half_window) : i + half_window + 1]
        if values[i] == (window.max() if maximum else window.min()):
            found.append(i)
    return found


def _first_peak_and_minimum(r: np.ndarray, g: np.ndarray) -> tuple[float | None, float | None]:
    if not np.any(g > 0):
        return None, None
    half_window = max(1, round(EXTREMUM_WINDOW / (r[1] - r[0]))) if len(r) > 1 else 1
    peak = next(i for i in _extremum_indices(g, half_window, maximum=True) if g[i] > 0)
    after = [i for i in _extremum_indices(g, half_window, maximum=False) if i > peak and g[i] < g[peak]]
    if not after:
        return float(r[peak]), None
    # Zn2+ holds its first shell so tightly that g(r) is (nearly) zero over a whole interval: the minimum is the
    # middle of that interval, not its first bin.
    start = end = after[0]
    while start > peak + 1 and g[start - 1] <= g[after[0]] + FLAT_TOLERANCE:
        start -= 1
    while end + 1 < len(g) and g[end + 1] <= g[after[0]] + FLAT_TOLERANCE:
        end += 1
    if end == len(g) - 1:
        return float(r[peak]), None  # still at its lowest at r_max: no rise seen, so no minimum
    return float(r[peak]), float((r[start] + r[end]) / 2)


def _stays(inside: np.ndarray, times: np.ndarray, tolerance_ps: float) -> list[tuple[float, bool]]:
    """(duration in ps, exit observed) of each stay of one molecule in the shell.

    A stay lasts from the first frame in the shell to the first frame of an absence of at least ``tolerance_ps``
    (measured from the first frame out to the first frame back); shorter absences do not end it (Impey, Madden and
    McDonald's t*). A stay still running at the last frame, or whose absence is too short at the end of the trajectory
    to tell, is censored: its duration is up to the last frame in the shell.
    """
    frames = np.flatnonzero(inside)
    if len(frames) == 0:
        return []
    stays = []
    start = previous = frames[0]
    for frame in frames[1:]:
        if frame > previous + 1 and times[frame] - times[previous + 1] >= tolerance_ps - TIME_SLACK:
            stays.append((float(times[previous + 1] - times[start]), True))
            start = frame
        previous = frame
    last_out = previous + 1
    if last_out < len(times) and times[-1] - times[last_out] >= tolerance_ps - TIME_SLACK:
        stays.append((float(times[last_out] - times[start]), True))
    else:
        stays.append((float(times[previous] - times[start]), False))
    return stays


def _residence(membership: np.ndarray, times: np.ndarray, tolerance_ps: float) -> tuple[float | None, bool]:
    """Mean length of the stays that end, else (no exit seen) of the observed stays, flagged censored."""
    stays = [stay for column in membership.T for stay in _stays(column, times, tolerance_ps)]
    if not stays:
        return None, False
    ended = [duration for duration, exited in stays if exited]
    if ended:
        return float(np.mean(ended)), False
    return float(np.mean([duration for duration, _ in stays])), True


def analyse_shell(
    positions,
    cells,
    times_ps,
    zn_index: int,
    groups: dict[str, list[list[int]]],
    *,
    r_max: float = 6.0,
    n_bins: int = 120,
    shell_cutoff: float = 2.8,
    tolerance_ps: float = 0.5,
) -> ShellAnalysis:
    """Analyse the first solvation shell of the Zn2+ ion ``zn_index``.

    :param positions: (n_frames, n_atoms, 3) Cartesian positions, Å.
    :param cells: (n_frames, 3, 3) cell vectors as rows, Å; any periodic cell, distances use the minimum image.
    :param times_ps: (n_frames,) time of each frame, ps.
    :param groups: group name -> molecules, each the list of its donor atom indices.
    :param shell_cutoff: a molecule is in the first shell when any of its donor atoms is within this distance of Zn.
    :param tolerance_ps: absences shorter than this do not end a stay in the shell.
    :raises ValueError: for inconsistent shapes or indices, an empty trajectory, or r_max beyond half the box width.
    """
    positions, cells, times = _check_shapes(positions, cells, times_ps)
    n_frames, n_atoms, _ = positions.shape
    _check_indices(n_atoms, zn_index, groups)
    if r_max <= 0 or n_bins < 1 or not 0 < shell_cutoff <= r_max or tolerance_ps < 0:
        raise ValueError('Need r_max > 0, n_bins >= 1, 0 < shell_cutoff <= r_max and tolerance_ps >= 0.')
    _check_box(cells, r_max)
    moved, dimensions = _to_mdanalysis_frame(positions, cells)
    universe = MDAnalysis.Universe.empty(n_atoms, trajectory=True)
    universe.load_new(moved, format=MemoryReader, dimensions=dimensions)
    zinc = universe.atoms[[zn_index]]
    edges = np.linspace(0.0, r_max, n_bins + 1)
    r = 0.5 * (edges[:-1] + edges[1:])

    result = ShellAnalysis(r, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, times)
    for name, molecules in groups.items():
        donors = np.array([index for molecule in molecules for index in molecule], dtype=int)
        owner = np.repeat(np.arange(len(molecules)), [len(molecule) for molecule in molecules])
        if len(donors) == 0:
            g = np.zeros(n_bins)
            count = np.zeros(n_bins)
        else:
            rdf = InterRDF(zinc, universe.atoms[donors], nbins=n_bins, range=(0.0, r_max))
            rdf.run()
            g, count = rdf.results.rdf, rdf.results.count
        # n(r) at the bin centres: everything in the bins below plus half of the bin's own count.
        running = (np.cumsum(count) - 0.5 * count) / n_frames

        membership = np.zeros((n_frames, len(molecules)), dtype=bool)
        atoms_in_shell = np.zeros(n_frames)
        for frame in range(n_frames if len(donors) else 0):
            distances = distance_array(
                moved[frame, [zn_index]], moved[frame, donors], box=dimensions[frame], backend='serial'
            )[0]
            close = distances <= shell_cutoff
            atoms_in_shell[frame] = close.sum()
            membership[frame, owner[close]] = True
        composition = membership.sum(axis=1).astype(int)

        result.rdf[name] = np.asarray(g, dtype=float)
        result.running_cn[name] = running
        result.first_peak[name], result.first_minimum[name] = _first_peak_and_minimum(r, result.rdf[name])
        result.coordination[name] = float(composition.mean())
        result.coordination_atoms[name] = float(atoms_in_shell.mean())
        result.composition[name] = composition
        result.shell_fraction[name] = float(np.mean(composition > 0))
        result.residence_time[name], result.residence_censored[name] = _residence(membership, times, tolerance_ps)
    return result


# Exit codes of analyse_solvation_shell, so a WorkChain can tell bad input from a crash.
EXIT_MISSING_ARRAYS = 300
EXIT_NO_FRAMES = 301
EXIT_INVALID_INPUT = 302


class _InputError(Exception):
    """Bad input to the calcfunction, with the exit status to return."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _analysis_input(trajectory: orm.TrajectoryData, options: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Positions, cells and times after ``skip_ps``, and the groups, checked as far as the trajectory allows."""
    missing = [key for key in ('zn_index', 'groups') if key not in options]
    if missing:
        raise _InputError(EXIT_INVALID_INPUT, f'settings lack {", ".join(missing)}.')
    groups = {
        name: [[int(i) for i in molecule] for molecule in molecules] for name, molecules in options['groups'].items()
    }
    bad_names = [name for name in groups if not re.fullmatch(r'[0-9A-Za-z_]+', name)]
    if bad_names:
        # The names become array names, which AiiDA restricts to these characters.
        raise _InputError(EXIT_INVALID_INPUT, f'group names must be letters, digits and underscores: {bad_names}.')
    cells = trajectory.get_cells()
    times = trajectory.get_times()
    if cells is None or times is None:
        raise _InputError(EXIT_MISSING_ARRAYS, 'The trajectory needs cells and times for a periodic, timed analysis.')
    symbols = trajectory.symbols
    zn_index = int(options['zn_index'])
    if 0 <= zn_index < len(symbols) and symbols[zn_index] != 'Zn':
        raise _InputError(EXIT_INVALID_INPUT, f'Atom {zn_index} is {symbols[zn_index]}, not Zn.')
    # Slack for times accumulated in floating point: a frame at exactly times[0] + skip_ps is kept.
    keep = times >= times[0] + float(options['skip_ps']) - 1e-9
    if not keep.any():
        raise _InputError(
            EXIT_NO_FRAMES,
            f'skip_ps = {options["skip_ps"]} ps discards every frame: the trajectory spans {times[-1] - times[0]} ps.',
        )
    return trajectory.get_positions()[keep], cells[keep], times[keep], groups


@calcfunction
def analyse_solvation_shell(trajectory: orm.TrajectoryData, settings: orm.Dict) -> dict | ExitCode:
    """g(r), n(r), shell composition and residence times of the Zn2+ first shell, per group of molecules.

    ``settings``: ``zn_index``, ``groups`` (name -> molecules -> donor atom indices) and optionally ``r_max``,
    ``n_bins``, ``shell_cutoff``, ``tolerance_ps`` and ``skip_ps`` (equilibration discarded from the start).
    Returns ``rdf`` (arrays r, g_<group>, n_<group>), ``composition`` (arrays times, n_<group>: molecules in the
    shell per frame) and ``results``; bad input gives a non-zero exit status with the reason as exit message.
    """
    options = {**DEFAULT_SETTINGS, **settings.get_dict()}
    try:
        positions, cells, times, groups = _analysis_input(trajectory, options)
        shell = analyse_shell(
            positions,
            cells,
            times,
            int(options['zn_index']),
            groups,
            r_max=float(options['r_max']),
            n_bins=int(options['n_bins']),
            shell_cutoff=float(options['shell_cutoff']),
            tolerance_ps=float(options['tolerance_ps']),
        )
    except _InputError as error:
        return ExitCode(error.status, str(error))
    except ValueError as error:
        return ExitCode(EXIT_INVALID_INPUT, str(error))

    rdf = orm.ArrayData()
    rdf.set_array('r', shell.r)
    composition = orm.ArrayData()
    composition.set_array('times', shell.times)
    per_group = {}
    for name, molecules in groups.items():
        rdf.set_array(f'g_{name}', shell.rdf[name])
        rdf.set_array(f'n_{name}', shell.running_cn[name])
        composition.set_array(f'n_{name}', shell.composition[name])
        per_group[name] = {
            'first_peak': shell.first_peak[name],
            'first_minimum': shell.first_minimum[name],
            'coordination': shell.coordination[name],
            'coordination_atoms': shell.coordination_atoms[name],
            'shell_fraction': shell.shell_fraction[name],
            'residence_time_ps': shell.residence_time[name],
            'residence_censored': shell.residence_censored[name],
            'n_molecules': len(molecules),
        }
    used = {key: options[key] for key in DEFAULT_SETTINGS}
    results = {
        'groups': per_group,
        'total_coordination': float(sum(shell.coordination.values())),
        'total_coordination_atoms': float(sum(shell.coordination_atoms.values())),
        'n_frames': len(shell.times),
        'time_analysed_ps': float(shell.times[-1] - shell.times[0]),
        'settings': {**used, 'zn_index': int(options['zn_index']), 'groups': groups},
        'units': {'distance': 'angstrom', 'time': 'ps', 'coordination': 'molecules', 'coordination_atoms': 'atoms'},
    }
    return {'rdf': rdf, 'composition': composition, 'results': orm.Dict(results)}


@calcfunction
def plot_solvation_shell(rdf: orm.ArrayData, results: orm.Dict) -> orm.SinglefileData:
    """PNG of g(r) (left axis) and running coordination numbers (right axis) of each group, shell cutoff dashed."""
    r = rdf.get_array('r')
    # A bare Figure renders with Agg; pyplot would pick a (possibly interactive) backend and keep global state.
    figure = Figure(figsize=(6.4, 4.4), dpi=150)
    left = figure.add_subplot()
    right = left.twinx()
    handles = []
    for index, name in enumerate(results['groups']):
        colour = f'C{index}'
        handles += left.plot(r, rdf.get_array(f'g_{name}'), color=colour, label=f'g(r) Zn–{name}')
        handles += right.plot(r, rdf.get_array(f'n_{name}'), color=colour, linestyle=':', label=f'n(r) {name}')
    cutoff = results['settings']['shell_cutoff']
    handles.append(left.axvline(cutoff, color='grey', linestyle='--', label=f'shell cutoff {cutoff} Å'))
    left.set_xlabel('r / Å')
    left.set_ylabel('g(r)')
    right.set_ylabel('running coordination number n(r)')
    left.set_xlim(0, results['settings']['r_max'])
    left.set_ylim(bottom=0)
    # n(r) grows as r³ beyond the shell; scaled to the shell, its plateau at the coordination number stays readable.
    total = results.get_dict().get('total_coordination_atoms') or 0.0
    right.set_ylim(0, 2 * total if total > 0 else None)
    left.legend(handles=handles, loc='best', fontsize='small')
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format='png')
    buffer.seek(0)
    return orm.SinglefileData(buffer, filename='solvation_shell.png')
