"""Benchmark: the MOSES library through the screening funnel ``rules`` -> 2D ``gnn``, end to end.

Usage (from the repository root)::

    .venv/bin/python benchmarks/screening_throughput.py --limit 50000 --checkpoint /tmp/qm9-2d
    .venv/bin/python benchmarks/screening_throughput.py                 # all of MOSES train, 1,584,663 SMILES

Streams the SMILES of the installed MOSES files (``--splits``, default ``train``: the 1,584,663 molecules of the
MOSES training set; ``train,test,test_scaffolds`` are all 1,936,962) straight from the gzipped CSV through
:func:`~aiida_znadditive.ml.screeners.cascade.screen_library` with ``--processes`` workers: every molecule through the
``rules`` screener, those that pass through the ``gnn`` screener. Reading the file is part of the measured time.

The ``gnn`` screener needs a 2D checkpoint: ``--checkpoint DIR``. When DIR holds none (or no DIR is given), a 2D
ensemble of the default architecture (3 D-MPNN members, 128 wide, 3 steps) is trained first on the first
``--train-limit`` QM9 molecules within ``--train-seconds`` of training, saved to DIR (or a temporary folder) and
used; the output says so. Training is not part of the measured time.

Prints a progress line every ``--progress`` seconds and, at the end: molecules per second (wall clock), molecules
per CPU second (parent and workers, user + system), how many molecules passed each stage, the commonest reasons for
failing, the peak resident memory (RSS) of the parent and of its workers together (sampled with psutil) and each
process's own peak (``getrusage``), and the load average, since a shared machine slows everything down.
"""

from __future__ import annotations

import argparse
import collections
import csv
import gzip
import os
import re
import resource
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


def main() -> None:  # noqa: PLR0915 - a benchmark script, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--limit', type=int, default=0, help='number of SMILES (0: all of --splits)')
    parser.add_argument('--splits', default='train', help='comma-separated MOSES splits (train: 1,584,663 SMILES)')
    parser.add_argument('--processes', type=int, default=2, help='worker processes (1: in this process)')
    parser.add_argument('--chunk-size', type=int, default=1000)
    parser.add_argument('--checkpoint', type=Path, default=None, help='2D checkpoint folder (trained there if empty)')
    parser.add_argument('--train-seconds', type=float, default=60.0, help='training budget without --checkpoint')
    parser.add_argument('--train-limit', type=int, default=20000, help='QM9 molecules to train on')
    parser.add_argument('--progress', type=float, default=10.0, help='seconds between progress lines')
    args = parser.parse_args()

    import torch

    from aiida_znadditive.ml.screeners.cascade import screen_library
    from aiida_znadditive.ml.screeners.gnn import GnnScreener
    from aiida_znadditive.ml.screeners.rules import RulesScreener

    checkpoint, how = checkpoint_for(args.checkpoint, args.train_seconds, args.train_limit)
    print(how, flush=True)
    torch.set_num_threads(1)  # the parent only reads, dispatches and counts
    screeners = [RulesScreener(), GnnScreener(checkpoint=str(checkpoint))]
    splits = [split.strip() for split in args.splits.split(',') if split.strip()]
    limit = args.limit or None
    print(
        f'MOSES {"+".join(splits)}{f", first {limit:,}" if limit else ""} through rules -> gnn, '
        f'{args.processes} process(es), chunks of {args.chunk_size}; load average {os.getloadavg()[0]:.1f} '
        f'on {os.cpu_count()} CPUs',
        flush=True,
    )

    sampler = MemorySampler()
    sampler.start()
    count = passed_rules = passed_gnn = 0
    reasons: collections.Counter = collections.Counter()
    cpu_start, start = cpu_seconds(), time.perf_counter()
    last_time, last_count = start, 0
    stream = screen_library(
        moses_smiles(splits, limit), screeners, processes=args.processes, chunk_size=args.chunk_size, by_chunk=True
    )
    for chunk in stream:
        for result in chunk:
            rules = result.screenings['rules']
            passed_rules += rules.passed
            passed_gnn += result.passed
            if result.failed_at is not None:
                reasons.update(f'{result.failed_at}: {reason_kind(reason)}' for reason in result.reasons)
        count += len(chunk)
        now = time.perf_counter()
        if now - last_time >= args.progress:
            print(
                f'  {count:>10,} molecules  {now - start:7.1f} s  {count / (now - start):6.0f} mol/s '
                f'(last {now - last_time:.0f} s: {(count - last_count) / (now - last_time):.0f} mol/s)  '
                f'passed rules {passed_rules:,}, gnn {passed_gnn:,}  load {os.getloadavg()[0]:.1f}',
                flush=True,
            )
            last_time, last_count = now, count
    wall = time.perf_counter() - start
    parent_cpu, workers_cpu = (end - begin for end, begin in zip(cpu_seconds(), cpu_start, strict=True))
    cpu = parent_cpu + workers_cpu  # the pool has exited: its workers are waited for and counted
    sampler.stop()
    sampler.sample()

    print(f'\n{count:,} molecules in {wall:.1f} s: {count / wall:,.0f} molecules/s end to end (wall clock)')
    print(
        f'CPU: {cpu:.1f} s (user + system; parent {parent_cpu:.1f} s, workers {workers_cpu:.1f} s): '
        f'{count / cpu:,.0f} molecules per CPU second; {cpu / wall:.2f} CPUs busy on average; '
        f'load average at the end {os.getloadavg()[0]:.1f}'
    )
    print(f'passed rules: {passed_rules:,} ({passed_rules / max(count, 1):.1%})')
    print(
        f'passed gnn:   {passed_gnn:,} ({passed_gnn / max(count, 1):.1%} of all, '
        f'{passed_gnn / max(passed_rules, 1):.1%} of those it screened)'
    )
    print('commonest reasons for failing (a molecule may have several):')
    for reason, number in reasons.most_common(12):
        print(f'  {number:9,d} {number / max(count, 1):6.1%}  {reason}')
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    largest_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f'peak RSS, parent + workers together (sampled every {sampler.interval} s): {sampler.peak / 2**20:,.0f} MiB '
        f'(workers {sampler.peak_workers / 2**20:,.0f} MiB); getrusage: parent {own:,.0f} MiB, '
        f'largest worker {largest_child:,.0f} MiB'
    )


if __name__ == '__main__':
    main()
