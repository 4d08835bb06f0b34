"""The cluster path for real: calculations through AiiDA's ``core.slurm`` scheduler over ``core.ssh_async``.

The test starts its own single-node SLURM cluster and key-only sshd on the loopback
(:class:`~aiida_znadditive.environment.slurm.LoopbackCluster`), creates the computer and the xtb code with the same
function ``aiida-znadditive setup --codes`` uses, and runs the platform's WorkChains there: the energies must equal
those of the local computer, every job must have gone through SLURM, and a request SLURM refuses must come back to
the user with SLURM's reason instead of a silent hang.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
import threading
import time

import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_znadditive.environment.partitions import recorded_partitions
from aiida_znadditive.environment.slurm import PARTITION_MAX_MINUTES, LoopbackCluster
from aiida_znadditive.provenance.faults import fault_figures
from aiida_znadditive.provenance.secrets import find_secrets, graph_of
from aiida_znadditive.structures.candidates import build_water
from aiida_znadditive.workchains.calculator import CalculatorWorkChain, engine_runs

pytestmark = [pytest.mark.integration, pytest.mark.production]

COMPUTER = 'slurm-loopback'
#: MD steps of the time-limit test: more than one minute of CP2K here, so SLURM's limit stops the first run
TIME_LIMIT_STEPS = 1500


def free_port() -> int:
    """A TCP port nothing listens on now (several clusters, e.g. a developer's and a test's, can run side by side)."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


@pytest.fixture(scope='module')
def slurm_cluster(tmp_path_factory):
    """A running cluster, with ``$HOME/.ssh`` pointing at it for asyncssh (which reads the ``Host`` entry there)."""
    if shutil.which('slurmctld') is None and not shutil.which('/usr/sbin/slurmctld'):
        pytest.fail('slurm-wlm is not installed: run sudo bash scripts/install.sh')
    cluster = LoopbackCluster(
        tmp_path_factory.mktemp('slurm'), ssh_port=free_port(), ctld_port=free_port(), slurmd_port=free_port()
    )
    home = tmp_path_factory.mktemp('home')
    with pytest.MonkeyPatch.context() as patch:
        cluster.start()
        try:
            cluster.write_ssh_client_config(home)
            patch.setenv('HOME', str(home))
            yield cluster
        finally:
            cluster.stop()


@pytest.fixture
def slurm_codes(aiida_profile, slurm_cluster, tmp_path_factory):
    """The SLURM computer and its xtb code, made by ``ensure_codes`` from a codes-file content, as ``setup`` does."""
    from aiida_znadditive.environment.codes import ensure_codes

    content = {
        'computer': {
            'label': COMPUTER,
            'hostname': slurm_cluster.alias,
            'description': 'single-node SLURM on the loopback, reached over SSH (tests)',
            'transport': 'core.ssh_async',
            'scheduler': 'core.slurm',
            'work_dir': str(tmp_path_factory.getbasetemp() / 'slurm-work'),
            'mpirun_command': 'srun -n {tot_num_mpiprocs}',
            'default_mpiprocs_per_machine': 1,
            # SLURM answers at once here; a cluster's default of 10 s would make each job wait that long.
            'minimum_job_poll_interval': 1,
            'configure': {'host': slurm_cluster.alias, 'safe_interval': 0, 'use_login_shell': False},
        },
        'codes': {
            'xtb': {
                'label': 'xtb',
                'plugin': 'znadditive.xtb',
                'filepath_executable': shutil.which('xtb'),
                'prepend_text': 'export OMP_NUM_THREADS=1 OMP_STACKSIZE=1G',
            },
            # the same binary with a resource rule: OpenMP threads from the number of atoms
            'xtb-scaled': {
                'label': 'xtb-scaled',
                'plugin': 'znadditive.xtb',
                'filepath_executable': shutil.which('xtb'),
                'prepend_text': 'export OMP_STACKSIZE=1G',
                'resources': {'atoms_per_thread': 2, 'max_threads': 2, 'memory_mb_per_rank': 500},
            },
        },
    }
    if shutil.which('cp2k.psmp'):
        # one process, one thread: srun of an Open MPI binary needs a PMI plug-in this cluster lacks, and two
        # OpenMP threads in a job of this cluster stalled CP2K for seconds per SCF step (1 MD step/s against 10)
        content['codes']['cp2k'] = {
            'label': 'cp2k',
            'plugin': 'cp2k',
            'filepath_executable': shutil.which('cp2k.psmp'),
            'with_mpi': False,
            'prepend_text': 'export OMP_NUM_THREADS=1',
        }
    ensure_codes(content, build_environments=False)
    return {key: orm.load_code(f'{spec["label"]}@{COMPUTER}') for key, spec in content['codes'].items()}


