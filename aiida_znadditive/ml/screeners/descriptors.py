"""Faster, result-identical versions of the RDKit computations the ``rules`` screener makes for every molecule.

Screening a library of millions spends its time in a handful of RDKit calls. Each function here gives the value of the
RDKit function it replaces, bit for bit (``tests/ml/test_rules.py`` checks them on MOSES molecules), in less time:

- :func:`parse_smiles`: ``Chem.MolFromSmiles`` without its stereo perception (a quarter of its time). Nothing the
  screeners compute reads stereo flags except the SA score's stereocentre count, which perceives stereo itself
  (``force=True``). SMILES with hydrogen atoms (``[H]``, ``[2H]``) take ``MolFromSmiles`` itself.
- :class:`CrippenLogP`: Wildman-Crippen logP. RDKit adds the hydrogens and matches about 110 SMARTS patterns against
  every atom; the patterns reach at most two bonds from the atom they type (one for every element but oxygen), so an
  atom's contribution, with those of its hydrogens, is a function of its environment of that radius. The environments
  are encoded exactly (element, aromaticity, charge, hydrogens and degree of every atom, bond types, no hashing) and
  their contributions cached; a molecule with an environment not seen before is typed by RDKit, which fills the
  cache. The contributions are summed in RDKit's order (heavy atoms, then each atom's hydrogens), so the sum is
  RDKit's to the last bit. A cache entry that RDKit ever contradicts is not used again.
- :class:`AtomTable`: what these functions and the ``gnn`` featurisation read of every atom and bond (element,
  aromaticity, charge, hydrogens, degree, hybridisation, radicals; bond types, conjugation; the atom rings), read from
  the molecule's pickle (``Mol.ToBinary``, one C++ call) instead of through a Python call per property and a wrapper
  per atom and bond, three times the time. :func:`atom_table` keeps it on a molecule the ``rules`` screener parsed,
  for the stages of a cascade after it.
- :func:`count_donors`: ``len(find_donors(mol))``; with the atom table (:class:`DonorCounter`) only the donor
  patterns whose atoms occur in the molecule are searched, else one search of a recursive SMARTS of all of them.
- :func:`sa_score`: RDKit Contrib's ``sascorer.calculateScore`` with the same fingerprint generator, fragment
  table and arithmetic; only the stereocentre count, which ``FindMolChiralCenters`` makes in slow Python loops over
  atom wrappers, is made with the same RDKit calls on fewer wrappers.
"""

from __future__ import annotations

import dataclasses
import math
import re

from rdkit import Chem
from rdkit.Chem import rdMolDescriptors

from ...structures.ligands import DONOR_PATTERNS

__all__ = ('AtomTable', 'CrippenLogP', 'DonorCounter', 'atom_table', 'count_donors', 'parse_smiles', 'sa_score')

# A hydrogen atom written in brackets, possibly with an isotope: [H], [2H], [H+] (not [Hg], [He], [nH]).
_HYDROGEN_ATOM = re.compile(r'\[\d*H(?![a-z])')


def parse_smiles(smiles: str) -> Chem.Mol | None:
    """``Chem.MolFromSmiles(smiles)`` without stereo perception; None where it fails (the caller then asks
    ``MolFromSmiles`` for its own reason). SMILES with hydrogen atoms are parsed by ``MolFromSmiles`` itself,
    because it removes them with settings of its own."""
    if _HYDROGEN_ATOM.search(smiles):
        return Chem.MolFromSmiles(smiles)
    try:
        mol = Chem.MolFromSmiles(smiles, sanitize=False)
        if mol is None:
            return None
        Chem.SanitizeMol(mol)
    except Exception:  # any RDKit failure: the caller reparses for the reason
        return None
    return mol


# -- the atoms of a molecule, read once --------------------------------------------------------------------------

_BOND_CODES = {Chem.BondType.SINGLE: 1, Chem.BondType.DOUBLE: 2, Chem.BondType.TRIPLE: 3, Chem.BondType.AROMATIC: 4}
_OXYGEN = 8
_UNUSABLE = object()  # a cache entry RDKit contradicted: molecules with this environment go to RDKit

