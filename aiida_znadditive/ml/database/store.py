"""The meta-database on disk: zstd Parquet shards in one folder, queried with DuckDB.

Layout of a database folder::

    part-00000.parquet    shards in ARROW_SCHEMA, row groups of ``batch_size`` rows, up to ``shard_rows`` rows each
    part-00001.parquet
    manifest.json         per shard: rows, bytes, sha256, sources; per import: what was read, written and skipped

Writing streams: records are gathered ``batch_size`` at a time (the only rows in memory), turned into one Arrow
table, and appended as a row group to the open shard. A shard is written under a hidden temporary name and renamed
when complete, so a reader never sees half a shard and a crash leaves no partial one. One writer per folder at a
time, enforced by a lock (:mod:`.lock`: a second import waits, naming the first one's pid); any number of readers.

Reading goes through DuckDB over ``read_parquet`` of the healthy shards, as two views:

- ``molecules``: every row of every shard, in the schema's columns.
- ``unique``: one row per InChIKey. ``provenance`` lists every (source, source_version, source_id) that gave the
  molecule, ``sources`` the distinct source names, ``n_records`` how many rows were merged. Identity, geometry and
  each property come from the first row by :data:`~.schema.SOURCE_PREFERENCE` (then source, then source_id) that has
  a value for it: the geometry (``atomic_numbers`` with ``positions``) always from one row, each property from the
  best source that gives it, named in ``property_sources``.

A shard that cannot be read (a truncated file, a size that differs from the manifest, a footer or page pyarrow
rejects) is left out of the views with its reason in :attr:`MetaDatabase.problems` and in :meth:`~MetaDatabase.stats`;
the other shards still answer queries.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .importers import get_importer
from .importers.base import ImportContext, SkipLog
from .lock import WriterLock
from .schema import (
    ALL_COLUMNS,
    ARROW_SCHEMA,
    COLUMNS,
    DUCKDB_TYPES,
    GEOMETRY_COLUMNS,
    IDENTITY_COLUMNS,
    PROPERTIES,
    PROVENANCE_COLUMNS,
    SCHEMA_VERSION,
    SOURCE_PREFERENCE,
    conform_table,
)
from .standardise import StandardiseSettings

__all__ = ('ImportReport', 'MetaDatabase')

LOGGER = logging.getLogger('aiida_znadditive.ml.database')
SHARD_PATTERN = 'part-*.parquet'
MANIFEST = 'manifest.json'
# Shards found damaged by reading them whole, with size and mtime: left out until the file changes.
PROBLEMS = 'problems.json'
REQUIRED = IDENTITY_COLUMNS + PROVENANCE_COLUMNS
# DuckDB errors that are the query's own fault; any other DuckDB error (DuckDB reports a damaged page as a plain
# ``duckdb.Error``, a missing file as IOException) makes the shards be checked before the query is given up.
_QUERY_ERRORS = (
    'ParserException',
    'BinderException',
    'CatalogException',
    'SyntaxException',
    'ConversionException',
    'NotImplementedException',
    'TypeMismatchException',
    'ConstraintException',
    'InterruptException',
    'OutOfMemoryException',
)
_NUMPY_LIST_TYPES = {'atomic_numbers': np.int8, 'positions': np.float32}


@dataclasses.dataclass
class ImportReport:
    """What one import did: rows read, written and skipped (per reason), time taken, shards written."""

    source: str
    path: str | None
    rows_read: int
    rows_written: int
    skipped: dict[str, int]
    warnings: dict[str, int]
    messages: list[str]
    examples: dict[str, list[str]]
    seconds: float
    shards: list[str]

    @property
    def rows_skipped(self) -> int:
        return sum(self.skipped.values())

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        """A few lines for a person: counts, speed, then each skip reason with its count."""
        lines = [
            f'{self.source}: read {self.rows_read:,}, wrote {self.rows_written:,}, skipped {self.rows_skipped:,} '
            f'in {self.seconds:.1f} s ({self.rows_per_second:,.0f} rows/s), {len(self.shards)} shard(s)'
        ]
        lines += [f'  {message}' for message in self.messages]
        lines += [f'  {count:>9,} skipped: {key}' for key, count in sorted(self.skipped.items(), key=lambda x: -x[1])]
        lines += [f'  {count:>9,} warning: {key}' for key, count in sorted(self.warnings.items(), key=lambda x: -x[1])]
        return '\n'.join(lines)


class MetaDatabase:
    """A folder of Parquet shards in :data:`~.schema.ARROW_SCHEMA`, written in batches and queried with DuckDB.

    :param directory: the database folder; created on the first write.
    :param threads: DuckDB threads per query (default: DuckDB's, all cores).
    :param memory_limit: DuckDB memory limit, e.g. ``'4GB'`` (default: DuckDB's, 80 % of RAM); DuckDB spills beyond.
    """

    def __init__(self, directory: str | os.PathLike, threads: int | None = None, memory_limit: str | None = None):
        self.directory = Path(directory)
        self.threads = threads
        self.memory_limit = memory_limit
        #: shard file name -> why it is left out of the views
        self.problems: dict[str, str] = {}
        self._checked: dict[str, tuple[tuple, list[str] | None]] = {}
        self._lock_depth = 0

    @contextlib.contextmanager
    def writing(self):
        """Hold the folder's writer lock (:mod:`.lock`); re-entrant within this object."""
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        with WriterLock(self.directory):
            self._lock_depth = 1
            try:
                yield
            finally:
                self._lock_depth = 0

    # -- writing ------------------------------------------------------------------------------------------------

    def import_source(
        self,
        name: str,
        path: str | os.PathLike | None = None,
        *,
        limit: int | None = None,
        settings: StandardiseSettings | dict | None = None,
        workers: int = 1,
        batch_size: int = 50_000,
        shard_rows: int = 500_000,
        progress: bool | None = None,
        **options,
    ) -> ImportReport:
        """Import a registered source (:data:`~.importers.IMPORTERS`) and return what happened.

        :param limit: read at most this many input records (the written rows are these minus the skips).
        :param workers: processes that standardise in parallel (1: in this process).
        :param options: passed to the importer (e.g. ``sdf=`` for ``pcqm4mv2``, ``id_field=`` for ``sdf``).
        :raises SourceError: the file is missing or not in the source's format (rows written until then stay).
        """
        importer = get_importer(name)
        skips = SkipLog(name)
        context = ImportContext(skips, StandardiseSettings.coerce(settings), limit, workers)
        started = time.perf_counter()
        shards: list[str] = []
        with self.writing():
            try:
                records = importer.read(None if path is None else Path(path), context, **options)
                written = self.import_records(
                    records, batch_size=batch_size, shard_rows=shard_rows, progress=progress, label=name, shards=shards
                )
            finally:
                context.close()
            return self._finish_import(name, path, skips=skips, written=written, started=started, shards=shards)

    def _finish_import(self, name, path, *, skips, written, started, shards) -> ImportReport:
        """The import's report, also recorded in the manifest (under the writer lock of ``import_source``)."""
        report = ImportReport(
            source=name,
            path=None if path is None else str(path),
            rows_read=skips.read,
            rows_written=written,
            skipped=dict(skips.skipped),
            warnings=dict(skips.warnings),
            messages=list(skips.messages),
            examples=skips.examples,
            seconds=time.perf_counter() - started,
            shards=shards,
        )
        if skips.read == 0 and not skips.messages:
            report.messages.append('no molecules in the input')
        self._update_manifest(imports=[report.as_dict()])
        LOGGER.debug('%s', report.summary())
        return report

    def import_records(
        self,
        records: Iterable[dict | pa.Table | pa.RecordBatch],
        *,
        batch_size: int = 50_000,
        shard_rows: int = 500_000,
        progress: bool | None = None,
        label: str = 'import',
        shards: list[str] | None = None,
    ) -> int:
        """Write records (dicts of schema columns, or Arrow tables/batches in the schema) as shards; rows written.

        Rows are gathered ``batch_size`` at a time; a record without an identity or provenance column is dropped
        with a warning. When ``records`` raises, the rows gathered before are still written, then the error passes.
        """
        with self.writing():
            return self._import_records(
                records, batch_size=batch_size, shard_rows=shard_rows, progress=progress, label=label, shards=shards
            )

    def _import_records(self, records, *, batch_size, shard_rows, progress, label, shards) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        writer = _ShardWriter(self, shard_rows, shards if shards is not None else [])
        meter = _Progress(label, progress)
        buffer: list[dict] = []
        written = 0
        try:
            for item in records:
                if isinstance(item, dict):
                    buffer.append(item)
                    meter.update(1)
                    if len(buffer) >= batch_size:
                        written += writer.write(records_to_table(buffer))
                        buffer = []
                else:
                    if buffer:
                        written += writer.write(records_to_table(buffer))
                        buffer = []
                    table = conform_table(item)
                    meter.update(table.num_rows)
                    written += writer.write(table)
        finally:
            try:
                if buffer:
                    written += writer.write(records_to_table(buffer))
                writer.close()
            finally:
                writer.abort()
                meter.close()
        return written

    # -- reading ------------------------------------------------------------------------------------------------

    def shards(self) -> list[Path]:
        """The healthy shards, in name order; broken ones are in :attr:`problems`."""
        manifest = self.manifest().get('shards', {})
        healthy = []
        for path in sorted(self.directory.glob(SHARD_PATTERN)):
            columns = self._check(path, manifest.get(path.name, {}))
            if columns is not None:
                healthy.append(path)
        return healthy

    def connect(self):
        """A new DuckDB connection (in memory) with the views ``molecules`` and ``unique``; close it when done."""
        import duckdb

        connection = duckdb.connect(config=self._duckdb_config())
        connection.execute(self._molecules_view())
        connection.execute(_UNIQUE_VIEW)
        # "unique" is an SQL keyword and must be quoted; the alias spares the shell a layer of quotes.
        connection.execute('CREATE VIEW unique_molecules AS SELECT * FROM "unique"')
        return connection

    def query(self, sql: str, params: list | dict | None = None) -> pa.Table:
        """Run SQL over the views ``molecules`` and ``unique``; the result as an Arrow table (``.to_pandas()``).

        A shard that turns out damaged while the query reads it is checked, left out, and the query run again.
        """
        for attempt in range(2):
            connection = self.connect()
            try:
                return connection.sql(sql, params=params).to_arrow_table()
            except Exception as error:
                if attempt or not self._recover_from(error):
                    raise
            finally:
                connection.close()
        raise AssertionError('unreachable')  # pragma: no cover - the loop returns or raises

    def iter_batches(self, sql: str, batch_size: int = 50_000, params: list | dict | None = None):
        """Stream a query's result as Arrow record batches of up to ``batch_size`` rows (for results of any size)."""
        connection = self.connect()
        try:
            reader = connection.sql(sql, params=params).to_arrow_reader(batch_size)
            yield from reader
        finally:
            connection.close()

    def manifest(self) -> dict:
        """The manifest (empty when the folder has none, or an unreadable one)."""
        path = self.directory / MANIFEST
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            LOGGER.warning('%s: unreadable manifest (%s); shards are still read', path, error)
            return {}

    def stats(self) -> dict:
        """Counts: shards, rows, rows per source and version, unique InChIKeys, property coverage, problems."""
        shards = self.shards()
        result: dict = {
            'directory': str(self.directory),
            'shards': len(shards),
            'bytes': sum(path.stat().st_size for path in shards),
        }
        coverage = ', '.join(f'count({name}) AS {name}' for name in (*PROPERTIES, 'positions'))
        connection = self.connect()
        try:
            ((result['rows'], result['unique_molecules']),) = connection.sql(
                'SELECT count(*), count(DISTINCT inchikey) FROM molecules'
            ).fetchall()
            result['sources'] = [
                {'source': source, 'source_version': version, 'rows': rows}
                for source, version, rows in connection.sql(
                    'SELECT source, source_version, count(*) FROM molecules GROUP BY ALL ORDER BY ALL'
                ).fetchall()
            ]
            (values,) = connection.sql(f'SELECT {coverage} FROM molecules').fetchall()
        finally:
            connection.close()
        names = (*PROPERTIES, 'geometry')
        result['properties'] = dict(zip(names, values, strict=True))
        result['problems'] = dict(self.problems)
        return result

    def verify(self, checksums: bool = True) -> dict[str, str]:
        """Read every row group of every shard (and compare sha256 with the manifest); the shards found broken."""
        manifest = self.manifest().get('shards', {})
        for path in self.shards():
            reason = _deep_check(path, manifest.get(path.name, {}).get('sha256') if checksums else None)
            if reason:
                self._mark_broken(path, reason)
        return dict(self.problems)

    # -- internals -----------------------------------------------------------------------------------------------

    def _duckdb_config(self) -> dict:
        config = {}
        if self.threads:
            config['threads'] = int(self.threads)
        if self.memory_limit:
            config['memory_limit'] = self.memory_limit
        return config

    def _check(self, path: Path, entry: dict) -> list[str] | None:
        """Column names of a readable shard, or None (reason in ``problems``); cached by size and mtime.

        Cheap checks only (size against the manifest, the footer), plus what an earlier deep check found and wrote
        to ``problems.json`` for this very file (same size and mtime): damage inside a page shows on reading.
        """
        stat = path.stat()
        key = (stat.st_size, stat.st_mtime_ns)
        cached = self._checked.get(path.name)
        if cached is not None and cached[0] == key:
            return cached[1]
        columns = None
        known = self._known_damage().get(path.name, {})
        if known.get('stat') == list(key):
            reason = known['reason']
        elif entry.get('bytes') not in (None, stat.st_size):
            reason = f'{stat.st_size} bytes, the manifest says {entry["bytes"]} (truncated or overwritten)'
        else:
            try:
                columns = pq.read_schema(path).names
                reason = None if 'inchikey' in columns else 'not a meta-database shard (no inchikey column)'
            except Exception as error:  # pyarrow raises ArrowInvalid, OSError, ... on damage
                reason = f'unreadable Parquet: {error}'
        if reason:
            self._mark_broken(path, reason, remember=False)
            return None
        self.problems.pop(path.name, None)
        self._checked[path.name] = (key, columns)
        return columns

    def _mark_broken(self, path: Path, reason: str, remember: bool = True) -> None:
        """Leave a shard out of the views; ``remember`` it in ``problems.json`` (found by reading it whole)."""
        if self.problems.get(path.name) != reason:
            LOGGER.warning('%s: shard left out of queries: %s', path, reason)
        self.problems[path.name] = reason
        stat = path.stat()
        self._checked[path.name] = ((stat.st_size, stat.st_mtime_ns), None)
        if remember:
            known = self._known_damage()
            known[path.name] = {'reason': reason, 'stat': [stat.st_size, stat.st_mtime_ns]}
            try:
                _atomic_write(self.directory / PROBLEMS, json.dumps(known, indent=1).encode())
            except OSError as error:  # a read-only folder: this session still leaves the shard out
                LOGGER.warning('%s: cannot record the damage (%s)', self.directory / PROBLEMS, error)

    def _known_damage(self) -> dict:
        try:
            return json.loads((self.directory / PROBLEMS).read_text())
        except (OSError, ValueError):
            return {}

    def _recover_from(self, error: Exception) -> bool:
        """After a failed query: if it was a read error, find the damaged shards; whether any was newly left out."""
        import duckdb

        if not isinstance(error, duckdb.Error) or type(error).__name__ in _QUERY_ERRORS:
            return False
        before = set(self.problems)
        for path in self.shards():
            reason = _deep_check(path, None)
            if reason:
                self._mark_broken(path, reason)
        return bool(set(self.problems) - before)

    def _molecules_view(self) -> str:
        shards = self.shards()
        present: set[str] = set()
        for path in shards:
            present.update(self._checked[path.name][1] or ())
        select = ', '.join(
            f'CAST({column.name} AS {DUCKDB_TYPES[column.type]}) AS {column.name}'
            if column.name in present
            else f'CAST(NULL AS {DUCKDB_TYPES[column.type]}) AS {column.name}'
            for column in ALL_COLUMNS
        )
        if not shards:
            return f'CREATE VIEW molecules AS SELECT {select} WHERE false'
        files = ', '.join(_sql_string(str(path)) for path in shards)
        return f'CREATE VIEW molecules AS SELECT {select} FROM read_parquet([{files}], union_by_name = true)'

    def _update_manifest(self, shard: tuple[str, dict] | None = None, imports: list[dict] | None = None) -> None:
        manifest = self.manifest()
        manifest.setdefault('schema_version', SCHEMA_VERSION)
        manifest.setdefault('columns', list(COLUMNS))
        if shard is not None:
            manifest.setdefault('shards', {})[shard[0]] = shard[1]
        if imports:
            manifest.setdefault('imports', []).extend(imports)
        _atomic_write(self.directory / MANIFEST, json.dumps(manifest, indent=1, default=str).encode())


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


class _ShardWriter:
    """Appends tables as row groups to ``part-NNNNN.parquet``, under a temporary name until the shard is full."""

    def __init__(self, database: MetaDatabase, shard_rows: int, written: list[str]) -> None:
        self.database = database
        self.shard_rows = shard_rows
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
        self._writer.close()
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        temporary = self._temporary()
        os.replace(temporary, self._final)
        entry = {
            'rows': self._rows,
            'bytes': self._final.stat().st_size,
            'sha256': _sha256(self._final),
            'sources': self._sources,
            'written': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        }
        self.database._update_manifest(shard=(self._final.name, entry))
        self.written.append(self._final.name)
        self._writer, self._handle, self._final, self._rows, self._sources = None, None, None, 0, {}

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
        directory = self.database.directory
        for stale in directory.glob('.part-*.parquet.tmp'):  # left by a crash: never a complete shard
            stale.unlink(missing_ok=True)
        taken = [int(path.stem.split('-')[1]) for path in directory.glob(SHARD_PATTERN) if path.stem[5:].isdigit()]
        index = max(taken, default=-1) + 1
        while True:
            self._final = directory / f'part-{index:05d}.parquet'
            try:  # 'x': the name is ours alone, even if another writer picked the same index
                self._handle = open(self._temporary(), 'xb')  # noqa: SIM115  - closed in close() or abort()
                break
            except FileExistsError:
                index += 1
        self._writer = pq.ParquetWriter(self._handle, ARROW_SCHEMA, compression='zstd')

    def _temporary(self) -> Path:
        return self._final.with_name(f'.{self._final.name}.tmp')


class _Progress:
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


def _deep_check(path: Path, sha256: str | None) -> str | None:
    """Why a shard is broken (every row group read and decoded; checksum compared if given), or None."""
    try:
        parquet = pq.ParquetFile(path)
        for index in range(parquet.num_row_groups):
            parquet.read_row_group(index)
    except Exception as error:  # any failure to decode means the shard cannot be trusted
        return f'unreadable Parquet: {error}'
    if sha256 and _sha256(path) != sha256:
        return 'checksum differs from the manifest (the file changed after it was written)'
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def _atomic_write(path: Path, content: bytes) -> None:
    temporary = path.with_name(f'.{path.name}.tmp')
    with open(temporary, 'wb') as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _unique_view() -> str:
    ranks = ' '.join(f"WHEN '{source}' THEN {rank}" for rank, source in enumerate(SOURCE_PREFERENCE))
    # The preference key: rank of the source, then source, then source_id (shorter first, so that numeric IDs sort
    # as numbers: QM9 '9' before '10'); ties always break the same way, whatever the order of the shards.
    key = f"printf('%03d|%s|%06d|%s', CASE source {ranks} ELSE 999 END, source, length(source_id), source_id)"
    identity = ', '.join(f'arg_min({name}, _key) AS {name}' for name in IDENTITY_COLUMNS if name != 'inchikey')
    geometry = ', '.join(
        f'arg_min({name}, _key) FILTER (WHERE positions IS NOT NULL) AS {name}' for name in GEOMETRY_COLUMNS
    )
    properties = ', '.join(f'arg_min({name}, _key) FILTER (WHERE {name} IS NOT NULL) AS {name}' for name in PROPERTIES)
    property_sources = ', '.join(
        [f'{name} := arg_min(source, _key) FILTER (WHERE {name} IS NOT NULL)' for name in PROPERTIES]
        + ['geometry := arg_min(source, _key) FILTER (WHERE positions IS NOT NULL)']
    )
    return (
        f'CREATE VIEW "unique" AS SELECT inchikey, {identity}, '
        'list(struct_pack(source := source, source_version := source_version, source_id := source_id) '
        'ORDER BY _key) AS provenance, '
        'list(DISTINCT source ORDER BY source) AS sources, count(*) AS n_records, '
        f'{geometry}, {properties}, struct_pack({property_sources}) AS property_sources '
        f'FROM (SELECT *, {key} AS _key FROM molecules) GROUP BY inchikey'
    )


_UNIQUE_VIEW = _unique_view()
