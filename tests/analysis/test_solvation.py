"""First solvation shell of Zn2+ from a trajectory: g(r), coordination, composition, residence times."""

import numpy as np
import pytest
from aiida import orm

from aiida_znadditive.analysis.solvation import (
    EXIT_INVALID_INPUT,
    EXIT_NO_FRAMES,
    _first_peak_and_minimum,
    analyse_shell,
    analyse_solvation_shell,
    plot_solvation_shell,
)

BOX = 12.0
ZN_O = 2.09
OCTAHEDRON = ZN_O * np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=float)


def cubic_cells(n_frames: int, length: float = BOX) -> np.ndarray:
    return np.repeat(np.eye(3)[None] * length, n_frames, axis=0)


def hexaaqua_trajectory(n_frames: int = 20, n_far: int = 30, seed: int = 0):
    """Zn (atom 0) at the box centre, 6 water O at 2.09 Å, ``n_far`` water O beyond 3.5 Å; σ = 0.05 Å jitter."""
    rng = np.random.default_rng(seed)
    centre = np.full(3, BOX / 2)
    far = []
    while len(far) < n_far:
        point = rng.uniform(0, BOX, 3)
        if np.linalg.norm(point - centre) > 3.5:
            far.append(point)
    frame = np.vstack([centre, centre + OCTAHEDRON, far])
    positions = frame[None] + rng.normal(0.0, 0.05, (n_frames, *frame.shape))
    positions[:, 0] = centre  # Zn fixed, so the first-shell distances carry the whole jitter
    times = 0.1 * np.arange(n_frames)
    groups = {'water': [[i] for i in range(1, len(frame))]}
    return positions, cubic_cells(n_frames), times, groups


def test_hexaaqua_shell():
    positions, cells, times, groups = hexaaqua_trajectory()
    shell = analyse_shell(positions, cells, times, 0, groups)
    assert shell.first_peak['water'] == pytest.approx(ZN_O, abs=0.1)
    # g(r) is zero between the first shell and the nearest far water (3.5 Å): the minimum lies in that gap.
    assert 2.3 < shell.first_minimum['water'] < 3.6
    assert shell.coordination['water'] == 6.0
    assert shell.coordination_atoms['water'] == 6.0
    assert np.interp(2.8, shell.r, shell.running_cn['water']) == pytest.approx(6.0, abs=0.01)
    np.testing.assert_array_equal(shell.composition['water'], 6)
    assert shell.shell_fraction['water'] == 1.0
    assert shell.residence_censored['water'] is True
    assert shell.residence_time['water'] == pytest.approx(times[-1] - times[0])
    assert shell.r.shape == shell.rdf['water'].shape == shell.running_cn['water'].shape == (120,)


def test_first_minimum_of_a_smooth_noisy_rdf():
    # Sharp first peak at 2.1 Å, g ≈ 0 up to the rise of the second shell at ~3 Å, a shallow second peak at 4.3 Å.
    r = np.linspace(0.025, 5.975, 120)
    g = 8 * np.exp(-(((r - 2.1) / 0.1) ** 2)) + (1 + 0.6 * np.exp(-(((r - 4.3) / 0.3) ** 2))) / (
        1 + np.exp(-(r - 3.6) / 0.15)
    )
    g *= 1 + 0.05 * np.random.default_rng(2).normal(size=r.size)
    peak, minimum = _first_peak_and_minimum(r, g)
    assert peak == pytest.approx(2.1, abs=0.06)
    assert 2.4 < minimum < 3.0  # the middle of the (nearly) empty region, not its first bin
    assert _first_peak_and_minimum(r, np.zeros_like(r)) == (None, None)


def test_ideal_gas_rdf_tends_to_one():
    rng = np.random.default_rng(1)
    n_frames, n_atoms, length = 10, 601, 14.0
    positions = rng.uniform(0, length, (n_frames, n_atoms, 3))
    shell = analyse_shell(
        positions,
        cubic_cells(n_frames, length),
        np.arange(n_frames, dtype=float),
        0,
        {'oxygen': [[i] for i in range(1, n_atoms)]},
        n_bins=30,
    )
    window = (shell.r > 4.0) & (shell.r < 5.5)
    assert shell.rdf['oxygen'][window].mean() == pytest.approx(1.0, rel=0.1)
    density = (n_atoms - 1) / length**3
    expected = density * 4 / 3 * np.pi * 5.0**3
    assert np.interp(5.0, shell.r, shell.running_cn['oxygen']) == pytest.approx(expected, rel=0.1)


