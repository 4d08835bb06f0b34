"""Scheduler options as an input of every WorkChain: where the calculations run, never what they compute.

Each WorkChain takes one optional ``options`` Dict (CalcJob ``metadata.options``: resources, walltime, account,
queue, extra scheduler lines) and hands it to every calculation it launches, over each calculator protocol's own.
Options are not physics, so no reference key or reuse key contains them: the same system computed on another queue,
account or walltime reuses what was computed before.
"""

from __future__ import annotations

import re

from aiida import orm

HELP = (
    'CalcJob metadata options for every calculation (resources, max_wallclock_seconds, account, queue_name, '
    "custom_scheduler_commands, ...), over each calculator protocol's own; in no reuse key."
)


#: Options aiida-core writes into the job script's header as given (``#SBATCH --account=...``): a newline there ends
#: the directive and the next line runs on the cluster as a command; quotes or ``;`` would reach ``sbatch``'s parser.
DIRECTIVE_NAMES = ('account', 'queue_name', 'qos')
_NAME = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.+:@=-]{0,63}')
_CONTROL = re.compile(r'[\x00-\x08\x0b-\x1f\x7f]')


def check_scheduler_text(options: dict) -> str | None:
    """What in ``options`` would not stay a scheduler directive in the job script, named; None when all would.

    ``account``, ``queue_name`` and ``qos`` are names (letters, digits, ``_ . + : @ = -``); every line of
    ``custom_scheduler_commands`` is a directive (starts with ``#``). Shell commands belong in a code's or a
    computer's ``prepend_text``, which whoever sets up the computer writes, not in what a run is launched with.
    """
    for key in DIRECTIVE_NAMES:
        value = options.get(key)
        if value is not None and not (isinstance(value, str) and _NAME.fullmatch(value)):
            return f'options.{key} {value!r} is not a scheduler name (letters, digits and _ . + : @ = -, 64 at most)'
    lines = options.get('custom_scheduler_commands')
    if lines:
        if not isinstance(lines, str) or _CONTROL.search(lines):
            return f'options.custom_scheduler_commands {lines!r} holds control characters'
        for line in lines.splitlines():
            if line.strip() and not line.lstrip().startswith('#'):
                return (
                    f'options.custom_scheduler_commands line {line!r} is not a scheduler directive (starts with #, '
                    'e.g. "#SBATCH --constraint=cpu"); commands belong in the code\'s prepend_text'
                )
    return None


def validate_options(value: orm.Dict, _) -> str | None:
    """Only keys a CalcJob's ``metadata.options`` has (a mistyped ``wallclock`` would otherwise be dropped silently,
    or fail every calculation at launch), and scheduler names that stay names in the job script."""
    from aiida.engine import CalcJob

    known = set(CalcJob.spec().inputs['metadata']['options'])  # type: ignore[index]
    unknown = sorted(set(value.get_dict()) - known)
    if unknown:
        return f'options has unknown keys {unknown}; CalcJob options are {sorted(known)}'
    return check_scheduler_text(value.get_dict())


def define_options(spec) -> None:
    """The ``options`` input, the same on every WorkChain."""
    spec.input('options', valid_type=orm.Dict, required=False, validator=validate_options, help=HELP)
