"""Fault figures of the cluster path: xtb CalculatorWorkChains through core.slurm over core.ssh_async.

Starts a loopback SLURM cluster and sshd (``environment/slurm.py``) and a throwaway AiiDA profile (``verdi presto``,
no broker: everything runs in this interpreter), then runs each scenario and prints per scenario: processes
processes submitted, finished (terminated with an exit status), restarted (calculations submitted again after the
scheduler interrupted them), lost (not terminated at the end: must be 0), run twice (CalcJob working directories
SLURM ran more than once, from its ``jobcomp`` ledger: must be 0) and the SLURM jobs behind them
(``provenance/faults.py``).

Scenarios: ``normal`` (three water single points), ``scancel`` (a job cancelled with ``scancel`` while it runs: the
CalculatorWorkChain submits it again and finishes), ``node down`` (slurmd stopped until SLURM marks the node down, a
job submitted then, slurmd back after it waited in the queue: a node reboot) and ``walltime`` (two hours asked of a
60-minute partition: exit code 250 before anything reaches SLURM).

    .venv/bin/python benchmarks/slurm_faults.py            # as root; about two minutes
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORK = pathlib.Path(tempfile.mkdtemp(prefix='slurm-faults-'))
os.environ['AIIDA_PATH'] = str(WORK / 'aiida')  # before aiida is imported: the profile lives and dies with WORK
os.environ['HOME'] = str(WORK / 'home')  # asyncssh reads $HOME/.ssh/config for the cluster's Host entry


def make_profile() -> None:
    verdi = pathlib.Path(sys.executable).parent / 'verdi'
    result = subprocess.run([str(verdi), 'presto', '--profile-name', 'slurm-faults', '--no-broker'],
                            capture_output=True, text=True, check=False)  # fmt: skip
    if result.returncode != 0:
        sys.exit(f'verdi presto failed: {result.stderr or result.stdout}')


def setup_codes(cluster):
    from aiida import orm

    from aiida_znadditive.environment.codes import ensure_codes

    ensure_codes({
        'computer': {
            'label': 'slurm-loopback', 'hostname': cluster.alias, 'transport': 'core.ssh_async',
            'scheduler': 'core.slurm', 'work_dir': str(WORK / 'work'), 'default_mpiprocs_per_machine': 1,
            'minimum_job_poll_interval': 1,
            'configure': {'host': cluster.alias, 'safe_interval': 0, 'use_login_shell': False},
        },
        'codes': {'xtb': {'label': 'xtb', 'plugin': 'znadditive.xtb', 'filepath_executable': shutil.which('xtb'),
                          'prepend_text': 'export OMP_NUM_THREADS=1'}},
    }, build_environments=False)  # fmt: skip
    return orm.load_code('xtb@slurm-loopback')


def builder(code, prepend: str = ''):
    from aiida import orm

    from aiida_znadditive.structures.candidates import build_water
    from aiida_znadditive.workchains.calculator import CalculatorWorkChain

    builder = CalculatorWorkChain.get_builder()
    builder.calculator, builder.code, builder.structure = orm.Str('xtb'), code, build_water()
    builder.options = orm.Dict({'max_wallclock_seconds': 600, 'prepend_text': prepend})
    return builder


def run_all(builders: list, during=None, timeout: float = 300) -> list:
    """Run the processes concurrently in this interpreter; ``during(nodes)`` is awaited alongside (a fault)."""
    from aiida.engine.utils import instantiate_process
    from aiida.manage import get_manager

    runner = get_manager().get_runner()
    processes = [instantiate_process(runner, b) for b in builders]

    async def main():
        tasks = [asyncio.ensure_future(p.step_until_terminated()) for p in processes]
        if during is not None:
            await during([p.node for p in processes])
        await asyncio.wait(tasks, timeout=timeout)

    runner.loop.run_until_complete(main())
    return [p.node for p in processes]


def figures(name: str, nodes: list, cluster) -> dict:
    """The fault figures (provenance/faults.py) from the provenance graph and SLURM's job ledger."""
    from aiida_znadditive.provenance.faults import fault_figures

    time.sleep(2)  # slurmctld writes a job's ledger line as the job leaves the node
    row = {'scenario': name, **fault_figures(nodes, cluster.job_ledger())}
    row['exit_statuses'] = sorted({n.exit_status for n in nodes if n.exit_status is not None})
    return row


