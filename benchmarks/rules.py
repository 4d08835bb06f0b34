"""Benchmark: throughput of the ``rules`` screener on MOSES SMILES.

Usage (from the repository root)::

    .venv/bin/python benchmarks/rules.py --limit 20000 --processes 2

Reads the first ``--limit`` SMILES of the MOSES training set (the data file of the installed ``molsets``
distribution; the ``moses`` package itself is not imported, its dependencies are not installed) and screens them
with default settings, streamed in chunks through ``--processes`` worker processes. It prints molecules per second
(wall time of the screening only; reading the file is timed apart), the pass fraction, the histogram of reasons
(numbers stripped, so ``logP 3.41 above 3.00`` and ``logP 4.02 above 3.00`` count as one) and the peak resident
memory of this process and of its workers. ``--profile`` adds the time of each stage on a sample, in one process.
"""

from __future__ import annotations

import argparse
import collections
import csv
import gzip
import importlib.metadata
import re
import resource
import time
from itertools import islice


def moses_smiles(limit: int | None) -> list[str]:
    """The first ``limit`` SMILES of MOSES' train.csv.gz (all 1.58 M when None)."""
    path = importlib.metadata.distribution('molsets').locate_file('moses/dataset/data/train.csv.gz')
    with gzip.open(path, 'rt') as handle:
        reader = csv.reader(handle)
        header = next(reader)
        column = header.index('SMILES')
        return [row[column] for row in islice(reader, limit)]


def reason_kind(reason: str) -> str:
    """A reason without its numbers and atom indices, to count alike reasons together."""
    return re.sub(r'[-+−]?\d+(\.\d+)?', '#', reason.split(':', maxsplit=1)[0])


def profile(smiles: list[str]) -> None:
    """Per-stage cost (µs per molecule) on ``smiles``, in this process."""
    from rdkit import Chem
    from rdkit.Chem import rdMolDescriptors

    from aiida_znadditive.ml.screeners.rule_alerts import REDOX_ALERTS, AlertCatalog, alert_catalog
    from aiida_znadditive.ml.screeners.rules import sa_score
    from aiida_znadditive.structures.ligands import find_donors

    redox = [Chem.MolFromSmarts(pattern) for _, pattern, _ in REDOX_ALERTS]
    start = time.perf_counter()
    mols = [Chem.MolFromSmiles(item) for item in smiles]
    stages = {'parse': time.perf_counter() - start}
    catalogs = {name: alert_catalog(name.split('+')) for name in ('PAINS_A+PAINS_B+PAINS_C', 'BRENK', 'NIH')}
    steps = {
        'crippen logP': rdMolDescriptors.CalcCrippenDescriptors,
        'TPSA': rdMolDescriptors.CalcTPSA,
        'donors': find_donors,
        'redox alerts': lambda mol: [mol.HasSubstructMatch(pattern) for pattern in redox],
        'SA score': sa_score,
        'pattern fingerprint': AlertCatalog.fingerprint,
    }
    for step in steps.values():
        step(mols[0])  # warm-up: the first calls load parameter tables
    for name, step in steps.items():
        start = time.perf_counter()
        results = [step(mol) for mol in mols]
        stages[name] = time.perf_counter() - start
    # Catalog matching alone, on the fingerprints just computed (the screener computes one per molecule).
    for name, catalog in catalogs.items():
        start = time.perf_counter()
        for mol, words in zip(mols, results, strict=True):
            catalog.matches(mol, words)
        stages[f'{name} matching'] = time.perf_counter() - start
    for name, seconds in stages.items():
        print(f'  {name:<30} {seconds / len(mols) * 1e6:8.0f} µs/molecule')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--limit', type=int, default=20000, help='number of MOSES SMILES (0: all)')
    parser.add_argument('--processes', type=int, default=2, help='worker processes (1: in this process)')
    parser.add_argument('--chunk-size', type=int, default=1000)
    parser.add_argument('--complete-reasons', action='store_true', help='evaluate every criterion for every molecule')
    parser.add_argument('--tox-catalogs', default='BRENK', help='comma-separated, e.g. BRENK,NIH')
    parser.add_argument('--profile', type=int, default=0, metavar='N', help='also time each stage on N molecules')
    args = parser.parse_args()

    from aiida_znadditive.ml.screeners.rules import RulesScreener

    start = time.perf_counter()
    smiles = moses_smiles(args.limit or None)
    print(f'read {len(smiles)} MOSES SMILES in {time.perf_counter() - start:.1f} s')

    screener = RulesScreener(
        complete_reasons=args.complete_reasons, tox_catalogs=[name for name in args.tox_catalogs.split(',') if name]
    )
    passed = 0
    reasons: collections.Counter = collections.Counter()
    start = time.perf_counter()
    for screening in screener.iter_screen(smiles, processes=args.processes, chunk_size=args.chunk_size):
        passed += screening.passed
        reasons.update(reason_kind(reason) for reason in screening.reasons)
    wall = time.perf_counter() - start

    print(f'{len(smiles) / wall:.0f} molecules/s ({len(smiles)} in {wall:.1f} s, {args.processes} process(es))')
    print(f'passed: {passed} ({passed / len(smiles):.1%})')
    print('reasons (a molecule may have several):')
    for reason, count in reasons.most_common():
        print(f'  {count:8d} {count / len(smiles):6.1%}  {reason}')
    # ru_maxrss is in KiB on Linux; RUSAGE_CHILDREN reports the largest terminated child (a worker).
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f'peak RSS: {own:.0f} MiB (main), {workers:.0f} MiB (largest worker)')
    if args.profile:
        print(f'stage costs on the first {args.profile} molecules:')
        profile(smiles[: args.profile])


if __name__ == '__main__':
    main()
