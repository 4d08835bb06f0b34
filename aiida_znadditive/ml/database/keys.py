"""What makes imports idempotent: a row's key is its (source, source_version, source_id), and a key enters once.

``source_version`` is the package version of packaged data or the sha256 of a user's file, so the same file
imported twice, or an import stopped part-way and run again, writes only the rows not yet present; a changed file
is another version and enters as such.

:class:`KeyFilter` keeps the keys in an in-memory DuckDB table (compact, spilled to disk past DuckDB's memory
limit), filled per (source, source_version) the first time a batch holds it, from the shards whose manifest entry
lists that source; each batch is then filtered with one anti-join, so millions of rows never become Python objects.
A key given twice within one input keeps its first row; the second is counted as repeated.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from .views import sql_string

__all__ = ('Kept', 'KeyFilter')

KEY = ('source', 'source_version', 'source_id')


@dataclasses.dataclass
class Kept:
    """One batch filtered: the rows to write, how many were present already, the keys repeated within the input."""

    table: pa.Table
    present: int
    repeated: list[str]


class KeyFilter:
    """Drops the rows whose key is in the database or earlier in this import.

    :param shards_of: ``source -> [(path, column names)]`` of the healthy shards that hold rows of that source.
    """

    def __init__(self, shards_of: Callable[[str], list[tuple[Path, list[str]]]]) -> None:
        import duckdb

        self.shards_of = shards_of
        self.connection = duckdb.connect()
        self.connection.execute('CREATE TABLE seen (source VARCHAR, source_version VARCHAR, source_id VARCHAR)')
        self.loaded: set[tuple[str, str]] = set()

    def filter(self, table: pa.Table) -> Kept:
        """The rows of ``table`` whose key is new (the keys kept are remembered for the next batches)."""
        if table.num_rows == 0:
            return Kept(table, 0, [])
        batch = table.select(list(KEY)).append_column('_row', pa.array(range(table.num_rows), pa.int64()))
        self.connection.register('batch', batch)
        try:
            pairs = self.connection.sql('SELECT DISTINCT source, source_version FROM batch').fetchall()
            for pair in pairs:
                if pair not in self.loaded:
                    self._load(*pair)
            rows = self.connection.sql(
                'SELECT _row, EXISTS (SELECT 1 FROM seen s WHERE s.source = b.source '
                'AND s.source_version = b.source_version AND s.source_id = b.source_id) AS present, '
                'row_number() OVER (PARTITION BY source, source_version, source_id ORDER BY _row) > 1 AS repeated '
                'FROM batch b ORDER BY _row'
            ).to_arrow_table()
            present = rows.column('present').to_pylist()
            repeated = rows.column('repeated').to_pylist()
        finally:
            self.connection.unregister('batch')
        keep = pa.array([not (p or r) for p, r in zip(present, repeated, strict=True)], pa.bool_())
        kept = table.filter(keep)
        self.connection.register('kept', kept.select(list(KEY)))
        try:
            self.connection.execute('INSERT INTO seen SELECT * FROM kept')
        finally:
            self.connection.unregister('kept')
        ids = table.column('source_id').to_pylist() if any(repeated) else []
        twice = [ids[index] for index, (p, r) in enumerate(zip(present, repeated, strict=True)) if r and not p]
        return Kept(kept, sum(present), twice)

    def close(self) -> None:
        self.connection.close()

    def _load(self, source: str, version: str) -> None:
        shards = [path for path, columns in self.shards_of(source) if set(KEY) <= set(columns)]
        if shards:
            files = ', '.join(sql_string(str(path)) for path in shards)
            self.connection.execute(
                f'INSERT INTO seen SELECT source, source_version, source_id FROM read_parquet([{files}], '
                'union_by_name = true) WHERE source = $source AND source_version = $version',
                {'source': source, 'version': version},
            )
        self.loaded.add((source, version))
