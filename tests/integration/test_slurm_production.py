"""The whole cluster path as a user takes it: ``setup --production --codes cluster.yaml`` against a real SLURM over
SSH, calculations submitted to the daemon; while their SLURM job runs, the daemon worker is killed with SIGKILL, or
the RabbitMQ broker is restarted (the profile has a RabbitMQ node of its own, so the machine's shared one, which other
tests use, is never touched).

The calculation must finish from the same SLURM job: SLURM's own ledger (``jobcomp``) shows one job for the CalcJob's
working directory (nothing run twice), and every process ends (nothing lost).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import subprocess

import psutil
import pytest
import yaml

from aiida_znadditive.environment.broker import LoopbackBroker
from aiida_znadditive.environment.slurm import LoopbackCluster

from .test_production import BIN, UserShell, restart_daemon, wait_until
from .test_slurm import free_port

pytestmark = [pytest.mark.integration, pytest.mark.production]

SUBMIT = """
from aiida import load_profile, orm
from aiida.engine import submit
load_profile('{profile}')
from aiida_znadditive.structures.candidates import build_water
from aiida_znadditive.workchains.calculator import CalculatorWorkChain
builder = CalculatorWorkChain.get_builder()
builder.calculator, builder.code, builder.structure = orm.Str('xtb'), orm.load_code('xtb@slurm-loopback'), build_water()
# a sleep before xtb keeps the job running while the worker is killed
builder.options = orm.Dict({{'max_wallclock_seconds': 300, 'prepend_text': 'sleep 20'}})
print(submit(builder).pk)
"""

STATE = """
import json
from aiida import load_profile, orm
load_profile('{profile}')
from aiida_znadditive.provenance.faults import fault_figures
node = orm.load_node({pk})
calcjobs = [n for n in node.called_descendants if isinstance(n, orm.CalcJobNode)]
state_of = lambda n: n.process_state.value if n.process_state else 'created'
print(json.dumps({{'state': state_of(node), 'exit_status': node.exit_status,
                  'job_ids': [c.get_job_id() for c in calcjobs],
                  'calcjob_states': [state_of(c) for c in calcjobs],
                  'energy': node.outputs.energy.value if 'energy' in node.outputs else None,
                  'figures': fault_figures([node], {ledger})}}))
