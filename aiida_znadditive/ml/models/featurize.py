"""Molecules as graphs: RDKit SMILES to 2D graphs (atoms and bonds with features), geometries to 3D graphs (z, pos).

2D graph of a SMILES (hydrogens implicit; of a salt only the largest fragment, as the ``rules`` screener judges it):

- atom features (:data:`ATOM_FEATURES`, 40 columns): element one-hot over H B C N O F Si P S Cl Br I + other; degree
  (explicit neighbours) 0..5, 6+; formal charge -2..+2, other; hybridisation S SP SP2 SP3 SP3D SP3D2, other;
  aromatic; total hydrogens 0..3, 4+; in a ring.
- bond features (:data:`BOND_FEATURES`, 7 columns): type single double triple aromatic, other; conjugated; in a ring.
- each bond gives two directed edges, ``i->j`` at column ``2k`` of ``edge_index`` and ``j->i`` at ``2k + 1``, so the
  reverse of edge ``e`` is ``e ^ 1`` (what the directed message passing of :mod:`.gnn2d` needs).

Featurisation is on the throughput path of screening, so it is built for speed: a SMILES is parsed without RDKit's
stereo perception (the features do not use it) and sanitised once; the atoms and bonds are read from the molecule's
atom table (:class:`~aiida_znadditive.ml.screeners.descriptors.AtomTable`: RDKit's pickle read once, or the table the
``rules`` screener of a cascade already read), each atom (bond) becomes a tuple of its raw properties, and that tuple
an index into a per-process table of feature rows, filled the first time a kind of atom is seen (a drug-like library
has a few dozen kinds). The float one-hot matrix of a whole batch is then one NumPy gather; the batch also carries the
kind codes themselves, from which :meth:`.gnn2d.DMPNN.predict` computes the first layers once per kind. A molecule
that cannot be featurised gives a reason (:class:`FeaturizeError` for one SMILES, a reason per position for a batch),
never an exception that stops a batch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import numpy as np
import torch
from rdkit import Chem
from rdkit.Chem import AllChem
from rdkit.rdBase import BlockLogs
from torch_geometric.data import Data

from ..screeners.descriptors import atom_table

__all__ = (
    'ATOM_DIM',
    'ATOM_FEATURES',
    'BOND_DIM',
    'BOND_FEATURES',
    'ELEMENTS',
    'EncodedMolecule',
    'FeaturizeError',
    'FeaturizedBatch',
    'collate_2d',
    'collate_3d',
    'conformer_3d',
    'encode_parsed',
    'encode_smiles',
    'featurize_batch',
    'row_to_3d',
    'smiles_to_graph',
)

ELEMENTS = ('H', 'B', 'C', 'N', 'O', 'F', 'Si', 'P', 'S', 'Cl', 'Br', 'I')
_PERIODIC_TABLE = Chem.GetPeriodicTable()
_ELEMENT_INDEX = {_PERIODIC_TABLE.GetAtomicNumber(symbol): index for index, symbol in enumerate(ELEMENTS)}
_DEGREES = (0, 1, 2, 3, 4, 5)
_CHARGES = (-2, -1, 0, 1, 2)
_HYBRIDISATIONS = (
    Chem.HybridizationType.S,
    Chem.HybridizationType.SP,
    Chem.HybridizationType.SP2,
    Chem.HybridizationType.SP3,
    Chem.HybridizationType.SP3D,
    Chem.HybridizationType.SP3D2,
)
_MAX_HYDROGENS = 4  # 0..3 and "4 or more" (CH4, NH4+): more than 4 never occurs on a sanitised organic atom
_BOND_TYPES = (Chem.BondType.SINGLE, Chem.BondType.DOUBLE, Chem.BondType.TRIPLE, Chem.BondType.AROMATIC)
_AROMATIC_BOND = Chem.BondType.AROMATIC

#: Column names of the atom feature matrix ``x``, in order.
ATOM_FEATURES: tuple[str, ...] = (
    *(f'element={symbol}' for symbol in ELEMENTS),
    'element=other',
    *(f'degree={degree}' for degree in _DEGREES),
    'degree>=6',
    *(f'charge={charge:+d}' for charge in _CHARGES),
    'charge=other',
    *(f'hybridisation={kind!s}' for kind in _HYBRIDISATIONS),
    'hybridisation=other',
    'aromatic',
    *(f'hydrogens={count}' for count in range(_MAX_HYDROGENS)),
    f'hydrogens>={_MAX_HYDROGENS}',
    'in_ring',
)
#: Column names of the bond feature matrix ``edge_attr``, in order.
BOND_FEATURES: tuple[str, ...] = (
    *(f'bond={kind!s}' for kind in _BOND_TYPES),
    'bond=other',
    'conjugated',
    'in_ring',
)
ATOM_DIM = len(ATOM_FEATURES)
BOND_DIM = len(BOND_FEATURES)
# Offsets of each one-hot block in ATOM_FEATURES: the row of an atom kind is built from them.
_ELEMENT_AT, _DEGREE_AT = 0, len(ELEMENTS) + 1
_CHARGE_AT = _DEGREE_AT + len(_DEGREES) + 1
_HYBRID_AT = _CHARGE_AT + len(_CHARGES) + 1
_AROMATIC_AT = _HYBRID_AT + len(_HYBRIDISATIONS) + 1
_HYDROGENS_AT = _AROMATIC_AT + 1
_RING_AT = _HYDROGENS_AT + _MAX_HYDROGENS + 1
# A SMILES longer than this per allowed heavy atom is refused before parsing: no organic SMILES needs more.
_CHARACTERS_PER_ATOM = 25
DEFAULT_MAX_HEAVY_ATOMS = 150


class FeaturizeError(ValueError):
    """A molecule that cannot be featurised; ``reason`` says why (the text a Screening reports)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _atom_row(key: tuple) -> np.ndarray:
    """The feature row of an atom kind ``(Z, degree, charge, hybridisation, aromatic, hydrogens, in_ring)``."""
    atomic_number, degree, charge, hybridisation, aromatic, hydrogens, in_ring = key
    row = np.zeros(ATOM_DIM, dtype=np.float32)
    row[_ELEMENT_AT + _ELEMENT_INDEX.get(atomic_number, len(ELEMENTS))] = 1
    row[_DEGREE_AT + min(degree, len(_DEGREES))] = 1
    row[_CHARGE_AT + (_CHARGES.index(charge) if charge in _CHARGES else len(_CHARGES))] = 1
    hybrid = _HYBRIDISATIONS.index(hybridisation) if hybridisation in _HYBRIDISATIONS else len(_HYBRIDISATIONS)
    row[_HYBRID_AT + hybrid] = 1
    row[_AROMATIC_AT] = float(aromatic)
    row[_HYDROGENS_AT + min(hydrogens, _MAX_HYDROGENS)] = 1
    row[_RING_AT] = float(in_ring)
    return row


