"""The production path with real services: PostgreSQL, RabbitMQ and the AiiDA daemon, all started by ``setup``.

A PySCF calculation is submitted to the daemon; while its job runs, the daemon worker is killed with SIGKILL and the
daemon restarted. The calculation must finish correctly, from the same scheduler job (nothing run twice) and as
the only calculation in the profile (nothing lost or duplicated).
"""

from __future__ import annotations

import json
import os
import pathlib
import secrets
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest
from ase.units import Hartree

pytestmark = [pytest.mark.integration, pytest.mark.production]

BIN = pathlib.Path(sys.executable).parent

# RHF/aug-cc-pVQZ water with forces: ~20 s here, long enough to kill the worker while the job runs. The
# Hartree-Fock limit for water at this geometry is -76.0675 Ha; a QZ basis must come within 2 mEh of it, from above.
SUBMIT = """
from aiida import load_profile, orm
from aiida.engine import submit
from aiida.plugins import CalculationFactory
from ase import Atoms
load_profile('{profile}')
builder = CalculationFactory('pyscf.base').get_builder()
builder.code = orm.load_code('pyscf@localhost')
water = Atoms('OH2', positions=[[0, 0, 0], [0, 0.7572, 0.5865], [0, -0.7572, 0.5865]])
builder.structure = orm.StructureData(ase=water)
builder.parameters = orm.Dict({{'structure': {{'basis': 'aug-cc-pvqz'}}, 'mean_field': {{'method': 'RHF'}},
                                'results': {{'pickle_model': False}}}})
builder.metadata.options.resources = {{'num_machines': 1, 'num_mpiprocs_per_machine': 1}}
builder.metadata.options.max_wallclock_seconds = 900
print(submit(builder).pk)
"""

STATE = """
import json
from aiida import load_profile, orm
load_profile('{profile}')
node = orm.load_node({pk})
energy = node.outputs.parameters['mean_field']['total_energy'] if 'parameters' in node.outputs else None
count = orm.QueryBuilder().append(orm.CalcJobNode).count()
print(json.dumps({{'state': node.process_state.value if node.process_state else None, 'job_id': node.get_job_id(),
                  'exit_status': node.exit_status, 'energy': energy, 'calcjobs': count}}))
"""


class UserShell:
    """Runs commands as a user would, with this test's own ``AIIDA_PATH``."""

    def __init__(self, home: pathlib.Path, profile: str):
        self.env = {**os.environ, 'AIIDA_PATH': str(home), 'PATH': f'{BIN}{os.pathsep}{os.environ["PATH"]}'}
        self.profile = profile

    def run(self, args: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
        result = subprocess.run(args, capture_output=True, text=True, env=self.env, timeout=timeout, check=False)
        assert result.returncode == 0, f'{args} failed:\n{result.stdout}\n{result.stderr}'
        return result

    def python(self, script: str, **values) -> str:
        code = textwrap.dedent(script).format(profile=self.profile, **values)
        return self.run([sys.executable, '-c', code]).stdout.strip().splitlines()[-1]

    def state(self, pk: int) -> dict:
        return json.loads(self.python(STATE, pk=pk))

    def workers(self) -> list[psutil.Process]:
        marker = ['-p', self.profile, 'daemon', 'worker']
        return [p for p in psutil.process_iter(['cmdline']) if (p.info['cmdline'] or [])[-4:] == marker]


@pytest.fixture(scope='module')
def production(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip('starting PostgreSQL and RabbitMQ needs root (CI and the dev machines run as root)')
    shell = UserShell(tmp_path_factory.mktemp('production'), f'prod-{secrets.token_hex(4)}')
    result = shell.run(
        [
            str(BIN / 'aiida-znadditive'),
            'setup',
            '--production',
            '--profile-name',
            shell.profile,
            '--daemon-workers',
            '1',
        ]
    )
    assert 'started the daemon with 1 workers' in result.stdout
    yield shell
    subprocess.run([str(BIN / 'verdi'), '-p', shell.profile, 'daemon', 'stop'], env=shell.env, check=False)
    subprocess.run(
        [str(BIN / 'verdi'), 'profile', 'delete', '--force', '--delete-data', shell.profile],
        env=shell.env,
        check=False,
        capture_output=True,
    )


def wait_until(predicate, timeout: float, what: str, poll: float = 2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f'timed out after {timeout:.0f} s waiting for {what}')


def test_doctor_on_production_profile(production):
    result = production.run([str(BIN / 'aiida-znadditive'), 'doctor', '-p', production.profile])
    for line in ('core.psql_dos', 'RabbitMQ at 127.0.0.1:5672', 'daemon: running', 'All checks passed'):
        assert line in result.stdout


def test_calculation_survives_killed_daemon_worker(production):
    pk = int(production.python(SUBMIT))
    running = wait_until(
        lambda: (s := production.state(pk))['job_id'] and s['state'] == 'waiting' and s,
        180,
        'the job to be submitted to the scheduler',
        poll=1.0,
    )
    job_id = running['job_id']
    assert psutil.pid_exists(int(job_id))  # the direct scheduler's job id is the PID of the running job

    workers = production.workers()
    assert len(workers) == 1
    os.kill(workers[0].pid, signal.SIGKILL)
    workers[0].wait(timeout=30)
    production.run([str(BIN / 'verdi'), '-p', production.profile, 'daemon', 'restart'])

    final = wait_until(
        lambda: (s := production.state(pk))['state'] in ('finished', 'excepted', 'killed') and s,
        600,
        'the calculation to finish after the restart',
    )
    assert final['state'] == 'finished'
    assert final['exit_status'] == 0
    assert final['job_id'] == job_id, 'the job was submitted a second time'
    assert final['calcjobs'] == 1
    energy = final['energy'] / Hartree
    assert -76.0675 < energy < -76.0675 + 2e-3