def water_singlepoint(code, **extra):
    builder = CalculatorWorkChain.get_builder()
    builder.calculator = orm.Str('xtb')
    builder.code = code
    builder.structure = build_water()
    builder.task = orm.Str('singlepoint')
    for key, value in extra.items():
        builder[key] = value
    return run_get_node(builder)


def scontrol_job(cluster: LoopbackCluster, job_id: str) -> str:
    """``scontrol show job`` of a job still in slurmctld's memory (``MinJobAge``: 30 s after it ended)."""
    return subprocess.run(['scontrol', 'show', 'job', job_id], capture_output=True, text=True, env=cluster.env,
                          check=False).stdout  # fmt: skip


def test_singlepoint_through_slurm_equals_local(slurm_codes, znadditive_codes, slurm_cluster):
    """GFN2-xTB water through SLURM over SSH: the same energy as on the local computer, from a SLURM job."""
    options = orm.Dict({'max_wallclock_seconds': 300, 'queue_name': slurm_cluster.partition})
    results, node = water_singlepoint(slurm_codes['xtb'], options=options)
    assert node.is_finished_ok, node.exit_message
    local, local_node = water_singlepoint(znadditive_codes['xtb'])
    assert local_node.is_finished_ok, local_node.exit_message
    assert results['energy'].value == pytest.approx(local['energy'].value, abs=1e-6)
    calcjob = node.called[0]
    assert calcjob.computer.label == COMPUTER
    job_id = calcjob.get_job_id()
    assert job_id is not None and job_id.isdigit()
    job = scontrol_job(slurm_cluster, job_id)
    assert 'JobState=COMPLETED' in job, job
    assert f'Partition={slurm_cluster.partition}' in job
    assert 'TimeLimit=00:05:00' in job  # the WorkChain's options reached the scheduler
    script = calcjob.base.repository.get_object_content('_aiidasubmit.sh')
    assert '#SBATCH --time=00:05:00' in script


def run_until_paused(builder, timeout: float):
    """Run ``builder`` in this interpreter until the process pauses or ends; fail after ``timeout`` s.

    aiida-core retries a failed submission with exponential backoff and then *pauses* the CalcJob (it waits for the
    user to fix the cause and ``verdi process play`` it); ``run_get_node`` would wait forever for a paused process.
    """
    from aiida.engine.utils import instantiate_process
    from aiida.manage import get_manager

    runner = get_manager().get_runner()
    process = instantiate_process(runner, builder)

    async def watch():
        task = asyncio.ensure_future(process.step_until_terminated())
        deadline = time.monotonic() + timeout
        while not process.paused and not task.done():
            assert time.monotonic() < deadline, f'{process.node.process_label} neither paused nor ended in {timeout} s'
            await asyncio.sleep(0.2)
        return task

    task = runner.loop.run_until_complete(watch())
    return process, task, runner


@pytest.fixture
def one_submission_attempt(aiida_profile):
    """One attempt per transport task (aiida-core's default is 5 with an exponential backoff from 20 s); node logs
    written to the database, as a daemon writes them (`verdi process report` reads them there). An earlier test on
    the same worker may have configured logging without the database handler (seen in the parallel suite)."""
    from aiida.common.log import configure_logging
    from aiida.manage.configuration import get_config

    configure_logging(with_orm=True)

    from aiida.manage import get_manager

    # aiida-core reads the option from the manager's loaded Profile object first; an earlier test on the same worker
    # may have reloaded the config, leaving that object distinct from the config's own (seen in CI: 5 attempts were
    # made though the config said 1), so the option is set on both.
    option = 'transport.task_maximum_attempts'
    config = get_config()
    name = aiida_profile.name
    old = config.get_option(option, scope=name)
    profiles = {id(p): p for p in (config.get_profile(name), get_manager().get_profile()) if p is not None}
    previous = {key: p.options.get(option) for key, p in profiles.items()}
    for profile in profiles.values():
        profile.set_option(option, 1)
    config.set_option(option, 1, scope=name)
    yield
    config.set_option(option, old, scope=name)
    for key, profile in profiles.items():
        if previous[key] is None:
            profile.options.pop(option, None)
        else:
            profile.set_option(option, previous[key])


