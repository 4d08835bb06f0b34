"""Benchmark: the meta-database's data integrity under concurrent writers, damaged shards and repeated imports.

Usage (from the repository root)::

    .venv/bin/python benchmarks/data_integrity.py               # 1,500 MOSES molecules a file, about 40 s
    .venv/bin/python benchmarks/data_integrity.py --size 5000

Inputs are SMILES files cut from the MOSES training set the ``molsets`` wheel ships (file A: molecules 0 to
size, file B: the next size). Everything runs in a temporary folder, removed at the end. Printed:

- concurrent writers: three ``aiida-znadditive db import`` processes started together into one new folder (A, A
  and B): rows expected (the molecules of A and B that standardise, counted in this process), present, duplicated
  (rows beyond the first of a (source, source_version, source_id)) and lost;
- damaged shards: A imported in shards of 250 rows, two shards overwritten in place (400 bytes in the middle, same
  size), then ``db query`` and ``db stats`` in their own processes: shards detected (named on stderr, listed in the
  problems), rows of the damaged shards returned; and the time of the checks before a read, the first time (every
  shard hashed) and again (checksums cached);
- re-imports: A imported again (rows added), and B's import killed with SIGKILL part-way then run again (rows
  added by the rerun, and duplicated or lost rows at the end).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import itertools
import json
import logging
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from aiida_znadditive.ml.database import MetaDatabase, read_source
from aiida_znadditive.ml.database.importers.moses import moses_files

CLI = str(Path(sys.executable).parent / 'aiida-znadditive')
KEY = 'source, source_version, source_id'
KILLED_IMPORT = (
    'import sys\nfrom aiida_znadditive.ml.database import MetaDatabase\n'
    "MetaDatabase(sys.argv[1]).import_source('smiles', sys.argv[2], batch_size=100, shard_rows=250, progress=False)\n"
)


def moses_smiles(path: Path, count: int, start: int) -> Path:
    """MOSES training molecules ``start`` to ``start + count`` as a SMILES file named ``moses-<row>``."""
    with gzip.open(moses_files()['train'], 'rt', newline='') as handle, open(path, 'w') as out:
        reader = csv.reader(handle)
        smiles_at = [name.upper() for name in next(reader)].index('SMILES')
        for row, values in enumerate(itertools.islice(reader, start, start + count), start=start):
            out.write(f'{values[smiles_at]} moses-{row}\n')
    return path


def key_counts(directory: Path) -> tuple[int, int]:
    """Rows, and distinct (source, source_version, source_id) keys, of the database."""
    sql = f'SELECT count(*) AS n_rows, count(DISTINCT ({KEY})) AS n_keys FROM molecules'
    counts = MetaDatabase(directory).query(sql).to_pylist()[0]
    return counts['n_rows'], counts['n_keys']


def concurrent_writers(work: Path, files: dict[str, Path], expected: dict[str, int]) -> None:
    directory = work / 'concurrent'
    started = time.perf_counter()
    runs = [
        subprocess.Popen(
            [CLI, 'db', 'import', 'smiles', str(files[name]), '--out', str(directory), '--batch-size', '100'],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ('A', 'A', 'B')
    ]
    outputs = [run.communicate(timeout=600) for run in runs]
    seconds = time.perf_counter() - started
    failed = [stderr for run, (_, stderr) in zip(runs, outputs, strict=True) if run.returncode]
    if failed:
        raise SystemExit(f'an import process failed: {failed[0]}')
    rows, keys = key_counts(directory)
    wanted = expected['A'] + expected['B']
    print(f'concurrent writers: 3 `db import` processes (A, A, B) at once, {seconds:.1f} s')
    print(f'  rows expected {wanted:,}   present {rows:,}   duplicated {rows - keys:,}   lost {wanted - keys:,}')


def damaged_shards(work: Path, files: dict[str, Path]) -> None:
    directory = work / 'damaged'
    MetaDatabase(directory).import_source('smiles', files['A'], batch_size=250, shard_rows=250, progress=False)
    shards = sorted(directory.glob('part-*.parquet'))
    damaged = shards[1:4:2]
    ids = {
        source_id
        for shard in damaged
        for source_id in pq.read_table(shard, columns=['source_id'])['source_id'].to_pylist()
    }
    for shard in damaged:
        size = shard.stat().st_size
        with open(shard, 'r+b') as handle:
            handle.seek(size // 2 - 200)
            handle.write(bytes(range(200)) * 2)
    timings = []
    for _ in range(2):  # a new object each time: only the checksums cached in the folder carry over
        started = time.perf_counter()
        MetaDatabase(directory).shards()
        timings.append(time.perf_counter() - started)
    query = subprocess.run(
        [CLI, 'db', 'query', str(directory), 'SELECT source_id FROM molecules', '--max-rows', '1000000'],
        capture_output=True,
        text=True,
        check=True,
    )
    returned = {line.strip() for line in query.stdout.splitlines()[1:]}
    detected = [shard.name for shard in shards if f'shard {shard.name} left out' in query.stderr]
    stats = json.loads(
        subprocess.run(
            [CLI, 'db', 'stats', str(directory), '--json'], capture_output=True, text=True, check=True
        ).stdout
    )
    megabytes = sum(shard.stat().st_size for shard in shards) / 1e6
    print(f'damaged shards: {len(damaged)} of {len(shards)} shards overwritten in place (400 bytes, same size)')
    print(
        f'  detected by db query {len(detected)}   by db stats {len(stats["problems"])}   rows of them returned '
        f'{len(returned & ids):,} (of {len(ids):,})   rows returned {len(returned):,}'
    )
    print(
        f'  checks before a read: first {timings[0] * 1e3:.1f} ms (every shard hashed, {megabytes:.2f} MB), '
        f'repeated {timings[1] * 1e3:.1f} ms (checksums cached)'
    )


def reimports(work: Path, files: dict[str, Path], expected: dict[str, int]) -> None:
    directory = work / 'reimport'
    database = MetaDatabase(directory)
    first = database.import_source('smiles', files['A'], progress=False)
    again = database.import_source('smiles', files['A'], progress=False)
    print('re-imports:')
    print(
        f'  A imported again: {again.rows_written:,} rows added, {again.rows_present:,} already present '
        f'(first import: {first.rows_written:,} added)'
    )
    process = subprocess.Popen([sys.executable, '-c', KILLED_IMPORT, str(directory), str(files['B'])])
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        entries = json.loads((directory / 'manifest.json').read_text()).get('shards', {})
        if sum(entry['sources'].get('smiles', 0) for entry in entries.values()) >= first.rows_written + 500:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed = process.returncode == -signal.SIGKILL
    rows_before, _ = key_counts(directory)
    rerun = database.import_source('smiles', files['B'], batch_size=100, shard_rows=250, progress=False)
    rows, keys = key_counts(directory)
    wanted = expected['A'] + expected['B']
    state = 'killed part-way' if killed else 'finished before the kill'
    print(
        f'  B killed with SIGKILL ({state}) after {rows_before - first.rows_written:,} rows; run again: '
        f'{rerun.rows_written:,} rows added, {rerun.rows_present:,} already present'
    )
    print(
        f'  at the end: rows expected {wanted:,}   present {rows:,}   duplicated {rows - keys:,}   '
        f'lost {wanted - keys:,}'
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', type=int, default=1500, help='Molecules per input file (default: 1500).')
    args = parser.parse_args()
    # The shards left out are counted from the commands' output; this process's own warnings would repeat them.
    logging.getLogger('aiida_znadditive.ml.database').setLevel(logging.ERROR)
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix='znadditive-integrity-'))
    try:
        files = {
            'A': moses_smiles(work / 'a.smi', args.size, 0),
            'B': moses_smiles(work / 'b.smi', args.size, args.size),
        }
        expected = {name: sum(1 for _ in read_source('smiles', path)) for name, path in files.items()}
        print(
            f'inputs: A {expected["A"]:,} and B {expected["B"]:,} molecules that standardise, of {args.size:,} '
            'MOSES SMILES each'
        )
        concurrent_writers(work, files, expected)
        damaged_shards(work, files)
        reimports(work, files, expected)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f'total {time.perf_counter() - started:.1f} s')


if __name__ == '__main__':
    main()
