"""Scheduler options as an input of every WorkChain: where the calculations run, never what they compute.

Each WorkChain takes one optional ``options`` Dict (CalcJob ``metadata.options``: resources, walltime, account,
queue, extra scheduler lines) and hands it to every calculation it launches, over each calculator protocol's own.
Options are not physics, so no reference key or reuse key contains them: the same system computed on another queue,
account or walltime reuses what was computed before.
"""

from __future__ import annotations

from aiida import orm

HELP = (
    'CalcJob metadata options for every calculation (resources, max_wallclock_seconds, account, queue_name, '
    "custom_scheduler_commands, ...), over each calculator protocol's own; in no reuse key."
)


def validate_options(value: orm.Dict, _) -> str | None:
    """Only keys a CalcJob's ``metadata.options`` has: a mistyped ``wallclock`` would otherwise be dropped silently,
    or fail every calculation at launch."""
    from aiida.engine import CalcJob

    known = set(CalcJob.spec().inputs['metadata']['options'])  # type: ignore[index]
    unknown = sorted(set(value.get_dict()) - known)
    if unknown:
        return f'options has unknown keys {unknown}; CalcJob options are {sorted(known)}'
    return None


def define_options(spec) -> None:
    """The ``options`` input, the same on every WorkChain."""
    spec.input('options', valid_type=orm.Dict, required=False, validator=validate_options, help=HELP)