def test_minimum_image_across_the_boundary():
    # Zn near x = 0, O near x = 12: 10 Å apart in the box, 2.0 Å through the periodic boundary.
    frame = np.array([[0.5, 6.0, 6.0], [10.5, 6.0, 6.0], [6.0, 6.0, 6.0]])
    positions = np.repeat(frame[None], 3, axis=0)
    shell = analyse_shell(positions, cubic_cells(3), [0.0, 0.1, 0.2], 0, {'water': [[1], [2]]})
    assert shell.coordination['water'] == 1.0
    assert shell.first_peak['water'] == pytest.approx(2.0, abs=0.05)


def test_cell_orientation_does_not_matter():
    positions, cells, times, groups = hexaaqua_trajectory(n_frames=5)
    reference = analyse_shell(positions, cells, times, 0, groups)
    # The same system in a rotated frame: MDAnalysis wants a along x, so the analysis has to rotate it back.
    angle = 0.4
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    rotated = analyse_shell(positions @ rotation.T, cells @ rotation.T, times, 0, groups)
    np.testing.assert_allclose(rotated.rdf['water'], reference.rdf['water'])
    assert rotated.coordination == reference.coordination


def test_triclinic_cell_minimum_image():
    # Monoclinic cell (b tilted towards a): the periodic image of the O at 2.0 Å is reached through the tilted face.
    cell = np.array([[12.0, 0.0, 0.0], [3.0, 12.0, 0.0], [0.0, 0.0, 12.0]])
    zn = np.array([5.0, 0.5, 6.0])
    oxygen = zn + np.array([0.0, -2.0, 0.0]) + cell[1]  # = zn - 2 ŷ, shifted by one b vector
    positions = np.array([[zn, oxygen]])
    shell = analyse_shell(positions, cell[None], [0.0], 0, {'water': [[1]]}, r_max=5.0)
    assert shell.coordination['water'] == 1.0
    assert shell.coordination_atoms['water'] == 1.0


def exchange_trajectory(in_shell: np.ndarray) -> tuple:
    """Zn plus one water O, at 2.0 Å in the frames where ``in_shell`` is true and 5.0 Å otherwise; 0.1 ps apart."""
    n_frames = len(in_shell)
    positions = np.full((n_frames, 2, 3), BOX / 2)
    positions[:, 1, 0] += np.where(in_shell, 2.0, 5.0)
    return positions, cubic_cells(n_frames), 0.1 * np.arange(n_frames), {'water': [[1]]}


def exchange_shell(in_shell: np.ndarray, **kwargs):
    positions, cells, times, groups = exchange_trajectory(in_shell)
    return analyse_shell(positions, cells, times, 0, groups, **kwargs)


def test_residence_time_of_one_exchange():
    in_shell = np.arange(100) < 50  # frames 0-49 in the shell, out from frame 50 on
    shell = exchange_shell(in_shell)
    assert shell.residence_time['water'] == pytest.approx(5.0, abs=0.11)
    assert shell.residence_censored['water'] is False
    assert shell.shell_fraction['water'] == 0.5


def test_short_absence_does_not_end_a_stay():
    in_shell = np.arange(100) < 60
    in_shell[30:33] = False  # out for 0.3 ps < tolerance 0.5 ps
    shell = exchange_shell(in_shell, tolerance_ps=0.5)
    assert shell.residence_time['water'] == pytest.approx(6.0, abs=0.11)
    assert shell.residence_censored['water'] is False


def test_long_absence_splits_a_stay():
    in_shell = np.arange(100) < 60
    in_shell[30:40] = False  # out for 1.0 ps: stays of 3.0 and 2.0 ps
    shell = exchange_shell(in_shell, tolerance_ps=0.5)
    assert shell.residence_time['water'] == pytest.approx(2.5, abs=0.11)
    assert shell.residence_censored['water'] is False


def test_additive_in_half_the_frames_and_bidentate_counts_once():
    n_frames = 20
    centre = np.full(3, BOX / 2)
    positions = np.tile(centre, (n_frames, 3, 1))
    # Additive with two donors (atoms 1, 2): both at 2.1 Å in the first half, both at 5 Å in the second.
    distance = np.where(np.arange(n_frames) < 10, 2.1, 5.0)
    positions[:, 1, 0] += distance
    positions[:, 2, 1] += distance
    groups = {'additive': [[1, 2]], 'sulfate': []}
    shell = analyse_shell(positions, cubic_cells(n_frames), 0.1 * np.arange(n_frames), 0, groups)
    np.testing.assert_array_equal(shell.composition['additive'], [1] * 10 + [0] * 10)
    assert shell.composition['additive'].dtype.kind == 'i'
    assert shell.shell_fraction['additive'] == 0.5
    assert shell.coordination['additive'] == 0.5
    assert shell.coordination_atoms['additive'] == 1.0  # two donor atoms in half of the frames
    # An empty group: no donors, nothing to report.
    np.testing.assert_array_equal(shell.rdf['sulfate'], 0.0)
    assert shell.coordination['sulfate'] == 0.0
    assert shell.first_peak['sulfate'] is None
    assert shell.residence_time['sulfate'] is None