def test_walltime_beyond_partition_is_refused_with_slurms_reason(slurm_codes, one_submission_attempt, caplog):
    """A walltime over the partition's MaxTime: sbatch refuses it (EnforcePartLimits) and the CalcJob pauses with
    SLURM's reason in its report, in seconds; killed, the calling WorkChain fails with an exit code."""
    from aiida_znadditive.calculators.base import Task
    from aiida_znadditive.calculators.xtb.adapter import XtbCalculator

    too_long = (PARTITION_MAX_MINUTES + 60) * 60
    builder = XtbCalculator().get_builder(
        slurm_codes['xtb'], build_water(), Task(kind='singlepoint'), options={'max_wallclock_seconds': too_long}
    )
    start = time.monotonic()
    process, task, runner = run_until_paused(builder, timeout=60)
    assert process.paused
    assert time.monotonic() - start < 60
    node = process.node
    assert node.get_job_id() is None  # never queued
    log = '\n'.join(entry.message for entry in orm.Log.collection.get_logs_for(node))
    # SLURM's reason on the node's own logger: in the database (`verdi process report`), or, where an earlier test on
    # the same worker left logging without the database handler (seen once in the parallel suite), in its records.
    records = '\n'.join(
        logging.Formatter().format(record)  # with the exception's text, as the database entry holds it
        for record in caplog.records
        if getattr(record, 'dbnode_id', None) == node.pk
    )
    assert 'Requested time limit is invalid' in log + records, log + records
    assert 'submit_calculation failed' in (node.process_status or '')

    # force: no scheduler job to cancel (aiida-core's normal kill asks the scheduler over the transport first)
    process.kill('walltime refused by SLURM', force_kill=True)
    assert node.is_killed
    # the stepping coroutine of a paused process waits to be played, also once killed: end it with the test
    task.cancel()
    runner.loop.run_until_complete(asyncio.gather(task, return_exceptions=True))


def test_complexation_through_slurm(slurm_codes, slurm_cluster):
    """The cheap-level ZnComplexationWorkChain (water as the additive, xtb at both levels) with scheduler options:
    every calculation a SLURM job on the partition asked for, and replacing a water by a water costs nothing."""
    from aiida_znadditive.workchains.complexation import ZnComplexationWorkChain

    xtb = slurm_codes['xtb']
    options = {'queue_name': slurm_cluster.partition, 'max_wallclock_seconds': 600}
    builder = ZnComplexationWorkChain.get_builder_from_protocol(xtb, xtb, 'O', dft_calculator='xtb', options=options)
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    assert abs(results['exchange_energy'].value) < 0.05
    calcjobs = [n for n in node.called_descendants if isinstance(n, orm.CalcJobNode)]
    assert calcjobs and all(c.computer.label == COMPUTER and c.get_job_id() for c in calcjobs)
    assert len({c.get_job_id() for c in calcjobs}) == len(calcjobs)  # one SLURM job each, none run twice
    assert {c.get_option('queue_name') for c in calcjobs} == {slurm_cluster.partition}

    # nothing secret in what an archive of this run would hold: the SSH key the computer logs in with is not
    # there, nor anything that looks like a credential (every attribute and file of every node, job scripts included)
    key = (slurm_cluster.state / 'ssh' / 'id_ed25519').read_text()
    body = ''.join(line for line in key.splitlines() if not line.startswith('-----'))
    nodes = graph_of([node])
    assert len(nodes) > 20
    assert find_secrets(nodes, known=[body, body[:40]]) == []
    for calcjob in calcjobs:  # each job script is well formed shell
        script = calcjob.base.repository.get_object_content('_aiidasubmit.sh')
        assert subprocess.run(['bash', '-n'], input=script, text=True, check=False).returncode == 0, script