# RDKit's binary form of a molecule (``Mol.ToBinary``, MolPickler.cpp), read here instead of asking RDKit property by
# property: one C++ call writes every atom's and bond's properties, where a Python call per property and an atom or
# bond wrapper per atom or bond cost about three times as much. Only the pickle format this reader was checked on is
# read (``tests/ml/test_rules.py`` compares it with RDKit's own calls on MOSES); any other format, or anything in the
# pickle it does not know (query atoms, atom maps, more than 255 atoms), sends the molecule to the RDKit calls.
_PICKLE_START = bytes.fromhex('efbeadde000000001000000004000000')  # endian mark, version tag, format 16.4
_PICKLE_OPTIONS = Chem.PropertyPickleOptions.NoConformers  # no coordinates or properties: only what is read here
_BEGIN_ATOMS, _BEGIN_BONDS = 1, 11
_RING_TAGS = frozenset({20, 66, 67})  # ring information of SSSR, symmetrised SSSR and fast ring finding
# Tags that may follow the ring information: end of molecule, properties, substance groups, stereo groups.
_AFTER_RINGS = frozenset({18, 22, 58, 59, 60, 61, 62})
_PICKLED_BOND_KINDS = {1: 1, 2: 2, 3: 3, 12: 4}  # Bond::BondType SINGLE, DOUBLE, TRIPLE, AROMATIC -> bond kinds
_SP3 = int(Chem.HybridizationType.SP3)  # the hybridisation the pickle leaves out
_NO_TABLE = object()  # a molecule the table does not describe (hydrogen atoms, unusual bonds)


@dataclasses.dataclass(slots=True)
class AtomTable:
    """What the descriptors and the graph featurisation read of a molecule's atoms and bonds, read once.

    :param atoms: per atom ``(atomic number, aromatic, formal charge, total hydrogens, degree)``.
    :param bonds: per bond ``(begin atom, end atom, bond kind)``, in RDKit's order; bond kinds 1, 2, 3 and 4
        (aromatic).
    :param hybridisations: per atom ``int(atom.GetHybridization())``; None when read through RDKit's calls.
    :param radicals: per atom ``atom.GetNumRadicalElectrons()``; None when read through RDKit's calls.
    :param conjugated: per bond ``bond.GetIsConjugated()``; None when read through RDKit's calls.
    :param rings: ``mol.GetRingInfo().AtomRings()``; None when read through RDKit's calls.

    Tuples of numbers only: a table lives as long as its molecule (through a chunk of a library), and the garbage
    collector stops tracking a tuple of numbers the first time it looks at it, where every list, and every object
    holding one, it walks again at each of its collections (measured: 45 us a molecule with lists, in a process
    that had not frozen its start-up objects).
    """

    atoms: tuple[tuple[int, bool, int, int, int], ...]
    bonds: tuple[tuple[int, int, int], ...]
    hybridisations: tuple[int, ...] | None = None
    radicals: tuple[int, ...] | None = None
    conjugated: tuple[bool, ...] | None = None
    rings: tuple[tuple[int, ...], ...] | None = None

    @property
    def neighbours(self) -> list[list[tuple[int, int]]]:
        """Per atom its ``(bond kind, neighbour index)`` pairs, in bond order (made on each call)."""
        neighbours: list[list[tuple[int, int]]] = [[] for _ in self.atoms]
        for begin, end, kind in self.bonds:
            neighbours[begin].append((kind, end))
            neighbours[end].append((kind, begin))
        return neighbours

    @classmethod
    def of(cls, mol: Chem.Mol) -> AtomTable | None:
        """The table of ``mol``; None where it holds hydrogen atoms or bonds other than single, double, triple and
        aromatic (the callers then ask RDKit). Read from the molecule's pickle where it can be, else (with the first
        two fields only) through RDKit's calls."""
        try:
            table = _table_from_pickle(mol)
        except IndexError:  # a pickle shorter than the layout read: not that layout
            table = None
        if table is None:
            return cls._from_rdkit(mol)
        return None if table is _NO_TABLE else table

    @classmethod
    def _from_rdkit(cls, mol: Chem.Mol) -> AtomTable | None:
        n_atoms = mol.GetNumAtoms()
        degrees = [0] * n_atoms
        bonds = []
        get_bond = mol.GetBondWithIdx
        for index in range(mol.GetNumBonds()):
            bond = get_bond(index)
            kind = _BOND_CODES.get(bond.GetBondType())
            if kind is None:
                return None
            begin, end = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
            degrees[begin] += 1
            degrees[end] += 1
            bonds.append((begin, end, kind))
        get_atom = mol.GetAtomWithIdx
        atoms = []
        for index in range(n_atoms):
            atom = get_atom(index)
            number = atom.GetAtomicNum()
            if number == 1:
                return None
            atoms.append((number, atom.GetIsAromatic(), atom.GetFormalCharge(), atom.GetTotalNumHs(), degrees[index]))
        return cls(tuple(atoms), tuple(bonds))


