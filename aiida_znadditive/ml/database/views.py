"""The SQL of the two views every query reads: ``molecules`` (every row) and ``unique`` (one row per InChIKey).

- ``molecules``: every row of every healthy shard, in the schema's columns (a column no shard has yet is null).
- ``unique``: one row per InChIKey. ``provenance`` lists every (source, source_version, source_id) that gave the
  molecule, ``sources`` the distinct source names, ``n_records`` how many rows were merged. Identity, geometry and
  each property come from the first row by :data:`~.schema.SOURCE_PREFERENCE` (then source, then source_id) that has
  a value for it: the geometry (``atomic_numbers`` with ``positions``) always from one row, each property from the
  best source that gives it, named in ``property_sources``.
"""

from __future__ import annotations

from pathlib import Path

from .schema import ALL_COLUMNS, DUCKDB_TYPES, GEOMETRY_COLUMNS, IDENTITY_COLUMNS, PROPERTIES, SOURCE_PREFERENCE

__all__ = ('UNIQUE_VIEW', 'molecules_view', 'sql_string')


def molecules_view(shards: list[tuple[Path, list[str]]]) -> str:
    """``CREATE VIEW molecules`` over ``(path, column names)`` of the shards, every column cast to the schema's type."""
    present = {column for _, columns in shards for column in columns}
    select = ', '.join(
        f'CAST({column.name} AS {DUCKDB_TYPES[column.type]}) AS {column.name}'
        if column.name in present
        else f'CAST(NULL AS {DUCKDB_TYPES[column.type]}) AS {column.name}'
        for column in ALL_COLUMNS
    )
    if not shards:
        return f'CREATE VIEW molecules AS SELECT {select} WHERE false'
    files = ', '.join(sql_string(str(path)) for path, _ in shards)
    return f'CREATE VIEW molecules AS SELECT {select} FROM read_parquet([{files}], union_by_name = true)'


def sql_string(text: str) -> str:
    """``text`` as an SQL string literal."""
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


UNIQUE_VIEW = _unique_view()