"""


@pytest.fixture(scope='module')
def cluster_profile(tmp_path_factory):
    """A loopback SLURM cluster, and a production profile set up against it from a cluster YAML, as a user would."""
    if os.geteuid() != 0:
        pytest.skip('starting PostgreSQL, RabbitMQ, SLURM and sshd needs root (CI and the dev machines run as root)')
    home = tmp_path_factory.mktemp('home')
    cluster = LoopbackCluster(
        tmp_path_factory.mktemp('slurm'), ssh_port=free_port(), ctld_port=free_port(), slurmd_port=free_port()
    )
    cluster.start()
    cluster.write_ssh_client_config(home)
    # the state of a RabbitMQ node must be writable by it: a folder of its own, not pytest's 0700 one of another user
    broker = LoopbackBroker(tmp_path_factory.mktemp('rabbitmq'), port=free_port(), dist_port=free_port())
    broker.start()
    # the shipped template as a user edits it: this cluster's host, work_dir and xtb; PySCF and CP2K left out
    template = subprocess.run([str(BIN / 'aiida-znadditive'), 'setup', '--template', 'slurm-cluster'],
                              capture_output=True, text=True, check=True).stdout  # fmt: skip
    content = yaml.safe_load(template)
    content['computer'].update({
        'label': 'slurm-loopback', 'hostname': cluster.alias, 'work_dir': str(tmp_path_factory.mktemp('slurm-work')),
        'mpirun_command': 'srun -n {tot_num_mpiprocs}', 'default_mpiprocs_per_machine': 1,
        'minimum_job_poll_interval': 1, 'prepend_text': '',
        'configure': {'host': cluster.alias, 'safe_interval': 0, 'use_login_shell': False},
    })  # fmt: skip
    content['codes'] = {'xtb': {**content['codes']['xtb'], 'filepath_executable': shutil.which('xtb')}}
    codes = home / 'cluster.yaml'
    codes.write_text(yaml.safe_dump(content))
    shell = UserShell(tmp_path_factory.mktemp('aiida'), f'slurmprod-{os.getpid()}')
    shell.env['HOME'] = str(home)  # the daemon's SSH connections read the cluster's Host entry there
    try:
        result = shell.run([str(BIN / 'aiida-znadditive'), 'setup', '--production', '--profile-name', shell.profile,
                            '--daemon-workers', '1', '--broker-port', str(broker.port),
                            '--codes', str(codes)])  # fmt: skip
        assert 'partitions from sinfo: debug 3600 s' in result.stdout, result.stdout
        shell.broker = broker
        yield shell, cluster
    finally:
        verdi = str(BIN / 'verdi')
        shell.run_unchecked([verdi, '-p', shell.profile, 'daemon', 'stop'])
        shell.run_unchecked([verdi, 'profile', 'delete', '--force', '--delete-data', shell.profile])
        cluster.stop()
        broker.stop()


ADD_CODES = """
from aiida import load_profile
load_profile('{profile}')
from aiida_znadditive.environment.codes import ensure_codes
from aiida_znadditive.environment.codes_file import load_codes_file
print(' | '.join(ensure_codes(load_codes_file('{path}'), build_environments=False)))
"""


def test_doctor_checks_the_cluster(cluster_profile):
    shell, _ = cluster_profile
    codes = pathlib.Path(shell.env['HOME']) / 'cluster.yaml'
    # a mistyped path: setup takes it (it cannot know), doctor finds it missing on the cluster and says so
    content = yaml.safe_load(codes.read_text())
    content['codes']['typo'] = {
        **content['codes']['xtb'],
        'label': 'xtb-typo',
        'filepath_executable': '/opt/xtb/bin/xtbb',
    }
    typo = codes.with_name('typo.yaml')
    typo.write_text(yaml.safe_dump(content))
    assert 'created code `xtb-typo@slurm-loopback`' in shell.python(ADD_CODES, path=typo)
    result = shell.run_unchecked([str(BIN / 'aiida-znadditive'), 'doctor', '-p', shell.profile, '--codes', str(typo)])
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f'/opt/xtb/bin/xtbb is not an executable on {cluster_profile[1].alias}' in output, output

    result = shell.run([str(BIN / 'aiida-znadditive'), 'doctor', '-p', shell.profile, '--codes', str(codes)])
    for line in (
        'scheduler lists jobs',
        'partitions from sinfo',
        f'code xtb@slurm-loopback on {cluster_profile[1].alias}',
    ):
        assert line in result.stdout, result.stdout


def submit_and_wait_for_the_job(shell, cluster) -> tuple[int, str, callable]:
    """Submit a water single point to the daemon; return its pk, its SLURM job id (running now) and its state."""
    pk = int(shell.python(SUBMIT))
    state = lambda: json.loads(shell.python(STATE, pk=pk, ledger=cluster.job_ledger()))  # noqa: E731
    running = wait_until(
        lambda: (s := state())['job_ids'] and s['job_ids'][0] and ('R' in dict(cluster.squeue()).values()) and s,
        180,
        'the SLURM job to run',
        poll=1.0,
    )
    return pk, running['job_ids'][0], state


def assert_finished_from_the_same_job(state, cluster, job_id: str, what: str) -> None:
    final = wait_until(lambda: (s := state())['state'] in ('finished', 'excepted', 'killed') and s, 300, 'the end')
    assert final['state'] == 'finished' and final['exit_status'] == 0, final
    assert final['job_ids'] == [job_id], 'the calculation was submitted to SLURM again'
    assert final['energy'] == pytest.approx(-137.9, abs=0.5)
    # slurmctld writes the job's ledger line as the job leaves the node, which may be after AiiDA saw it finish
    wait_until(lambda: any(e.get('JobId') == job_id for e in cluster.job_ledger()), 60, 'the ledger line', poll=1.0)
    figures = state()['figures']
    print(f'fault figures ({what}):', figures)
    assert figures == {**figures, 'lost': 0, 'run_twice': 0, 'restarted': 0, 'jobs': 1}


def test_calculation_through_slurm_survives_a_killed_daemon_worker(cluster_profile):
    shell, cluster = cluster_profile
    _, job_id, state = submit_and_wait_for_the_job(shell, cluster)
    workers = shell.workers()
    assert len(workers) == 1
    os.kill(workers[0].pid, signal.SIGKILL)
    workers[0].wait(timeout=30)
    assert job_id in dict(cluster.squeue()), 'the job should still run while no worker watches it'
    restart_daemon(shell)
    assert_finished_from_the_same_job(state, cluster, job_id, 'daemon worker killed while the SLURM job ran')
    assert not psutil.pid_exists(workers[0].pid)


def test_calculation_through_slurm_survives_a_rabbitmq_restart(cluster_profile):
    """The broker goes down for a few seconds while the SLURM job runs (an upgrade, a crash and its supervisor) and
    comes back with its durable queues: the daemon worker reconnects by itself and finishes the calculation."""
    shell, cluster = cluster_profile
    _, job_id, state = submit_and_wait_for_the_job(shell, cluster)
    workers = shell.workers()
    shell.broker.restart(down=3)
    assert job_id in dict(cluster.squeue()), 'the job should still run across the restart'
    assert_finished_from_the_same_job(state, cluster, job_id, 'RabbitMQ restarted while the SLURM job ran')
    assert shell.workers() == workers, 'the daemon worker had to be restarted'
    # no task of the finished process is left in the broker for a worker to pick up again
    wait_until(lambda: not any(shell.broker.queue_messages().values()), 30, "the broker's queues to empty", poll=1.0)