def _table_from_pickle(mol: Chem.Mol):  # noqa: PLR0911, PLR0912, PLR0915 - one field of the format a branch
    """The :class:`AtomTable` of ``mol`` read from its pickle (``_NO_TABLE`` where the table does not describe the
    molecule), or None where the pickle holds anything this reader does not know: then RDKit's calls decide.

    The layout (MolPickler.cpp): a header with the atom and bond counts; per atom its atomic number, flags
    (aromatic 0x40, no implicit hydrogens 0x20; 0x1f: query, atom map, dummy label, monomer info), a 32-bit mask of
    the fields that follow (charge, chiral tag, hybridisation if not SP3, explicit hydrogens, explicit valence,
    implicit hydrogens, radicals, isotope); per bond its two atoms, flags (aromatic 0x40, conjugated 0x20, query 0x10,
    a type other than single 0x08, direction 0x04, stereo 0x02, end points 0x01) and those fields; then the atom
    rings. Atoms, bonds and ring atoms are written in index order, an index as one byte up to 255 atoms.
    """
    data = mol.ToBinary(_PICKLE_OPTIONS)
    if data[:16] != _PICKLE_START or data[29] != _BEGIN_ATOMS:
        return None
    n_atoms = int.from_bytes(data[20:24], 'little')
    n_bonds = int.from_bytes(data[24:28], 'little')
    if n_atoms > 255:
        return None
    numbers, aromatic, charges, hydrogens, hybridisations, radicals = [], [], [], [], [], []
    position = 30
    for _ in range(n_atoms):
        number, flags, fields = data[position], data[position + 1], data[position + 2]
        if flags & 0x1F or fields & 1 or data[position + 3] & 0xFE or data[position + 4] or data[position + 5]:
            return None
        if number == 1:
            return _NO_TABLE
        isotope = data[position + 3]
        position += 6
        charge = explicit = implicit = radical = 0
        hybridisation = _SP3
        if fields & 2:
            charge = data[position] - 256 if data[position] > 127 else data[position]
            position += 1
        if fields & 4:  # chiral tag
            position += 1
        if fields & 8:
            hybridisation = data[position]
            position += 1
        if fields & 16:
            explicit = data[position]
            position += 1
        if fields & 32:  # explicit valence
            position += 1
        if fields & 64:
            implicit = data[position]
            position += 1
        if fields & 128:
            radical = data[position]
            position += 1
        if isotope:
            position += 4
        numbers.append(number)
        aromatic.append(flags & 0x40 != 0)
        charges.append(charge)
        hydrogens.append(explicit if flags & 0x20 else explicit + implicit)
        hybridisations.append(hybridisation)
        radicals.append(radical)
    if data[position] != _BEGIN_BONDS:
        return None
    position += 1
    degrees = [0] * n_atoms
    bonds, conjugated = [], []
    for _ in range(n_bonds):
        begin, end, flags = data[position], data[position + 1], data[position + 2]
        position += 3
        kind = 1
        if flags & 0x1F:
            if flags & 0x11:  # query bond, end points
                return None
            if flags & 8:
                kind = _PICKLED_BOND_KINDS.get(data[position])
                if kind is None:
                    return _NO_TABLE
                position += 1
            if flags & 4:  # direction
                position += 1
            if flags & 2:  # stereo, the number of stereo atoms and those atoms
                position += 2 + data[position + 1]
        degrees[begin] += 1
        degrees[end] += 1
        bonds.append((begin, end, kind))
        conjugated.append(flags & 0x20 != 0)
    if data[position] not in _RING_TAGS:  # no ring information (an unsanitised molecule)
        return None
    n_rings = int.from_bytes(data[position + 1 : position + 5], 'little')
    position += 5
    rings = []
    for _ in range(n_rings):
        size = data[position]
        rings.append(tuple(data[position + 1 : position + 1 + size]))
        position += 1 + size
    if position >= len(data) or data[position] not in _AFTER_RINGS:
        return None  # not the layout read above
    atoms = tuple(zip(numbers, aromatic, charges, hydrogens, degrees, strict=True))
    return AtomTable(atoms, tuple(bonds), tuple(hybridisations), tuple(radicals), tuple(conjugated), tuple(rings))


