"""Writing shards: record dicts to Arrow tables, tables to ``part-NNNNN.parquet`` row groups, and a progress meter.

A shard is written under a hidden temporary name, fsynced, renamed when complete and only then recorded in the
manifest, so a reader never sees half a shard and a crash leaves no partial one (a writer killed between the rename
and the record leaves a complete shard that the next writer records: :func:`~.manifest.prepare_for_writing`).
Shards carry Parquet page checksums, which ``verify`` compares page by page.
"""

from __future__ import annotations

import datetime
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .integrity import sha256_file
from .manifest import SHARD_PATTERN
from .schema import ARROW_SCHEMA, COLUMNS, IDENTITY_COLUMNS, PROVENANCE_COLUMNS

__all__ = ('Progress', 'ShardWriter', 'records_to_table')

LOGGER = logging.getLogger('aiida_znadditive.ml.database')
REQUIRED = IDENTITY_COLUMNS + PROVENANCE_COLUMNS
_NUMPY_LIST_TYPES = {'atomic_numbers': np.int8, 'positions': np.float32}


def records_to_table(records: list[dict]) -> pa.Table:
    """Record dicts (missing columns null) -> an Arrow table in the schema, built column by column."""
    columns = {}
    for name in COLUMNS:
        values = [record.get(name) for record in records]
        if name in _NUMPY_LIST_TYPES:
            columns[name] = _list_array(values, ARROW_SCHEMA.field(name).type, _NUMPY_LIST_TYPES[name])
        else:
            columns[name] = values
    missing = [name for name in REQUIRED if None in columns[name]]
    if missing:
        keep = [all(record.get(name) is not None for name in REQUIRED) for record in records]
        LOGGER.warning('%d records without %s dropped', keep.count(False), ', '.join(missing))
        return records_to_table([record for record, kept in zip(records, keep, strict=True) if kept])
    return pa.Table.from_pydict(columns, schema=ARROW_SCHEMA)


def _list_array(values: list, type_: pa.DataType, dtype) -> pa.Array:
    """A list column from arrays or lists (None for null), via one concatenation: pyarrow's per-row path is slow."""
    lengths = np.fromiter((0 if value is None else len(value) for value in values), dtype=np.int32, count=len(values))
    offsets = np.zeros(len(values) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    present = [np.asarray(value, dtype=dtype) for value in values if value is not None]
    flat = np.concatenate(present) if present else np.zeros(0, dtype=dtype)
    mask = pa.array([value is None for value in values], type=pa.bool_())
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat), type=type_, mask=mask)


class ShardWriter:
    """Appends tables as row groups to ``part-NNNNN.parquet``, under a temporary name until the shard is full.

    :param record: called with ``(shard name, manifest entry)`` once a shard is complete under its final name.
    :param written: gains the name of each shard completed.
    """

    def __init__(
        self, directory: Path, shard_rows: int, record: Callable[[str, dict], None], written: list[str]
    ) -> None:
        self.directory = directory
        self.shard_rows = shard_rows
        self.record = record
        self.written = written
        self._writer: pq.ParquetWriter | None = None
        self._handle = None
        self._final: Path | None = None
        self._rows = 0
        self._sources: dict[str, int] = {}

    def write(self, table: pa.Table) -> int:
        if table.num_rows == 0:
            return 0
        if self._writer is None:
            self._open()
        self._writer.write_table(table)
        self._rows += table.num_rows
        sources, counts = np.unique(table.column('source').to_numpy(zero_copy_only=False), return_counts=True)
        for source, count in zip(sources, counts, strict=True):
            self._sources[str(source)] = self._sources.get(str(source), 0) + int(count)
        if self._rows >= self.shard_rows:
            self.close()
        return table.num_rows

    def close(self) -> None:
        """Finish the open shard: close, fsync, rename to its final name, record it in the manifest."""
        if self._writer is None:
            return
        writer, handle, final, rows, sources = self._writer, self._handle, self._final, self._rows, self._sources
        self._writer, self._handle, self._final, self._rows, self._sources = None, None, None, 0, {}
        temporary = final.with_name(f'.{final.name}.tmp')
        try:
            writer.close()
            handle.flush()
            os.fsync(handle.fileno())
        except BaseException:
            handle.close()
            temporary.unlink(missing_ok=True)
            raise
        handle.close()
        os.replace(temporary, final)
        entry = {
            'rows': rows,
            'bytes': final.stat().st_size,
            'sha256': sha256_file(final),
            'sources': dict(sorted(sources.items())),
            'written': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        }
        self.record(final.name, entry)
        self.written.append(final.name)

    def abort(self) -> None:
        """Drop a shard that could not be finished (its temporary file), if any."""
        if self._writer is None:
            return
        try:
            self._writer.close()
            self._handle.close()
        finally:
            self._temporary().unlink(missing_ok=True)
            self._writer = None

    def _open(self) -> None:
        for stale in self.directory.glob('.part-*.parquet.tmp'):  # left by a crash: never a complete shard
            stale.unlink(missing_ok=True)
        taken = [int(path.stem[5:]) for path in self.directory.glob(SHARD_PATTERN) if path.stem[5:].isdigit()]
        index = max(taken, default=-1) + 1
        while True:
            self._final = self.directory / f'part-{index:05d}.parquet'
            try:  # 'x': the name is ours alone, even if another writer picked the same index
                self._handle = open(self._temporary(), 'xb')  # noqa: SIM115  - closed in close() or abort()
                break
            except FileExistsError:
                index += 1
        self._writer = pq.ParquetWriter(self._handle, ARROW_SCHEMA, compression='zstd', write_page_checksum=True)

    def _temporary(self) -> Path:
        return self._final.with_name(f'.{self._final.name}.tmp')


class Progress:
    """A tqdm bar on a terminal, else a log line every ``interval`` seconds, with rows/s."""

    def __init__(self, label: str, enabled: bool | None, interval: float = 30.0) -> None:
        self.label = label
        self.count = 0
        self.started = self.last = time.perf_counter()
        self.interval = interval
        self.enabled = enabled is not False
        self.bar = None
        if enabled is not False and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(desc=label, unit=' mol', unit_scale=True, mininterval=1.0, file=sys.stderr)

    def update(self, count: int) -> None:
        self.count += count
        if self.bar is not None:
            self.bar.update(count)
            return
        if self.enabled and self.count % 1000 < count:  # the clock is read once per thousand rows at most
            now = time.perf_counter()
            if now - self.last >= self.interval:
                self.last = now
                rate = self.count / (now - self.started)
                LOGGER.info('%s: %s rows, %s rows/s', self.label, f'{self.count:,}', f'{rate:,.0f}')

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
