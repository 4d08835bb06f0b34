"""Plain SMILES files: ``.smi``/``.smiles``/``.txt`` (a SMILES a line, a name after it optional) or ``.csv``/``.tsv``.

Line files: blank lines and ``#`` comments are ignored; a first line whose first word is ``smiles`` is a header. The
name (second whitespace-separated word) becomes ``source_id``, else ``line <n>``.

Table files need a header with a ``smiles`` column (any case, or ``smiles_column``); the ID comes from ``id_column``
or the first of ``id``, ``name``, ``title``, ``source_id``, ``chembl_id``, ``cid`` present, else ``row <n>``. Columns
named like a property of the schema (``gap_ev``, ``dipole_debye``, ...) are read as that property, in its unit.
Every format may be gzipped (``.smi.gz``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from ..schema import PROPERTIES
from .base import ImportContext, SourceError, base_suffix, check_file, file_version, float_or_none, open_text

SOURCE = 'smiles'
TABLE_SUFFIXES = {'.csv': ',', '.tsv': '\t'}
ID_COLUMNS = ('id', 'name', 'title', 'source_id', 'chembl_id', 'cid')


def read_smiles(
    path: Path | str | None,
    context: ImportContext,
    smiles_column: str | None = None,
    id_column: str | None = None,
) -> Iterator[dict]:
    """Records of the molecules of a SMILES file."""
    path = check_file(path, context)
    if path is None:
        return
    version = file_version(path)
    with open_text(path) as handle:
        delimiter = TABLE_SUFFIXES.get(base_suffix(path))
        if delimiter is None:
            rows = _line_rows(handle)
        else:
            rows = _table_rows(handle, path, delimiter, smiles_column, id_column)
        for identity, source_id, values in context.standardised(rows):
            yield {**identity, **values, 'source': SOURCE, 'source_version': version, 'source_id': source_id}


def _line_rows(handle) -> Iterator[tuple[str, str, dict]]:
    first = True
    for number, line in enumerate(handle, start=1):
        words = line.split()
        if not words or words[0].startswith('#'):
            continue
        if first and words[0].lower() == 'smiles':
            first = False
            continue
        first = False
        yield (words[1] if len(words) > 1 else f'line {number}'), words[0], {}


def _table_rows(handle, path: Path, delimiter: str, smiles_column: str | None, id_column: str | None):
    reader = csv.reader(handle, delimiter=delimiter)
    header = [name.strip() for name in next(reader, [])]
    lower = [name.lower() for name in header]
    wanted = (smiles_column or 'smiles').lower()
    if wanted not in lower:
        raise SourceError(f'{path}: no {smiles_column or "smiles"} column in the header {header}')
    smiles_at = lower.index(wanted)
    if id_column is not None and id_column.lower() not in lower:
        raise SourceError(f'{path}: no {id_column} column in the header {header}')
    id_names = (id_column.lower(),) if id_column else ID_COLUMNS
    id_at = next((lower.index(name) for name in id_names if name in lower), None)
    properties = [(index, name) for index, name in enumerate(lower) if name in PROPERTIES]

    def rows():
        for number, row in enumerate(reader, start=1):
            if not row:
                continue
            smiles = row[smiles_at] if len(row) > smiles_at else ''
            source_id = row[id_at].strip() if id_at is not None and len(row) > id_at else ''
            values = {name: float_or_none(row[index]) for index, name in properties if len(row) > index}
            yield source_id or f'row {number}', smiles, values

    return rows()