def test_setup_records_the_partitions_and_a_walltime_beyond_them_ends_the_workchain_at_once(slurm_codes, slurm_cluster):
    """setup read the partition's MaxTime with sinfo over SSH; a walltime beyond it, or a queue the cluster does not
    have, ends the CalculatorWorkChain with its exit code before anything is submitted (no pause, no hang)."""
    code = slurm_codes['xtb']
    recorded = recorded_partitions(code.computer)
    assert recorded['source'] == 'sinfo'
    partition = recorded['partitions'][slurm_cluster.partition]
    assert partition['max_wallclock_seconds'] == PARTITION_MAX_MINUTES * 60
    assert partition['default'] is True

    start = time.monotonic()
    _, node = water_singlepoint(code, options=orm.Dict({'max_wallclock_seconds': (PARTITION_MAX_MINUTES + 1) * 60}))
    assert node.exit_status == 250, node.exit_message
    assert f'partition `{slurm_cluster.partition}`' in node.exit_message and '01:00:00' in node.exit_message
    assert not node.called  # nothing reached SLURM
    _, node = water_singlepoint(code, options=orm.Dict({'queue_name': 'gpu', 'max_wallclock_seconds': 60}))
    assert node.exit_status == 251, node.exit_message
    assert 'gpu' in node.exit_message and not node.called
    assert time.monotonic() - start < 30


class Canceller(threading.Thread):
    """``scancel`` the first ``times`` jobs seen running, as an operator or a preemption would."""

    def __init__(self, cluster: LoopbackCluster, times: int):
        super().__init__(daemon=True)
        self.cluster, self.times = cluster, times
        self.cancelled: list[str] = []
        self.done = threading.Event()

    def run(self):
        running_since: dict[str, float] = {}
        while not self.done.is_set() and len(self.cancelled) < self.times:
            for job_id, state in self.cluster.squeue():
                if state != 'R' or job_id in self.cancelled:
                    continue
                # a job cancelled in its first instant may not have opened its output files yet: one that ran a
                # little is what an operator cancels
                if time.monotonic() - running_since.setdefault(job_id, time.monotonic()) > 2:
                    subprocess.run(['scancel', job_id], env=self.cluster.env, check=True)
                    self.cancelled.append(job_id)
            time.sleep(0.3)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.join()


def wait_for_ledger(cluster: LoopbackCluster, jobs: int, timeout: float = 30) -> list[dict]:
    """slurmctld writes a job's ledger line when the job leaves the node: wait for ``jobs`` lines."""
    deadline = time.monotonic() + timeout
    while len(ledger := cluster.job_ledger()) < jobs and time.monotonic() < deadline:
        time.sleep(0.5)
    return ledger


#: each job sleeps before xtb starts, long enough for the canceller to see it running
SLOW_START = {'max_wallclock_seconds': 300, 'prepend_text': 'sleep 6'}


def test_a_job_cancelled_with_scancel_is_submitted_again_and_nothing_is_lost_or_run_twice(slurm_codes, slurm_cluster):
    """scancel of a running job: the CalculatorWorkChain reads slurmstepd's banner, submits the calculation again
    and finishes; SLURM's own ledger shows two jobs in two working directories (restarted 1, lost 0, run twice 0)."""
    before = len(slurm_cluster.job_ledger())
    with Canceller(slurm_cluster, times=1) as canceller:
        results, node = water_singlepoint(slurm_codes['xtb'], options=orm.Dict(SLOW_START))
    assert canceller.cancelled, 'no job was seen running'
    assert node.is_finished_ok, node.exit_message
    first, second = engine_runs(node)
    assert first.get_job_id() == canceller.cancelled[0] and not first.is_finished_ok
    assert second.is_finished_ok and second.get_job_id() != first.get_job_id()
    report = '\n'.join(entry.message for entry in orm.Log.collection.get_logs_for(node))
    assert 'was cancelled by the scheduler: submitting it again (1/2)' in report, report
    assert results['energy'].value == pytest.approx(-137.9, abs=0.5)  # GFN2-xTB water, eV

    ledger = wait_for_ledger(slurm_cluster, before + 2)
    figures = fault_figures([node], ledger)
    print('fault figures (scancel once):', figures)
    assert figures == {**figures, 'lost': 0, 'run_twice': 0, 'restarted': 1, 'jobs': 2, 'jobs_cancelled': 1}


