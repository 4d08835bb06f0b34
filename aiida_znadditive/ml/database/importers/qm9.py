"""QM9 (130,831 molecules, B3LYP/6-31G(2df,p)) from the CSV files the ``qm9pack`` wheel ships.

Columns read: ``Index`` (becomes ``source_id``), ``SMILES`` (standardised with RDKit: the InChIKey and canonical
SMILES come from it, as for every source), ``Elements`` and ``XYZ_Ang`` (the geometry, in QM9's atom order),
``Dipole_debye``, ``Polarizability_bohr3`` (isotropic, to Å^3), ``HOMO_au``, ``LUMO_au``, ``HOMO_LUMO_gap_au``,
``ZPVE_au`` (Hartree, to eV) and ``InternalEnergy_0K_au`` (U0 = E_el + ZPVE; ``total_energy_ev`` is U0 - ZPVE).
A molecule whose SMILES does not have as many atoms as its geometry is skipped: its properties belong to the
geometry, and the identity would then name another molecule.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from rdkit import Chem

from ..schema import BOHR3_TO_ANGSTROM3, HARTREE_TO_EV
from .base import ImportContext, SourceError, check_file, file_version, package_version

SOURCE = 'qm9'
DISTRIBUTION = 'qm9pack'
PARTS = ('qm9_part1.csv', 'qm9_part2.csv', 'qm9_part3.csv')
COLUMNS = (
    'Index',
    'SMILES',
    'Elements',
    'XYZ_Ang',
    'Dipole_debye',
    'Polarizability_bohr3',
    'HOMO_au',
    'LUMO_au',
    'HOMO_LUMO_gap_au',
    'ZPVE_au',
    'InternalEnergy_0K_au',
)
_PERIODIC_TABLE = Chem.GetPeriodicTable()


def qm9_files() -> list[Path]:
    """The installed QM9 CSV parts, found without importing ``qm9pack`` (its import loads pandas for nothing)."""
    spec = importlib.util.find_spec(DISTRIBUTION)  # a top-level package: located, not imported
    if spec is not None and spec.submodule_search_locations:
        folder = Path(next(iter(spec.submodule_search_locations))) / 'data'
    else:
        try:
            folder = Path(importlib.metadata.distribution(DISTRIBUTION).locate_file(f'{DISTRIBUTION}/data'))
        except importlib.metadata.PackageNotFoundError as error:
            raise SourceError(f'QM9 needs the {DISTRIBUTION} package: pip install {DISTRIBUTION}') from error
    files = [folder / name for name in PARTS]
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise SourceError(f'QM9 files missing from the {DISTRIBUTION} installation: {", ".join(missing)}')
    return files


def read_qm9(path: Path | str | None, context: ImportContext) -> Iterator[dict]:
    """Records of QM9: the installed files, or ``path`` (one file, or a folder of files, in qm9pack's format)."""
    if path is None:
        files, version = qm9_files(), package_version(DISTRIBUTION)
    else:
        path = Path(path)
        files = sorted(path.glob('qm9_part*.csv')) if path.is_dir() else [path]
        if not files:
            raise SourceError(f'{path}: no qm9_part*.csv files')
        version = None
    for file in files:
        if context.full:
            return
        checked = check_file(file, context)
        if checked is None:
            continue
        yield from _read_file(checked, version or file_version(checked), context)


def _read_file(path: Path, version: str, context: ImportContext) -> Iterator[dict]:
    import pandas as pd

    try:
        reader = pd.read_csv(path, usecols=list(COLUMNS), chunksize=context.chunk_size)
    except ValueError as error:  # pandas names the missing columns
        raise SourceError(f'{path}: not a QM9 file in qm9pack format ({error})') from error
    for identity, source_id, payload in context.standardised(_rows(reader)):
        symbols, xyz, values = payload
        numbers = _atomic_numbers(symbols)
        if len(numbers) != identity['n_atoms']:
            context.skips.skip(
                source_id,
                f'SMILES has {identity["n_atoms"]} atoms, geometry {len(numbers)}',
                'SMILES does not match the geometry',
            )
            continue
        dipole, polarizability, homo, lumo, gap, zpve, u0 = values
        yield {
            **identity,
            'source': SOURCE,
            'source_version': version,
            'source_id': source_id,
            'atomic_numbers': numbers,
            'positions': np.fromstring(xyz.replace('[', '').replace(']', ''), dtype=np.float32, sep=','),
            'homo_ev': homo * HARTREE_TO_EV,
            'lumo_ev': lumo * HARTREE_TO_EV,
            'gap_ev': gap * HARTREE_TO_EV,
            'dipole_debye': dipole,
            'polarizability_a3': polarizability * BOHR3_TO_ANGSTROM3,
            'zpve_ev': zpve * HARTREE_TO_EV,
            'total_energy_ev': (u0 - zpve) * HARTREE_TO_EV,
        }


def _rows(reader) -> Iterator[tuple[str, str, tuple]]:
    """``(source_id, smiles, payload)`` per row, the payload the raw geometry and values (parsed only if kept)."""
    with reader:
        for frame in reader:
            columns = [frame[name].tolist() for name in COLUMNS]
            for index, smiles, symbols, xyz, *values in zip(*columns, strict=True):
                yield str(index), smiles if isinstance(smiles, str) else '', (symbols, xyz, values)


def _atomic_numbers(symbols: str) -> list[int]:
    """``"['C','H','H']"`` -> ``[6, 1, 1]``."""
    return [_PERIODIC_TABLE.GetAtomicNumber(symbol) for symbol in symbols.strip('[]').replace("'", '').split(',')]
