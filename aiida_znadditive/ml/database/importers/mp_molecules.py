"""Materials Project molecules (MPcules) and the JCESR Electrolyte Genome: JSON documents as the MP API returns them.

Accepted files: a JSON list of documents, an API response (``{"data": [...], "meta": ...}``), one document, or JSON
Lines (``.jsonl``/``.ndjson``, one document a line: the format for large dumps, read a line at a time; ``.json`` files
are loaded whole). Any of them may be gzipped.

What a document gives (both generations of the API are understood):

- ``source_id``: ``molecule_id`` (MPculeID of the current API), else ``task_id`` (``mol-45701`` of the Electrolyte
  Genome), else ``#<document number>``.
- identity: from ``smiles`` where the document has one, else from the geometry (``molecule``, a pymatgen ``Molecule``
  dict, or ``xyz``, an XYZ block), its bonds perceived by RDKit at the document's ``charge``.
- geometry: the sites of ``molecule`` (or the ``xyz`` block), when their atoms match the identity.
- properties, all in eV as MP stores them: ``ionization_energy`` or ``IE`` -> ``ip_ev``, ``electron_affinity`` or
  ``EA`` -> ``ea_ev``, ``electronic_energy`` -> ``total_energy_ev``, ``zero_point_energy`` -> ``zpve_ev``. The
  current API keys these by solvent (``{"NONE": ..., "SOLVENT=WATER": ...}``): the entry of ``solvent`` is taken
  (default ``NONE``, the gas phase); a document without that entry leaves the property empty.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdDetermineBonds
from rdkit.rdBase import BlockLogs

from ..standardise import MoleculeError, standardise, standardise_mol
from .base import ImportContext, SourceError, base_suffix, check_file, file_version, float_or_none, open_text

SOURCE = 'mp-molecules'
ID_KEYS = ('molecule_id', 'task_id', 'mol_id')
#: Property column -> document keys that hold it, first found wins.
PROPERTY_KEYS = {
    'ip_ev': ('ionization_energy', 'IE'),
    'ea_ev': ('electron_affinity', 'EA'),
    'total_energy_ev': ('electronic_energy',),
    'zpve_ev': ('zero_point_energy',),
}
LINE_SUFFIXES = ('.jsonl', '.ndjson')
_PERIODIC_TABLE = Chem.GetPeriodicTable()


def read_mp_molecules(path: Path | str | None, context: ImportContext, solvent: str = 'NONE') -> Iterator[dict]:
    """Records of the molecule documents of an MP JSON or JSON Lines file."""
    path = check_file(path, context)
    if path is None:
        return
    version = file_version(path)
    for number, document in enumerate(_documents(path), start=1):
        if context.full:
            return
        context.skips.read += 1
        source_id = _source_id(document, number)
        if isinstance(document, _BadLine):
            context.skips.skip(source_id, f'unreadable JSON: {document.message}', 'unreadable JSON')
            continue
        if not isinstance(document, dict):
            context.skips.skip(source_id, 'not a JSON object')
            continue
        try:
            record = _identity(document, context, source_id)
        except MoleculeError as error:
            context.skips.skip(source_id, error.reason, error.key)
            continue
        record.update(source=SOURCE, source_version=version, source_id=source_id)
        for column, keys in PROPERTY_KEYS.items():
            record[column] = _property(document, keys, solvent)
        yield record


def _documents(path: Path) -> Iterator:
    with open_text(path) as handle:
        if base_suffix(path) in LINE_SUFFIXES:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as error:  # one bad line costs one document
                        yield _BadLine(f'line {number}: {error.msg}')
            return
        try:
            content = json.load(handle)
        except json.JSONDecodeError as error:
            raise SourceError(f'{path}: not JSON ({error})') from error
    if isinstance(content, dict):
        content = content.get('data', [content]) if 'data' in content else [content]
    if not isinstance(content, list):
        raise SourceError(f'{path}: neither a list of documents nor an API response')
    yield from content


class _BadLine:
    """A line of a JSON Lines file that is not JSON: skipped with this message."""

    def __init__(self, message: str) -> None:
        self.message = message


def _source_id(document, number: int) -> str:
    if isinstance(document, dict):
        for key in ID_KEYS:
            if document.get(key) not in (None, ''):
                return str(document[key])
    return f'#{number}'


def _identity(document: dict, context: ImportContext, source_id: str) -> dict:
    charge = document.get('charge')
    if charge is None and isinstance(document.get('molecule'), dict):
        charge = document['molecule'].get('charge', 0)
    geometry = _geometry(document)
    smiles = document.get('smiles') or document.get('SMILES')
    if smiles:
        record = standardise(smiles, context.settings)
        if geometry is not None:
            numbers, positions = geometry
            heavy = sum(1 for number in numbers if number > 1)
            if len(numbers) == record['n_atoms'] and heavy == record['heavy_atoms']:
                record['atomic_numbers'], record['positions'] = numbers, positions
            else:
                context.skips.warn(source_id, 'geometry does not match the SMILES, dropped')
        return record
    if geometry is None:
        raise MoleculeError('no SMILES and no geometry')
    return standardise_mol(_mol_from_geometry(*geometry, int(charge or 0)), context.settings)


def _geometry(document: dict) -> tuple[list[int], np.ndarray] | None:
    molecule = document.get('molecule')
    try:
        if isinstance(molecule, dict) and molecule.get('sites'):
            sites = molecule['sites']
            numbers = [_PERIODIC_TABLE.GetAtomicNumber(site['species'][0]['element']) for site in sites]
            positions = np.array([site['xyz'] for site in sites], dtype=np.float32).ravel()
            return numbers, positions
        if isinstance(document.get('xyz'), str):
            lines = document['xyz'].strip().splitlines()[2:]
            words = [line.split() for line in lines if line.strip()]
            numbers = [_PERIODIC_TABLE.GetAtomicNumber(word[0]) for word in words]
            return numbers, np.array([word[1:4] for word in words], dtype=np.float32).ravel()
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError) as error:
        raise MoleculeError(f'unreadable geometry ({type(error).__name__})', key='unreadable geometry') from error
    return None


def _mol_from_geometry(numbers: list[int], positions: np.ndarray, charge: int) -> Chem.Mol:
    """A sanitised molecule with its conformer, bonds perceived from the geometry (RDKit's xyz2mol)."""
    xyz = positions.reshape(-1, 3)
    symbols = [_PERIODIC_TABLE.GetElementSymbol(number) for number in numbers]
    lines = [f'{symbol} {x:.6f} {y:.6f} {z:.6f}' for symbol, (x, y, z) in zip(symbols, xyz, strict=True)]
    with BlockLogs():
        mol = Chem.MolFromXYZBlock(f'{len(numbers)}\n\n' + '\n'.join(lines) + '\n')
        if mol is None:
            raise MoleculeError('unreadable geometry', key='unreadable geometry')
        try:
            rdDetermineBonds.DetermineBonds(mol, charge=charge)
        except (ValueError, RuntimeError) as error:
            raise MoleculeError('no bonds perceived from the geometry', key='bond perception failed') from error
    return mol


def _property(document: dict, keys: tuple[str, ...], solvent: str) -> float | None:
    for key in keys:
        value = document.get(key)
        if value is None:
            continue
        if isinstance(value, dict):
            wanted = solvent.lower()
            value = next((entry for name, entry in value.items() if name.lower() == wanted), None)
        return float_or_none(value)
    return None