def test_a_calculation_cancelled_every_time_ends_with_an_exit_code(slurm_codes, slurm_cluster):
    """Cancelled on every submission: after two resubmissions the WorkChain gives up with exit code 303 and says
    why, instead of submitting for ever."""
    with Canceller(slurm_cluster, times=3) as canceller:
        _, node = water_singlepoint(slurm_codes['xtb'], options=orm.Dict(SLOW_START))
    assert len(canceller.cancelled) == 3
    assert node.exit_status == 303, node.exit_message
    assert 'cancelled by the scheduler 3 times' in node.exit_message
    assert len(engine_runs(node)) == 3
    figures = fault_figures([node], wait_for_ledger(slurm_cluster, 0))
    assert figures['lost'] == 0 and figures['run_twice'] == 0 and figures['restarted'] == 2


def test_a_job_queued_while_its_node_is_down_runs_when_the_node_is_back(slurm_codes, slurm_cluster):
    """A node reboot: slurmd stops and SLURM marks the node down; a calculation submitted then waits in the queue and
    runs once slurmd is back (ReturnToService=2). Nothing is lost, nothing run twice, nothing restarted."""
    slurm_cluster.stop_daemon('slurmd')
    deadline = time.monotonic() + 90
    while not slurm_cluster.node_state().startswith('down') and time.monotonic() < deadline:
        time.sleep(1)
    assert slurm_cluster.node_state().startswith('down'), slurm_cluster.node_state()
    seen_pending = threading.Event()

    def reboot_when_queued():
        limit = time.monotonic() + 60
        while time.monotonic() < limit and not any(state == 'PD' for _, state in slurm_cluster.squeue()):
            time.sleep(0.5)
        if any(state == 'PD' for _, state in slurm_cluster.squeue()):
            seen_pending.set()
            time.sleep(3)  # queued for a while, as behind a reboot
        slurm_cluster.start()  # slurmd back; the node returns to service

    before = len(slurm_cluster.job_ledger())
    rebooter = threading.Thread(target=reboot_when_queued, daemon=True)
    rebooter.start()
    try:
        _, node = water_singlepoint(slurm_codes['xtb'], options=orm.Dict({'max_wallclock_seconds': 300}))
    finally:
        rebooter.join()
        slurm_cluster.start()
    assert seen_pending.is_set(), 'the job never waited in the queue'
    assert node.is_finished_ok, node.exit_message
    figures = fault_figures([node], wait_for_ledger(slurm_cluster, before + 1))
    print('fault figures (node down while queued):', figures)
    assert figures == {**figures, 'lost': 0, 'run_twice': 0, 'restarted': 0, 'jobs': 1}


def run_zn_aqua_md(slurm_codes, slurm_cluster, *, steps: int, walltime_fraction: float, max_iterations: int):
    """GFN1-xTB MD of [Zn(H2O)6]2+ in a 9 Å box with CP2K through SLURM (one-minute jobs), one frame and one restart
    file per 10 steps; returns the results, the CalculatorWorkChain, its CalcJobs (oldest first) and the ledger size
    before it ran."""
    from aiida_znadditive.structures.zinc_aqua import zn_aqua_atoms

    atoms = zn_aqua_atoms()
    atoms.set_cell([9.0] * 3)
    atoms.center()
    atoms.pbc = True
    settings = {
        'method': 'xtb',
        'walltime_fraction': walltime_fraction,
        'max_iterations': max_iterations,
        'md': {'timestep': 1.0, 'hydrogen_mass': 2.0141, 'trajectory_stride': 10, 'steps': steps, 'restart_stride': 10},
    }
    builder = CalculatorWorkChain.get_builder()
    builder.calculator = orm.Str('cp2k')
    builder.code = slurm_codes['cp2k']
    builder.structure = orm.StructureData(ase=atoms)
    builder.task = orm.Str('md')
    builder.charge = orm.Int(2)
    builder.settings = orm.Dict(settings)
    builder.options = orm.Dict({'max_wallclock_seconds': 60, 'queue_name': slurm_cluster.partition, 'withmpi': False})
    before = len(slurm_cluster.job_ledger())
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    runs = sorted((n for n in node.called_descendants if isinstance(n, orm.CalcJobNode)), key=lambda n: n.ctime)
    assert all(run.computer.label == COMPUTER and run.get_job_id() for run in runs)
    return results, node, runs, before


