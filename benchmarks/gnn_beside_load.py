"""Benchmark: GNN prediction on an idle machine and beside a 2-thread CPU load, as a campaign or a shared node runs it.

Usage (from the repository root, on an otherwise idle machine)::

    .venv/bin/python benchmarks/gnn_beside_load.py --molecules 20000

Writes the first ``--molecules`` MOSES test-set SMILES to a file and times the whole ``aiida-znadditive ml predict``
process of the shipped ``zib_xtb`` ensemble on them, as a user runs it:

1. idle;
2. beside a 2-thread load: an OpenBLAS matrix-multiplication loop with ``OPENBLAS_NUM_THREADS=2`` (what a PySCF or
   CP2K job with two OpenMP threads does to the cores) in another process, started before and stopped after;
3. the same with ``--threads`` set to the machine's core count by hand, torch's own default, for comparison.

Prints each wall time and the ratio loaded/idle; the target is at most 2 (two equal claims on the cores).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LOAD = """
import numpy
a = numpy.random.default_rng(0).random((1500, 1500))
while True:
    a = a @ a
    a /= numpy.abs(a).max()
"""


def predict(smiles_file: Path, extra: list[str]) -> float:
    from aiida_znadditive.ml.shipped import shipped_model

    command = [str(Path(sys.executable).parent / 'aiida-znadditive'), 'ml', 'predict', str(shipped_model('zib_xtb'))]
    start = time.perf_counter()
    result = subprocess.run([*command, '--file', str(smiles_file), *extra], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f'ml predict failed:\n{result.stderr[-2000:]}')
    threads = next((line for line in result.stderr.splitlines() if 'torch threads' in line), '?')
    print(f'    {threads.strip()}', flush=True)
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--molecules', type=int, default=20000)
    args = parser.parse_args()

    from aiida_znadditive.ml.database.importers.moses import moses_files

    folder = Path(tempfile.mkdtemp(prefix='gnn-load-'))
    smiles_file = folder / 'moses.smi'
    with gzip.open(moses_files()['test'], 'rt') as handle, open(smiles_file, 'w') as out:
        reader = csv.reader(handle)
        next(reader)
        for _, row in zip(range(args.molecules), reader, strict=False):
            out.write(row[0] + '\n')
    print(
        f'{args.molecules:,} MOSES molecules, shipped zib_xtb ensemble; {os.cpu_count()} CPUs, load average '
        f'{os.getloadavg()[0]:.1f} before the first run',
        flush=True,
    )

    rows = []
    print('idle:', flush=True)
    rows.append(('idle', predict(smiles_file, [])))
    for label, extra in (
        ('beside a 2-thread load', []),
        (f'beside the load, --threads {os.cpu_count()}', ['--threads', str(os.cpu_count())]),
    ):
        load = subprocess.Popen(
            [sys.executable, '-c', LOAD], env={**os.environ, 'OPENBLAS_NUM_THREADS': '2', 'OMP_NUM_THREADS': '2'}
        )
        try:
            time.sleep(3)  # the load is running at full speed before the prediction starts
            print(f'{label}:', flush=True)
            rows.append((label, predict(smiles_file, extra)))
        finally:
            load.terminate()
            load.wait()
    idle = rows[0][1]
    print(f'\n{"run":<40} {"wall s":>8} {"x idle":>7}')
    for label, wall in rows:
        print(f'{label:<40} {wall:8.1f} {wall / idle:7.2f}')


if __name__ == '__main__':
    main()
