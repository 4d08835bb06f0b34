"""The meta-database: molecules from many sources in one schema, keyed by InChIKey, as Parquet shards for DuckDB.

- :mod:`.schema`: column names, types, units (``COLUMNS``, ``PROPERTIES``, ``ARROW_SCHEMA``).
- :mod:`.standardise`: RDKit standardisation (``standardise``, ``MoleculeError``, ``StandardiseSettings``).
- :mod:`.importers`: one importer per source (``IMPORTERS``: qm9, moses, pcqm4mv2, mp-molecules, sdf, smiles, parquet).
- :mod:`.store`: ``MetaDatabase`` (import, query through the ``molecules`` and ``unique`` views, stats, verify), built
  on :mod:`.writer` (shards), :mod:`.keys` (idempotent imports), :mod:`.manifest` (``ManifestError``, repair),
  :mod:`.integrity` (shard checks on every read), :mod:`.views` (SQL) and :mod:`.lock` (one writer at a time).

Names are loaded on first use, so that ``from aiida_znadditive.ml.database import schema`` stays light.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    'ARROW_SCHEMA': 'schema',
    'COLUMNS': 'schema',
    'PROPERTIES': 'schema',
    'MoleculeError': 'standardise',
    'StandardiseSettings': 'standardise',
    'standardise': 'standardise',
    'standardise_mol': 'standardise',
    'IMPORTERS': 'importers',
    'SkipLog': 'importers',
    'SourceError': 'importers',
    'read_source': 'importers',
    'ImportReport': 'store',
    'MetaDatabase': 'store',
    'ManifestError': 'manifest',
}

__all__ = tuple(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return getattr(importlib.import_module(f'.{_EXPORTS[name]}', __name__), name)
