"""Benchmark: import full QM9 and full MOSES into a fresh meta-database, then time DuckDB queries over it.

Usage (from the repository root, after `bash scripts/install.sh`)::

    .venv/bin/python benchmarks/database.py                      # everything: 130,831 + 1,936,962 molecules
    .venv/bin/python benchmarks/database.py --limit 20000        # the first 20,000 of QM9 and of each MOSES split
    .venv/bin/python benchmarks/database.py --workers 4 --keep /data/molecules

Printed: per source and split, rows read and written, rows/s and the skips per reason; then peak resident memory
(this process, and the worker processes if any), the size on disk, the time of three DuckDB queries (molecules per
element set, a histogram of HOMO-LUMO gaps, the count of the deduplicated ``unique`` view) and the number of unique
molecules after deduplication by InChIKey. The database goes to a temporary folder, removed at the end unless
``--keep`` names a folder for it.
"""

from __future__ import annotations

import argparse
import logging
import resource
import shutil
import tempfile
import time
from pathlib import Path

from aiida_znadditive.ml.database import MetaDatabase
from aiida_znadditive.ml.database.importers.moses import SPLITS

QUERIES = {
    'molecules per element set': (
        "SELECT array_to_string(elements, '-') AS element_set, count(*) AS molecules FROM molecules "
        'GROUP BY element_set ORDER BY molecules DESC LIMIT 5'
    ),
    'gap histogram (1 eV bins)': (
        'SELECT floor(gap_ev) AS gap_bin_ev, count(*) AS molecules FROM molecules WHERE gap_ev IS NOT NULL '
        'GROUP BY gap_bin_ev ORDER BY gap_bin_ev'
    ),
    'unique molecules after dedup': 'SELECT count(*) AS unique_molecules, sum(n_records) AS rows FROM unique_molecules',
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--limit', type=int, help='Rows read from QM9 and from each MOSES split (default: all).')
    parser.add_argument('--workers', type=int, default=1, help='Standardising processes (default: 1).')
    parser.add_argument('--batch-size', type=int, default=50_000, help='Rows per batch and row group.')
    parser.add_argument('--keep', type=Path, help='Write the database here and keep it (default: a temporary folder).')
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format='%(levelname)s: %(message)s')

    directory = args.keep or Path(tempfile.mkdtemp(prefix='znadditive-database-'))
    database = MetaDatabase(directory)
    runs = [('qm9', {})] + [('moses', {'splits': (split,)}) for split in SPLITS]
    total_read = total_written = 0
    total_seconds = 0.0
    print(f'{"source":<22} {"read":>10} {"written":>10} {"skipped":>8} {"seconds":>8} {"rows/s":>8}')
    for name, options in runs:
        report = database.import_source(
            name, limit=args.limit, workers=args.workers, batch_size=args.batch_size, progress=False, **options
        )
        label = name + (f':{options["splits"][0]}' if options else '')
        print(
            f'{label:<22} {report.rows_read:>10,} {report.rows_written:>10,} {report.rows_skipped:>8,} '
            f'{report.seconds:>8.1f} {report.rows_per_second:>8,.0f}',
            flush=True,
        )
        for key, count in sorted(report.skipped.items(), key=lambda item: -item[1]):
            print(f'{"":<22} {count:>10,} skipped: {key}')
        total_read += report.rows_read
        total_written += report.rows_written
        total_seconds += report.seconds
    print(
        f'{"all":<22} {total_read:>10,} {total_written:>10,} {total_read - total_written:>8,} '
        f'{total_seconds:>8.1f} {total_read / total_seconds:>8,.0f}'
    )

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    size = sum(path.stat().st_size for path in database.shards()) / 1e6
    print(f'\npeak RSS: {own:,.0f} MB (workers: {children:,.0f} MB each at most); on disk: {size:,.1f} MB')
    print(f'shards: {len(database.shards())} in {directory}')

    for title, sql in QUERIES.items():
        started = time.perf_counter()
        table = database.query(sql)
        elapsed = time.perf_counter() - started
        print(f'\n{title}: {elapsed * 1000:,.0f} ms')
        for row in table.to_pylist()[:20]:
            print('  ' + ', '.join(f'{key}={value}' for key, value in row.items()))
    if args.keep is None:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == '__main__':
    main()