_TABLE_ATTRIBUTE = '_znadditive_atom_table'  # where atom_table(mol, keep=True) leaves the table on the molecule
_MISSING = object()


def atom_table(mol: Chem.Mol, *, keep: bool = False) -> AtomTable | None:
    """``AtomTable.of(mol)``, or the table an earlier ``atom_table(mol, keep=True)`` left on this molecule object.

    ``keep``: leave the table on the molecule (an attribute of the Python object) for the screeners of a cascade that
    read the same molecule after this one (the ``gnn`` featurisation, the costly rules). Only for a molecule nothing
    changes afterwards: the table is not updated.
    """
    table = getattr(mol, _TABLE_ATTRIBUTE, _MISSING)
    if table is _MISSING:
        table = AtomTable.of(mol)
        if keep:
            setattr(mol, _TABLE_ATTRIBUTE, table)
    return table


# -- Crippen logP --------------------------------------------------------------------------------------------------


class CrippenLogP:
    """Wildman-Crippen logP equal to ``rdMolDescriptors.CalcCrippenDescriptors(mol)[0]``, with a cache of atom
    environments (see the module docstring). One per process; ``max_entries`` bounds the cache (then misses go to
    RDKit uncached). ``hits`` and ``misses`` count molecules."""

    def __init__(self, max_entries: int = 2_000_000) -> None:
        self.max_entries = max_entries
        self._codes: dict[tuple, int] = {}  # atom tuple -> code
        self._environment_codes: dict[tuple, int] = {}  # radius-1 environment -> code
        self._values: dict = {}
        self.hits = 0
        self.misses = 0

    def __call__(self, mol: Chem.Mol, table: AtomTable | None = None) -> float:
        """``mol``'s logP; ``table``: its :class:`AtomTable`, when already read."""
        table = table or AtomTable.of(mol)
        if table is None:  # explicit hydrogen atoms or an unusual bond type: RDKit decides
            self.misses += 1
            return rdMolDescriptors.CalcCrippenDescriptors(mol)[0]
        keys = self._environments(table)
        hydrogens = [atom[3] for atom in table.atoms]
        values = self._values
        found = [values.get(key) for key in keys]
        if None in found or _UNUSABLE in found:
            self.misses += 1
            found = self._from_rdkit(mol, keys)
            if found is None:
                return rdMolDescriptors.CalcCrippenDescriptors(mol)[0]
        else:
            self.hits += 1
        # RDKit's order: the heavy atoms, then the hydrogens AddHs appended, atom by atom.
        logp = 0.0
        for heavy, _ in found:
            logp += heavy
        for (_, hydrogen), count in zip(found, hydrogens, strict=True):
            for _ in range(count):
                logp += hydrogen
        return logp

    def _environments(self, table: AtomTable) -> list:
        """Per heavy atom its environment key: radius 1, radius 2 for oxygen. An atom is its :class:`AtomTable`
        tuple, interned as a small integer; its radius-1 key that code and the sorted ``bond kind + 8 * neighbour
        code`` of its bonds (bond kinds 1-4: one integer per bond and neighbour), interned in turn; an oxygen's
        radius-2 key its radius-1 code and the same of its neighbours' radius-1 codes (exact: dictionaries, no hash
        codes)."""
        codes = self._codes
        lookup = codes.get
        level0 = []
        for key in table.atoms:
            code = lookup(key)
            if code is None:
                code = codes[key] = len(codes)
            level0.append(code)
        bonds = table.bonds
        around: list[list[int]] = [[] for _ in level0]
        for begin, end, kind in bonds:
            around[begin].append(kind + 8 * level0[end])
            around[end].append(kind + 8 * level0[begin])
        environments = self._environment_codes
        lookup = environments.get
        keys = []
        for code, pairs in zip(level0, around, strict=True):
            pairs.sort()
            key = (code, *pairs)
            found = lookup(key)
            if found is None:
                found = environments[key] = len(environments)
            keys.append(found)
        oxygens = [index for index, atom in enumerate(table.atoms) if atom[0] == _OXYGEN]
        if oxygens:  # oxygen's types read two bonds out (O=C-X, H-O-C=X): a radius-2 key
            second = {index: [] for index in oxygens}
            for begin, end, kind in bonds:
                if begin in second:
                    second[begin].append(kind + 8 * keys[end])
                if end in second:
                    second[end].append(kind + 8 * keys[begin])
            for index, pairs in second.items():
                pairs.sort()
                keys[index] = (keys[index], *pairs)
        return keys

    def _from_rdkit(self, mol: Chem.Mol, keys: list) -> list[tuple[float, float]] | None:
        """RDKit's per-atom contributions (heavy atom, each of its hydrogens), cached under ``keys``; None when
        RDKit types two hydrogens of one atom differently (never seen; then nothing is cached)."""
        with_hydrogens = Chem.AddHs(mol)
        contributions = rdMolDescriptors._CalcCrippenContribs(with_hydrogens, force=True)
        n_atoms = mol.GetNumAtoms()
        hydrogen_values: list[float | None] = [None] * n_atoms
        for index in range(n_atoms, with_hydrogens.GetNumAtoms()):
            owner = with_hydrogens.GetAtomWithIdx(index).GetNeighbors()[0].GetIdx()
            value = contributions[index][0]
            if hydrogen_values[owner] is None:
                hydrogen_values[owner] = value
            elif hydrogen_values[owner] != value:
                return None
        found = []
        values = self._values
        for index, key in enumerate(keys):
            value = (contributions[index][0], hydrogen_values[index] or 0.0)
            known = values.get(key)
            if known is None:
                if len(values) < self.max_entries:
                    values[key] = value
            elif known is not _UNUSABLE and known != value:
                values[key] = _UNUSABLE  # the environment does not determine the type after all: never trust it
            found.append(value)
        return found


