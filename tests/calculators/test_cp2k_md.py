"""CP2K MD and the CP2K restart loop, for real: GFN1-xTB on [Zn(H2O)6]2+ in a small periodic box.

The walltime is set so that CP2K stops itself several times within one MD run; the chain must reach exactly the
requested step count, with one frame per saved step and continuous dynamics across the restarts.
"""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_znadditive.analysis.trajectory import Frames, splice
from aiida_znadditive.calculators.base import Task, load_calculator
from aiida_znadditive.calculators.cp2k.trajectory import parse_xyz_frames, restart_step
from aiida_znadditive.structures.zinc_aqua import zn_aqua_atoms

XTB_MD = {'method': 'xtb', 'md': {'timestep': 1.0, 'hydrogen_mass': 2.0141, 'trajectory_stride': 10}}


def hexaaqua_box(length: float = 9.0) -> orm.StructureData:
    atoms = zn_aqua_atoms()
    atoms.set_cell([length] * 3)
    atoms.center()
    atoms.pbc = True
    return orm.StructureData(ase=atoms)


def md_task(steps: int, restart_stride: int = 10) -> Task:
    settings = {**XTB_MD, 'md': {**XTB_MD['md'], 'steps': steps, 'restart_stride': restart_stride}}
    return Task(kind='md', charge=2, protocol='fast', settings=settings)


def _frames(steps) -> Frames:
    steps = np.asarray(steps)
    n = len(steps)
    return Frames(steps, steps * 1e-3, np.zeros((n, 1, 3)) + steps[:, None, None], steps * 1.0, np.full(n, 300.0))


def test_splice_keeps_the_latest_run_of_every_step():
    first = _frames([0, 10, 20, 30, 40])  # crashed after step 40; its last restart file was at step 20
    retry = _frames([30, 40, 50])
    spliced = splice([first, retry])
    assert list(spliced.steps) == [0, 10, 20, 30, 40, 50]
    assert spliced.energies[-3:].tolist() == [30.0, 40.0, 50.0]
    with pytest.raises(ValueError, match='No MD frames'):
        splice([None])


def test_parse_xyz_drops_a_truncated_frame():
    frame = '2\n i =        {i}, time =        {t:.3f}, E =      -17.5\n O 0 0 0\n H 0 0 {z}\n'
    text = frame.format(i=0, t=0.0, z=0.97) + frame.format(i=5, t=2.5, z=0.98) + '2\n i = 10, time = 5.0, E = -1\n O 0'
    steps, times, positions, energies = parse_xyz_frames(text)
    assert steps.tolist() == [0, 5]
    assert times.tolist() == [0.0, 2.5]
    assert positions.shape == (2, 2, 3)
    assert positions[1, 1, 2] == pytest.approx(0.98)
    assert energies.tolist() == [-17.5, -17.5]


def test_restart_step_reads_the_md_counter():
    text = '&MOTION\n &MD\n  STEPS 10\n  STEP_START_VAL 120\n  TIME_START_VAL 120.0\n &END MD\n&END MOTION\n'
    assert restart_step(text) == 120
    assert restart_step('&GLOBAL\n&END GLOBAL\n') == 0


def test_md_input_of_each_method():
    adapter = load_calculator('cp2k')
    box = hexaaqua_box()
    xtb = adapter.input_parameters(box, md_task(5), adapter.settings(md_task(5)))
    assert xtb['FORCE_EVAL']['DFT']['QS']['METHOD'] == 'XTB'
    assert xtb['FORCE_EVAL']['DFT']['QS']['XTB']['DO_EWALD'] is True
    assert xtb['FORCE_EVAL']['DFT']['POISSON']['EWALD']['GMAX'] == '19 19 19'  # 9 Å = 17.01 bohr: 18 points, made odd
    assert xtb['MOTION']['MD']['THERMOSTAT']['TYPE'] == 'CSVR'
    assert {'_': 'H', 'MASS': 2.0141} in xtb['FORCE_EVAL']['SUBSYS']['KIND']
    dft_task = Task(kind='md', charge=2, protocol='precise', settings={'functional': 'revPBE'})
    dft = adapter.input_parameters(box, dft_task, adapter.settings(dft_task))
    kinds = {kind['_']: kind for kind in dft['FORCE_EVAL']['SUBSYS']['KIND']}
    assert kinds['Zn']['BASIS_SET'] == 'TZV2P-MOLOPT-SR-GTH'  # BASIS_MOLOPT has no TZV2P for Zn
    assert kinds['O']['BASIS_SET'] == 'TZV2P-MOLOPT-GTH'
    assert dft['FORCE_EVAL']['DFT']['BASIS_SET_FILE_NAME'] == ['BASIS_MOLOPT', 'BASIS_MOLOPT_UCL']
    assert dft['FORCE_EVAL']['DFT']['XC']['XC_FUNCTIONAL'] == {'PBE': {'PARAMETRIZATION': 'REVPBE'}}
    assert dft['FORCE_EVAL']['DFT']['POISSON'] == {'PERIODIC': 'XYZ'}


