"""Benchmark: the MOSES library through the screening funnel of ``rules`` and a 2D ``gnn``, end to end.

Usage (from the repository root)::

    .venv/bin/python benchmarks/screening_throughput.py --limit 50000 --checkpoint /tmp/qm9-2d
    .venv/bin/python benchmarks/screening_throughput.py --limit 20000 --checkpoint /tmp/qm9-2d --compare
    .venv/bin/python benchmarks/screening_throughput.py                 # all of MOSES train, 1,584,663 SMILES

Streams the SMILES of the installed MOSES files (``--splits``, default ``train``: the 1,584,663 molecules of the
MOSES training set; ``train,test,test_scaffolds`` are all 1,936,962) straight from the gzipped CSV through
:func:`~aiida_znadditive.ml.screeners.cascade.screen_library` with ``--processes`` workers. ``--order`` sets the
funnel: ``split`` (default) is ``rules.cheap -> gnn -> rules.costly`` (``defer_costly_rules`` of the cascade
module: SA score, PAINS and Brenk only for what the gnn passes), ``rules-first`` the whole ``rules`` then the
``gnn``. Both pass the same molecules. ``--compare`` runs both orders, one after the other, on the same
molecules (``--repeat N``: alternately, N times each, compared by their medians), checks that they pass the same
ones and prints them side by side. Compare with worker processes (the default 2): each run starts fresh workers,
while with ``--processes 1`` a later run finds the caches of the first warm (logP environments, alert catalogs).
With ``--processes 1`` the objects loaded before a run are frozen (``gc.freeze()``), as each worker process freezes
its own after start-up. Reading the file is part of the measured time. The workers send back brief results
(``screen_library(brief=True)``: a failed molecule's failing stage and reasons, a passed molecule whole);
``--full-results`` has every stage's screening of every molecule sent back.

The ``gnn`` screener needs a 2D checkpoint: ``--checkpoint DIR``. When DIR holds none (or no DIR is given), a 2D
ensemble of the default architecture (3 D-MPNN members, 128 wide, 3 steps) is trained first on the first
``--train-limit`` QM9 molecules within ``--train-seconds`` of training, saved to DIR (or a temporary folder) and
used; the output says so. Training is not part of the measured time.

Prints a progress line every ``--progress`` seconds and, at the end of each run: molecules per second (wall clock),
molecules per CPU second (parent and workers, user + system), how many molecules each stage screened and passed, the
commonest reasons for failing, the peak resident memory (RSS) of the parent and of its workers together (sampled
with psutil) and each process's own peak (``getrusage``), and the load average, since a shared machine slows
everything down.
"""

from __future__ import annotations

import argparse
import collections
import csv
import gc
import gzip
import os
import re
import resource
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path


def moses_smiles(splits: list[str], limit: int | None) -> Iterator[str]:
    """The SMILES of the installed MOSES ``splits``, in order, at most ``limit`` (all when None); streamed."""
    from aiida_znadditive.ml.database.importers.moses import moses_files

    files = moses_files()
    count = 0
    for split in splits:
        with gzip.open(files[split], 'rt') as handle:
            reader = csv.reader(handle)
            column = [name.strip().upper() for name in next(reader)].index('SMILES')
            for row in reader:
                if limit is not None and count >= limit:
                    return
                count += 1
                yield row[column]


def reason_kind(reason: str) -> str:
    """A reason without its numbers, to count alike reasons together."""
    return re.sub(r'[-+−]?\d+(\.\d+)?', '#', reason.split(':', maxsplit=1)[0])


def checkpoint_for(directory: Path | None, seconds: float, limit: int) -> tuple[Path, str]:
    """A 2D checkpoint: the one in ``directory``, or one trained now (into ``directory`` or a temporary folder)."""
    from aiida_znadditive.ml.models.ensemble import CheckpointError, load_checkpoint

    if directory is not None:
        try:
            ensemble = load_checkpoint(directory)
        except CheckpointError:
            pass
        else:
            if ensemble.kind != '2d':
                raise SystemExit(f'{directory} is a {ensemble.kind} checkpoint; the benchmark needs a 2D one')
            return directory, f'checkpoint {directory} (hash {ensemble.checkpoint_hash[:12]}, {len(ensemble)} members)'
    import torch

    from aiida_znadditive.ml.models.data import load_dataset
    from aiida_znadditive.ml.models.train import TrainSettings, train_ensemble

    out = directory or Path(tempfile.mkdtemp(prefix='screening-throughput-'))
    start = time.perf_counter()
    data = load_dataset('qm9', targets='gap,homo,lumo', limit=limit)
    settings = TrainSettings(model='2d', ensemble=3, split='random', time_budget_s=seconds, patience=1000)
    result = train_ensemble(data, settings, out, log=lambda line: None)
    gap = result.metrics['test']['gap_ev']
    torch.set_num_threads(1)
    return out, (
        f'no checkpoint given: trained a 2D ensemble (3 x D-MPNN 128 wide, 3 steps) on {len(data):,} QM9 molecules in '
        f'{time.perf_counter() - start:.0f} s (gap test MAE {gap["mae"]:.2f} eV), saved to {out}'
    )