def assert_continuous(trajectory, steps: int) -> None:
    """Every tenth step from 0 to ``steps`` once, and no atom jumping between frames (a splice at the wrong step)."""
    import numpy as np

    assert trajectory.get_stepids().tolist() == list(range(0, steps + 1, 10))
    assert np.abs(np.diff(trajectory.get_positions(), axis=0)).max() < 1.0


def test_cp2k_md_segment_through_slurm_continues_past_its_walltime_stops(slurm_codes, slurm_cluster):
    """A GFN1-xTB MD segment of [Zn(H2O)6]2+ through SLURM: CP2K stops at its WALLTIME (30 % of the job's minute)
    inside the SLURM time limit, and the restart loop continues from the restart file in new SLURM jobs until the
    500 steps are done (more than one 18 s run makes here), one frame per 10 steps, the dynamics continuous."""
    # 18 s of the 60 s SLURM allows: CP2K stops itself, SLURM never kills it; a loaded machine needs more runs
    results, node, runs, before = run_zn_aqua_md(slurm_codes, slurm_cluster, steps=500, walltime_fraction=0.3,
                                                 max_iterations=20)  # fmt: skip
    assert len(runs) >= 2, 'CP2K should have stopped at its 18 s WALLTIME at least once'
    assert_continuous(results['trajectory'], 500)
    figures = fault_figures([node], wait_for_ledger(slurm_cluster, before + len(runs)))
    print('fault figures (CP2K MD through SLURM):', figures)
    assert figures == {**figures, 'lost': 0, 'run_twice': 0, 'restarted': 0, 'jobs': len(runs), 'jobs_cancelled': 0}


def test_cp2k_md_killed_at_slurms_time_limit_continues_from_its_checkpoint(slurm_codes, slurm_cluster):
    """The same MD with CP2K's own WALLTIME beyond the job's: SLURM kills CP2K at its one-minute limit (TIMEOUT in
    its ledger, slurmstepd's "DUE TO TIME LIMIT" on the job's stderr, an output cut short that aiida-cp2k's parser
    calls incomplete); the restart loop recognises the time limit and continues from the last periodic restart file,
    as often as it takes, instead of counting it a crash; the spliced trajectory has every step once."""
    from aiida_znadditive.calculators.interruptions import hit_time_limit

    # CP2K would stop itself after 600 s: SLURM's 60 s limit comes first
    results, node, runs, before = run_zn_aqua_md(slurm_codes, slurm_cluster, steps=TIME_LIMIT_STEPS,
                                                 walltime_fraction=10, max_iterations=10)  # fmt: skip
    killed = [run for run in runs if hit_time_limit(run)]
    assert killed, f"no run reached SLURM's time limit: {[(run.exit_status, run.exit_message) for run in runs]}"
    assert all(run.is_failed for run in killed) and runs[-1].is_finished_ok
    assert_continuous(results['trajectory'], TIME_LIMIT_STEPS)
    figures = fault_figures([node], wait_for_ledger(slurm_cluster, before + len(runs)))
    print("fault figures (CP2K MD killed at SLURM's time limit):", figures, 'runs:', len(runs))
    assert figures == {**figures, 'lost': 0, 'run_twice': 0, 'jobs': len(runs)}
    # SLURM may also mark TIMEOUT a job whose CP2K had written all of its output when the limit struck (seen in CI
    # on a loaded machine): that run finished and counts as done, so the ledger has at least the killed runs
    assert figures['jobs_timeout'] >= len(killed)


