"""Water's hydrogen-bond network in an MD trajectory: H-bonds per water, additive-water H-bonds and the tetrahedral
order of water, each with its spread across blocks of the trajectory.

- **H-bond**: the geometric criterion of Luzar & Chandler (Nature 1996, 379, 55): donor and acceptor heavy atoms
  (O, N) closer than 3.5 Å, and the angle between the donor-acceptor axis and the donor's D-H bond below 30°. A
  hydrogen belongs, in each frame, to its nearest O or N (so a proton that hops is followed), within 1.3 Å.
- **H-bonds per water**: water-water H-bonds counted at both partners (2 per bond) over the number of waters; a
  water's bonds to the additive, to sulfate or to Zn-bound waters count when both partners are water.
- **Additive-water H-bonds**: per additive molecule, in either direction.
- **Tetrahedral order** q (Errington & Debenedetti, Nature 2001, 409, 318): q = 1 - 3/8 Σ_{j<k} (cos ψ_jk + 1/3)²
  over the four nearest water O of each water O; 1 in a perfect tetrahedron, 0 on average for an ideal gas.
- **Blocks**: the frames are cut into ``n_blocks`` contiguous blocks; each figure is the mean over the blocks with the
  standard error of that mean (block standard deviation / √(n_blocks - 1)), which accounts for the correlation of
  successive frames within a block.

Positions are in Å, any periodic cell (minimum image through fractional coordinates: exact for cells whose
half-width exceeds the 3.5 Å cut, which :func:`hbond_network` checks).
"""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import ExitCode, calcfunction

from .errors import AnalysisInputError, minimum_image

R_DA = 3.5  # Å, donor-acceptor distance of the Luzar-Chandler criterion
ANGLE = 30.0  # degrees, between the D···A axis and the D-H bond
R_XH = 1.3  # Å: a hydrogen further than this from every O and N is bonded to neither
DEFAULT_SETTINGS = {'n_blocks': 5, 'skip_ps': 0.0}
HEAVY = ('O', 'N')

# Exit statuses of the calcfunction (numbers no WorkChain of the package uses).
EXIT_TOO_SHORT = 380
EXIT_BAD_INPUT = 381


def _frame(positions, cell, symbols, waters, additives):
    """H-bonds per water, additive-water H-bonds per additive and the mean q of one frame."""
    heavy = np.array([i for i, s in enumerate(symbols) if s in HEAVY])
    hydrogens = np.array([i for i, s in enumerate(symbols) if s == 'H'])
    water_o = np.array([next(i for i in molecule if symbols[i] == 'O') for molecule in waters])
    owner = np.full(len(symbols), -1)  # molecule label of each atom: waters 0..n-1, additives n, n+1, ...
    kind = np.zeros(len(symbols), dtype=int)  # 1 water, 2 additive
    for label, molecule in enumerate(waters):
        owner[molecule], kind[molecule] = label, 1
    for label, molecule in enumerate(additives, start=len(waters)):
        owner[molecule], kind[molecule] = label, 2

    # Each H to its nearest heavy atom (the donor), in this frame.
    h_vectors = minimum_image(positions[hydrogens][:, None, :] - positions[heavy][None, :, :], cell)
    h_distances = np.linalg.norm(h_vectors, axis=2)
    nearest = np.argmin(h_distances, axis=1)
    bonded = h_distances[np.arange(len(hydrogens)), nearest] <= R_XH
    donor_of_h = np.where(bonded, heavy[nearest], -1)

    da = minimum_image(positions[heavy][None, :, :] - positions[heavy][:, None, :], cell)  # [d, a]: d -> a
    da_distances = np.linalg.norm(da, axis=2)
    index_of = {atom: position for position, atom in enumerate(heavy)}
    cos_min = np.cos(np.radians(ANGLE))
    pairs = set()  # (donor atom, acceptor atom) H-bonds
    for h, donor in zip(hydrogens, donor_of_h, strict=True):
        if donor < 0:
            continue
        d = index_of[donor]
        bond = minimum_image(positions[h] - positions[donor], cell)
        bond /= np.linalg.norm(bond)
        close = np.flatnonzero((da_distances[d] < R_DA) & (heavy != donor))
        for a in close:
            if owner[heavy[a]] >= 0 and owner[heavy[a]] == owner[donor]:
                continue  # within one molecule
            if da[d, a] @ bond / da_distances[d, a] >= cos_min:
                pairs.add((int(donor), int(heavy[a])))

    water_water = sum(1 for d, a in pairs if kind[d] == 1 and kind[a] == 1)
    additive_water = sum(1 for d, a in pairs if {kind[d], kind[a]} == {1, 2})
    per_water = 2 * water_water / len(waters) if waters else float('nan')
    per_additive = additive_water / len(additives) if additives else float('nan')

    # Tetrahedral order of each water O over its four nearest water O.
    q_values = []
    if len(water_o) >= 5:
        vectors = minimum_image(positions[water_o][None, :, :] - positions[water_o][:, None, :], cell)
        distances = np.linalg.norm(vectors, axis=2)
        np.fill_diagonal(distances, np.inf)
        for i in range(len(water_o)):
            neighbours = np.argsort(distances[i])[:4]
            q_values.append(tetrahedral_order(vectors[i, neighbours]))
    q = float(np.mean(q_values)) if q_values else float('nan')
    return per_water, per_additive, q