def scenario_scancel(code, cluster) -> list:
    """Cancel the job while it runs (a sleep before xtb keeps it running long enough): the CalculatorWorkChain reads
    slurmstepd's banner and submits the calculation again."""

    async def cancel_when_running(nodes):
        from aiida import orm

        started = time.monotonic()
        deadline = started + 120
        while time.monotonic() < deadline:
            calcjobs = [n for n in nodes[0].called_descendants if isinstance(n, orm.CalcJobNode)]
            job_id = calcjobs[0].get_job_id() if calcjobs else None
            if job_id and time.monotonic() - started > 3:  # a job cancelled at once has not opened its files
                state = subprocess.run(['squeue', '-h', '-j', job_id, '-o', '%T'], capture_output=True, text=True,
                                       env=cluster.env, check=False).stdout.strip()  # fmt: skip
                if state == 'RUNNING':
                    subprocess.run(['scancel', job_id], env=cluster.env, check=True)
                    return
            await asyncio.sleep(0.5)
        raise RuntimeError('the job never ran')

    return run_all([builder(code, prepend='sleep 8')], during=cancel_when_running)


def scenario_node_down(code, cluster) -> list:
    """slurmd stopped until SLURM marks the node down; a calculation submitted then waits in the queue and runs when
    slurmd is back (a node reboot)."""
    cluster.stop_daemon('slurmd')
    deadline = time.monotonic() + 90
    while not cluster.node_state().startswith('down') and time.monotonic() < deadline:
        time.sleep(1)

    async def reboot_when_queued(nodes):
        limit = time.monotonic() + 60
        while time.monotonic() < limit and not any(state == 'PD' for _, state in cluster.squeue()):
            await asyncio.sleep(0.5)
        await asyncio.sleep(3)
        cluster.start()

    return run_all([builder(code)], during=reboot_when_queued)


def scenario_walltime(code) -> list:
    """A walltime beyond the partition's MaxTime (60 min): ends with exit code 250 before any submission."""
    from aiida import orm

    too_long = builder(code)
    too_long.options = orm.Dict({'max_wallclock_seconds': 2 * 3600})
    return run_all([too_long])


def main() -> None:
    sys.path.insert(0, str(ROOT))
    make_profile()
    from aiida import load_profile

    from aiida_znadditive.environment.slurm import LoopbackCluster

    load_profile('slurm-faults')
    cluster = LoopbackCluster(WORK / 'slurm', ssh_port=2322, ctld_port=6917, slurmd_port=6918)
    cluster.start()
    try:
        cluster.write_ssh_client_config(WORK / 'home')
        code = setup_codes(cluster)
        rows = []
        for name, run in (('normal', lambda: run_all([builder(code) for _ in range(3)])),
                          ('scancel', lambda: scenario_scancel(code, cluster)),
                          ('node down', lambda: scenario_node_down(code, cluster)),
                          ('walltime', lambda: scenario_walltime(code))):  # fmt: skip
            start = time.perf_counter()
            nodes = run()
            rows.append({**figures(name, nodes, cluster), 'wall_s': round(time.perf_counter() - start)})
    finally:
        cluster.stop()
    header = ('scenario', 'submitted', 'finished', 'finished_ok', 'restarted', 'lost', 'run_twice', 'jobs',
              'jobs_cancelled', 'exit_statuses', 'wall_s')  # fmt: skip
    print(' '.join(f'{h:>13}' for h in header))
    for row in rows:
        print(' '.join(f'{row[h]!s:>13}' for h in header))
    shutil.rmtree(WORK, ignore_errors=True)
    if any(row['lost'] or row['run_twice'] for row in rows):
        sys.exit('processes lost or run twice')


if __name__ == '__main__':
    main()
