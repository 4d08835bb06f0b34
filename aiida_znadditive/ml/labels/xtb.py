"""Own labels at GFN2-xTB (tblite): orbitals, vertical IP/EA, dipole, ALPB solvation and Zn2+ exchange free energy.

One molecule (:func:`label_molecule`) or a batch (:func:`label_batch`, :class:`XtbLabeller`), the batch parallel over
worker processes, resumable after a crash, with a progress bar and a count of what was skipped and why.

What a row holds, all from the GFN2-xTB Hamiltonian as implemented in tblite (default settings: :class:`LabelSettings`)

- geometry: the lowest of ``conformers`` ETKDG/MMFF conformers after a **gas-phase** GFN2 relaxation (ASE LBFGS,
  ``fmax`` eV/Å, about xtb's ``normal`` threshold); ``atomic_numbers`` and ``positions`` (Å) are that geometry.
- ``total_energy_ev``: the gas-phase GFN2 total energy there.
- ``homo_ev``, ``lumo_ev``, ``gap_ev``: gas-phase orbital energies of the highest occupied and lowest unoccupied
  orbitals (Fermi smearing at ``electronic_temperature``; occupation above 1 counts as occupied).
- ``ip_ev`` = E(N-1) - E(N) and ``ea_ev`` = E(N) - E(N+1): vertical, gas phase, at the neutral's geometry, the ions
  with ``uhf`` = 1 (doublets). These are the **uncorrected** delta-SCF values: tblite has no IPEA-xTB shift for GFN2,
  and xtb's ``--vip``/``--vea`` print the same differences minus an empirical shift (4.8455 eV for the IP), so our IPs
  lie about 5 eV above experiment (water: 18.3 eV here against 12.6 eV measured) and our EAs correspondingly low.
  Differences between molecules are what these values are good for.
- ``dipole_debye``: norm of the GFN2 dipole moment, about the centre of mass (the usual convention for ions).
- ``solvation_free_energy_ev``: E(ALPB water) - E(gas) at the gas geometry, xtb's fixed-geometry Gsolv (ALPB with its
  empirical shift and CDS terms, 1 M gas to 1 M solution); geometry relaxation in solution is neglected (a few
  hundredths of an eV for neutral molecules).
- the species: with ``ph`` set (default 4.5, a ZnSO4 electrolyte) every molecule is labelled as its dominant species
  at that pH (:mod:`aiida_znadditive.structures.speciation`: salts split, acids and amines (de)protonated), so
  ``smiles``, ``inchikey`` and ``charge`` are those of the species; ``input_smiles`` and ``ph`` say what was asked.
- ``zn_exchange_energy_ev`` (ΔE), ``zn_exchange_free_energy_ev`` (ΔG) and ``zn_exchange_free_energy_calibrated_ev``
  (ΔG calibrated against measured stability constants; None where the settings are not those of the shipped
  calibration): the exchange of the best binding mode with [Zn(H2O)6]2+, from one to six donors, every mode relaxed
  in ALPB water and quality-checked (:mod:`aiida_znadditive.ml.labels.zn_binding` defines each term);
  ``zn_binding_mode``, ``zn_denticity``, ``zn_modes_rejected`` and ``zn_binding_note`` (why modes were dropped)
  describe it. None for molecules without a donor, or when ``exchange_energy`` is off.

Bad input never stops a batch: an unparseable SMILES, an element GFN2 does not cover, a radical, an implausible
charge, a molecule above ``max_heavy_atoms`` heavy atoms, a failed embedding or SCF, or a molecule over its
``timeout_s`` is skipped with the reason (:data:`REASONS`), logged, and counted in the batch summary.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import multiprocessing
import os
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.data import atomic_masses
from ase.units import Bohr, Debye, Hartree
from rdkit import Chem
from rdkit.Chem.rdMolDescriptors import CalcMolFormula
from rdkit.rdBase import BlockLogs

from aiida_znadditive.ml.labels.gfn2 import Deadline, relax, singlepoint
from aiida_znadditive.ml.labels.settings import GFN2_ELEMENTS, REASONS, LabelError, LabelSettings
from aiida_znadditive.ml.labels.zn_binding import calibrated, zn_exchange
from aiida_znadditive.structures.ligands import LigandError, embed_conformers, net_charge, parse_ligand
from aiida_znadditive.structures.speciation import SpeciationError, speciate

__all__ = (
    'COLUMN_TYPES',
    'GFN2_ELEMENTS',
    'LABEL_COLUMNS',
    'PROPERTY_COLUMNS',
    'REASONS',
    'SOURCE',
    'LabelError',
    'LabelSettings',
    'XtbLabeller',
    'label_batch',
    'label_molecule',
    'labelled_inchikeys',
    'merge_shards',
    'molecule_identity',
    'read_labels',
)

logger = logging.getLogger(__name__)

SOURCE = 'znadditive-xtb'
PROPERTY_COLUMNS = (
    'homo_ev',
    'lumo_ev',
    'gap_ev',
    'dipole_debye',
    'ip_ev',
    'ea_ev',
    'solvation_free_energy_ev',
    'zn_exchange_energy_ev',
    'zn_exchange_free_energy_ev',
    'zn_exchange_free_energy_calibrated_ev',
    'total_energy_ev',
)
# What the labelled species is and how it binds: descriptive columns beside the properties.
SPECIES_COLUMNS = ('input_smiles', 'ph')
BINDING_COLUMNS = ('zn_binding_mode', 'zn_denticity', 'zn_modes_rejected', 'zn_binding_note')
LABEL_COLUMNS = (
    'inchikey',
    'smiles',
    'formula',
    'charge',
    'elements',
    'heavy_atoms',
    'n_atoms',
    'source',
    'source_version',
    'source_id',
    'atomic_numbers',
    'positions',
    *PROPERTY_COLUMNS,
    *SPECIES_COLUMNS,
    *BINDING_COLUMNS,
)
SHARD_PATTERN = 'part-*.parquet'
SKIP_LOG = 'skipped.jsonl'


# -- identity ----------------------------------------------------------------------------------------------------


def _parse(smiles: str, settings: LabelSettings) -> Chem.Mol:
    """The molecule as the complexation WorkChain sees it, or ``LabelError``: its dominant species at the settings'
    pH (unless ``ph`` is None), the largest fragment, explicit hydrogens."""
    if not isinstance(smiles, str) or not smiles.strip():
        raise LabelError('invalid_smiles', 'empty or not a string', smiles=str(smiles))
    species = smiles
    if settings.ph is not None:
        try:
            species = speciate(smiles, settings.ph).smiles
        except SpeciationError as error:
            raise LabelError(error.reason, str(error), smiles=smiles) from None
    try:
        return parse_ligand(species, settings.allowed_elements, settings.max_heavy_atoms)
    except LigandError as error:
        raise LabelError(error.reason, str(error), smiles=smiles) from None


def molecule_identity(smiles: str, settings: LabelSettings | dict | None = None) -> dict:
    """Identity columns of the species a SMILES is labelled as (its dominant species at the settings' pH, counter-ions
    dropped); ``LabelError`` if bad.

    ``inchikey`` (standard InChIKey), ``smiles`` (RDKit canonical, isomeric), ``formula`` (Hill, with charge),
    ``charge``, ``elements`` (sorted symbols, H included), ``heavy_atoms``, ``n_atoms`` (hydrogens included).
    """
    settings = LabelSettings.coerce(settings)
    mol = _parse(smiles, settings)
    return _identity(mol, smiles)


def _identity(mol: Chem.Mol, smiles: str) -> dict:
    heavy = Chem.RemoveHs(mol)
    with BlockLogs():  # InChI warnings (e.g. undefined stereo) are not errors for a label
        inchikey = Chem.MolToInchiKey(heavy)
    if not inchikey:
        raise LabelError('invalid_smiles', 'RDKit cannot make an InChIKey', smiles=smiles)
    return {
        'inchikey': inchikey,
        'smiles': Chem.MolToSmiles(heavy),
        'formula': CalcMolFormula(mol),
        'charge': net_charge(mol),
        'elements': sorted({atom.GetSymbol() for atom in mol.GetAtoms()}),
        'heavy_atoms': mol.GetNumHeavyAtoms(),
        'n_atoms': mol.GetNumAtoms(),
    }


# -- GFN2 properties -------------------------------------------------------------------------------------------


def _frontier(result) -> tuple[float, float | None]:
    """HOMO and LUMO in eV from a restricted closed-shell result (occupations 0..2); the LUMO is None where GFN2's
    minimal basis has no empty orbital (the closed-shell halide and hydride anions F-, Cl-, Br-, OH-)."""
    energies = np.asarray(result['orbital-energies']) * Hartree
    occupations = np.asarray(result['orbital-occupations'])
    occupied = np.flatnonzero(occupations > 1.0)
    if len(occupied) == 0:
        raise LabelError('scf_failed', 'no occupied orbital in the spectrum')
    homo = int(occupied[-1])
    return float(energies[homo]), float(energies[homo + 1]) if homo + 1 < len(energies) else None


@contextlib.contextmanager
def _thread_limit(threads: int):
    """Limit the OpenMP and BLAS threads of this process to ``threads`` while labelling (threadpoolctl)."""
    import tblite.interface  # noqa: F401  (loads tblite's OpenMP runtime, so that the limit below reaches it)

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # installed with MDAnalysis; without it, OMP_NUM_THREADS alone decides
        yield
        return
    with threadpool_limits(limits=threads):
        yield


def label_molecule(smiles: str, settings: LabelSettings | dict | None = None, source_id: str | None = None) -> dict:
    """The meta-database row of one molecule, labelled at GFN2-xTB (see the module docstring for each column).

    :param smiles: the molecule; a multi-fragment SMILES is labelled as its largest fragment.
    :param settings: :class:`LabelSettings`, a dict of its fields, or None for the defaults.
    :param source_id: recorded as ``source_id`` (default: the SMILES as given).
    :raises LabelError: with a reason from :data:`REASONS` when the molecule cannot be labelled.
    """
    settings = LabelSettings.coerce(settings)
    with _thread_limit(settings.threads):
        return _label(smiles, settings, source_id)


def _label(smiles: str, settings: LabelSettings, source_id: str | None) -> dict:
    deadline = Deadline(settings.timeout_s, smiles)
    mol = _parse(smiles, settings)
    row = _identity(mol, smiles)
    try:
        conformers = embed_conformers(mol, settings.conformers, seed=settings.seed)
    except LigandError as error:
        raise LabelError(error.reason, str(error), smiles=smiles) from None
    charge = row['charge']

    relaxed = []
    for conformer in conformers:
        relaxed.append(relax(conformer, charge, settings, solvent=None, deadline=deadline))
    converged = [entry for entry in relaxed if entry[2]]
    if not converged:
        raise LabelError('not_converged', f'no conformer relaxed within {settings.max_steps} steps', smiles=smiles)
    geometry, _, _ = min(converged, key=lambda entry: entry[1])
    # Centre of mass at the origin: the dipole of an ion is then the conventional one, and nothing else changes.
    numbers = geometry.numbers
    positions = geometry.positions - np.average(geometry.positions, axis=0, weights=atomic_masses[numbers])

    gas = singlepoint(numbers, positions, charge, settings, None, smiles=smiles)
    homo, lumo = _frontier(gas)
    energy = float(gas['energy']) * Hartree
    deadline.check()

    def energy_of(state_charge: int, solvent: str | None) -> float:
        result = singlepoint(numbers, positions, state_charge, settings, solvent, smiles=smiles)
        return float(result['energy']) * Hartree

    def vertical(state_charge: int) -> float | None:
        # A small anion's extra electron may have no bound state in GFN2's minimal basis (OH 2-: tblite's
        # eigensolver fails); its IP or EA is then missing, the rest of the label stands.
        try:
            return energy_of(state_charge, None) - energy
        except LabelError:
            return None

    ionised, attached = vertical(charge + 1), vertical(charge - 1)
    solvated = energy_of(charge, settings.solvent)
    deadline.check()

    binding = None
    if settings.exchange_energy:
        binding = zn_exchange(mol, conformers, Atoms(numbers=numbers, positions=positions), settings, deadline)
    binding_columns = dict.fromkeys(
        (
            'zn_exchange_energy_ev',
            'zn_exchange_free_energy_ev',
            'zn_exchange_free_energy_calibrated_ev',
            *BINDING_COLUMNS,
        )
    )
    if binding is not None:
        binding_columns.update(binding.row())
        if binding_columns['zn_exchange_free_energy_ev'] is not None:
            binding_columns['zn_exchange_free_energy_calibrated_ev'] = calibrated(
                binding_columns['zn_exchange_free_energy_ev'], binding_columns['zn_denticity'], charge, settings
            )

    row.update(
        {
            'source': SOURCE,
            'source_version': settings.source_version,
            'source_id': smiles if source_id is None else str(source_id),
            'atomic_numbers': [int(z) for z in numbers],
            'positions': [float(x) for x in positions.reshape(-1)],
            'homo_ev': homo,
            'lumo_ev': lumo,
            'gap_ev': None if lumo is None else lumo - homo,
            'dipole_debye': float(np.linalg.norm(gas['dipole'])) * Bohr / Debye,
            'ip_ev': ionised,
            'ea_ev': None if attached is None else -attached,
            'solvation_free_energy_ev': solvated - energy,
            'total_energy_ev': energy,
            'input_smiles': smiles,
            'ph': settings.ph,
            **binding_columns,
        }
    )
    return row


# -- batches -----------------------------------------------------------------------------------------------------


# Column types of the shards, those of the meta-database schema (ml/database/schema.py) in DuckDB's spelling. The
# shards are written with DuckDB, which reads and writes Parquet by itself: the pinned pyarrow 26 refuses to import
# with numpy < 2, which this project pins.
COLUMN_TYPES = {
    'inchikey': 'VARCHAR',
    'smiles': 'VARCHAR',
    'formula': 'VARCHAR',
    'charge': 'SMALLINT',
    'elements': 'VARCHAR[]',
    'heavy_atoms': 'SMALLINT',
    'n_atoms': 'SMALLINT',
    'source': 'VARCHAR',
    'source_version': 'VARCHAR',
    'source_id': 'VARCHAR',
    'atomic_numbers': 'TINYINT[]',
    'positions': 'FLOAT[]',
    **{name: 'DOUBLE' for name in PROPERTY_COLUMNS},
    'input_smiles': 'VARCHAR',
    'ph': 'DOUBLE',
    'zn_binding_mode': 'VARCHAR',
    'zn_denticity': 'SMALLINT',
    'zn_modes_rejected': 'SMALLINT',
    'zn_binding_note': 'VARCHAR',
}


def _shards(out_dir: Path) -> list[Path]:
    return sorted(out_dir.glob(SHARD_PATTERN))


def _sql_string(value: str | os.PathLike) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _scan(files: list[Path]) -> str:
    return f'read_parquet([{", ".join(_sql_string(path) for path in files)}])'


def labelled_inchikeys(out_dir: str | os.PathLike) -> set[str]:
    """InChIKeys already written to the Parquet shards in ``out_dir`` (empty set if there are none)."""
    import duckdb

    shards = _shards(Path(out_dir))
    if not shards:
        return set()
    with duckdb.connect() as connection:
        return {key for (key,) in connection.execute(f'SELECT inchikey FROM {_scan(shards)}').fetchall()}


def read_labels(out_dir: str | os.PathLike) -> list[dict]:
    """All rows of the shards in ``out_dir`` as dicts, in shard order (an empty list when there are none)."""
    import duckdb

    shards = _shards(Path(out_dir))
    if not shards:
        return []
    with duckdb.connect() as connection:
        cursor = connection.execute(f'SELECT {", ".join(LABEL_COLUMNS)} FROM {_scan(shards)}')
        return [dict(zip(LABEL_COLUMNS, values, strict=True)) for values in cursor.fetchall()]


def merge_shards(
    out_dir: str | os.PathLike, out_file: str | os.PathLike, inchikeys: Iterable[str] | None = None
) -> int:
    """Write the shards' rows (only ``inchikeys``, if given) to one zstd Parquet file sorted by InChIKey; row count.

    Written to a temporary file first and renamed, like the shards.
    """
    import duckdb

    shards = _shards(Path(out_dir))
    out_file = Path(out_file)
    temporary = out_file.with_name(f'.{out_file.name}.tmp')
    columns = ', '.join(LABEL_COLUMNS)
    with duckdb.connect() as connection:
        connection.execute(f'CREATE TABLE labels ({", ".join(f"{k} {v}" for k, v in COLUMN_TYPES.items())})')
        if shards:
            connection.execute(f'INSERT INTO labels SELECT {columns} FROM {_scan(shards)}')
        if inchikeys is not None:
            connection.execute('CREATE TABLE wanted (inchikey VARCHAR)')
            connection.executemany('INSERT INTO wanted VALUES (?)', [(key,) for key in set(inchikeys)])
            connection.execute('DELETE FROM labels WHERE inchikey NOT IN (SELECT inchikey FROM wanted)')
        connection.execute(
            f'COPY (SELECT {columns} FROM labels ORDER BY inchikey) TO {_sql_string(temporary)} '
            '(FORMAT parquet, COMPRESSION zstd)'
        )
        (count,) = connection.execute('SELECT count(*) FROM labels').fetchone()
    os.replace(temporary, out_file)
    return int(count)


def _write_shard(out_dir: Path, rows: list[dict], index: int) -> Path:
    """Write rows as ``part-<index>.parquet`` (zstd) through a temporary file and an atomic rename."""
    import duckdb

    final = out_dir / f'part-{index:05d}.parquet'
    temporary = out_dir / f'.{final.name}.tmp'
    with duckdb.connect() as connection:
        connection.execute(f'CREATE TABLE labels ({", ".join(f"{k} {v}" for k, v in COLUMN_TYPES.items())})')
        placeholders = ', '.join('?' for _ in LABEL_COLUMNS)
        connection.executemany(
            f'INSERT INTO labels VALUES ({placeholders})', [[row[key] for key in LABEL_COLUMNS] for row in rows]
        )
        connection.execute(f'COPY labels TO {_sql_string(temporary)} (FORMAT parquet, COMPRESSION zstd)')
    # A reader (or a resumed run) sees either no shard or the complete one, never a half-written file.
    os.replace(temporary, final)
    return final


def _previous_skips(out_dir: Path) -> dict[str, str]:
    """InChIKey (or SMILES, for input that has none) -> reason, from the skip log of earlier runs."""
    skipped = {}
    path = out_dir / SKIP_LOG
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:  # the last line of a run that crashed while writing it
                continue
            skipped[entry.get('inchikey') or entry['smiles']] = entry['reason']
    return skipped


def _label_task(task: tuple[str, str, str, LabelSettings]) -> tuple[str, dict]:
    """Worker: ('ok', row) or ('skip', entry); never raises, so one molecule cannot break the pool."""
    smiles, source_id, inchikey, settings = task
    start = time.perf_counter()
    try:
        row = label_molecule(smiles, settings, source_id=source_id)
    except LabelError as error:
        return 'skip', {'smiles': smiles, 'inchikey': inchikey, 'reason': error.reason, 'detail': error.detail}
    except Exception as error:  # a bug or an unforeseen input: keep the batch going, keep the traceback for later
        detail = f'{type(error).__name__}: {error}\n{traceback.format_exc(limit=5)}'
        return 'skip', {'smiles': smiles, 'inchikey': inchikey, 'reason': 'error', 'detail': detail}
    row['_seconds'] = time.perf_counter() - start
    return 'ok', row


_THREAD_VARIABLES = ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS')


def _pool(processes: int, start_method: str):
    """A process pool whose workers run single-threaded (one core each), whatever the parent's OpenMP setting.

    OpenMP reads ``OMP_NUM_THREADS`` when its runtime loads, so the variable must be in the environment the workers
    start with: set here around the pool's creation (the workers are started then), and restored afterwards.
    """
    saved = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
    os.environ.update({name: '1' for name in _THREAD_VARIABLES})
    try:
        return multiprocessing.get_context(start_method).Pool(processes)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _normalise_items(items: Iterable[str | tuple[str, str]]) -> Iterator[tuple[str, str]]:
    for item in items:
        if isinstance(item, str):
            yield item, item
        else:
            smiles, source_id = item
            yield smiles, str(source_id)


class _SkipLog:
    """The skip log of a run (``skipped.jsonl``, one JSON object a line) and this run's counts per reason."""

    def __init__(self, path: Path) -> None:
        self.counts: Counter[str] = Counter()
        self.file = path.open('a')

    def add(self, entry: dict) -> None:
        self.counts[entry['reason']] += 1
        logger.warning('skipped %s: %s (%s)', entry['smiles'], entry['reason'], entry['detail'].splitlines()[0])
        self.file.write(json.dumps({key: entry[key] for key in ('smiles', 'inchikey', 'reason', 'detail')}) + '\n')
        # Flushed per entry: after a crash the log still says why the molecules before it were skipped.
        self.file.flush()

    def close(self) -> None:
        self.file.close()