# -- donors --------------------------------------------------------------------------------------------------------

_ANY_DONOR = Chem.MolFromSmarts('[' + ','.join(f'$({smarts})' for _, smarts in DONOR_PATTERNS) + ']')


def count_donors(mol: Chem.Mol, table: AtomTable | None = None) -> int:
    """``len(find_donors(mol))``: the atoms that are the first atom of a match of any donor pattern. ``table``: the
    molecule's :class:`AtomTable`, for :class:`DonorCounter`'s pre-screen."""
    if table is None:
        return len(mol.GetSubstructMatches(_ANY_DONOR, maxMatches=max(1000, mol.GetNumAtoms())))
    return _DONOR_COUNTER(mol, table)


# Query primitives that read nothing but what an AtomTable atom holds (element, aromaticity, charge, hydrogens,
# degree): RDKit's Match of such a query atom on one atom of a kind is its answer for every atom of that kind.
_TABLE_PRIMITIVES = frozenset(
    {
        'AtomAnd',
        'AtomOr',
        'AtomNull',
        'AtomAtomicNum',
        'AtomType',
        'AtomIsAromatic',
        'AtomIsAliphatic',
        'AtomFormalCharge',
        'AtomHCount',
        'AtomExplicitDegree',
        'AtomTotalDegree',
    }
)
# Atoms (SMARTS) a donor pattern needs where its own atoms are recursive SMARTS or read more than the table holds:
# every alternative of the pattern has an atom matching each of these.
_DONOR_NEEDS = {
    'carboxylate O': ('[OX1-]', '[CX3]'),
    'phosphate O': ('[#15]',),
    'sulfonate O': ('[OX1-]', '[SX4]'),
    'sulfoxide O': ('[OX1]', '[SX3]'),
    'amine N': ('[NX3;+0]',),
}
_MAX_DONOR_MATCHES = 10_000


