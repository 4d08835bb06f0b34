"""SD files (``.sdf``, ``.sdf.gz``), as PubChem and ChEMBL distribute them, or of one's own.

Each record is standardised from its molecule block (:func:`~..standardise.standardise_mol`); a 3D record (PubChem's
3D conformers, a computed geometry) also gives ``atomic_numbers`` and ``positions``, 2D ones give none.
``source_id`` is the ``id_field`` given, ``pubchem:<PUBCHEM_COMPOUND_CID>``, the ``chembl_id`` (``CHEMBL25``), the
record's title line, or ``#<record number>``, the first of these a record has. ``properties`` maps SD fields to property
columns (``{'GAP_EV': 'gap_ev'}``); the values must already be in the column's unit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from rdkit import Chem
from rdkit.rdBase import BlockLogs

from ..schema import PROPERTIES
from ..standardise import MoleculeError, standardise_mol
from .base import ImportContext, SourceError, check_file, file_version, float_or_none, open_binary

SOURCE = 'sdf'
#: Known ID fields, first found wins, with the prefix that says which database the number belongs to.
ID_FIELDS = (('PUBCHEM_COMPOUND_CID', 'pubchem:'), ('chembl_id', ''), ('ChEMBL_ID', ''))


def read_sdf(
    path: Path | str | None,
    context: ImportContext,
    id_field: str | None = None,
    properties: dict[str, str] | None = None,
) -> Iterator[dict]:
    """Records of the molecules of an SD file."""
    path = check_file(path, context)
    if path is None:
        return
    properties = dict(properties or {})
    unknown = sorted(set(properties.values()) - set(PROPERTIES))
    if unknown:
        raise SourceError(f'unknown property columns {unknown}; known: {", ".join(PROPERTIES)}')
    version = file_version(path)
    with open_binary(path) as handle:
        for number, mol in enumerate(_molecules(handle), start=1):
            if context.full:
                return
            context.skips.read += 1
            if mol is None:  # RDKit could not read or sanitise it; the next record is read as usual
                context.skips.skip(f'#{number}', 'unparseable SDF record')
                continue
            source_id = _source_id(mol, number, id_field)
            try:
                record = standardise_mol(mol, context.settings)
            except MoleculeError as error:
                context.skips.skip(source_id, error.reason, error.key)
                continue
            record.update(source=SOURCE, source_version=version, source_id=source_id)
            for field, column in properties.items():
                if mol.HasProp(field):
                    record[column] = float_or_none(mol.GetProp(field))
            yield record


def _molecules(handle) -> Iterator[Chem.Mol | None]:
    """The supplier's molecules, RDKit's messages about bad records silenced while reading only."""
    supplier = Chem.ForwardSDMolSupplier(handle, sanitize=True, removeHs=False)
    while True:
        with BlockLogs():
            try:
                mol = next(supplier)
            except StopIteration:
                return
        yield mol


def _source_id(mol: Chem.Mol, number: int, id_field: str | None) -> str:
    if id_field and mol.HasProp(id_field):
        return mol.GetProp(id_field).strip()
    for field, prefix in ID_FIELDS:
        if mol.HasProp(field):
            return prefix + mol.GetProp(field).strip()
    title = mol.GetProp('_Name').strip() if mol.HasProp('_Name') else ''
    return title or f'#{number}'
