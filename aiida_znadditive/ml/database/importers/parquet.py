"""Parquet files already in the meta-database schema, e.g. the shards of our own labellers (``znadditive-xtb``).

Rows keep their own ``source``, ``source_version`` and ``source_id``; they are not standardised again (the writer
did that with the same RDKit rules), only cast to :data:`~..schema.ARROW_SCHEMA` (e.g. int32 counts to int16,
columns the file lacks as nulls). A row without an identity or provenance value is skipped; a file that cannot be
read is skipped with its reason, and the rows of the other files still come.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..schema import IDENTITY_COLUMNS, PROVENANCE_COLUMNS, conform_table
from .base import ImportContext, SourceError

SOURCE = 'parquet'
REQUIRED = IDENTITY_COLUMNS + PROVENANCE_COLUMNS


def read_parquet(path: Path | str | None, context: ImportContext, batch_size: int = 50_000) -> Iterator[pa.Table]:
    """Tables in the schema from a Parquet file, or from every ``*.parquet`` of a folder (in name order)."""
    if path is None:
        raise SourceError('this source needs a PATH to read')
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob('*.parquet'))
        if not files:
            context.skips.note(f'{path}: no .parquet files')
    elif path.is_file():
        files = [path]
    else:
        raise SourceError(f'{path}: no such file or folder')
    for file in files:
        if context.full:
            return
        yield from _read_file(file, context, batch_size)


def _read_file(path: Path, context: ImportContext, batch_size: int) -> Iterator[pa.Table]:
    if path.stat().st_size == 0:
        context.skips.note(f'{path}: empty file, no molecules')
        return
    try:
        parquet = pq.ParquetFile(path)
        missing = [name for name in REQUIRED if name not in parquet.schema_arrow.names]
        if missing:
            context.skips.note(f'{path}: skipped, not in the schema (no column {", ".join(missing)})')
            return
        for whole in parquet.iter_batches(batch_size=batch_size):
            wanted = whole.num_rows if context.limit is None else max(0, context.limit - context.skips.read)
            batch = whole.slice(0, wanted)
            if batch.num_rows == 0:
                return
            context.skips.read += batch.num_rows
            yield _complete_rows(conform_table(batch), context)
    except (OSError, pa.ArrowException) as error:  # a damaged file: what it gave so far stays, the rest is lost
        context.skips.note(f'{path}: unreadable Parquet after {context.skips.read:,} rows ({error})')


def _complete_rows(table: pa.Table, context: ImportContext) -> pa.Table:
    complete = pc.and_kleene(*[pc.is_valid(table.column(name)) for name in REQUIRED[:2]])
    for name in REQUIRED[2:]:
        complete = pc.and_kleene(complete, pc.is_valid(table.column(name)))
    dropped = table.num_rows - pc.sum(pc.cast(complete, pa.int64())).as_py()
    for _ in range(dropped):
        context.skips.skip('(parquet row)', 'missing identity or provenance', 'missing identity or provenance')
    return table.filter(complete) if dropped else table