class MemorySampler(threading.Thread):
    """Samples the RSS of this process and its children (psutil) every ``interval`` s; keeps the peak sum."""

    def __init__(self, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        import psutil

        self.process = psutil.Process()
        self.interval = interval
        self.peak = 0
        self.peak_workers = 0
        self._halt = threading.Event()

    def sample(self) -> None:
        import psutil

        total = workers = 0
        try:
            total = self.process.memory_info().rss
            for child in self.process.children(recursive=True):
                try:
                    rss = child.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                workers += rss
        except psutil.Error:
            return
        self.peak = max(self.peak, total)
        self.peak_workers = max(self.peak_workers, workers)

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def cpu_seconds() -> tuple[float, float]:
    """User + system CPU seconds of this process, and of its terminated (waited-for) children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


ORDERS = ('split', 'rules-first')


def run(order: str, checkpoint: Path, splits: list[str], limit: int | None, args: argparse.Namespace) -> dict:
    """One pass of the library through the funnel in ``order``; prints progress and returns the measurements."""
    from aiida_znadditive.ml.screeners.cascade import defer_costly_rules, screen_library, stage_labels
    from aiida_znadditive.ml.screeners.gnn import GnnScreener
    from aiida_znadditive.ml.screeners.rules import RulesScreener

    screeners = [RulesScreener(), GnnScreener(checkpoint=str(checkpoint))]
    if order == 'split':
        screeners = defer_costly_rules(screeners)
    if args.processes <= 1:
        gc.freeze()  # as a worker process does once its screeners are built (cascade._init_worker)
    labels = stage_labels(screeners)
    print(
        f'\n[{order}] MOSES {"+".join(splits)}{f", first {limit:,}" if limit else ""} through {" -> ".join(labels)}, '
        f'{args.processes} process(es), chunks of {args.chunk_size}; load average {os.getloadavg()[0]:.1f} '
        f'on {os.cpu_count()} CPUs',
        flush=True,
    )
    sampler = MemorySampler()
    sampler.start()
    count = 0
    screened: collections.Counter = collections.Counter()
    passed: collections.Counter = collections.Counter()
    passed_all: set[int] = set()
    reasons: collections.Counter = collections.Counter()
    cpu_start, start = cpu_seconds(), time.perf_counter()
    last_time, last_count = start, 0
    stream = screen_library(
        moses_smiles(splits, limit),
        screeners,
        processes=args.processes,
        chunk_size=args.chunk_size,
        by_chunk=True,
        brief=not args.full_results,
    )
    # A molecule that failed at stage j was screened by stages 0..j and passed 0..j-1 (brief results keep only the
    # failing stage); one that passed was screened and passed by every stage.
    reached: collections.Counter = collections.Counter()  # stage index -> molecules that stopped there
    stage_index = {label: index for index, label in enumerate(labels)}
    for chunk in stream:
        for index, result in enumerate(chunk, start=count):
            if result.passed:
                passed_all.add(index)
            else:
                reached[stage_index[result.failed_at]] += 1
                reasons.update(f'{result.failed_at}: {reason_kind(reason)}' for reason in result.reasons)
        count += len(chunk)
        now = time.perf_counter()
        if now - last_time >= args.progress:
            print(
                f'  {count:>10,} molecules  {now - start:7.1f} s  {count / (now - start):6.0f} mol/s '
                f'(last {now - last_time:.0f} s: {(count - last_count) / (now - last_time):.0f} mol/s)  '
                f'passed {len(passed_all):,}  load {os.getloadavg()[0]:.1f}',
                flush=True,
            )
            last_time, last_count = now, count
    wall = time.perf_counter() - start
    for index, label in enumerate(labels):
        screened[label] = len(passed_all) + sum(n for stage, n in reached.items() if stage >= index)
        passed[label] = screened[label] - reached[index]
    parent_cpu, workers_cpu = (end - begin for end, begin in zip(cpu_seconds(), cpu_start, strict=True))
    cpu = parent_cpu + workers_cpu  # the pool has exited: its workers are waited for and counted
    sampler.stop()
    sampler.sample()
    load = os.getloadavg()[0]

    print(f'{count:,} molecules in {wall:.1f} s: {count / wall:,.0f} molecules/s end to end (wall clock)')
    print(
        f'CPU: {cpu:.1f} s (user + system; parent {parent_cpu:.1f} s, workers {workers_cpu:.1f} s): '
        f'{count / cpu:,.0f} molecules per CPU second; {cpu / wall:.2f} CPUs busy on average; '
        f'load average at the end {load:.1f}'
    )
    for label in labels:
        print(
            f'{label:>13}: screened {screened[label]:>9,}, passed {passed[label]:>9,} '
            f'({passed[label] / max(screened[label], 1):.1%} of those it screened)'
        )
    print(f'passed every stage: {len(passed_all):,} ({len(passed_all) / max(count, 1):.2%})')
    print('commonest reasons for failing (a molecule may have several):')
    for reason, number in reasons.most_common(args.reasons):
        print(f'  {number:9,d} {number / max(count, 1):6.1%}  {reason}')
    print(
        f'peak RSS, parent + workers together (sampled every {sampler.interval} s): {sampler.peak / 2**20:,.0f} MiB '
        f'(workers {sampler.peak_workers / 2**20:,.0f} MiB)',
        flush=True,
    )
    return {
        'order': order,
        'stages': ' -> '.join(labels),
        'count': count,
        'wall': wall,
        'cpu': cpu,
        'load': load,
        'passed': passed_all,
        'screened': screened,
        'peak_mib': sampler.peak / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--limit', type=int, default=0, help='number of SMILES (0: all of --splits)')
    parser.add_argument('--splits', default='train', help='comma-separated MOSES splits (train: 1,584,663 SMILES)')
    parser.add_argument('--processes', type=int, default=2, help='worker processes (1: in this process)')
    parser.add_argument('--chunk-size', type=int, default=1000)
    parser.add_argument(
        '--order',
        choices=ORDERS,
        default='split',
        help='split: rules.cheap -> gnn -> rules.costly (default); rules-first: rules -> gnn',
    )
    parser.add_argument('--compare', action='store_true', help='run both orders on the same molecules')
    parser.add_argument(
        '--repeat', type=int, default=1, help='with --compare: alternate the orders this many times (A B A B ...)'
    )
    parser.add_argument('--checkpoint', type=Path, default=None, help='2D checkpoint folder (trained there if empty)')
    parser.add_argument('--train-seconds', type=float, default=60.0, help='training budget without --checkpoint')
    parser.add_argument('--train-limit', type=int, default=20000, help='QM9 molecules to train on')
    parser.add_argument('--progress', type=float, default=10.0, help='seconds between progress lines')
    parser.add_argument(
        '--full-results',
        action='store_true',
        help="every stage's screening of every molecule back from the workers (default: brief results for failures)",
    )
    parser.add_argument('--reasons', type=int, default=12, help='commonest reasons to print per run')
    args = parser.parse_args()

    import torch

    checkpoint, how = checkpoint_for(args.checkpoint, args.train_seconds, args.train_limit)
    print(how, flush=True)
    torch.set_num_threads(1)  # the parent only reads, dispatches and counts
    splits = [split.strip() for split in args.splits.split(',') if split.strip()]
    limit = args.limit or None
    orders = [args.order, *(order for order in ORDERS if order != args.order)] if args.compare else [args.order]
    runs = [run(order, checkpoint, splits, limit, args) for _ in range(max(1, args.repeat)) for order in orders]

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    largest_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f'\ngetrusage peak RSS: parent {own:,.0f} MiB, largest worker {largest_child:,.0f} MiB')
    if len(runs) < 2:
        return
    print(f'\n{"order":<12} {"stages":<36} {"mol/s wall":>10} {"mol/CPU s":>9} {"CPUs":>5} {"load":>5} {"passed":>7}')
    for item in runs:
        print(
            f'{item["order"]:<12} {item["stages"]:<36} {item["count"] / item["wall"]:>10,.0f} '
            f'{item["count"] / item["cpu"]:>9,.0f} {item["cpu"] / item["wall"]:>5.2f} {item["load"]:>5.1f} '
            f'{len(item["passed"]):>7,}'
        )
    same = all(item['passed'] == runs[0]['passed'] for item in runs)
    print(f'same molecules passed in every order: {"yes" if same else "NO"}')
    # Medians over the repeats of each order: the load of a shared machine varies from run to run.
    per_cpu = {order: statistics.median(i['count'] / i['cpu'] for i in runs if i['order'] == order) for order in orders}
    per_wall = {
        order: statistics.median(i['count'] / i['wall'] for i in runs if i['order'] == order) for order in orders
    }
    base = orders[0]
    for order in orders[1:]:
        print(
            f'{base} / {order} (median of {max(1, args.repeat)}): x{per_cpu[base] / per_cpu[order]:.2f} per CPU second '
            f'({per_cpu[base]:,.0f} / {per_cpu[order]:,.0f}), x{per_wall[base] / per_wall[order]:.2f} wall clock '
            f'({per_wall[base]:,.0f} / {per_wall[order]:,.0f})'
        )
    if not same:
        raise SystemExit(1)


if __name__ == '__main__':
    main()