@pytest.mark.parametrize(
    ('change', 'message'),
    [
        ({'zn_index': 99}, 'zn_index 99 is out of range'),
        ({'times': np.zeros(3)}, 'times_ps must have shape'),
        ({'cells': cubic_cells(2)}, 'cells must have shape'),
        ({'positions': np.zeros((0, 2, 3)), 'cells': cubic_cells(0), 'times': np.zeros(0)}, 'empty'),
        ({'groups': {'water': [[5]]}}, 'out of range'),
        ({'r_max': 6.5}, 'box is too small for the RDF range'),
    ],
)
def test_bad_input_is_a_value_error(change, message):
    positions, cells, times, groups = exchange_trajectory(np.ones(4, dtype=bool))
    arguments = {'positions': positions, 'cells': cells, 'times': times, 'zn_index': 0, 'groups': groups}
    arguments.update(change)
    with pytest.raises(ValueError, match=message):
        analyse_shell(
            arguments['positions'],
            arguments['cells'],
            arguments['times'],
            arguments['zn_index'],
            arguments['groups'],
            r_max=arguments.get('r_max', 6.0),
        )


def hexaaqua_trajectory_data(n_frames: int = 20) -> tuple[orm.TrajectoryData, dict]:
    positions, cells, times, groups = hexaaqua_trajectory(n_frames=n_frames, n_far=10)
    trajectory = orm.TrajectoryData()
    symbols = ['Zn'] + ['O'] * (positions.shape[1] - 1)
    trajectory.set_trajectory(
        symbols, positions, stepids=np.arange(n_frames), cells=cells, times=times, pbc=(True, True, True)
    )
    return trajectory, {'zn_index': 0, 'groups': {**groups, 'additive': []}}


def test_calcfunction_outputs_and_skip():
    trajectory, settings = hexaaqua_trajectory_data()
    outputs, node = analyse_solvation_shell.run_get_node(trajectory, orm.Dict({**settings, 'skip_ps': 0.5}))
    assert node.is_finished_ok
    assert set(outputs) == {'rdf', 'composition', 'results'}
    rdf, composition, results = outputs['rdf'], outputs['composition'], outputs['results'].get_dict()
    assert set(rdf.get_arraynames()) == {'r', 'g_water', 'n_water', 'g_additive', 'n_additive'}
    for name in rdf.get_arraynames():
        assert rdf.get_array(name).shape == (120,)
        assert np.all(np.isfinite(rdf.get_array(name)))
    assert results['n_frames'] == 15  # frames at 0.0-0.4 ps discarded
    assert composition.get_array('times').shape == composition.get_array('n_water').shape == (15,)
    assert composition.get_array('times')[0] == pytest.approx(0.5)
    assert results['time_analysed_ps'] == pytest.approx(1.4)
    water = results['groups']['water']
    assert water['coordination'] == 6.0
    assert water['coordination_atoms'] == 6.0
    assert water['first_peak'] == pytest.approx(ZN_O, abs=0.1)
    assert water['residence_censored'] is True
    assert results['groups']['additive']['residence_time_ps'] is None
    assert results['total_coordination'] == 6.0
    assert results['settings']['skip_ps'] == 0.5
    assert results['settings']['shell_cutoff'] == 2.8

    figure = plot_solvation_shell(outputs['rdf'], outputs['results'])
    assert figure.filename == 'solvation_shell.png'
    assert figure.get_content('rb')[:8] == b'\x89PNG\r\n\x1a\n'


@pytest.mark.parametrize(
    ('change', 'status', 'message'),
    [
        ({'skip_ps': 100.0}, EXIT_NO_FRAMES, 'discards every frame'),
        ({'r_max': 7.0}, EXIT_INVALID_INPUT, 'box is too small'),
        ({'zn_index': 1}, EXIT_INVALID_INPUT, 'not Zn'),
    ],
)
def test_calcfunction_bad_input_is_an_exit_code(change, status, message):
    trajectory, settings = hexaaqua_trajectory_data(n_frames=3)
    _, node = analyse_solvation_shell.run_get_node(trajectory, orm.Dict({**settings, **change}))
    assert node.is_failed
    assert node.exit_status == status
    assert message in node.exit_message
