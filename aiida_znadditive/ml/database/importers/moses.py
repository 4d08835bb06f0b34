"""ZINC drug-like molecules of the MOSES benchmark, from the CSV files the ``molsets`` wheel ships.

The installed ``moses/dataset/data/{train,test,test_scaffolds}.csv.gz`` (1,936,962 SMILES in all, column ``SMILES``)
are read without importing ``moses``: its ``__init__`` imports packages of its era that are not installed. A file of
one's own in the same format (``SMILES``, and optionally ``SPLIT`` as in MOSES' ``dataset_v1.csv``) can be given
instead. ``source_id`` is ``<split>:<row>``, the split from the ``SPLIT`` column or else the file name, the row
counted from 0 in that file.
"""

from __future__ import annotations

import csv
import importlib.metadata
import importlib.util
from collections.abc import Iterator
from pathlib import Path

from .base import ImportContext, SourceError, check_file, file_version, open_text, package_version

SOURCE = 'moses'
DISTRIBUTION = 'molsets'
SPLITS = ('train', 'test', 'test_scaffolds')


def moses_files() -> dict[str, Path]:
    """Split name -> installed file, located without importing ``moses``."""
    spec = importlib.util.find_spec('moses')  # top-level: found on sys.path, its __init__ is not run
    if spec is not None and spec.submodule_search_locations:
        folder = Path(next(iter(spec.submodule_search_locations))) / 'dataset' / 'data'
    else:
        try:
            folder = Path(importlib.metadata.distribution(DISTRIBUTION).locate_file('moses/dataset/data'))
        except importlib.metadata.PackageNotFoundError as error:
            raise SourceError(
                f'MOSES needs the {DISTRIBUTION} package: pip install --no-deps {DISTRIBUTION}'
            ) from error
    files = {split: folder / f'{split}.csv.gz' for split in SPLITS}
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise SourceError(f'MOSES files missing from the {DISTRIBUTION} installation: {", ".join(missing)}')
    return files


def read_moses(path: Path | str | None, context: ImportContext, splits: tuple[str, ...] = SPLITS) -> Iterator[dict]:
    """Records of the installed MOSES splits (``splits`` of them), or of ``path`` in MOSES' CSV format."""
    if path is None:
        installed = moses_files()
        unknown = set(splits) - set(installed)
        if unknown:
            raise SourceError(f'unknown MOSES splits {sorted(unknown)}; there are {list(SPLITS)}')
        files = [(installed[split], package_version(DISTRIBUTION)) for split in splits]
    else:
        files = [(Path(path), None)]
    for file, version in files:
        if context.full:
            return
        checked = check_file(file, context)
        if checked is not None:
            yield from _read_file(checked, version or file_version(checked), context)


def _read_file(path: Path, version: str, context: ImportContext) -> Iterator[dict]:
    default_split = path.name.split('.')[0]
    with open_text(path) as handle:
        reader = csv.reader(handle)
        header = [name.strip().upper() for name in next(reader, [])]
        if 'SMILES' not in header:
            raise SourceError(f'{path}: no SMILES column in the header {header}')
        smiles_at = header.index('SMILES')
        split_at = header.index('SPLIT') if 'SPLIT' in header else None

        def rows():
            for row_number, row in enumerate(reader):
                smiles = row[smiles_at] if len(row) > smiles_at else ''
                split = row[split_at] if split_at is not None and len(row) > split_at else default_split
                yield f'{split}:{row_number}', smiles, None

        for identity, source_id, _ in context.standardised(rows()):
            yield {**identity, 'source': SOURCE, 'source_version': version, 'source_id': source_id}
