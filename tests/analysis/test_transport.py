"""Self-diffusion from the MSD and the Nernst-Einstein conductivity, on random walks of known D in a periodic box
(wrapped, as an MD code writes them), and the exit codes of a trajectory too short."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm

from aiida_znadditive.analysis.errors import AnalysisInputError
from aiida_znadditive.analysis.transport import (
    EXIT_TOO_SHORT,
    KB,
    analyse_transport,
    msd,
    transport,
    unwrap,
)

EDGE = 15.0
CELL = np.eye(3) * EDGE


def random_walk(n_particles, d_a2_ps, n_frames=400, dt=0.01, seed=0):
    """Positions (wrapped into the box) of particles with diffusion coefficient ``d_a2_ps`` (Å²/ps)."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(scale=np.sqrt(2 * d_a2_ps * dt), size=(n_frames - 1, n_particles, 3))
    start = rng.uniform(0, EDGE, size=(1, n_particles, 3))
    path = np.concatenate([start, start + np.cumsum(steps, axis=0)])
    return path, np.mod(path, EDGE), np.arange(n_frames) * dt


def test_unwrapping_restores_the_path_and_msd_is_linear():
    path, wrapped, _ = random_walk(20, 0.5)
    assert np.abs(np.mod(wrapped, EDGE) - wrapped).max() < 1e-12 and np.ptp(path) > EDGE  # it did cross the box
    unwrapped = unwrap(wrapped, np.repeat(CELL[None], len(path), axis=0))
    assert np.allclose(unwrapped, path)
    values = msd(path)
    assert values[0] == 0.0 and values[100] == pytest.approx(6 * 0.5 * 1.0, rel=0.15)  # 6 D t at t = 1 ps


def test_diffusion_and_conductivity_of_known_walks():
    """D recovered within 10 % (after removing the finite-size term the analysis adds), with an uncertainty of
    the right size; σ by Nernst-Einstein from those D."""
    _, zinc, times = random_walk(200, 0.07, seed=1)  # 0.7e-9 m²/s, Zn2+'s measured value
    _, water, _ = random_walk(200, 0.23, seed=2)  # 2.3e-9 m²/s, water's
    positions = np.concatenate([zinc, water], axis=1)
    species = {'zinc': [[i] for i in range(200)], 'water': [[200 + i] for i in range(200)]}
    cells = np.repeat(CELL[None], len(times), axis=0)
    result = transport(positions, cells, times, np.ones(400), species=species, charges={'zinc': 2})
    correction = result['finite_size_correction_m2_s']
    assert 0 < correction < 1e-9  # kT ξ / (6 π η L) for 15 Å: 0.3e-9 m²/s
    for name, expected in (('zinc', 0.7e-9), ('water', 2.3e-9)):
        value = result['diffusion'][name]
        assert value['D_pbc_m2_s'] == pytest.approx(expected, rel=0.1)
        assert value['D_m2_s'] == pytest.approx(value['D_pbc_m2_s'] + correction)
        assert 0 < value['uncertainty_m2_s'] < 0.3 * expected
    volume = (EDGE * 1e-10) ** 3
    sigma = 1.602176634e-19**2 / (volume * KB * 298.15) * 200 * 4 * result['diffusion']['zinc']['D_m2_s']
    assert result['nernst_einstein_conductivity_S_m'] == pytest.approx(sigma)


def test_too_short_is_refused_with_the_minimum(aiida_profile):
    _, wrapped, times = random_walk(5, 0.2, n_frames=50)  # 0.49 ps
    with pytest.raises(AnalysisInputError, match=r'at least 1\.0 ps'):
        transport(wrapped, np.repeat(CELL[None], 50, axis=0), times, np.ones(5), species={'zinc': [[0]]}, charges={})
    trajectory = orm.TrajectoryData()
    trajectory.set_trajectory(['Zn', 'O', 'H', 'H', 'O'], wrapped, cells=np.repeat(CELL[None], 50, axis=0), times=times)
    settings = {'molecules': {'water': [[1, 2, 3]]}, 'zn_index': 0, 'charges': {'zinc': 2}}
    _, node = analyse_transport.run_get_node(trajectory, orm.Dict(settings))
    assert node.exit_status == EXIT_TOO_SHORT and 'at least 1.0 ps and 20 frames' in node.exit_message