class DonorCounter:
    """:func:`count_donors` with a pre-screen: only the donor patterns whose atoms all occur in the molecule are
    searched, each on its own (``uniquify=False``, as ``find_donors`` does), instead of one search of the recursive
    SMARTS of all 22 patterns, which RDKit evaluates pattern by pattern on every molecule.

    A pattern can only match a molecule that has, for each of its atoms, an atom satisfying it. For pattern atoms
    made of table primitives (:data:`_TABLE_PRIMITIVES`) that is read from the kinds of the molecule's atoms (asked
    of RDKit's ``Match`` once per kind and process); recursive atoms are left out, and :data:`_DONOR_NEEDS` lists
    simpler atoms for the patterns made of them. The count is that of ``count_donors`` (tests compare them on MOSES).
    """

    def __init__(self) -> None:
        self._mols: list[Chem.Mol] = []  # the query atoms below need their molecules alive
        self._queries: list[Chem.Atom] = []
        index: dict[str, int] = {}
        self._patterns: list[tuple[int, Chem.Mol]] = []
        for name, smarts in DONOR_PATTERNS:
            pattern = Chem.MolFromSmarts(smarts)
            needed = [Chem.MolFromSmarts(item) for item in _DONOR_NEEDS.get(name, ())]
            self._mols += [pattern, *needed]
            atoms = [mol.GetAtomWithIdx(0) for mol in needed]
            atoms += [atom for atom in pattern.GetAtoms() if _primitives(atom.DescribeQuery()) <= _TABLE_PRIMITIVES]
            mask = 0
            for atom in atoms:
                key = atom.DescribeQuery()
                if key not in index:
                    index[key] = len(self._queries)
                    self._queries.append(atom)
                mask |= 1 << index[key]
            self._patterns.append((mask, pattern))
        self._kinds: dict[tuple, int] = {}  # atom kind -> mask of the query atoms it satisfies

    def __call__(self, mol: Chem.Mol, table: AtomTable) -> int:
        kinds = self._kinds
        present = 0
        for index, kind in enumerate(table.atoms):
            found = kinds.get(kind)
            if found is None:
                atom = mol.GetAtomWithIdx(index)
                found = kinds[kind] = sum(1 << bit for bit, query in enumerate(self._queries) if query.Match(atom))
            present |= found
        donors = set()
        for needs, pattern in self._patterns:
            if needs & ~present:
                continue
            matches = mol.GetSubstructMatches(pattern, uniquify=False, maxMatches=_MAX_DONOR_MATCHES)
            if len(matches) >= _MAX_DONOR_MATCHES:  # not all matches enumerated: RDKit's count
                return count_donors(mol)
            donors.update(match[0] for match in matches)
        return len(donors)


def _primitives(description: str) -> set[str]:
    return {line.split()[0] for line in description.splitlines() if line.strip()}


_DONOR_COUNTER = DonorCounter()


# -- SA score ------------------------------------------------------------------------------------------------------

_SASCORER = None