@pytest.mark.integration
def test_md_continues_through_walltime_stops_and_segments(cp2k_code):
    """CP2K stops at its WALLTIME (18 s) at least once; the chain still runs exactly 400 steps, then continues.

    400 steps take ~30 s alone on 2 cores, so the first run is stopped; 18 s leave a loaded machine time to
    make progress in every run (a run stopped before its first MD step has nothing to continue from).
    """
    adapter = load_calculator('cp2k')
    builder = adapter.get_builder(cp2k_code, hexaaqua_box(), md_task(400), options={'max_wallclock_seconds': 20})
    builder.max_iterations = orm.Int(40)  # a loaded machine makes less progress per run
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    runs = [child for child in node.called if child.process_label == 'Cp2kCalculation']
    assert len(runs) >= 2, 'the 18 s walltime should have stopped the first run'
    assert any(run.exit_status == 400 for run in runs)
    # the frames are read once, by the adapter: aiida-cp2k's own copy of them is not made (calculators/cp2k/parser.py)
    assert all('output_trajectory' not in run.outputs for run in runs)
    assert 'output_structure' in max(runs, key=lambda run: run.pk).outputs  # the rest of the parser still runs
    trajectory = results['trajectory']
    assert trajectory.get_stepids().tolist() == list(range(0, 401, 10))
    assert np.allclose(np.diff(trajectory.get_times()), 0.010)  # ps: 10 steps of 1 fs
    positions = trajectory.get_positions()
    assert np.all(np.isfinite(positions))
    # Continuity: no jump between saved frames beyond thermal motion (10 fs, deuterium-mass H).
    assert np.abs(np.diff(positions, axis=0)).max() < 1.0
    temperatures = trajectory.get_array('temperatures')
    assert np.all((temperatures > 50) & (temperatures < 1500))
    zn_o = np.linalg.norm(positions[-1, 1::3] - positions[-1, 0], axis=1)
    assert np.all((zn_o > 1.8) & (zn_o < 2.8)), zn_o  # all six waters stay within the first-shell cutoff

    # A second segment from the first one's folder continues the step counter and the dynamics.
    builder = adapter.get_builder(
        cp2k_code,
        hexaaqua_box(),
        md_task(20),
        options={'max_wallclock_seconds': 600},
        parent_folder=node.outputs.remote_folder,
    )
    second, _ = run_get_node(builder)
    assert second['trajectory'].get_stepids().tolist() == [410, 420]
    jump = np.abs(second['trajectory'].get_positions()[0] - positions[-1]).max()
    assert jump < 1.0, 'the second segment must start where the first ended'


@pytest.mark.integration
def test_unconverged_scf_of_a_single_point_is_rescued(cp2k_code):
    """CP2K 2023 only warns about an unconverged SCF: the restart loop must not take such an energy."""
    adapter = load_calculator('cp2k')
    task = Task(kind='singlepoint', charge=2, protocol='fast', settings={'method': 'xtb', 'xtb': {'max_scf': 2}})
    overrides = {'FORCE_EVAL': {'DFT': {'SCF': {'OUTER_SCF': {'MAX_SCF': 1}}}}}
    builder = adapter.get_builder(cp2k_code, hexaaqua_box(), task, overrides=overrides)
    results, node = run_get_node(builder)
    runs = [child for child in node.called if child.process_label == 'Cp2kCalculation']
    assert node.is_finished_ok, node.exit_message
    assert len(runs) >= 2
    scf = runs[-1].inputs.parameters['FORCE_EVAL']['DFT']['SCF']
    assert scf['MAX_SCF'] > 2
    assert 'SCF run NOT converged' not in runs[-1].outputs.retrieved.base.repository.get_object_content('aiida.out')
    # GFN1-xTB total energy of [Zn(H2O)6]2+ in the box: the converged value, in eV (about -947 eV).
    assert -960 < results['output_parameters']['energy'] * 27.211386 < -930


@pytest.mark.integration
def test_dft_md_runs_on_a_periodic_electrolyte_box(cp2k_code):
    """One PBE-D3(BJ)/DZVP-MOLOPT-SR MD step of Zn2+, sulfate and 8 waters: the DFT path of the solvation protocols."""
    from aiida_znadditive.structures.electrolyte import pack_electrolyte

    box = pack_electrolyte(8)
    task = Task(kind='md', charge=box.charge, protocol='fast', settings={'md': {'steps': 1, 'trajectory_stride': 1}})
    builder = load_calculator('cp2k').get_builder(cp2k_code, orm.StructureData(ase=box.atoms), task)
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    trajectory = results['trajectory']
    assert trajectory.get_stepids().tolist() == [0, 1]
    energies = trajectory.get_array('energies')
    # PBE/GTH valence energy of Zn(q12) + SO4 + 8 H2O: -7416.4 eV measured; one 0.5 fs step changes it by meV.
    assert np.all(np.isfinite(energies))
    assert -7450 < energies[0] < -7380
    assert np.ptp(energies) < 0.5