def test_resources_from_the_code_rule_reach_slurm(slurm_codes, slurm_cluster):
    """A code whose codes-file entry carries a resource rule: a water (3 atoms, 2 atoms per thread) gets 2 OpenMP
    threads as SLURM cores per task and OMP_NUM_THREADS, and the memory asked; explicit resources win over it."""
    _, node = water_singlepoint(slurm_codes['xtb-scaled'], options=orm.Dict({'max_wallclock_seconds': 300}))
    assert node.is_finished_ok, node.exit_message
    calcjob = engine_runs(node)[0]
    assert calcjob.get_option('resources') == {'num_machines': 1, 'num_mpiprocs_per_machine': 1,
                                                'num_cores_per_mpiproc': 2}  # fmt: skip
    script = calcjob.base.repository.get_object_content('_aiidasubmit.sh')
    assert '#SBATCH --cpus-per-task=2' in script and "export OMP_NUM_THREADS='2'" in script, script
    assert '#SBATCH --mem=500' in script, script
    job = scontrol_job(slurm_cluster, calcjob.get_job_id())
    assert 'NumCPUs=2' in job, job

    explicit = {'max_wallclock_seconds': 300, 'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': 1}}
    _, node = water_singlepoint(slurm_codes['xtb-scaled'], options=orm.Dict(explicit))
    assert node.is_finished_ok, node.exit_message
    assert engine_runs(node)[0].get_option('resources') == explicit['resources']


def test_singlepoint_through_slurm_on_this_machine(aiida_profile, slurm_cluster, tmp_path_factory, monkeypatch):
    """core.local + core.slurm: SLURM on the machine AiiDA runs on (a workstation with its own queue, or a daemon
    on a login node): the same energy, from a SLURM job."""
    from aiida_znadditive.environment.codes import ensure_codes

    monkeypatch.setenv('SLURM_CONF', str(slurm_cluster.slurm_conf))  # sbatch and squeue run in this process's env
    content = {
        'computer': {
            'label': 'slurm-here', 'hostname': 'localhost', 'transport': 'core.local', 'scheduler': 'core.slurm',
            'work_dir': str(tmp_path_factory.mktemp('slurm-here')), 'minimum_job_poll_interval': 1,
            'configure': {'safe_interval': 0, 'use_login_shell': False},
        },
        'codes': {'xtb': {'label': 'xtb', 'plugin': 'znadditive.xtb', 'filepath_executable': shutil.which('xtb'),
                          'prepend_text': 'export OMP_NUM_THREADS=1 OMP_STACKSIZE=1G'}},
    }  # fmt: skip
    messages = ensure_codes(content, build_environments=False)
    assert f'partitions from sinfo: {slurm_cluster.partition} 3600 s' in messages[0], messages
    results, node = water_singlepoint(orm.load_code('xtb@slurm-here'), options=orm.Dict({'max_wallclock_seconds': 120}))
    assert node.is_finished_ok, node.exit_message
    assert results['energy'].value == pytest.approx(-137.9, abs=0.5)
    job = scontrol_job(slurm_cluster, engine_runs(node)[0].get_job_id())
    assert 'JobState=COMPLETED' in job and 'TimeLimit=00:02:00' in job, job


def test_an_unreachable_host_is_named_by_setup_and_doctor(aiida_profile, tmp_path):
    """A cluster whose host does not resolve: setup creates the computer and says the partitions could not be read,
    naming the host; doctor's connection check fails naming the host and the transport, with the command to see
    more."""
    from aiida_znadditive.environment.checks import check_computer
    from aiida_znadditive.environment.codes import ensure_codes

    spec = {
        'label': 'nowhere', 'hostname': 'login.nowhere.invalid', 'transport': 'core.ssh_async',
        'scheduler': 'core.slurm', 'work_dir': '/scratch/aiida',
        'configure': {'host': 'login.nowhere.invalid', 'safe_interval': 0, 'use_login_shell': False},
    }  # fmt: skip
    messages = ensure_codes({'computer': spec, 'codes': {}}, build_environments=False)
    assert 'partitions not read' in messages[0] and 'login.nowhere.invalid' in messages[0], messages
    checks = list(check_computer(orm.load_computer('nowhere'), spec, 'aiida-znadditive setup --codes cluster.yaml'))
    failed = [check for check in checks if not check.ok]
    assert failed, checks
    text = ' '.join(f'{check.name} {check.detail} {check.fix}' for check in failed)
    assert 'login.nowhere.invalid' in text and 'verdi computer test nowhere' in text, text