def _sascorer():
    global _SASCORER  # noqa: PLW0603 - Contrib module and its fragment table, loaded once per process
    if _SASCORER is None:
        from rdkit.Contrib.SA_Score import sascorer

        if sascorer._fscores is None:
            sascorer.readFragmentScores()
        _SASCORER = sascorer
    return _SASCORER


# RDKit's (legacy) stereo perception only ever flags atoms with three or more neighbours, or P and As with two.
_STEREO_CANDIDATE = Chem.MolFromSmarts('[!D0;!D1;!D2,#15,#33]')


def _chiral_centre_count(mol: Chem.Mol) -> int:
    """``len(Chem.FindMolChiralCenters(mol, includeUnassigned=True))``, with the same effect on ``mol``.

    ``FindMolChiralCenters`` clears ``_ChiralityPossible`` on every atom, perceives stereo (legacy perception, with
    ``cleanIt``, which clears ``_CIPCode`` and ``_ChiralityPossible`` itself) and counts the atoms with either, through
    Python wrappers of every atom. RDKit sets either only on a legal centre (``isAtomPotentialChiralCenter``: three
    or more neighbours, or P/As), so only those atoms are looked at.
    """
    if not Chem.GetUseLegacyStereoPerception():
        return len(Chem.FindMolChiralCenters(mol, includeUnassigned=True))
    Chem.AssignStereochemistry(mol, force=True, flagPossibleStereoCenters=True, cleanIt=True)
    get_atom = mol.GetAtomWithIdx
    count = 0
    for (index,) in mol.GetSubstructMatches(_STEREO_CANDIDATE, maxMatches=mol.GetNumAtoms()):
        atom = get_atom(index)
        if atom.HasProp('_CIPCode') or atom.HasProp('_ChiralityPossible'):
            count += 1
    return count


def sa_score(mol: Chem.Mol) -> float:
    """Synthetic accessibility (1 easy .. 10 hard; Ertl & Schuffenhauer 2009): RDKit Contrib's ``sascorer``, same
    number (see the module docstring)."""
    sascorer = _sascorer()
    if not mol.GetNumAtoms() or getattr(sascorer, 'mfpgen', None) is None:  # an empty molecule, an older sascorer
        return sascorer.calculateScore(mol)
    fragment_scores = sascorer._fscores
    elements = sascorer.mfpgen.GetSparseCountFingerprint(mol).GetNonzeroElements()
    score1 = 0.0
    count_sum = 0
    for bit, count in elements.items():
        count_sum += count
        score1 += fragment_scores.get(bit, -4) * count
    score1 /= count_sum

    n_atoms = mol.GetNumAtoms()
    n_chiral = _chiral_centre_count(mol)
    ring_info = mol.GetRingInfo()
    n_bridgeheads = rdMolDescriptors.CalcNumBridgeheadAtoms(mol)
    n_spiro = rdMolDescriptors.CalcNumSpiroAtoms(mol)
    n_macrocycles = sum(1 for ring in ring_info.AtomRings() if len(ring) > 8) if ring_info.NumRings() else 0

    size_penalty = n_atoms**1.005 - n_atoms
    stereo_penalty = math.log10(n_chiral + 1)
    spiro_penalty = math.log10(n_spiro + 1)
    bridge_penalty = math.log10(n_bridgeheads + 1)
    macrocycle_penalty = math.log10(2) if n_macrocycles > 0 else 0.0
    score2 = 0.0 - size_penalty - stereo_penalty - spiro_penalty - bridge_penalty - macrocycle_penalty

    score3 = 0.0
    n_bits = len(elements)
    if n_atoms > n_bits:
        score3 = math.log(float(n_atoms) / n_bits) * 0.5

    score = score1 + score2 + score3
    low, high = -4.0, 2.5
    score = 11.0 - (score - low + 1) / (high - low) * 9.0
    if score > 8.0:
        score = 8.0 + math.log(score + 1.0 - 9.0)
    if score > 10.0:
        score = 10.0
    elif score < 1.0:
        score = 1.0
    return float(score)