def _bond_row(key: tuple) -> np.ndarray:
    """The feature row of a bond kind ``(type, conjugated, in_ring)``."""
    kind, conjugated, in_ring = key
    row = np.zeros(BOND_DIM, dtype=np.float32)
    row[_BOND_TYPES.index(kind) if kind in _BOND_TYPES else len(_BOND_TYPES)] = 1
    row[len(_BOND_TYPES) + 1] = float(conjugated)
    row[len(_BOND_TYPES) + 2] = float(in_ring)
    return row


class _KindTable:
    """Kinds (tuples of raw RDKit properties) -> row index into a feature matrix that grows as new kinds appear.

    Per process: the indices are only used between encoding and collating in the same process, while the feature
    rows depend on the kind alone, so tables of two processes give the same matrices for the same molecules.
    """

    def __init__(self, row_of) -> None:
        self.index: dict[tuple, int] = {}
        self._row_of = row_of
        self._rows: list[np.ndarray] = []
        self._matrix = np.zeros((0, 0), dtype=np.float32)

    def code(self, key: tuple) -> int:
        code = self.index.get(key)
        if code is None:
            code = self.index[key] = len(self._rows)
            self._rows.append(self._row_of(key))
        return code

    def matrix(self) -> np.ndarray:
        if len(self._matrix) != len(self._rows):  # rebuilt only when a kind was added since the last call
            self._matrix = np.stack(self._rows)
        return self._matrix

    def keys(self) -> list[tuple]:
        return list(self.index)


