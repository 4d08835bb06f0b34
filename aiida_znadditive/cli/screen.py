"""``aiida-znadditive screen``: a molecule library through a funnel of screeners, with a progress line.

The funnel is :func:`~aiida_znadditive.ml.screeners.cascade.screen_library` over worker processes (one per usable
core: CPU affinity, cgroup quota or SLURM allocation, :func:`~aiida_znadditive.environment.cores.usable_cores`), with
the ``rules`` screener's costly half after the next screener (``defer_costly_rules``: the same molecules pass).
Nothing here creates AiiDA nodes: a library of millions is screened into a CSV file; the molecules worth a
calculation become candidate nodes through the campaign's promotion, which records the screeners' settings.
"""

from __future__ import annotations

import collections
import csv
import json
import re
import resource
import time
from pathlib import Path

import click
import yaml
from aiida.cmdline.utils import echo

from .outputs import FORCE_OPTION, check_output_paths
from .params import POSITIVE, POSITIVE_FLOAT, OptionalInt
from .root import cmd_root

#: Reasons the rules screener gives a line that is no molecule at all (ml/screeners/rules.py, ``_parse``).
MALFORMED = ('unparseable SMILES', 'empty or non-string SMILES')
#: Malformed lines named one by one; the rest are counted.
SHOWN_MALFORMED = 10


def _screeners(names: str, settings: tuple[str, ...]) -> list:
    """The screeners named in ``names`` (comma-separated entry points), set up with ``NAME.KEY=VALUE`` settings."""
    from ..ml.screeners.base import ScreenerError, load_screener, screener_names

    chosen = [name.strip() for name in names.split(',') if name.strip()]
    known = screener_names()
    unknown = [name for name in chosen if name not in known]
    if not chosen or unknown:
        raise click.BadParameter(
            f'no screener {", ".join(unknown) or "given"}; registered: {", ".join(known)}', param_hint='--screeners'
        )
    per_screener: dict[str, dict] = collections.defaultdict(dict)
    for item in settings:
        target, equals, value = item.partition('=')
        name, dot, key = target.partition('.')
        if not (equals and dot and key) or name not in chosen:
            raise click.BadParameter(
                f'{item!r}: write SCREENER.KEY=VALUE for one of the chosen screeners ({", ".join(chosen)})',
                param_hint='--set',
            )
        per_screener[name][key] = yaml.safe_load(value)
    if 'gnn' in chosen and 'checkpoint' not in per_screener['gnn']:
        from ..ml.shipped import shipped_model

        per_screener['gnn']['checkpoint'] = str(shipped_model('zib_xtb'))  # the model the campaign uses
    screeners = []
    for name in chosen:
        try:
            screeners.append(load_screener(name, **per_screener[name]))
        except (ScreenerError, TypeError, ValueError) as error:
            raise click.BadParameter(f'{name}: {error}', param_hint='--set') from None
    return screeners