@dataclasses.dataclass
class XtbLabeller:
    """Labels batches of molecules into zstd Parquet shards in ``out_dir``, resumably.

    :param out_dir: folder of the shards (``part-00001.parquet``, ...) and of the skip log (``skipped.jsonl``); one
        labeller at a time per folder.
    :param settings: :class:`LabelSettings` (or a dict of its fields).
    :param processes: worker processes (one core each); 0 runs in this process (no pool; for debugging and tests).
    :param batch_size: rows per shard: a killed run loses at most the rows not yet written, fewer than this (an
        exception or Ctrl-C writes them before it propagates; the molecules in flight are computed again next time).
    :param chunksize: molecules handed to a worker at a time (small: molecules differ a lot in cost).
    :param start_method: 'spawn' (default, portable) or 'forkserver'; never 'fork' (tblite's OpenMP state).
    :param retry_skipped: also retry molecules an earlier run skipped (default: a skip is final, e.g. a timeout).
    :param progress: show a tqdm progress bar (molecules/s).
    """

    out_dir: str | os.PathLike
    settings: LabelSettings | dict | None = None
    processes: int = 2
    batch_size: int = 64
    chunksize: int = 1
    start_method: str = 'spawn'
    retry_skipped: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        self.settings = LabelSettings.coerce(self.settings)
        self.out_dir = Path(self.out_dir)
        if self.start_method not in ('spawn', 'forkserver'):
            raise ValueError(f"start_method must be 'spawn' or 'forkserver', got {self.start_method!r}.")
        if self.processes < 0 or self.batch_size < 1 or self.chunksize < 1:
            raise ValueError('processes must be >= 0, batch_size and chunksize >= 1.')

    def run(self, molecules: Iterable[str | tuple[str, str]]) -> dict:
        """Label ``molecules`` (SMILES, or (SMILES, source_id) pairs); return a summary.

        Molecules whose InChIKey is already in a shard (or, unless ``retry_skipped``, in the skip log) are not
        computed again, nor are repeats within the input. The summary: ``labelled`` (rows written by this run),
        ``already_labelled``, ``duplicates``, ``previously_skipped``, ``skipped`` (reason -> count, this run),
        ``seconds`` and ``rate`` (molecules/s) of the computing part, ``shards`` (written by this run) and
        ``source_version``.
        """
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.out_dir.glob('.part-*.parquet.tmp'):  # left by a crash during a write: never complete
            stale.unlink()
        summary = {'labelled': 0, 'already_labelled': 0, 'duplicates': 0, 'previously_skipped': 0, 'shards': []}
        log = _SkipLog(self.out_dir / SKIP_LOG)
        try:
            tasks = self._plan(molecules, summary, log)
            start = time.perf_counter()
            self._compute(tasks, summary, log)
            seconds = time.perf_counter() - start
        finally:
            log.close()
        computed = summary['labelled'] + sum(log.counts.values())
        summary.update(
            {
                'skipped': dict(sorted(log.counts.items())),
                'seconds': seconds,
                'rate': computed / seconds if tasks and seconds > 0 else 0.0,
                'source_version': self.settings.source_version,
            }
        )
        reasons = ', '.join(f'{reason} {count}' for reason, count in sorted(log.counts.items())) or 'none'
        logger.info(
            'xTB labels: %d labelled, %d already labelled, %d duplicates, %d skipped earlier; skipped now: %s',
            summary['labelled'],
            summary['already_labelled'],
            summary['duplicates'],
            summary['previously_skipped'],
            reasons,
        )
        return summary

    def _plan(self, molecules, summary: dict, log: _SkipLog) -> list[tuple]:
        """The molecules still to compute; identity first, in this process: cheap (RDKit only) and what resuming
        compares against the shards and the skip log."""
        done = labelled_inchikeys(self.out_dir)
        previous = {} if self.retry_skipped else _previous_skips(self.out_dir)
        tasks, seen = [], set()
        for smiles, source_id in _normalise_items(molecules):
            try:
                inchikey = molecule_identity(smiles, self.settings)['inchikey']
            except LabelError as error:
                if smiles in previous:
                    summary['previously_skipped'] += 1
                else:
                    log.add({'smiles': smiles, 'inchikey': None, 'reason': error.reason, 'detail': error.detail})
                    previous[smiles] = error.reason
                continue
            if inchikey in done:
                summary['already_labelled'] += 1
            elif inchikey in previous:
                summary['previously_skipped'] += 1
            elif inchikey in seen:
                summary['duplicates'] += 1
            else:
                seen.add(inchikey)
                tasks.append((smiles, source_id, inchikey, self.settings))
        return tasks

    def _compute(self, tasks: list[tuple], summary: dict, log: _SkipLog) -> None:
        """Run the tasks (in a pool unless ``processes`` is 0), writing a shard every ``batch_size`` rows."""
        from tqdm.auto import tqdm

        shard_index = max((int(path.stem.split('-')[1]) for path in _shards(self.out_dir)), default=0) + 1
        buffer: list[dict] = []

        def flush() -> None:
            nonlocal shard_index
            if buffer:
                summary['shards'].append(str(_write_shard(self.out_dir, buffer, shard_index)))
                summary['labelled'] += len(buffer)
                shard_index += 1
                buffer.clear()

        pool = None if self.processes == 0 or not tasks else _pool(min(self.processes, len(tasks)), self.start_method)
        results = map(_label_task, tasks) if pool is None else pool.imap_unordered(_label_task, tasks, self.chunksize)
        bar = tqdm(total=len(tasks), unit='mol', desc='xTB labels', disable=not self.progress, smoothing=0.05)
        try:
            for status, payload in results:
                if status == 'ok':
                    payload.pop('_seconds', None)
                    buffer.append(payload)
                    if len(buffer) >= self.batch_size:
                        flush()
                else:
                    log.add(payload)
                    bar.set_postfix(skipped=sum(log.counts.values()), refresh=False)
                bar.update()
        finally:
            # Also on an error or Ctrl-C: the rows already computed are complete, only the molecules in flight are lost.
            flush()
            bar.close()
            if pool is not None:
                pool.terminate()
                pool.join()


def label_batch(
    smiles_iter: Iterable[str | tuple[str, str]],
    out_dir: str | os.PathLike,
    processes: int = 2,
    batch_size: int = 64,
    settings: LabelSettings | dict | None = None,
    **options: Any,
) -> dict:
    """Label many molecules into Parquet shards in ``out_dir``: :meth:`XtbLabeller.run` (``options``: its fields)."""
    labeller = XtbLabeller(out_dir, settings=settings, processes=processes, batch_size=batch_size, **options)
    return labeller.run(smiles_iter)