_ATOMS = _KindTable(_atom_row)
_BONDS = _KindTable(_bond_row)


@dataclasses.dataclass
class EncodedMolecule:
    """A featurised molecule in compact form: kind codes of atoms and bonds and the bonded atom pairs.

    :param atoms: atom kind codes (rows of the per-process atom table), one per heavy atom.
    :param bonds: bond kind codes, one per bond.
    :param pairs: ``(begin, end)`` atom indices per bond, flattened: ``[b0, e0, b1, e1, ...]``.
    :param atomic_numbers: of the heavy atoms, in order (what the applicability checks of a screener read).
    :param charge: net formal charge.
    """

    atoms: np.ndarray
    bonds: np.ndarray
    pairs: np.ndarray
    atomic_numbers: np.ndarray
    charge: int

    @property
    def n_atoms(self) -> int:
        return len(self.atoms)


def _parse(smiles: str, max_heavy_atoms: int) -> Chem.Mol:
    """The sanitised molecule of ``smiles`` (largest fragment of a salt); :class:`FeaturizeError` with the reason."""
    if not isinstance(smiles, str) or not smiles.strip():
        raise FeaturizeError('empty or non-string SMILES')
    if len(smiles) > _CHARACTERS_PER_ATOM * max_heavy_atoms:
        raise FeaturizeError(f'SMILES of {len(smiles)} characters, too large (limit {max_heavy_atoms} heavy atoms)')
    try:
        # Without sanitising, MolFromSmiles skips stereo perception, a third of its time, that no feature uses.
        mol = Chem.MolFromSmiles(smiles, sanitize=False)
    except Exception as error:  # RDKit raises for a few inputs instead of returning None
        raise FeaturizeError(f'unparseable SMILES ({error})') from None
    if mol is None:
        raise FeaturizeError('unparseable SMILES (RDKit cannot parse it)')
    try:
        Chem.SanitizeMol(mol)
    except Exception as error:  # valence, kekulisation: RDKit's message names the atom
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise FeaturizeError(f'unparseable SMILES (RDKit cannot sanitise it: {message})') from None
    if '[H' in smiles:  # explicit hydrogen atoms, as MolFromSmiles would remove them (rare: the slow path only then)
        mol = Chem.RemoveHs(mol)
    if '.' in smiles:
        fragments = Chem.GetMolFrags(mol, asMols=True, sanitizeFrags=False)
        mol = max(fragments, key=lambda fragment: fragment.GetNumHeavyAtoms())
        if len(fragments) > 1:
            Chem.FastFindRings(mol)  # an unsanitised fragment has no ring information; only membership is read
    if mol.GetNumAtoms() == 0:
        raise FeaturizeError('SMILES without atoms')
    if mol.GetNumAtoms() > max_heavy_atoms:
        raise FeaturizeError(f'{mol.GetNumAtoms()} heavy atoms, above the limit of {max_heavy_atoms}')
    return mol


