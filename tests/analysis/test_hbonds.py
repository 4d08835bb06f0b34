"""Water's H-bond network: the Luzar-Chandler criterion on geometries whose answer is known, the tetrahedral order
against its two limits, periodic images, block errors and the exit codes of bad input."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm

from aiida_znadditive.analysis.errors import AnalysisInputError
from aiida_znadditive.analysis.hbonds import (
    EXIT_BAD_INPUT,
    EXIT_TOO_SHORT,
    analyse_hbond_network,
    hbond_network,
    tetrahedral_order,
)

BOX = np.eye(3) * 12.0
HOH = 104.5  # degrees


def water(oxygen, towards=None, angle_off=0.0):
    """A water at ``oxygen`` with one O-H pointing at ``towards`` (rotated by ``angle_off`` degrees), the other H at
    the HOH angle: 0.96 Å bonds."""
    oxygen = np.asarray(oxygen, dtype=float)
    axis = np.array([1.0, 0.0, 0.0]) if towards is None else np.asarray(towards, dtype=float) - oxygen
    axis /= np.linalg.norm(axis)
    side = np.cross(axis, [0.0, 0.0, 1.0])
    if np.linalg.norm(side) < 1e-6:
        side = np.cross(axis, [0.0, 1.0, 0.0])
    side /= np.linalg.norm(side)
    tilt = np.radians(angle_off)
    first = np.cos(tilt) * axis + np.sin(tilt) * side
    angle = np.radians(HOH) + tilt
    second = np.cos(angle) * axis + np.sin(angle) * side
    return [oxygen, oxygen + 0.96 * first, oxygen + 0.96 * second]


def network(atoms, n_waters, cell=BOX, frames=5, additives=()):
    positions = np.repeat(np.asarray(atoms)[None], frames, axis=0)
    symbols = ['O', 'H', 'H'] * n_waters
    waters = [[3 * i, 3 * i + 1, 3 * i + 2] for i in range(n_waters)]
    return hbond_network(positions, np.repeat(cell[None], frames, axis=0), symbols, waters, list(additives))


def test_water_dimer_bonds_when_linear_and_not_when_bent():
    """The water dimer at its equilibrium O···O distance (2.91 Å) has one H-bond, so one per water (counted at
    both partners); the donor H turned 35° off the O···O axis, beyond the criterion's 30°, has none."""
    acceptor = [2.91, 0.0, 0.0]
    linear = water([0, 0, 0], towards=acceptor) + water(acceptor, towards=[6.0, 0, 0])
    assert network(linear, 2)['hbonds_per_water']['mean'] == pytest.approx(1.0)
    bent = water([0, 0, 0], towards=acceptor, angle_off=35) + water(acceptor, towards=[6.0, 0, 0])
    assert network(bent, 2)['hbonds_per_water']['mean'] == 0.0
    far = water([0, 0, 0], towards=[3.6, 0, 0]) + water([3.6, 0, 0], towards=[6.0, 0, 0])
    assert network(far, 2)['hbonds_per_water']['mean'] == 0.0


def test_a_bond_across_the_periodic_boundary_counts():
    acceptor = [11.5, 0.0, 0.0]  # 2.91 Å from O at x = 2.41 through the boundary of the 12 Å box
    donor = [2.41, 0.0, 0.0]
    atoms = water(donor, towards=[-0.5, 0.0, 0.0]) + water(acceptor, towards=[8.0, 0, 0])
    assert network(atoms, 2)['hbonds_per_water']['mean'] == pytest.approx(1.0)


def test_tetrahedral_order_limits():
    """1 for the four neighbours of a perfect tetrahedron (ice), 0 on average for an ideal gas (random neighbours):
    the normalisation of Errington & Debenedetti."""
    tetrahedron = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float)
    assert tetrahedral_order(tetrahedron) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    random = [tetrahedral_order(rng.normal(size=(4, 3))) for _ in range(20000)]
    assert np.mean(random) == pytest.approx(0.0, abs=0.01)


def test_block_error_and_too_short_trajectory():
    rng = np.random.default_rng(1)
    frames = []
    for _ in range(10):  # an ideal gas of waters, new positions every frame
        oxygens = rng.uniform(0, 12, size=(40, 3))
        frames.append([atom for o in oxygens for atom in water(o, towards=o + rng.normal(size=3))])
    positions = np.array(frames)
    symbols = ['O', 'H', 'H'] * 40
    waters = [[3 * i, 3 * i + 1, 3 * i + 2] for i in range(40)]
    cells = np.repeat(BOX[None], 10, axis=0)
    result = hbond_network(positions, cells, symbols, waters, [], n_blocks=5)
    q = result['tetrahedral_order_q']
    assert len(q['blocks']) == 5 and q['sem'] > 0
    assert q['sem'] == pytest.approx(np.std(q['blocks'], ddof=1) / np.sqrt(5))
    assert result['additive_water_hbonds_per_additive']['mean'] is None  # no additive
    with pytest.raises(AnalysisInputError, match='needs at least 5 frames') as error:
        hbond_network(positions[:3], cells[:3], symbols, waters, [], n_blocks=5)
    assert error.value.code == EXIT_TOO_SHORT
    with pytest.raises(AnalysisInputError, match='below twice'):
        hbond_network(positions, np.repeat((np.eye(3) * 6.0)[None], 10, axis=0), symbols, waters, [])


def test_calcfunction_counts_additive_water_bonds(aiida_profile):
    """Methanol's OH donating to a water: one additive-water H-bond per additive; a too-short trajectory is the exit
    code with the minimum named."""
    acceptor = [2.85, 0.0, 0.0]
    methanol = water([0, 0, 0], towards=acceptor)  # O, H(O), and a third atom recast as the methyl C
    atoms = [*methanol, *water(acceptor, towards=[6.0, 0, 0])]
    symbols = ['O', 'H', 'C', 'O', 'H', 'H']
    trajectory = orm.TrajectoryData()
    trajectory.set_trajectory(
        symbols,
        np.repeat(np.asarray(atoms)[None], 6, axis=0),
        cells=np.repeat(BOX[None], 6, axis=0),
        times=np.arange(6) * 0.01,
    )
    settings = {'molecules': {'water': [[3, 4, 5]], 'additive': [[0, 1, 2]]}, 'n_blocks': 3}
    result = analyse_hbond_network(trajectory, orm.Dict(settings))
    assert result['hbonds']['additive_water_hbonds_per_additive']['mean'] == pytest.approx(1.0)
    assert result['hbonds']['hbonds_per_water']['mean'] == 0.0
    assert result['hbonds_per_frame'].get_array('times').shape == (6,)
    _, node = analyse_hbond_network.run_get_node(trajectory, orm.Dict({**settings, 'n_blocks': 10}))
    assert node.exit_status == EXIT_TOO_SHORT and 'at least 10 frames' in node.exit_message
    _, node = analyse_hbond_network.run_get_node(trajectory, orm.Dict({**settings, 'n_blocks': 1}))
    assert node.exit_status == EXIT_BAD_INPUT
