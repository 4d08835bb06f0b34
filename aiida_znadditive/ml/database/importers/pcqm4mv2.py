"""PCQM4Mv2 (OGB-LSC, 3.7M molecules, B3LYP/6-31G* HOMO-LUMO gaps) from its own files.

The CSV (``pcqm4m-v2/raw/data.csv.gz`` of the OGB download: columns ``idx,smiles,homolumogap``, the gap in eV, empty
for the test molecules) gives identity and ``gap_ev``; ``source_id`` is ``idx``. The SDF of the training set
(``pcqm4m-v2-train.sdf``), when given as ``sdf``, adds the DFT geometry: its n-th record is the molecule of
``idx`` n, as OGB distributes it. A geometry whose heavy atoms do not match the SMILES is dropped with a warning;
the molecule still enters.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from rdkit import Chem
from rdkit.rdBase import BlockLogs

from .base import ImportContext, SourceError, check_file, file_version, float_or_none, open_binary, open_text

SOURCE = 'pcqm4mv2'


def read_pcqm4mv2(path: Path | str | None, context: ImportContext, sdf: Path | str | None = None) -> Iterator[dict]:
    """Records of a PCQM4Mv2 CSV (``.csv`` or ``.csv.gz``), with geometries from the training ``sdf`` if given."""
    path = check_file(path, context)
    if path is None:
        return
    if sdf is not None and not Path(sdf).is_file():
        raise SourceError(f'{sdf}: no such file')
    version = file_version(path)
    geometries = _SdfGeometries(Path(sdf)) if sdf is not None else None
    with open_text(path) as handle:
        reader = csv.reader(handle)
        header = [name.strip().lower() for name in next(reader, [])]
        missing = {'idx', 'smiles'} - set(header)
        if missing:
            raise SourceError(f'{path}: not a PCQM4Mv2 CSV, no column {", ".join(sorted(missing))} in {header}')
        idx_at, smiles_at = header.index('idx'), header.index('smiles')
        gap_at = header.index('homolumogap') if 'homolumogap' in header else None

        def rows():
            for row in reader:
                cells = dict(enumerate(row))  # short rows (a missing gap, a cut line) read as empty cells
                idx = cells.get(idx_at, '').strip()
                gap = float_or_none(cells.get(gap_at)) if gap_at is not None else None
                # The SDF is read here, in file order, so that it stays in step with the CSV.
                geometry = geometries.at(idx) if geometries is not None else None
                yield idx, cells.get(smiles_at, ''), (gap, geometry)

        try:
            for identity, source_id, (gap, geometry) in context.standardised(rows()):
                record = {**identity, 'source': SOURCE, 'source_version': version, 'source_id': source_id}
                record['gap_ev'] = gap
                if geometry is not None:
                    numbers, positions = geometry
                    if sum(1 for number in numbers if number > 1) == identity['heavy_atoms']:
                        record['atomic_numbers'], record['positions'] = numbers, positions
                    else:
                        context.skips.warn(source_id, 'SDF geometry does not match the SMILES, dropped')
                yield record
        finally:
            if geometries is not None:
                geometries.close()


class _SdfGeometries:
    """The SDF's records by position; :meth:`at` advances to record ``idx`` (the CSV is in ``idx`` order)."""

    def __init__(self, path: Path) -> None:
        self._handle = open_binary(path)
        self._supplier = Chem.ForwardSDMolSupplier(self._handle, sanitize=False, removeHs=False)
        self._position = 0
        self._done = False

    def at(self, idx: str) -> tuple[list[int], np.ndarray] | None:
        try:
            wanted = int(idx)
        except ValueError:
            return None
        mol = None
        with BlockLogs():  # a bad record costs its geometry only; the molecule comes from the CSV
            while not self._done and self._position <= wanted:
                try:
                    mol = next(self._supplier)
                except StopIteration:
                    self._done = True
                    return None
                self._position += 1
        if self._position - 1 != wanted or mol is None or mol.GetNumConformers() == 0:
            return None
        numbers = [atom.GetAtomicNum() for atom in mol.GetAtoms()]
        return numbers, mol.GetConformer().GetPositions().astype(np.float32).ravel()

    def close(self) -> None:
        self._handle.close()