def encode_mol(mol: Chem.Mol) -> EncodedMolecule:
    """A sanitised RDKit molecule (hydrogens implicit) as an :class:`EncodedMolecule`.

    The atoms and bonds are read from the molecule's :class:`~aiida_znadditive.ml.screeners.descriptors.AtomTable`
    (one read of RDKit's pickle, or the table the ``rules`` screener left on a molecule it parsed), where one is
    read from the pickle; otherwise (hydrogen atoms, unusual bonds, a pickle not read) RDKit is asked atom by atom
    and bond by bond, for the same encoding. Degree and aromaticity are read off the bonds in both (in a sanitised
    molecule an atom is aromatic exactly when one of its bonds is; the tests check both against RDKit's own flags),
    and ring membership off the atom rings of the table (RDKit's ``IsInRing``: an atom of a ring; a bond between
    neighbours of a ring).
    """
    table = atom_table(mol)
    if table is None or table.hybridisations is None:
        return _encode_mol_rdkit(mol)
    return _encode_table(table)


# Kind codes by the raw numbers of the table, (atomic number, degree, charge, hybridisation as int, aromatic,
# hydrogens, in ring) and (bond kind 1-4, conjugated, in ring): the keys of _ATOMS and _BONDS hold RDKit's enums.
_ATOM_CODES: dict[tuple, int] = {}
_BOND_CODES: dict[tuple, int] = {}
_HYBRIDISATION_OF = {int(kind): kind for kind in Chem.HybridizationType.values.values()}
_BOND_TYPE_OF = dict(enumerate(_BOND_TYPES, start=1))  # table bond kinds 1, 2, 3, 4


def _encode_table(table) -> EncodedMolecule:
    """:func:`encode_mol` from an atom table read from the pickle (with hybridisations, conjugation and rings)."""
    n_atoms = len(table.atoms)
    ring_atoms = [False] * n_atoms
    ring_bonds = set()
    for ring in table.rings:
        previous = ring[-1]
        for atom in ring:
            ring_atoms[atom] = True
            ring_bonds.add((previous, atom) if previous < atom else (atom, previous))
            previous = atom
    aromatic = [False] * n_atoms
    bond_codes = _BOND_CODES
    bonds, pairs = [], []
    for (begin, end, kind), conjugated in zip(table.bonds, table.conjugated, strict=True):
        key = (kind, conjugated, (begin, end) in ring_bonds if begin < end else (end, begin) in ring_bonds)
        code = bond_codes.get(key)
        if code is None:
            code = bond_codes[key] = _BONDS.code((_BOND_TYPE_OF[kind], conjugated, key[2]))
        bonds.append(code)
        pairs.append(begin)
        pairs.append(end)
        if kind == 4:
            aromatic[begin] = aromatic[end] = True
    atom_codes = _ATOM_CODES
    atoms, numbers, charge = [], [], 0
    for index, ((number, _, formal, hydrogens, degree), hybridisation) in enumerate(
        zip(table.atoms, table.hybridisations, strict=True)
    ):
        key = (number, degree, formal, hybridisation, aromatic[index], hydrogens, ring_atoms[index])
        code = atom_codes.get(key)
        if code is None:
            rdkit_key = (number, degree, formal, _HYBRIDISATION_OF[hybridisation], *key[4:])
            code = atom_codes[key] = _ATOMS.code(rdkit_key)
        atoms.append(code)
        numbers.append(number)
        charge += formal
    return EncodedMolecule(
        atoms=np.array(atoms, dtype=np.int32),
        bonds=np.array(bonds, dtype=np.int32),
        pairs=np.array(pairs, dtype=np.int64),
        atomic_numbers=np.array(numbers, dtype=np.int16),
        charge=charge,
    )


