"""The partitions of a SLURM computer and their time limits, read once with ``sinfo`` and checked before submission.

``sbatch`` refuses a job whose walltime exceeds its partition's ``MaxTime`` (with ``EnforcePartLimits``), and
aiida-core answers a refused submission by retrying five times with an exponential backoff and then *pausing* the
CalcJob: the WorkChain above it waits for ever, and the user sees a paused process, not a reason. So ``setup`` (and
``doctor``) read the partitions of a ``core.slurm`` computer over its transport and keep them in the computer's
metadata; :func:`check_options` compares a calculation's options with them before anything is submitted, and the
``CalculatorWorkChain`` turns a mismatch into an exit code that names the partition, its limit and where the limit
was read. A cluster YAML may give the partitions itself (``partitions: {name: {max_walltime: '1-00:00:00'}}``) where
``sinfo`` is not allowed from the login node.
"""

from __future__ import annotations

import datetime
import re

#: key of the computer's metadata under which the partitions are kept
PROPERTY = 'znadditive_partitions'
#: ``sinfo`` fields: partition (``*`` marks the default), time limit, node count, CPUs per node
SINFO_COMMAND = "sinfo --noheader --format='%P|%l|%D|%c'"

_TIME = re.compile(r'^(?:(?P<days>\d+)-)?(?P<rest>[\d:]+)$')


class PartitionError(ValueError):
    """The partitions could not be read or parsed; the message names the computer and the command."""


def parse_slurm_time(text: str) -> int | None:
    """Seconds in a SLURM time limit (``MM``, ``MM:SS``, ``HH:MM:SS``, ``D-HH``, ``D-HH:MM``, ``D-HH:MM:SS``); None
    for no limit (``infinite``, ``UNLIMITED``)."""
    text = text.strip()
    if text.lower() in ('infinite', 'unlimited'):
        return None
    match = _TIME.match(text)
    if match is None:
        raise PartitionError(f'`{text}` is not a SLURM time limit')
    days = int(match['days'] or 0)
    parts = [int(part) for part in match['rest'].split(':')]
    if match['days'] is not None:  # D-HH, D-HH:MM, D-HH:MM:SS
        parts = parts + [0] * (3 - len(parts))
        hours, minutes, seconds = parts
    elif len(parts) == 1:  # MM
        hours, minutes, seconds = 0, parts[0], 0
    elif len(parts) == 2:  # MM:SS
        hours, (minutes, seconds) = 0, parts
    else:
        hours, minutes, seconds = parts
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def parse_sinfo(stdout: str) -> dict[str, dict]:
    """Partitions from :data:`SINFO_COMMAND`'s output: ``{name: {'max_wallclock_seconds', 'default', 'nodes',
    'cpus_per_node'}}`` (sinfo prints one line per partition and node state: the node counts are summed)."""
    partitions: dict[str, dict] = {}
    for line in stdout.splitlines():
        if not line.strip():
            continue
        fields = line.strip().split('|')
        if len(fields) != 4:
            raise PartitionError(f'unexpected sinfo line `{line}`')
        name, limit, nodes, cpus = fields
        default = name.endswith('*')
        name = name.rstrip('*')
        entry = partitions.setdefault(
            name, {'max_wallclock_seconds': parse_slurm_time(limit), 'default': default, 'nodes': 0}
        )
        entry['nodes'] += int(nodes)
        entry['cpus_per_node'] = int(cpus.rstrip('+')) if cpus.rstrip('+').isdigit() else None
    if not partitions:
        raise PartitionError('sinfo listed no partition')
    return partitions


def from_codes_file(spec: dict) -> dict[str, dict]:
    """Partitions as a cluster YAML gives them: ``{name: {max_walltime: '2-00:00:00', default: true}}``."""
    partitions = {}
    for name, given in spec.items():
        entry = given or {}
        unknown = sorted(set(entry) - {'max_walltime', 'default'})
        if unknown:
            raise PartitionError(f'partition `{name}` has unknown keys {unknown}; known: max_walltime, default')
        limit = entry.get('max_walltime')
        partitions[name] = {
            'max_wallclock_seconds': None if limit is None else parse_slurm_time(str(limit)),
            'default': bool(entry.get('default', False)),
        }
    return partitions


def read_partitions(computer) -> dict[str, dict]:
    """Run ``sinfo`` over the computer's transport (an authenticated user's connection is opened and closed)."""
    with computer.get_transport() as transport:
        retval, stdout, stderr = transport.exec_command_wait(SINFO_COMMAND)
    if retval != 0:
        raise PartitionError(
            f'`{SINFO_COMMAND}` on computer `{computer.label}` failed (exit {retval}): {stderr.strip()}'
        )
    return parse_sinfo(stdout)


def record_partitions(computer, partitions: dict[str, dict], source: str) -> None:
    """Keep ``partitions`` in the computer's metadata, with where and when they were read."""
    read = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')
    computer.set_property(PROPERTY, {'partitions': partitions, 'source': source, 'read': read})


def recorded_partitions(computer) -> dict | None:
    """What :func:`record_partitions` kept, or None for a computer without (a local one, or never read)."""
    return (computer.metadata or {}).get(PROPERTY)


def format_seconds(seconds: int) -> str:
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return f'{days}-{hours:02d}:{minutes:02d}:{seconds:02d}' if days else f'{hours:02d}:{minutes:02d}:{seconds:02d}'


def check_options(computer, options: dict) -> tuple[str, str] | None:
    """``(exit code label, message)`` when ``options`` ask for a partition the computer does not have, or for more
    walltime than its partition allows; None when they fit or nothing is known of the computer's partitions."""
    recorded = recorded_partitions(computer) if computer is not None else None
    if not recorded:
        return None
    partitions = recorded['partitions']
    where = f'partitions of computer `{computer.label}` as read from {recorded["source"]} on {recorded["read"]}'
    queue = options.get('queue_name')
    if queue is None:
        queue = next((name for name, entry in partitions.items() if entry.get('default')), None)
        if queue is None:
            return None  # no default partition known: SLURM decides, and would name its own reason
    elif queue not in partitions:
        return 'ERROR_UNKNOWN_QUEUE', f'queue `{queue}` is not one of {sorted(partitions)} ({where})'
    limit = partitions[queue].get('max_wallclock_seconds')
    walltime = options.get('max_wallclock_seconds')
    if limit is not None and walltime is not None and int(walltime) > limit:
        return 'ERROR_WALLTIME_EXCEEDS_PARTITION', (
            f'max_wallclock_seconds {int(walltime)} ({format_seconds(walltime)}) exceeds the MaxTime '
            f'{format_seconds(limit)} of partition `{queue}` ({where}); ask for at most {limit} s, or another queue'
        )
    return None
