"""The alerts of the ``rules`` screener: redox-window groups (:data:`REDOX_ALERTS`, with an atom-table pre-screen that
skips patterns a molecule cannot match) and the PAINS/Brenk/NIH catalogues (:class:`AlertCatalog`, with a pre-screen
of local queries and, for what those cannot read, RDKit's pattern fingerprint)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import FilterCatalog

from .base import ScreenerError
from .descriptors import _TABLE_PRIMITIVES, AtomTable, _primitives

# Redox-window alerts: (name, SMARTS on the hydrogen-implicit molecule, why). The window of a mildly acidic aqueous
# Zn cell runs from Zn plating (−0.76 V vs SHE) to the top of MnO2/V2O5 cathodes (≈ +1.0 V vs SHE, 1.8 V vs Zn):
# a group reduced above −0.76 V is reduced at the anode before zinc plates (and by Zn metal itself); a group
# oxidised below ≈ +1.0 V is oxidised at the cathode on every charge. Both consume charge and the additive.
REDUCED = 'reduced before Zn plating (above −0.76 V vs SHE)'
OXIDISED = 'oxidised inside the window (below +1.0 V vs SHE)'
OXIDANT = 'an oxidant, reduced by Zn metal'
# OH, NH2 or NH-alkyl on an arene: the electron-rich substituents of the aromatic reductants below.
_ELECTRON_RICH = '[OX2H1,$([NX3H2]),$([NX3H1][CX4])]'
REDOX_ALERTS: tuple[tuple[str, str, str], ...] = (
    ('nitro', '[$([NX3+](=O)[O-]),$([NX3](=O)=O)]', REDUCED),  # ArNO2 ≈ −0.5 V at pH 4-5; Zn/acid reduces it
    ('nitroso', '[#6,#7][NX2]=O', REDUCED),
    ('azo', '[#6][NX2]=[NX2][#6]', REDUCED),  # azobenzene ≈ −0.3 V; Zn reduces it to hydrazo/aniline
    ('diazo', '[$([#6]=[N+]=[N-]),$([#6][N+]#N),$([#6]-[N]=[N+]=[N-])]', REDUCED),  # diazo, diazonium, azide
    ('disulfide', '[SX2][SX2]', REDUCED),  # RSSR/2 RSH ≈ −0.25 V
    ('para-quinone', '[#6X3]1(=O)[#6]=,:[#6][#6X3](=O)[#6]=,:[#6]1', REDUCED),  # benzoquinone +0.7 V
    ('ortho-quinone', '[#6X3]1(=O)[#6X3](=O)[#6]=,:[#6][#6]=,:[#6]1', REDUCED),
    ('alkyl bromide or iodide', '[CX4][Br,I]', REDUCED),  # Zn inserts into C-Br/C-I (Barbier, Reformatsky)
    ('polyhalomethyl', '[CX4]([Cl,Br,I])[Cl,Br,I]', REDUCED),  # CCl3/CHCl2 are dehalogenated by Zn
    ('peroxide', '[OX2,OX1-][OX2,OX1-]', OXIDANT),
    ('N/O/S-halogen', '[#7,#8,#16][Cl,Br,I]', OXIDANT),  # positive halogen (NCS, hypochlorite)
    # Para/ortho dihydroxy, aminohydroxy and diamino benzenes: hydroquinone +0.70 V, catechol +0.79 V, p-aminophenol
    # and p-phenylenediamine lower still. Benzene rings only: on electron-poor heteroarenes they are not reductants.
    ('hydroquinone-like', f'{_ELECTRON_RICH}c1ccc({_ELECTRON_RICH})cc1', OXIDISED),
    ('catechol-like', f'{_ELECTRON_RICH}c1c({_ELECTRON_RICH})cccc1', OXIDISED),
    ('enediol', '[OX2H1][#6]=[#6][OX2H1]', OXIDISED),  # ascorbate-type reductones, +0.06 V
    ('hydrazine', '[NX3;!$(N[#6]=[O,S])][NX3;!$(N[#6]=[O,S])]', OXIDISED),  # N2H4 ≈ −0.3 V
    ('hydroxylamine', '[NX3;!$(N[#6]=[O,S])][OX2H1]', OXIDISED),
    ('phosphine or phosphite', '[PX3;+0]', OXIDISED),  # P(III) is oxidised to P(V) (air, cathode)
)
REDOX_PATTERNS = tuple((name, Chem.MolFromSmarts(smarts), why) for name, smarts, why in REDOX_ALERTS)
REDOX_SMARTS = {name: smarts for name, smarts, _ in REDOX_ALERTS}


def possible_redox_alerts(table: AtomTable) -> set[str]:  # noqa: PLR0912 - one alert a branch
    """The redox alerts a molecule can match, judged from its atom table: a superset of those that match, for only
    these to be searched.

    Each alert's SMARTS needs one of the bonds listed below (elements, aromatic or not, bond type; a SMARTS bond
    without a symbol is single or aromatic) or a number of distinct atoms of a kind, so a molecule without them
    cannot match it. An alert without a condition here (one added to REDOX_ALERTS later) is always searched.
    """
    atoms, table_bonds = table.atoms, table.bonds
    codes = [2 * atom[0] + atom[1] for atom in atoms]  # element and aromaticity: SMARTS N is 14, n is 15
    bonds = {(codes[begin], codes[end], kind) for begin, end, kind in table_bonds}
    bonds.update([(b, a, kind) for a, b, kind in bonds])  # both directions

    def bond(a: int, b: int, kinds: tuple[int, ...] = _DEFAULT_BOND) -> bool:
        for kind in kinds:  # noqa: SIM110 - a loop: cheaper than any() on a generator for one or two kinds
            if (a, b, kind) in bonds:
                return True
        return False

    possible = set(_REDOX_NAMES - _PRESCREENED_REDOX)  # alerts without a condition: always searched
    if bond(_ALIPHATIC_N, _ALIPHATIC_O, (2,)):
        possible |= {'nitro', 'nitroso'}
    if bond(_ALIPHATIC_N, _ALIPHATIC_N, (2,)):
        possible |= {'azo', 'diazo'}
    if bond(_ALIPHATIC_N, _ALIPHATIC_N, (3,)):
        possible.add('diazo')
    if bond(_ALIPHATIC_S, _ALIPHATIC_S):
        possible.add('disulfide')
    if bond(_ALIPHATIC_O, _ALIPHATIC_O):
        possible.add('peroxide')
    if bond(_ALIPHATIC_N, _ALIPHATIC_N):
        possible.add('hydrazine')
    if bond(_ALIPHATIC_N, _ALIPHATIC_O):
        possible.add('hydroxylamine')
    if 2 * _PHOSPHORUS in codes or 2 * _PHOSPHORUS + 1 in codes:
        possible.add('phosphine or phosphite')
    halogens = [index for index, atom in enumerate(atoms) if atom[0] in _HEAVY_HALOGENS]
    if halogens:
        if bond(_ALIPHATIC_C, 2 * 35) or bond(_ALIPHATIC_C, 2 * 53):
            possible.add('alkyl bromide or iodide')
        if len(halogens) >= 2:
            possible.add('polyhalomethyl')
        for begin, end, kind in table_bonds:
            if kind in _DEFAULT_BOND and (
                (atoms[begin][0] in _N_O_S and atoms[end][0] in _HEAVY_HALOGENS)
                or (atoms[end][0] in _N_O_S and atoms[begin][0] in _HEAVY_HALOGENS)
            ):
                possible.add('N/O/S-halogen')
                break
    # Quinones: two carbons with a double bond to an aliphatic O.
    if bond(_ALIPHATIC_C, _ALIPHATIC_O, (2,)) or bond(_AROMATIC_C, _ALIPHATIC_O, (2,)):
        carbonyls = {
            begin if atoms[begin][0] == _CARBON else end
            for begin, end, kind in table_bonds
            if kind == 2 and (codes[begin], codes[end]) in _C_O
        }
        if len(carbonyls) >= 2:
            possible |= {'para-quinone', 'ortho-quinone'}
    # Aliphatic O and N with hydrogens: two of them on aromatic carbons (hydroquinone- and catechol-like), two
    # hydroxyl O and a C=C (enediol).
    protic = {index for index, atom in enumerate(atoms) if atom[0] in _O_OR_N and not atom[1] and atom[3]}
    if len(protic) >= 2:
        rich = set()
        for begin, end, kind in table_bonds:
            if kind in _DEFAULT_BOND:
                if begin in protic and codes[end] == _AROMATIC_C:
                    rich.add(begin)
                elif end in protic and codes[begin] == _AROMATIC_C:
                    rich.add(end)
        if len(rich) >= 2:
            possible |= {'hydroquinone-like', 'catechol-like'}
        if sum(atoms[index][0] == _OXYGEN_Z for index in protic) >= 2 and any((a, b, 2) in bonds for a, b in _C_C):
            possible.add('enediol')
    return possible


_CARBON, _OXYGEN_Z, _PHOSPHORUS = 6, 8, 15
_ALIPHATIC_C, _AROMATIC_C, _ALIPHATIC_N, _ALIPHATIC_O, _ALIPHATIC_S = 12, 13, 14, 16, 32
_C_C = ((12, 12), (12, 13), (13, 13))
_C_O = frozenset({(12, 16), (16, 12), (13, 16), (16, 13)})  # an aliphatic or aromatic carbon and an aliphatic O
_DEFAULT_BOND = (1, 4)
_O_OR_N = frozenset({7, 8})
_N_O_S = frozenset({7, 8, 16})
_HEAVY_HALOGENS = frozenset({17, 35, 53})
_REDOX_NAMES = frozenset(name for name, _, _ in REDOX_ALERTS)
# The alerts possible_redox_alerts has a condition for.
_PRESCREENED_REDOX = frozenset(
    {
        'nitro',
        'nitroso',
        'azo',
        'diazo',
        'disulfide',
        'para-quinone',
        'ortho-quinone',
        'alkyl bromide or iodide',
        'polyhalomethyl',
        'peroxide',
        'N/O/S-halogen',
        'hydroquinone-like',
        'catechol-like',
        'enediol',
        'hydrazine',
        'hydroxylamine',
        'phosphine or phosphite',
    }
)
# -- alert catalogs with a fingerprint pre-screen ------------------------------------------------------------------


def _entry_query(entry: FilterCatalog.FilterCatalogEntry) -> Chem.Mol | None:
    """The query molecule of a SMARTS catalog entry, read from its serialisation; None when it cannot be read.

    RDKit's Python API does not expose an entry's pattern; its boost text archive holds the description and then
    the pickled query molecule, each length-prefixed. Failure only costs speed (the entry is then never skipped).
    """
    data = entry.Serialize()
    header = re.match(rb'\d+ serialization::archive \d+ [^\n]*\n[^\n]*\n\d+ \d+ \d+ (\d+) ', data)
    if header is None:
        return None
    start = header.end() + int(header.group(1)) + 1
    length = re.match(rb'(\d+) ', data[start:])
    if length is None:
        return None
    start += length.end()
    try:
        query = Chem.Mol(data[start : start + int(length.group(1))])
    except RuntimeError:
        return None
    return query if query.GetNumAtoms() else None


def _fingerprint_words(fingerprint: DataStructs.ExplicitBitVect) -> np.ndarray:
    return np.frombuffer(bytes.fromhex(DataStructs.BitVectToFPSText(fingerprint)), dtype=np.uint64)


# Query primitives that read nothing but an atom's kind (element, aromaticity, charge, hydrogens, degree, number of
# rings) or a bond's type: RDKit's own Match of such a query atom (bond) on one atom (bond) of a kind is its answer
# for every atom (bond) of that kind.
_ATOM_PRIMITIVES = _TABLE_PRIMITIVES | {'AtomInRing', 'AtomInNRings'}
_BOND_PRIMITIVES = frozenset({'BondAnd', 'BondOr', 'BondNull', 'BondOrder', 'SingleOrAromaticBond'})


class LocalQueries:
    """The query atoms and bonds of alert patterns that depend on atom kinds and bond types alone: an exact
    pre-screen of pattern matching.

    A pattern can only match a molecule that has, for each of its query atoms, an atom satisfying it, and for each of
    its query bonds, a bond of a satisfying type between atoms satisfying its two query atoms. For query atoms made of
    :data:`_ATOM_PRIMITIVES` only (most atoms of PAINS and Brenk patterns, not recursive SMARTS) and bonds of
    :data:`_BOND_PRIMITIVES` only, that is known from the kinds of the molecule's atoms and bonds; which query atoms a
    kind satisfies is asked of RDKit (``Match``) once per kind and process. A query atom that reads anything else is
    a wildcard here: the pre-screen only ever lets through more. One instance per process serves all catalogs.

    An *item* is a query atom (a pattern's atom without usable bonds) or a query bond with its two end atoms (None
    for a wildcard end); a pattern's mask has the bits of its items, a molecule's the bits of the items it has.
    """

    def __init__(self) -> None:
        self._atom_index: dict[str, int] = {}
        self._atoms: list[Chem.Atom] = []
        self._bond_index: dict[str, int] = {}
        self._bonds: list[Chem.Bond] = []
        self._item_index: dict[tuple, int] = {}
        self._atom_items: list[tuple[int, int]] = []  # (item bit, query atom)
        self._items_of_bond: list[list[tuple[int, int | None, int | None]]] = []  # per query bond: (bit, atom, atom)
        self._queries: list[Chem.Mol] = []
        self._clear()

    def _clear(self) -> None:
        self._kind_atoms: dict[tuple, int] = {}  # atom kind -> mask of query atoms it satisfies
        self._bond_types: dict[int, int] = {}  # bond kind -> mask of query bonds it satisfies
        self._atom_masks: dict[tuple, int] = {}  # atom kind -> mask of atom items
        self._bond_masks: dict[tuple, int] = {}  # (kind, bond kind, kind) -> mask of bond items

    @property
    def n_words(self) -> int:
        return max(1, (len(self._item_index) + 63) // 64)

    def _atom(self, atom: Chem.Atom) -> int | None:
        description = atom.DescribeQuery()
        if not _primitives(description) <= _ATOM_PRIMITIVES:
            return None
        if description not in self._atom_index:
            self._atom_index[description] = len(self._atoms)
            self._atoms.append(atom)
        return self._atom_index[description]

    def _item(self, key: tuple) -> int:
        bit = self._item_index.get(key)
        if bit is None:
            bit = self._item_index[key] = len(self._item_index)
            if key[0] == 'atom':
                self._atom_items.append((bit, key[1]))
            else:
                _, begin, bond, end = key
                self._items_of_bond[bond].append((bit, begin, end))
            self._clear()  # every kind must now be asked about this item too
        return bit

    def register(self, query: Chem.Mol) -> int:
        """The item mask of a pattern (0 when nothing of it is usable: then nothing is screened out)."""
        self._queries.append(query)  # RDKit's atom and bond wrappers kept below need their molecule alive
        mask = 0
        bonded = set()
        for bond in query.GetBonds():
            description = bond.DescribeQuery()
            if not _primitives(description) <= _BOND_PRIMITIVES:
                continue
            begin, end = self._atom(bond.GetBeginAtom()), self._atom(bond.GetEndAtom())
            if description not in self._bond_index:
                self._bond_index[description] = len(self._bonds)
                self._bonds.append(bond)
                self._items_of_bond.append([])
            mask |= 1 << self._item(('bond', begin, self._bond_index[description], end))
            bonded.update((bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()))
        for atom in query.GetAtoms():
            if atom.GetIdx() not in bonded:
                index = self._atom(atom)
                if index is not None:
                    mask |= 1 << self._item(('atom', index))
        return mask

    def words(self, mol: Chem.Mol, table) -> np.ndarray | None:
        """The items ``mol`` has, as uint64 words (bit ``i`` in word ``i // 64``); ``table``: its
        :class:`.descriptors.AtomTable` (None: no pre-screen, e.g. a molecule with hydrogen atoms)."""
        if table is None:
            return None
        rings = [0] * len(table.atoms)
        for ring in table.rings if table.rings is not None else mol.GetRingInfo().AtomRings():
            for index in ring:
                rings[index] += 1
        kinds = [(*atom, rings[index]) for index, atom in enumerate(table.atoms)]
        mask = 0
        atom_masks = self._atom_masks
        for index, kind in enumerate(kinds):
            found = atom_masks.get(kind)
            if found is None:
                found = atom_masks[kind] = self._atom_mask(self._kind_mask(kind, mol, index))
            mask |= found
        bond_masks = self._bond_masks
        for index, (begin, end, bond_kind) in enumerate(table.bonds):
            key = (kinds[begin], bond_kind, kinds[end])
            found = bond_masks.get(key)
            if found is None:
                found = bond_masks[key] = bond_masks[(key[2], bond_kind, key[0])] = self._bond_mask(
                    self._kind_mask(kinds[begin], mol, begin),
                    self._bond_type_mask(bond_kind, mol, index),
                    self._kind_mask(kinds[end], mol, end),
                )
            mask |= found
        return np.frombuffer(mask.to_bytes(8 * self.n_words, 'little'), dtype='<u8')

    def _kind_mask(self, kind: tuple, mol: Chem.Mol, index: int) -> int:
        found = self._kind_atoms.get(kind)
        if found is None:
            atom = mol.GetAtomWithIdx(index)
            found = self._kind_atoms[kind] = sum(1 << i for i, query in enumerate(self._atoms) if query.Match(atom))
        return found

    def _bond_type_mask(self, bond_kind: int, mol: Chem.Mol, index: int) -> int:
        found = self._bond_types.get(bond_kind)
        if found is None:
            bond = mol.GetBondWithIdx(index)
            found = self._bond_types[bond_kind] = sum(
                1 << i for i, query in enumerate(self._bonds) if query.Match(bond)
            )
        return found

    def _atom_mask(self, atoms: int) -> int:
        return sum(1 << bit for bit, atom in self._atom_items if atoms >> atom & 1)

    def _bond_mask(self, first: int, bonds: int, second: int) -> int:
        def has(atoms: int, atom: int | None) -> bool:
            return atom is None or bool(atoms >> atom & 1)

        mask = 0
        for bond, items in enumerate(self._items_of_bond):
            if bonds >> bond & 1:
                for bit, begin, end in items:
                    if (has(first, begin) and has(second, end)) or (has(second, begin) and has(first, end)):
                        mask |= 1 << bit
        return mask


_LOCAL_QUERIES = LocalQueries()


class AlertCatalog:
    """Entries of RDKit FilterCatalogs, matched after exact pre-screens.

    A substructure can only match where every bit of its pattern fingerprint is set in the molecule's, and where
    every query atom and bond of it is satisfied by some atom and bond of the molecule (:class:`LocalQueries`). Each
    entry is tried (with RDKit's own ``HasFilterMatch``, minimum/maximum counts included) only on molecules that pass
    the pre-screens given: the same matches as ``FilterCatalog.GetMatches``, many times faster on drug-like molecules
    because most patterns are never tried. On MOSES, of the 585 PAINS and Brenk patterns about 80 pass the
    fingerprint, 30 the local queries, 13 both; the screener uses the local queries alone, which cost a tenth of the
    fingerprint.
    """

    FP_SIZE = 2048

    def __init__(self, catalogs: Sequence[str]) -> None:
        self.entries: list[tuple[str, str, FilterCatalog.FilterCatalogEntry]] = []
        words, masks = [], []
        for catalog in catalogs:
            try:
                which = getattr(FilterCatalog.FilterCatalogParams.FilterCatalogs, catalog)
            except AttributeError:
                raise ScreenerError(f'Unknown RDKit filter catalog `{catalog}`') from None
            params = FilterCatalog.FilterCatalogParams()
            params.AddCatalog(which)
            full = FilterCatalog.FilterCatalog(params)
            for index in range(full.GetNumEntries()):
                entry = full.GetEntryWithIdx(index)
                self.entries.append((catalog, entry.GetDescription(), entry))
                query = _entry_query(entry)
                if query is None:
                    words.append(np.zeros(self.FP_SIZE // 64, dtype=np.uint64))  # no bit: always tried
                    masks.append(0)
                else:
                    query.UpdatePropertyCache(strict=False)
                    words.append(_fingerprint_words(Chem.PatternFingerprint(query, fpSize=self.FP_SIZE)))
                    masks.append(_LOCAL_QUERIES.register(query))
        self._words = np.stack(words) if words else np.zeros((0, self.FP_SIZE // 64), dtype=np.uint64)
        n_words = _LOCAL_QUERIES.n_words  # the registry only grows: later molecules' words have at least these
        self._kind_words = np.array(
            [np.frombuffer(mask.to_bytes(8 * n_words, 'little'), dtype='<u8') for mask in masks], dtype=np.uint64
        ).reshape(len(masks), n_words)

    def __len__(self) -> int:
        return len(self.entries)

    @classmethod
    def fingerprint(cls, mol: Chem.Mol) -> np.ndarray:
        """The molecule's pattern fingerprint as uint64 words; compute it once for several catalogs."""
        return _fingerprint_words(Chem.PatternFingerprint(mol, fpSize=cls.FP_SIZE))

    @staticmethod
    def kinds(mol: Chem.Mol, table=None) -> np.ndarray | None:
        """The molecule's local-query words (:meth:`LocalQueries.words`); compute them once for several catalogs.
        ``table``: its :class:`.descriptors.AtomTable`, when already read."""
        return _LOCAL_QUERIES.words(mol, table if table is not None else AtomTable.of(mol))

    def matches(
        self,
        mol: Chem.Mol,
        words: np.ndarray | None = None,
        first_only: bool = False,
        kinds: np.ndarray | None = None,
    ) -> list[tuple[str, str]]:
        """(catalog, description) of every entry matching ``mol``, in catalog order; only the first if asked.

        ``words``: the molecule's :meth:`fingerprint`; ``kinds``: its :meth:`kinds`. Each pre-screen given is
        applied; with neither, the fingerprint is computed and applied.
        """
        if not self.entries:
            return []
        if kinds is not None and len(kinds) < self._kind_words.shape[1]:
            kinds = None  # read before this catalog registered its patterns: not usable for it
        if words is None and kinds is None:
            words = self.fingerprint(mol)
        screened_out = np.zeros(len(self.entries), dtype=bool)
        if words is not None:
            screened_out |= (self._words & ~words).any(axis=1)
        if kinds is not None:
            screened_out |= (self._kind_words & ~kinds[: self._kind_words.shape[1]]).any(axis=1)
        found = []
        for index in np.flatnonzero(~screened_out):
            catalog, description, entry = self.entries[index]
            if entry.HasFilterMatch(mol):
                found.append((catalog, description))
                if first_only:
                    break
        return found


# With the local-query pre-screen, the pattern fingerprint (0.2 ms a molecule) saves fewer pattern matches than it
# costs; it is still used for molecules the local pre-screen cannot read (hydrogen atoms, unusual bonds).
USE_FINGERPRINT = False

_CATALOG_CACHE: dict[tuple[str, ...], AlertCatalog] = {}


def alert_catalog(catalogs: Sequence[str]) -> AlertCatalog:
    """The (per-process cached) :class:`AlertCatalog` of ``catalogs``; building one takes a fraction of a second."""
    key = tuple(catalogs)
    if key not in _CATALOG_CACHE:
        _CATALOG_CACHE[key] = AlertCatalog(key)
    return _CATALOG_CACHE[key]