def _encode_mol_rdkit(mol: Chem.Mol) -> EncodedMolecule:
    """:func:`encode_mol` through RDKit's calls, atom by atom and bond by bond.

    Each call into RDKit costs about half a microsecond and each atom or bond wrapper a few, so only what RDKit alone
    knows is asked per atom and bond. Ring membership is asked per atom and bond.
    """
    n_atoms = mol.GetNumAtoms()
    get_bond = mol.GetBondWithIdx  # by index: cheaper than iterating the GetBonds() sequence
    bond_code = _BONDS.code
    degree = [0] * n_atoms
    aromatic = [False] * n_atoms
    bonds, pairs = [], []
    for index in range(mol.GetNumBonds()):
        bond = get_bond(index)
        kind = bond.GetBondType()
        begin, end = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        bonds.append(bond_code((kind, bond.GetIsConjugated(), bond.IsInRing())))
        pairs.append(begin)
        pairs.append(end)
        degree[begin] += 1
        degree[end] += 1
        if kind is _AROMATIC_BOND:
            aromatic[begin] = aromatic[end] = True
    atom_code = _ATOMS.code
    get_atom = mol.GetAtomWithIdx
    atoms, numbers, charge = [], [], 0
    for index in range(n_atoms):
        atom = get_atom(index)
        number, formal = atom.GetAtomicNum(), atom.GetFormalCharge()
        key = (
            number,
            degree[index],
            formal,
            atom.GetHybridization(),
            aromatic[index],
            atom.GetTotalNumHs(),
            atom.IsInRing(),
        )
        atoms.append(atom_code(key))
        numbers.append(number)
        charge += formal
    return EncodedMolecule(
        atoms=np.array(atoms, dtype=np.int32),
        bonds=np.array(bonds, dtype=np.int32),
        pairs=np.array(pairs, dtype=np.int64),
        atomic_numbers=np.array(numbers, dtype=np.int16),
        charge=charge,
    )


def encode_parsed(mol: Chem.Mol, max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS) -> EncodedMolecule:
    """A molecule another screener already parsed (sanitised, hydrogens implicit, of a salt the largest fragment, as
    ``Chem.MolFromSmiles`` gives it) as an :class:`EncodedMolecule`, with the size checks of :func:`encode_smiles`:
    the same encoding as of its SMILES, without parsing it again. :raises FeaturizeError: too few or many atoms."""
    if mol.GetNumAtoms() == 0:
        raise FeaturizeError('SMILES without atoms')
    if mol.GetNumAtoms() > max_heavy_atoms:
        raise FeaturizeError(f'{mol.GetNumAtoms()} heavy atoms, above the limit of {max_heavy_atoms}')
    return encode_mol(mol)


def encode_smiles(smiles: str, max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS) -> EncodedMolecule:
    """One SMILES as an :class:`EncodedMolecule`; :class:`FeaturizeError` (with ``reason``) when it cannot be read."""
    with BlockLogs():
        return encode_mol(_parse(smiles, max_heavy_atoms))


def encode_many(smiles: Iterable[str], max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS) -> list[EncodedMolecule | str]:
    """Per SMILES its :class:`EncodedMolecule`, or the reason (a string) it cannot be featurised; never raises."""
    results: list[EncodedMolecule | str] = []
    with BlockLogs():  # one block for the whole batch: RDKit's warnings about bad SMILES become the reasons
        for item in smiles:
            try:
                results.append(encode_mol(_parse(item, max_heavy_atoms)))
            except FeaturizeError as error:
                results.append(error.reason)
            except Exception as error:  # an RDKit corner case must not stop the batch; the reason names it
                results.append(f'featurisation failed ({type(error).__name__}: {error})')
    return results


