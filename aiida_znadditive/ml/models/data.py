"""Training data for the models: molecules with target values, read from QM9, our xTB labels or a Parquet file.

Targets are meta-database property columns (:data:`~aiida_znadditive.ml.database.schema.PROPERTIES`, units in their
names: eV, Debye, Å^3); short names are accepted (``gap`` for ``gap_ev``, ``dipole`` for ``dipole_debye``). A
molecule enters when it has a value for at least one target; the others are NaN and masked in the loss. Every data
set records where it came from (source, its version, path, limit) and a fingerprint of its SMILES and values, so a
checkpoint can be evaluated again on exactly its own data.

Sources:

- ``qm9``: the QM9 CSV files of the installed ``qm9pack`` (B3LYP/6-31G(2df,p)), standardised like ``db import qm9``;
  geometries included (for the 3D model).
- ``xtb-labels``: a folder of shards from :mod:`aiida_znadditive.ml.labels.xtb` (GFN2-xTB), with geometries.
- ``parquet``: a Parquet file (or folder of them) in the meta-database schema, e.g. ``db query ... --output``.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np

from ..database.schema import PROPERTIES

__all__ = ('DATA_KINDS', 'LEVELS', 'MoleculeSet', 'load_dataset', 'resolve_targets')

DATA_KINDS = ('qm9', 'xtb-labels', 'parquet')
#: Level of theory of the values of each source, and its family: the screener's default thresholds depend on it
#: (GFN2 orbital energies lie several eV below DFT ones).
LEVELS = {
    'qm9': ('dft', 'B3LYP/6-31G(2df,p)'),
    'pcqm4mv2': ('dft', 'B3LYP/6-31G*'),
    'mp-molecules': ('dft', 'wB97X-V/def2-TZVPPD'),
    'znadditive-xtb': ('gfn2', 'GFN2-xTB (tblite)'),
}


class DataError(ValueError):
    """Training data that cannot be read or has nothing to learn from."""


def resolve_targets(targets: str | list[str] | tuple[str, ...]) -> list[str]:
    """Property column names of ``targets`` (a comma-separated string or a list; short names allowed)."""
    names = [item.strip() for item in targets.split(',')] if isinstance(targets, str) else list(targets)
    short = {column.rsplit('_', 1)[0]: column for column in PROPERTIES}
    resolved = []
    for name in filter(None, names):
        column = name if name in PROPERTIES else short.get(name)
        if column is None:
            known = ', '.join(sorted(short))
            raise DataError(f'Unknown target `{name}`; known: {known} (or their column names, e.g. gap_ev)')
        if column not in resolved:
            resolved.append(column)
    if not resolved:
        raise DataError('No targets given.')
    return resolved


@dataclasses.dataclass
class MoleculeSet:
    """Molecules and their targets.

    :param smiles: one per molecule.
    :param targets: ``[molecules, targets]``, float64, NaN where a molecule has no value.
    :param target_names: property column names, e.g. ``['gap_ev']``.
    :param geometries: per molecule ``(z, pos)`` (hydrogens included) or None, when the source has geometries.
    :param source: provenance: ``kind``, ``sources`` (name -> version), ``path``, ``limit``, ``fingerprint``.
    """

    smiles: list[str]
    targets: np.ndarray
    target_names: list[str]
    geometries: list[tuple[np.ndarray, np.ndarray] | None] | None
    source: dict

    def __len__(self) -> int:
        return len(self.smiles)

    def subset(self, index: np.ndarray) -> MoleculeSet:
        """The molecules ``index``. Its fingerprint is its own: a checkpoint trained on a subset cannot be
        re-evaluated by reloading the source (``ml evaluate`` says so), since the subset is not recorded."""
        index = np.asarray(index, dtype=np.int64)
        geometries = [self.geometries[i] for i in index] if self.geometries is not None else None
        smiles, targets = [self.smiles[i] for i in index], self.targets[index]
        source = {
            **self.source,
            'subset_of': self.source.get('fingerprint'),
            'n_molecules': len(smiles),
            'fingerprint': _fingerprint(smiles, targets),
        }
        return MoleculeSet(smiles, targets, self.target_names, geometries, source)

    @property
    def level(self) -> tuple[str, str]:
        """``(family, description)`` of the level of theory: ``'dft'``, ``'gfn2'`` or ``'mixed'``/``'unknown'``."""
        known = [LEVELS.get(name) for name in self.source.get('sources', {})]
        if not known or any(level is None for level in known):
            return 'unknown', ', '.join(sorted(self.source.get('sources', {}))) or 'unknown'
        families = {family for family, _ in known}
        description = ', '.join(sorted({text for _, text in known}))
        return (families.pop() if len(families) == 1 else 'mixed'), description


def _fingerprint(smiles: list[str], targets: np.ndarray) -> str:
    digest = hashlib.sha256('\n'.join(smiles).encode())
    digest.update(np.ascontiguousarray(targets, dtype=np.float64).tobytes())
    return f'sha256:{digest.hexdigest()[:16]}'


def _from_rows(rows, target_names: list[str], source: dict, with_geometry: bool) -> MoleculeSet:
    """A :class:`MoleculeSet` of dict rows, keeping those with a SMILES and at least one target value."""
    smiles, values, geometries, versions = [], [], [], {}
    for row in rows:
        found = [row.get(name) for name in target_names]
        found = [np.nan if value is None else float(value) for value in found]
        if not row.get('smiles') or all(np.isnan(found)):
            continue
        smiles.append(row['smiles'])
        values.append(found)
        versions.setdefault(row.get('source') or source['kind'], row.get('source_version') or 'unknown')
        if with_geometry:
            numbers, positions = row.get('atomic_numbers'), row.get('positions')
            if numbers is None or positions is None or len(numbers) == 0:
                geometries.append(None)
            else:
                geometries.append(
                    (np.asarray(numbers, dtype=np.int64), np.asarray(positions, dtype=np.float32).reshape(-1, 3))
                )
    if not smiles:
        raise DataError(f'No molecule with a value for {", ".join(target_names)} in {source["kind"]} data.')
    targets = np.array(values, dtype=np.float64).reshape(len(smiles), len(target_names))
    source = {**source, 'sources': versions, 'n_molecules': len(smiles), 'fingerprint': _fingerprint(smiles, targets)}
    return MoleculeSet(smiles, targets, target_names, geometries if with_geometry else None, source)


def _qm9_rows(path: Path | None, limit: int | None):
    from ..database.importers.base import ImportContext, SkipLog
    from ..database.importers.qm9 import read_qm9

    context = ImportContext(SkipLog('qm9'), limit=limit, chunk_size=min(limit or 5000, 5000))
    try:
        yield from read_qm9(path, context)
    finally:
        context.close()


def _parquet_rows(path: Path, columns: list[str], limit: int | None):
    import pyarrow.parquet as pq

    files = sorted(path.glob('*.parquet')) if path.is_dir() else [path]
    if not files or not all(file.is_file() for file in files):
        raise DataError(f'{path}: no Parquet file')
    read = 0
    for file in files:
        parquet = pq.ParquetFile(file)
        present = [name for name in columns if name in parquet.schema_arrow.names]
        if 'smiles' not in present:
            raise DataError(f'{file}: no `smiles` column')
        for batch in parquet.iter_batches(columns=present, batch_size=50_000):
            for row in batch.to_pylist():
                if limit is not None and read >= limit:
                    return
                read += 1
                yield row


def load_dataset(
    kind: str,
    path: str | Path | None = None,
    targets: str | list[str] = ('gap_ev',),
    limit: int | None = None,
    with_geometry: bool = False,
) -> MoleculeSet:
    """Molecules with ``targets`` from ``kind`` (:data:`DATA_KINDS`); ``limit`` reads at most that many rows.

    :raises DataError: unknown kind, a missing path, or no molecule with a value.
    """
    target_names = resolve_targets(targets)
    path = Path(path) if path is not None else None
    source = {'kind': kind, 'path': str(path) if path is not None else None, 'limit': limit}
    if kind == 'qm9':
        rows = _qm9_rows(path, limit)
    elif kind == 'xtb-labels':
        if path is None or not path.is_dir():
            raise DataError(f'xtb-labels needs the folder of label shards, got {path}')
        from ..labels.xtb import read_labels  # imported here: it loads ASE and tblite's helpers

        rows = read_labels(path)[:limit] if limit is not None else read_labels(path)
    elif kind == 'parquet':
        if path is None or not path.exists():
            raise DataError(f'parquet needs a Parquet file or folder, got {path}')
        columns = ['smiles', 'source', 'source_version', *target_names]
        if with_geometry:
            columns += ['atomic_numbers', 'positions']
        rows = _parquet_rows(path, columns, limit)
    else:
        raise DataError(f'Unknown data kind `{kind}`; known: {", ".join(DATA_KINDS)}')
    return _from_rows(rows, target_names, source, with_geometry)
