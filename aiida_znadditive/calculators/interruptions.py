"""Tell a calculation the scheduler interrupted from one that failed on its own, from what SLURM wrote.

A job ended by ``scancel`` (an operator's, or the user's on a stuck node), by preemption or by a node failure is
no fault of its input: the same calculation submitted again finishes. ``slurmstepd`` says so on the job's stderr
(``*** JOB 12 ON node CANCELLED AT 2026-12-04T22:48:43 ***``, with ``DUE TO PREEMPTION`` or ``DUE TO NODE FAILURE``
where that was the cause), which aiida-core retrieves as the scheduler's stderr of every CalcJob. A job stopped at
its time limit is not an interruption: submitted again it would stop again, so the engine's own restart loop
continues from its checkpoint (:func:`hit_time_limit` tells it so even where the engine's parser, finding the output
cut short, replaced aiida-core's ``ERROR_SCHEDULER_OUT_OF_WALLTIME`` by its own "incomplete output"), or the user
gives a longer walltime. aiida-core's ``sacct``-based ``ERROR_SCHEDULER_NODE_FAILURE`` is honoured where a cluster
keeps accounting.

The engines' restart WorkChains (:mod:`.cp2k.restart`) and the :class:`CalculatorWorkChain` both read it, so it lives
beside the engines and not with the WorkChains.
"""

from __future__ import annotations

import re

from aiida import orm
from aiida.engine import CalcJob

#: slurmstepd's banner, and the cause that follows ``CANCELLED AT <time>``
_BANNER = re.compile(r'\*\*\* JOB \d+ ON \S+ CANCELLED AT \S+(?: DUE TO (?P<cause>[A-Z ,]+?))?(?:,| \*\*\*)')
#: causes after which the same input is worth another submission
_CAUSES = {None: 'cancelled', 'PREEMPTION': 'preempted', 'NODE FAILURE': 'lost with its node'}


def last_calcjob(node: orm.ProcessNode) -> orm.CalcJobNode | None:
    """The calculation itself, or the last one an engine's restart WorkChain ran."""
    if isinstance(node, orm.CalcJobNode):
        return node
    calcjobs = [child for child in node.called_descendants if isinstance(child, orm.CalcJobNode)]
    return max(calcjobs, key=lambda child: child.ctime) if calcjobs else None


def _banner_cause(calcjob: orm.CalcJobNode) -> str | None:
    """The cause in slurmstepd's banner on the job's stderr: '' for a plain ``scancel``, None without a banner."""
    if 'retrieved' not in calcjob.outputs:
        return None
    filename = calcjob.get_option('scheduler_stderr')
    if not filename:  # a CalcJob whose class keeps no scheduler stderr
        return None
    try:
        stderr = calcjob.outputs.retrieved.base.repository.get_object_content(filename)
    except (FileNotFoundError, OSError):
        return None
    match = _BANNER.search(stderr)
    if match is None:
        return None
    return match['cause'].strip() if match['cause'] else ''


def scheduler_interruption(node: orm.ProcessNode) -> str | None:
    """How the scheduler interrupted the last calculation under ``node`` (``'cancelled'``, ``'preempted'``,
    ``'lost with its node'``), or None when it ran to its end, hit its time limit, or was killed in AiiDA."""
    calcjob = last_calcjob(node)
    if calcjob is None or calcjob.is_killed or calcjob.is_excepted:
        return None
    if calcjob.exit_status == CalcJob.exit_codes.ERROR_SCHEDULER_NODE_FAILURE.status:
        return _CAUSES['NODE FAILURE']
    cause = _banner_cause(calcjob)
    if cause is None:
        return None
    return _CAUSES.get(cause or None)


def hit_time_limit(calcjob: orm.CalcJobNode) -> bool:
    """Whether the scheduler stopped ``calcjob`` at its time limit, whatever exit code the engine's parser chose
    (aiida-core's ``ERROR_SCHEDULER_OUT_OF_WALLTIME`` from ``sacct``'s ``TIMEOUT``, or slurmstepd's banner)."""
    if calcjob.exit_status == CalcJob.exit_codes.ERROR_SCHEDULER_OUT_OF_WALLTIME.status:
        return True
    return _banner_cause(calcjob) == 'TIME LIMIT'