def collate_2d(molecules: Sequence[EncodedMolecule]) -> Data:
    """One batched graph of ``molecules``: ``x``, ``edge_index``, ``edge_attr``, ``batch``, ``ptr``, and the kind
    codes :meth:`.gnn2d.DMPNN.predict` reads instead of the feature matrices: ``atom_kind`` (per atom its row of
    ``atom_rows``, the atom kinds' feature rows), ``edge_pair`` (per directed edge its row of ``pair_rows``, the
    features of the (source atom kind, bond kind) pairs in the batch), ``edge_both`` (per directed edge its column of
    ``both_pairs``, the (pair, pair of the reverse edge) combinations in the batch, as rows of ``pair_rows``).

    NumPy concatenation and one gather per feature matrix: PyG's ``Batch.from_data_list`` costs more than the
    featurisation itself at screening batch sizes.
    """
    counts = np.fromiter((len(molecule.atoms) for molecule in molecules), dtype=np.int64, count=len(molecules))
    ptr = np.zeros(len(molecules) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    if molecules:
        atoms = np.concatenate([molecule.atoms for molecule in molecules]).astype(np.int64)
        bonds = np.concatenate([molecule.bonds for molecule in molecules]).astype(np.int64)
        bond_counts = np.fromiter((len(molecule.bonds) for molecule in molecules), dtype=np.int64)
        pairs = np.concatenate([molecule.pairs for molecule in molecules]).reshape(-1, 2)
        pairs += np.repeat(ptr[:-1], bond_counts)[:, None]  # atom indices of each molecule shifted to its offset
    else:
        atoms = bonds = np.zeros(0, dtype=np.int64)
        pairs = np.zeros((0, 2), dtype=np.int64)
    # Directed edges: bond k gives i->j at 2k and j->i at 2k + 1.
    edge_index = np.empty((2, 2 * len(pairs)), dtype=np.int64)
    edge_index[0, 0::2], edge_index[1, 0::2] = pairs[:, 0], pairs[:, 1]
    edge_index[0, 1::2], edge_index[1, 1::2] = pairs[:, 1], pairs[:, 0]
    atom_matrix = _ATOMS.matrix() if len(atoms) else np.zeros((0, ATOM_DIM), dtype=np.float32)
    bond_matrix = _BONDS.matrix() if len(bonds) else np.zeros((0, BOND_DIM), dtype=np.float32)
    edge_bonds = np.repeat(bonds, 2)
    # The (source atom kind, bond kind) pair of each directed edge, numbered among the pairs of this batch.
    n_bond_kinds = max(len(bond_matrix), 1)
    pair_codes, edge_pair = np.unique(atoms[edge_index[0]] * n_bond_kinds + edge_bonds, return_inverse=True)
    pair_rows = np.concatenate([atom_matrix[pair_codes // n_bond_kinds], bond_matrix[pair_codes % n_bond_kinds]], 1)
    edge_pair = edge_pair.reshape(-1).astype(np.int64, copy=False)
    # The pairs of each directed edge and of its reverse, numbered among those of this batch.
    n_pairs = max(len(pair_codes), 1)
    both_codes, edge_both = np.unique(
        edge_pair * n_pairs + edge_pair.reshape(-1, 2)[:, ::-1].reshape(-1), return_inverse=True
    )
    return Data(
        x=torch.from_numpy(atom_matrix[atoms]),
        edge_index=torch.from_numpy(edge_index),
        edge_attr=torch.from_numpy(bond_matrix[edge_bonds]),
        batch=torch.from_numpy(np.repeat(np.arange(len(molecules), dtype=np.int64), counts)),
        ptr=torch.from_numpy(ptr),
        num_nodes=int(ptr[-1]),
        atom_kind=torch.from_numpy(atoms),
        atom_rows=torch.from_numpy(atom_matrix),
        edge_pair=torch.from_numpy(edge_pair),
        pair_rows=torch.from_numpy(pair_rows.astype(np.float32, copy=False)),
        edge_both=torch.from_numpy(edge_both.reshape(-1).astype(np.int64, copy=False)),
        both_pairs=torch.from_numpy(np.stack([both_codes // n_pairs, both_codes % n_pairs]).astype(np.int64)),
    )


def smiles_to_graph(smiles: str, max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS) -> Data:
    """The 2D graph of one SMILES (a one-molecule batch); :class:`FeaturizeError` when it cannot be read."""
    return collate_2d([encode_smiles(smiles, max_heavy_atoms)])


@dataclasses.dataclass
class FeaturizedBatch:
    """A batch of SMILES as one graph: ``data`` holds the featurised molecules, in order, whose positions in the
    input are ``index``; ``reasons`` maps the position of every molecule that could not be featurised to why."""

    data: Data | None
    index: list[int]
    reasons: dict[int, str]
    molecules: list[EncodedMolecule]


def featurize_batch(smiles: Sequence[str], max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS) -> FeaturizedBatch:
    """A list of SMILES as one batched 2D graph plus the reasons of those that could not be read; never raises."""
    index, molecules, reasons = [], [], {}
    for position, result in enumerate(encode_many(smiles, max_heavy_atoms)):
        if isinstance(result, str):
            reasons[position] = result
        else:
            index.append(position)
            molecules.append(result)
    return FeaturizedBatch(collate_2d(molecules) if molecules else None, index, reasons, molecules)


# -- 3D ------------------------------------------------------------------------------------------------------------


def row_to_3d(row: dict) -> tuple[np.ndarray, np.ndarray]:
    """``(z, pos)`` of a meta-database or label row (``atomic_numbers``, flat ``positions`` in Å, H included).

    :raises FeaturizeError: when the row has no geometry or the two columns do not match.
    """
    numbers, positions = row.get('atomic_numbers'), row.get('positions')
    if numbers is None or positions is None or len(numbers) == 0:
        raise FeaturizeError('no 3D geometry (atomic_numbers and positions) in the row')
    z = np.asarray(numbers, dtype=np.int64)
    pos = np.asarray(positions, dtype=np.float32).reshape(-1, 3)
    if len(pos) != len(z):
        raise FeaturizeError(f'{len(z)} atomic numbers but {len(pos)} positions')
    if not np.isfinite(pos).all():
        raise FeaturizeError('non-finite coordinates')
    return z, pos


def conformer_3d(smiles: str, seed: int = 0, max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS) -> tuple:
    """``(z, pos)`` of an ETKDG conformer relaxed with MMFF94 (UFF where MMFF has no parameters), hydrogens added.

    For 3D models asked about a bare SMILES: a force-field geometry, not the DFT geometry the model was trained on,
    so the prediction carries that difference too. :raises FeaturizeError: when no conformer can be embedded.
    """
    with BlockLogs():
        mol = Chem.AddHs(_parse(smiles, max_heavy_atoms))
        params = AllChem.ETKDGv3()
        params.randomSeed = seed
        if AllChem.EmbedMolecule(mol, params) != 0:
            raise FeaturizeError('no 3D conformer (ETKDG embedding failed)')
        try:
            if AllChem.MMFFHasAllMoleculeParams(mol):
                AllChem.MMFFOptimizeMolecule(mol, maxIters=500)
            else:
                AllChem.UFFOptimizeMolecule(mol, maxIters=500)
        except Exception:  # a force field failure leaves the ETKDG geometry, which is still a usable one
            pass
    z = np.array([atom.GetAtomicNum() for atom in mol.GetAtoms()], dtype=np.int64)
    return z, mol.GetConformer().GetPositions().astype(np.float32)


def collate_3d(geometries: Sequence[tuple[np.ndarray, np.ndarray]]) -> Data:
    """One batched 3D graph of ``(z, pos)`` pairs: ``z``, ``pos``, ``batch``, ``ptr``."""
    counts = np.array([len(z) for z, _ in geometries], dtype=np.int64)
    ptr = np.zeros(len(geometries) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    z = np.concatenate([z for z, _ in geometries]) if geometries else np.zeros(0, dtype=np.int64)
    pos = np.concatenate([pos for _, pos in geometries]) if geometries else np.zeros((0, 3), dtype=np.float32)
    return Data(
        z=torch.from_numpy(z.astype(np.int64)),
        pos=torch.from_numpy(pos.astype(np.float32)),
        batch=torch.from_numpy(np.repeat(np.arange(len(geometries), dtype=np.int64), counts)),
        ptr=torch.from_numpy(ptr),
        num_nodes=int(ptr[-1]),
    )
