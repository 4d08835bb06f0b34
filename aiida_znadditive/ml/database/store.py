"""The meta-database on disk: zstd Parquet shards in one folder, queried with DuckDB.

Layout of a database folder::

    part-00000.parquet    shards in ARROW_SCHEMA, row groups of ``batch_size`` rows, up to ``shard_rows`` rows each
    part-00001.parquet
    manifest.json         per shard: rows, bytes, sha256, sources; per import: what was read, written and skipped
    manifest.json.bak     the manifest's previous version
    verified.json         shards whose sha256 was checked, by (size, mtime_ns, inode): not hashed again
    problems.json         shards found damaged, by (size, mtime_ns, inode): left out until they change

The modules behind it, one concept each:

- :mod:`.writer`: shards written in batches, under a temporary name until complete (a crash leaves no partial one).
- :mod:`.keys`: idempotent imports; a row whose (source, source_version, source_id) is present is not written again.
- :mod:`.manifest`: the manifest, written atomically with a backup, refused when corrupt, rebuilt from the shards.
- :mod:`.integrity`: every read checks each shard against the manifest (size, footer, sha256 when it changed).
- :mod:`.views`: the SQL of the views ``molecules`` and ``unique``.
- :mod:`.lock`: one writer per folder at a time (a second import waits, naming the first one's pid); any number of
  readers.

A shard that fails a check is left out of the views with its reason in :attr:`MetaDatabase.problems` and in
:meth:`~MetaDatabase.stats`; the other shards still answer queries, and no row of it is ever returned.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa

from .importers import get_importer
from .importers.base import ImportContext, SkipLog
from .integrity import ShardChecker, deep_check
from .keys import KeyFilter
from .lock import WriterLock
from .manifest import (
    SHARD_PATTERN,
    ManifestError,
    prepare_for_writing,
    read_manifest,
    rebuild_manifest,
    update_manifest,
)
from .schema import PROPERTIES, conform_table
from .standardise import StandardiseSettings
from .views import UNIQUE_VIEW, molecules_view
from .writer import Progress, ShardWriter, records_to_table

__all__ = ('ImportReport', 'ManifestError', 'MetaDatabase', 'records_to_table')

LOGGER = logging.getLogger('aiida_znadditive.ml.database')
REPEATED = 'source_id repeated in the input'
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


@dataclasses.dataclass
class ImportReport:
    """What one import did: rows read, written, already present and skipped (per reason), time taken, shards."""

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
    #: rows whose (source, source_version, source_id) the database had already: not written again
    rows_present: int = 0
    #: a TSV of every skipped (and warned) input record with its id and reason; None when nothing was skipped
    skipped_file: str | None = None

    @property
    def rows_skipped(self) -> int:
        return sum(self.skipped.values())

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0

    @property
    def already_imported(self) -> bool:
        """Whether every row the input gave was in the database already."""
        return self.rows_present > 0 and self.rows_written == 0

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        """A few lines for a person: counts, speed, then each skip reason with its count."""
        lines = [
            f'{self.source}: read {self.rows_read:,}, wrote {self.rows_written:,}, already present '
            f'{self.rows_present:,}, skipped {self.rows_skipped:,} in {self.seconds:.1f} s '
            f'({self.rows_per_second:,.0f} rows/s), {len(self.shards)} shard(s)'
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
    :raises ManifestError: (from reads and writes) ``manifest.json`` is corrupt, or missing beside shards.
    """

    def __init__(self, directory: str | os.PathLike, threads: int | None = None, memory_limit: str | None = None):
        self.directory = Path(directory)
        self.threads = threads
        self.memory_limit = memory_limit
        self._checker = ShardChecker(self.directory)
        self._lock_depth = 0

    @property
    def problems(self) -> dict[str, str]:
        """Shard file name -> why it is left out of the views (filled by every read)."""
        return self._checker.problems

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

        Rows already in the database (same source, source_version and source_id) are not written again: importing
        a file twice adds nothing the second time, an import stopped part-way and run again adds only the rest.

        :param limit: read at most this many input records (the written rows are these minus skips and present).
        :param workers: processes that standardise in parallel (1: in this process).
        :param options: passed to the importer (e.g. ``sdf=`` for ``pcqm4mv2``, ``id_field=`` for ``sdf``).
        :raises SourceError: the file is missing or not in the source's format (rows written until then stay).
        """
        importer = get_importer(name)
        stamp = datetime.datetime.now().strftime('%Y%m%dT%H%M%S.%f')
        skips = SkipLog(name, record=self.directory / 'imports' / f'{stamp}-{name}.skipped.tsv')
        context = ImportContext(skips, StandardiseSettings.coerce(settings), limit, workers)
        started = time.perf_counter()
        shards: list[str] = []
        counts = {'present': 0}
        with self.writing():
            try:
                records = importer.read(None if path is None else Path(path), context, **options)
                written = self._import_records(
                    records,
                    batch_size=batch_size,
                    shard_rows=shard_rows,
                    progress=progress,
                    label=name,
                    shards=shards,
                    counts=counts,
                    skips=skips,
                )
            finally:
                context.close()
                skips.close()
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
                rows_present=counts['present'],
                skipped_file=str(skips.record) if skips.record.exists() else None,
            )
            if skips.read == 0 and not skips.messages:
                report.messages.append('no molecules in the input')
            update_manifest(self.directory, imports=[report.as_dict()])
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
        with a warning, one whose (source, source_version, source_id) is in the database already is not written
        again. When ``records`` raises, the rows gathered before are still written, then the error passes.
        """
        with self.writing():
            return self._import_records(
                records, batch_size=batch_size, shard_rows=shard_rows, progress=progress, label=label, shards=shards
            )

    def _import_records(
        self, records, *, batch_size, shard_rows, progress, label, shards, counts=None, skips=None
    ) -> int:
        counts = counts if counts is not None else {'present': 0}
        self.directory.mkdir(parents=True, exist_ok=True)
        prepare_for_writing(self.directory)
        keys = KeyFilter(self._shards_of)
        writer = ShardWriter(self.directory, shard_rows, self._record_shard, shards if shards is not None else [])
        meter = Progress(label, progress)
        buffer: list[dict] = []
        written = 0

        def write(table: pa.Table) -> int:
            kept = keys.filter(table)
            counts['present'] += kept.present
            for source_id in kept.repeated:
                if skips is not None:
                    skips.skip(source_id, REPEATED)
            if kept.repeated and skips is None:
                LOGGER.warning('%d records dropped: %s (e.g. %s)', len(kept.repeated), REPEATED, kept.repeated[0])
            return writer.write(kept.table)

        try:
            for item in records:
                if isinstance(item, dict):
                    buffer.append(item)
                    meter.update(1)
                    if len(buffer) >= batch_size:
                        written += write(records_to_table(buffer))
                        buffer = []
                else:
                    if buffer:
                        written += write(records_to_table(buffer))
                        buffer = []
                    table = conform_table(item)
                    meter.update(table.num_rows)
                    written += write(table)
        finally:
            try:
                if buffer:
                    written += write(records_to_table(buffer))
                writer.close()
            finally:
                writer.abort()
                keys.close()
                meter.close()
        if counts['present']:
            LOGGER.info('%s: %s rows already in the database, not written again', label, f'{counts["present"]:,}')
        return written

    def _record_shard(self, name: str, entry: dict) -> None:
        update_manifest(self.directory, shards={name: entry})

    def repair_manifest(self) -> dict:
        """Rebuild ``manifest.json`` from the shards (:func:`~.manifest.rebuild_manifest`), under the writer lock."""
        with self.writing():
            report = rebuild_manifest(self.directory)
        self._checker = ShardChecker(self.directory)
        return report

    # -- reading ------------------------------------------------------------------------------------------------

    def shards(self) -> list[Path]:
        """The healthy shards, in name order; the others are in :attr:`problems`."""
        return [path for path, _ in self._healthy()]

    def connect(self):
        """A new DuckDB connection (in memory) with the views ``molecules`` and ``unique``; close it when done."""
        return self._connect(self._healthy())

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
        """The manifest (empty for a folder without shards); :class:`ManifestError` when it cannot be trusted."""
        return read_manifest(self.directory)

    def stats(self) -> dict:
        """Counts: shards, rows, rows per source and version, unique InChIKeys, property coverage, problems."""
        healthy = self._healthy()
        result: dict = {
            'directory': str(self.directory),
            'shards': len(healthy),
            'bytes': sum(path.stat().st_size for path, _ in healthy),
        }
        coverage = ', '.join(f'count({name}) AS {name}' for name in (*PROPERTIES, 'positions'))
        connection = self._connect(healthy)
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
        """Read every page of every shard and hash each again (caches ignored); the shards found broken."""
        entries = self.manifest().get('shards', {})
        return self._checker.verify(entries, sorted(self.directory.glob(SHARD_PATTERN)), checksums)

    # -- internals -----------------------------------------------------------------------------------------------

    def _healthy(self) -> list[tuple[Path, list[str]]]:
        entries = self.manifest().get('shards', {})
        return self._checker.healthy(entries, sorted(self.directory.glob(SHARD_PATTERN)))

    def _shards_of(self, source: str) -> list[tuple[Path, list[str]]]:
        """The healthy shards with rows of ``source`` (by their manifest entries)."""
        entries = self.manifest().get('shards', {})
        return [(path, columns) for path, columns in self._healthy() if source in entries[path.name].get('sources', {})]

    def _connect(self, healthy: list[tuple[Path, list[str]]]):
        import duckdb

        connection = duckdb.connect(config=self._duckdb_config())
        connection.execute(molecules_view(healthy))
        connection.execute(UNIQUE_VIEW)
        # "unique" is an SQL keyword and must be quoted; the alias spares the shell a layer of quotes.
        connection.execute('CREATE VIEW unique_molecules AS SELECT * FROM "unique"')
        return connection

    def _duckdb_config(self) -> dict:
        config = {}
        if self.threads:
            config['threads'] = int(self.threads)
        if self.memory_limit:
            config['memory_limit'] = self.memory_limit
        return config

    def _recover_from(self, error: Exception) -> bool:
        """After a failed query: if it was a read error, find the damaged shards; whether any was newly left out."""
        import duckdb

        if not isinstance(error, duckdb.Error) or type(error).__name__ in _QUERY_ERRORS:
            return False
        before = set(self.problems)
        for path in self.shards():
            reason = deep_check(path)
            if reason:
                self._checker.mark_broken(path, reason)
        return bool(set(self.problems) - before)
