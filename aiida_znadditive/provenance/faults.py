"""The fault figures of a run on a cluster: what was submitted, finished, restarted, lost and run twice.

A fault scenario (a job cancelled with ``scancel``, a daemon worker killed, a node down) passes when every process
it started ended and no calculation reached the scheduler twice. The figures join two independent records: AiiDA's
provenance graph (the processes and their states) and the scheduler's own ledger of the jobs it ran (for SLURM,
``jobcomp/filetxt``: one line per job with its working directory). A CalcJob runs in a working directory of its own,
so a directory that SLURM ran more than once is a calculation run twice; a resubmission after an interruption is a
new CalcJob in a new directory and counts as restarted instead.
"""

from __future__ import annotations

from collections import Counter

from aiida import orm


def processes_under(roots: list[orm.ProcessNode]) -> list[orm.ProcessNode]:
    """The roots and every process they called, each once."""
    seen: dict[int, orm.ProcessNode] = {}
    for root in roots:
        for node in [root, *root.called_descendants]:
            seen.setdefault(node.pk, node)
    return list(seen.values())


def fault_figures(roots: list[orm.ProcessNode], ledger: list[dict[str, str]]) -> dict[str, int]:
    """``submitted`` (processes), ``finished`` (ended, however), ``finished_ok``, ``restarted`` (calculations
    submitted again after the scheduler interrupted them), ``lost`` (never ended: must be 0), ``run_twice``
    (CalcJobs whose working directory SLURM ran more than once: must be 0), ``jobs`` (ledger entries of these
    CalcJobs), ``jobs_cancelled`` and ``jobs_timeout`` (stopped by SLURM at their time limit)."""
    from ..workchains.calculator import CalculatorWorkChain, engine_runs

    processes = processes_under(roots)
    calcjobs = [node for node in processes if isinstance(node, orm.CalcJobNode)]
    workdirs = {node.get_remote_workdir() for node in calcjobs if node.get_remote_workdir()}
    runs = Counter(entry.get('WorkDir') for entry in ledger if entry.get('WorkDir') in workdirs)
    calculator_chains = [node for node in processes if node.process_class is CalculatorWorkChain]
    return {
        'submitted': len(processes),
        'finished': sum(node.is_terminated for node in processes),
        'finished_ok': sum(node.is_finished_ok for node in processes),
        'restarted': sum(max(len(engine_runs(node)) - 1, 0) for node in calculator_chains),
        'lost': sum(not node.is_terminated for node in processes),
        'run_twice': sum(count > 1 for count in runs.values()),
        'jobs': sum(runs.values()),
        'jobs_cancelled': sum(
            1 for entry in ledger if entry.get('WorkDir') in workdirs and entry.get('JobState') == 'CANCELLED'
        ),
        'jobs_timeout': sum(
            1 for entry in ledger if entry.get('WorkDir') in workdirs and entry.get('JobState') == 'TIMEOUT'
        ),
    }