def tetrahedral_order(vectors) -> float:
    """q of one centre from the vectors to its four nearest neighbours (module docstring)."""
    units = np.asarray(vectors, dtype=float)
    units = units / np.linalg.norm(units, axis=1)[:, None]
    cosines = (units @ units.T)[np.triu_indices(4, k=1)]
    return float(1.0 - 3.0 / 8.0 * np.sum((cosines + 1.0 / 3.0) ** 2))


def _blocks(values: np.ndarray, n_blocks: int) -> dict:
    """Mean over ``n_blocks`` contiguous blocks and the standard error of that mean (module docstring)."""
    if np.isnan(values).all():
        return {'mean': None, 'sem': None, 'blocks': []}
    means = np.array([block.mean() for block in np.array_split(values, n_blocks)])
    return {
        'mean': float(means.mean()),
        'sem': float(means.std(ddof=1) / np.sqrt(n_blocks)),
        'blocks': [float(value) for value in means],
    }


def hbond_network(positions, cells, symbols, waters, additives, *, n_blocks: int = 5) -> dict:
    """The network figures of a trajectory (module docstring): per frame and block-averaged.

    :param positions: (n_frames, n_atoms, 3), Å. :param cells: (n_frames, 3, 3), cell vectors as rows, Å.
    :param waters: the atom indices of each water (O and two H). :param additives: those of each additive molecule.
    :raises AnalysisInputError: fewer frames than blocks, fewer than 2 blocks, or a cell too small for the criterion.
    """
    positions = np.asarray(positions, dtype=float)
    cells = np.asarray(cells, dtype=float)
    if n_blocks < 2:
        raise AnalysisInputError(EXIT_BAD_INPUT, f'n_blocks must be at least 2 for an error bar, got {n_blocks}')
    if len(positions) < n_blocks:
        raise AnalysisInputError(
            EXIT_TOO_SHORT,
            f'{len(positions)} frames for {n_blocks} blocks: the analysis needs at least {n_blocks} frames '
            '(a longer trajectory, a smaller stride or fewer blocks)',
        )
    if not waters:
        raise AnalysisInputError(EXIT_BAD_INPUT, 'no water molecules to analyse')
    cell = cells[0]
    volume = abs(np.linalg.det(cell))
    widths = [volume / np.linalg.norm(np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3])) for k in range(3)]
    if min(widths) < 2 * R_DA:
        raise AnalysisInputError(
            EXIT_BAD_INPUT, f'a cell {min(widths):.2f} Å wide is below twice the {R_DA} Å H-bond cut'
        )
    frames = np.array([_frame(p, c, symbols, waters, additives) for p, c in zip(positions, cells, strict=True)])
    return {
        'hbonds_per_water': _blocks(frames[:, 0], n_blocks),
        'additive_water_hbonds_per_additive': _blocks(frames[:, 1], n_blocks),
        'tetrahedral_order_q': _blocks(frames[:, 2], n_blocks),
        'per_frame': frames,
    }


@calcfunction
def analyse_hbond_network(trajectory: orm.TrajectoryData, settings: orm.Dict) -> dict | ExitCode:
    """Water's H-bond network of ``trajectory`` (module docstring). ``settings``: ``molecules`` (the ``system``
    output of the solvation WorkChain's ``molecules``: ``water`` and ``additive`` lists of atom indices), optionally
    ``n_blocks`` (5) and ``skip_ps`` (equilibration left out). Returns ``hbonds`` (Dict: each figure's block mean,
    standard error and block means) and ``hbonds_per_frame`` (ArrayData: times and the three figures per frame)."""
    options = {**DEFAULT_SETTINGS, **settings.get_dict()}
    molecules = options.get('molecules') or {}
    waters = [list(map(int, molecule)) for molecule in molecules.get('water', [])]
    additives = [list(map(int, molecule)) for molecule in molecules.get('additive', [])]
    times = trajectory.get_times()
    cells = trajectory.get_cells()
    if times is None or cells is None:
        return ExitCode(EXIT_BAD_INPUT, 'the trajectory needs cells and times')
    keep = times >= times[0] + float(options['skip_ps']) - 1e-9
    try:
        result = hbond_network(
            trajectory.get_positions()[keep],
            cells[keep],
            list(trajectory.symbols),
            waters,
            additives,
            n_blocks=int(options['n_blocks']),
        )
    except AnalysisInputError as error:
        return ExitCode(error.code, str(error))
    per_frame = orm.ArrayData()
    per_frame.set_array('times', times[keep])
    for column, name in enumerate(('hbonds_per_water', 'additive_water_hbonds_per_additive', 'tetrahedral_order_q')):
        per_frame.set_array(name, result['per_frame'][:, column])
    summary = {key: value for key, value in result.items() if key != 'per_frame'}
    summary |= {
        'n_frames': int(keep.sum()),
        'n_waters': len(waters),
        'n_additives': len(additives),
        'criterion': {'r_da_A': R_DA, 'angle_deg': ANGLE, 'reference': 'Luzar & Chandler, Nature 1996, 379, 55'},
        'settings': {'n_blocks': int(options['n_blocks']), 'skip_ps': float(options['skip_ps'])},
    }
    return {'hbonds': orm.Dict(summary), 'hbonds_per_frame': per_frame}