def _peak_memory_mib() -> float:
    """Peak resident memory of this process and of its largest finished worker (Linux: KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + workers) / 1024


@cmd_root.command('screen')
@click.argument('library')
@click.option(
    '-s',
    '--screeners',
    default='rules,gnn',
    show_default=True,
    help='Screener entry points in funnel order, comma-separated (`aiida-znadditive` registers rules, gnn, '
    'mechanisms, xtb). gnn and mechanisms use the shipped zib_xtb model unless given a checkpoint.',
)
@click.option(
    '--set',
    'settings',
    multiple=True,
    metavar='SCREENER.KEY=VALUE',
    help='A screener setting (value read as YAML), e.g. gnn.checkpoint=MODEL_DIR or rules.max_heavy_atoms=20; '
    'repeatable.',
)
@click.option(
    '-o', '--out', required=True, type=click.Path(dir_okay=False, path_type=Path), help='CSV file of the results.'
)
@click.option('--all', 'write_all', is_flag=True, help='Write every molecule, not only those that passed.')
@click.option('--processes', type=OptionalInt(min=1), default=None, help='Worker processes (default: usable cores).')
@click.option('--chunk-size', type=POSITIVE, default=1000, show_default=True, help='Molecules per worker task.')
@click.option('--limit', type=POSITIVE, default=None, help='Screen only the first N molecules.')
@click.option('--progress', type=POSITIVE_FLOAT, default=10.0, show_default=True, help='Seconds between lines.')
@FORCE_OPTION
def cmd_screen(library, screeners, settings, out, write_all, processes, chunk_size, limit, progress, force):
    """Screen LIBRARY (a SMILES file: .smi, .txt or .csv with a `smiles` column, optionally .gz; or `moses`,
    `moses:train,test`) through the screeners, in worker processes.

    A line every --progress seconds says how many molecules were screened, the rate, the fraction passed and the
    time left; at the end, how many passed each stage, the commonest reasons, and the malformed lines by number
    (they are screened as failures and do not stop the run; the rate is given over the valid ones too).
    """
    from itertools import islice

    from ..environment.cores import usable_cores
    from ..ml.screeners.cascade import defer_costly_rules, screen_library, stage_labels
    from ..ml.screeners.library import Library, LibraryError

    try:
        source = Library.parse(library)
    except LibraryError as error:
        raise click.BadParameter(str(error), param_hint='LIBRARY') from None
    check_output_paths([out], inputs=[source.path], force=force)
    stages = defer_costly_rules(_screeners(screeners, settings))
    labels = stage_labels(stages)
    cores, limited_by = usable_cores()
    processes = processes or cores
    try:
        total = source.count(limit)
    except (LibraryError, OSError) as error:
        raise click.BadParameter(str(error), param_hint='LIBRARY') from None
    echo.echo_report(
        f'{source.label}: {total:,} molecules through {" -> ".join(labels)}; {processes} worker process(es) '
        f'({cores} usable core(s), {limited_by}), 1 torch thread each'
    )

    # The line number of each SMILES handed to the funnel, taken back in the same order: the results come in input
    # order, and at most a few chunks are in flight, so the queue stays short.
    numbers: collections.deque[int] = collections.deque()

    def smiles():
        for number, item in islice(source.smiles(), total):
            numbers.append(number)
            yield item

    tally = Tally()
    start = last = time.perf_counter()
    with open(out, 'w', newline='', encoding='utf-8') as handle:
        writer = csv.writer(handle)
        writer.writerow(['line', 'smiles', 'passed', 'failed_at', 'score', 'reasons', 'species', 'predictions'])
        stream = screen_library(
            smiles(), stages, processes=processes, chunk_size=chunk_size, by_chunk=True, brief=not write_all
        )
        for chunk in stream:
            for result in chunk:
                number = numbers.popleft()
                tally.add(number, result)
                if result.passed or write_all:
                    writer.writerow(_row(number, result))
            now = time.perf_counter()
            if now - last >= progress:
                last = now
                echo.echo_report(tally.progress_line(total, now - start))
    wall = time.perf_counter() - start
    tally.summary(labels, wall, out, write_all)


class Tally:
    """What the run has seen so far: counts per stage and reason, and the malformed lines."""

    def __init__(self) -> None:
        self.count = self.passed = self.malformed_count = 0
        self.malformed: list[tuple[int, str, str]] = []
        self.failed_at: collections.Counter = collections.Counter()
        self.reasons: collections.Counter = collections.Counter()

    def add(self, number: int, result) -> None:
        self.count += 1
        if result.passed:
            self.passed += 1
            return
        self.failed_at[result.failed_at] += 1
        # a reason without its numbers (`logP 5.3 above 5.0` and `logP 6.1 above 5.0` count together)
        self.reasons.update(f'{result.failed_at}: {_kind(reason)}' for reason in result.reasons)
        if any(reason.startswith(MALFORMED) for reason in result.reasons):
            self.malformed_count += 1
            if len(self.malformed) < SHOWN_MALFORMED:
                self.malformed.append((number, result.smiles, result.reasons[0]))

    def progress_line(self, total: int, elapsed: float) -> str:
        from ..ml.generators.progress import duration  # here: importing ml at the CLI's start loads RDKit

        rate = self.count / elapsed if elapsed > 0 else 0.0
        left = duration((total - self.count) / rate) if rate > 0 else '?'
        return (
            f'{self.count:,}/{total:,} molecules ({self.count / max(total, 1):.1%}), {rate:,.0f} mol/s, '
            f'passed {self.passed / max(self.count, 1):.2%}, ETA {left}'
        )

    def summary(self, labels: list[str], wall: float, out: Path, write_all: bool) -> None:
        from ..ml.generators.progress import duration

        valid = self.count - self.malformed_count
        echo.echo_success(
            f'{self.count:,} molecules in {duration(wall)} ({wall:.1f} s): {self.count / max(wall, 1e-9):,.0f} mol/s'
            f'{f", {valid / max(wall, 1e-9):,.0f} valid mol/s" if self.malformed_count else ""}; '
            f'{self.passed:,} passed ({self.passed / max(self.count, 1):.2%}); peak memory '
            f'{_peak_memory_mib():,.0f} MiB (this process and its largest worker)'
        )
        for label in labels:
            if self.failed_at[label]:
                echo.echo(f'  failed at {label}: {self.failed_at[label]:,}')
        for reason, number in self.reasons.most_common(5):
            echo.echo(f'  {number:>9,}  {reason}')
        if self.malformed_count:
            echo.echo_warning(f'{self.malformed_count:,} malformed line(s), screened as failures:')
            for number, item, reason in self.malformed:
                echo.echo(f'  line {number}: {item!r}: {reason}')
            if self.malformed_count > len(self.malformed):
                echo.echo(f'  ... and {self.malformed_count - len(self.malformed):,} more')
        echo.echo(f'{"every molecule" if write_all else "the molecules that passed"} written to {out}')


def _kind(reason: str) -> str:
    return re.sub(r'[-+−]?\d+(\.\d+)?', '#', reason.split(':', maxsplit=1)[0])


def _row(number: int, result) -> list:
    last_stage = next(reversed(result.screenings.values()), None)
    predictions = {
        f'{label}.{key}': value
        for label, screening in result.screenings.items()
        for key, value in screening.predictions.items()
    }
    return [
        number,
        result.smiles,
        result.passed,
        result.failed_at or '',
        '' if result.score is None else f'{result.score:.6g}',
        '; '.join(result.reasons),
        (last_stage.species if last_stage is not None else None) or '',
        json.dumps(predictions) if predictions else '',
    ]
