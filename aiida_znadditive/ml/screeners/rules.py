"""The ``rules`` screener: cheap chemistry rules a zinc-battery chemist applies before any calculation.

Each SMILES is parsed once; of a multi-fragment SMILES (a salt) only the largest fragment is judged, as
:func:`~aiida_znadditive.structures.ligands.parse_ligand` keeps it for the complexation WorkChain. Criteria run
cheapest first:

- elements: H B C N O F Si P S Cl Br I (what def2 basis sets, GFN2-xTB and the complexation WorkChain cover);
- heavy atoms: 2 to 40 (an additive, not an ion or a polymer);
- net charge −4 to +2, no atom beyond ±1, no radical (what the WorkChain takes);
- water solubility: Crippen logP ≤ 3.0 for a neutral molecule (an ion dissolves as a salt; TPSA reported, with an
  optional minimum);
- Zn2+ donors: for a neutral molecule or an anion, at least one O/N/S donor as
  :func:`~aiida_znadditive.structures.ligands.find_donors` finds them (a cation acts at the surface, not in the
  solvation shell);
- redox window: no group reduced above Zn2+/Zn or oxidised below the cathode's potential (:data:`REDOX_ALERTS`);
- orbital window: HOMO ≤ −5.6 eV and LUMO ≥ −2.0 eV, when a meta-database row gives them;
- synthetic accessibility: SA score ≤ 4.5 (Ertl & Schuffenhauer, RDKit Contrib);
- PAINS A/B/C: no match (mostly redox cyclers and chelating dyes: parasitic redox in a cell);
- Brenk (NIH opt-in): a score penalty of 0.8 per alert (or a failure, or off): toxicity and reactivity.

Elements and size are checked first: a molecule that fails them is not a molecule this platform can treat, and
nothing else is computed for it. With ``complete_reasons=False`` (the default, for throughput) the costly criteria
(SA score, PAINS, Brenk/NIH) run only for molecules that passed every cheap criterion, so a failed molecule's reasons
list every cheap criterion it failed but not, say, a PAINS alert; ``complete_reasons=True`` evaluates everything.

``stages`` splits the screener in two for a funnel that runs a model between the halves (:meth:`RulesScreener.split`,
:func:`~.cascade.defer_costly_rules`): ``'cheap'`` judges elements and size through the orbital window and nothing
costly; ``'costly'`` judges elements and size (the platform's domain, one substructure search) and then SA score,
PAINS and Brenk/NIH only. The costly half recomputes the cheap descriptors the score and predictions need (logP,
TPSA, donors: about 0.3 ms, for what reaches it), so on a molecule the cheap half passed it gives exactly the
:class:`~.base.Screening` of ``'all'`` (the default, both halves): same predictions, reasons and score. A cheap-half
pass scores the desirability with the costly terms at their best (SA and alert terms 1): an upper bound of the final
score. The stage is a setting, so it is recorded in the provenance; the label of a half-stage in a cascade is
``rules.cheap`` or ``rules.costly`` (:attr:`RulesScreener.label`).

The score of a passed molecule is a Derringer desirability, the geometric mean of four terms in (0, 1]:

- logP: 1 at logP ≤ 0 (freely water-miscible), falling linearly to 0.5 at the logP ceiling;
- SA score: 1 at SA ≤ 3.5, falling linearly to 0.5 at the SA ceiling;
- donors: 0.7 with one Zn2+ donor, 1 with two or more (a chelate can form);
- alerts: ``tox_penalty`` to the power of the number of Brenk/NIH alerts.

A failed molecule scores 0 (a hard criterion's desirability is 0), an unparseable one ``None``.
"""

from __future__ import annotations

import collections
import math
import multiprocessing
import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import FilterCatalog, rdMolDescriptors
from rdkit.rdBase import BlockLogs

from ... import __version__
from .base import Screener, ScreenerError, Screening
from .descriptors import _TABLE_PRIMITIVES, AtomTable, CrippenLogP, _primitives, atom_table, count_donors, parse_smiles
from .descriptors import sa_score as _sa_score

# Bump when a rule, a threshold default or the score changes: the version recorded with promoted candidates.
RULES_VERSION = '2'  # 2: charges -4..+2, logP of neutral molecules only, no donor rule for cations, SA uncharged

DEFAULTS: dict = {
    # What the complexation WorkChain accepts (protocols/complexation.yaml) and def2 basis sets and GFN2-xTB cover.
    'allowed_elements': ['H', 'B', 'C', 'N', 'O', 'F', 'Si', 'P', 'S', 'Cl', 'Br', 'I'],
    # One heavy atom is water or an ion; above 40 (~550 Da) a molecule is no longer a cheap, mobile additive.
    'min_heavy_atoms': 2,
    'max_heavy_atoms': 40,
    # What the complexation WorkChain and the speciation accept: citrate3- and EDTA4- (published chelating
    # additives) down to -4, ammonium surfactants and diammonium ions up to +2.
    'min_charge': -4,
    'max_charge': 2,
    # Crippen logP: at ≤ 3 a neutral organic is soluble in water at the 0.1-1 M of additive use; None disables. An
    # ion is exempt: a salt dissolves as ions, which Crippen's atom contributions do not describe (sodium dodecyl
    # sulfate, a working surfactant additive, has logP 3.4 as its anion).
    'logp_max': 3.0,
    'logp_min': None,
    # TPSA (Å², N and O only) is reported; a minimum is optional (DMSO has 17, THF 9).
    'tpsa_min': None,
    # Zn2+-binding donors (O/N/S, as the complexation WorkChain finds them), for neutral molecules and anions; a cation
    # acts at the zinc surface (an electrostatic shield at the tips: tetraalkylammonium additives), not in the shell.
    'min_donors': 1,
    # Group alerts for redox inside the aqueous Zn window (see REDOX_ALERTS); names to switch off one.
    'redox_alerts': True,
    'redox_ignore': [],
    # Orbital window, only when the meta-database row gives homo_ev/lumo_ev (gas-phase DFT, B3LYP-like): a HOMO
    # above −5.6 eV is oxidised like hydroquinone or aniline, a LUMO below −2.0 eV reduced like nitrobenzene.
    'homo_ev_max': -5.6,
    'lumo_ev_min': -2.0,
    # SA score (1 easy .. 10 hard); 4.5 keeps what a supplier sells or a one-to-three-step synthesis makes.
    'sa_max': 4.5,
    # PAINS: assay-interference motifs are mostly redox cyclers (quinones, catechols, ene-rhodanines) and
    # colloidal/chelating dyes, i.e. parasitic redox in an electrolyte: a failure.
    'pains_catalogs': ['PAINS_A', 'PAINS_B', 'PAINS_C'],
    # Brenk and NIH flag toxic and reactive groups for drug discovery; they also flag phosphates, sulfonates,
    # fluorinated chains and crown ethers, all classic electrolyte additives, so they only lower the score
    # ('penalty'); 'fail' makes any alert a failure, 'off' skips them. NIH is opt-in: its recursive SMARTS cost
    # about 1.5 ms per molecule (three times Brenk and PAINS together), and the groups of it that matter here
    # (aldehydes, azides, Michael acceptors, peroxides, hydrazines, thiols) are in Brenk or the redox alerts too.
    'tox_catalogs': ['BRENK'],
    'tox_alerts': 'penalty',
    'tox_penalty': 0.8,
    # Evaluate the costly criteria for molecules that already failed a cheap one (complete reasons, slower).
    'complete_reasons': False,
    # Which criteria this screener judges: 'all', only the 'cheap' ones (elements to orbital window) or only the
    # 'costly' ones (elements and size, then SA score, PAINS, Brenk/NIH), for a model between the two halves.
    'stages': 'all',
}
TOX_MODES = ('penalty', 'fail', 'off')
STAGES = ('all', 'cheap', 'costly')

# Redox-window alerts: (name, SMARTS on the hydrogen-implicit molecule, why). The window of a mildly acidic aqueous
# Zn cell runs from Zn plating (−0.76 V vs SHE) to the top of MnO2/V2O5 cathodes (≈ +1.0 V vs SHE, 1.8 V vs Zn):
# a group reduced above −0.76 V is reduced at the anode before zinc plates (and by Zn metal itself); a group
# oxidised below ≈ +1.0 V is oxidised at the cathode on every charge. Both consume charge and the additive.
_REDUCED = 'reduced before Zn plating (above −0.76 V vs SHE)'
_OXIDISED = 'oxidised inside the window (below +1.0 V vs SHE)'
_OXIDANT = 'an oxidant, reduced by Zn metal'
# OH, NH2 or NH-alkyl on an arene: the electron-rich substituents of the aromatic reductants below.
_ELECTRON_RICH = '[OX2H1,$([NX3H2]),$([NX3H1][CX4])]'
REDOX_ALERTS: tuple[tuple[str, str, str], ...] = (
    ('nitro', '[$([NX3+](=O)[O-]),$([NX3](=O)=O)]', _REDUCED),  # ArNO2 ≈ −0.5 V at pH 4-5; Zn/acid reduces it
    ('nitroso', '[#6,#7][NX2]=O', _REDUCED),
    ('azo', '[#6][NX2]=[NX2][#6]', _REDUCED),  # azobenzene ≈ −0.3 V; Zn reduces it to hydrazo/aniline
    ('diazo', '[$([#6]=[N+]=[N-]),$([#6][N+]#N),$([#6]-[N]=[N+]=[N-])]', _REDUCED),  # diazo, diazonium, azide
    ('disulfide', '[SX2][SX2]', _REDUCED),  # RSSR/2 RSH ≈ −0.25 V
    ('para-quinone', '[#6X3]1(=O)[#6]=,:[#6][#6X3](=O)[#6]=,:[#6]1', _REDUCED),  # benzoquinone +0.7 V
    ('ortho-quinone', '[#6X3]1(=O)[#6X3](=O)[#6]=,:[#6][#6]=,:[#6]1', _REDUCED),
    ('alkyl bromide or iodide', '[CX4][Br,I]', _REDUCED),  # Zn inserts into C-Br/C-I (Barbier, Reformatsky)
    ('polyhalomethyl', '[CX4]([Cl,Br,I])[Cl,Br,I]', _REDUCED),  # CCl3/CHCl2 are dehalogenated by Zn
    ('peroxide', '[OX2,OX1-][OX2,OX1-]', _OXIDANT),
    ('N/O/S-halogen', '[#7,#8,#16][Cl,Br,I]', _OXIDANT),  # positive halogen (NCS, hypochlorite)
    # Para/ortho dihydroxy, aminohydroxy and diamino benzenes: hydroquinone +0.70 V, catechol +0.79 V, p-aminophenol
    # and p-phenylenediamine lower still. Benzene rings only: on electron-poor heteroarenes they are not reductants.
    ('hydroquinone-like', f'{_ELECTRON_RICH}c1ccc({_ELECTRON_RICH})cc1', _OXIDISED),
    ('catechol-like', f'{_ELECTRON_RICH}c1c({_ELECTRON_RICH})cccc1', _OXIDISED),
    ('enediol', '[OX2H1][#6]=[#6][OX2H1]', _OXIDISED),  # ascorbate-type reductones, +0.06 V
    ('hydrazine', '[NX3;!$(N[#6]=[O,S])][NX3;!$(N[#6]=[O,S])]', _OXIDISED),  # N2H4 ≈ −0.3 V
    ('hydroxylamine', '[NX3;!$(N[#6]=[O,S])][OX2H1]', _OXIDISED),
    ('phosphine or phosphite', '[PX3;+0]', _OXIDISED),  # P(III) is oxidised to P(V) (air, cathode)
)
_REDOX_PATTERNS = tuple((name, Chem.MolFromSmarts(smarts), why) for name, smarts, why in REDOX_ALERTS)
_REDOX_SMARTS = {name: smarts for name, smarts, _ in REDOX_ALERTS}


def _possible_redox_alerts(table: AtomTable) -> set[str]:  # noqa: PLR0912 - one alert a branch
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
# The alerts _possible_redox_alerts has a condition for.
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
# Wildman-Crippen logP, exactly RDKit's, with a per-process cache of atom environments (see descriptors.py).
_CRIPPEN = CrippenLogP()

# Hard size guard before parsing: no SMILES of a ≤ 40-heavy-atom molecule needs more characters than this per atom.
_CHARACTERS_PER_ATOM = 25


def _linear_desirability(value: float, ideal: float, limit: float | None, at_limit: float = 0.5) -> float:
    """1 at or below ``ideal``, falling linearly to ``at_limit`` at ``limit`` (clipped to [at_limit, 1])."""
    if limit is None or limit <= ideal or value <= ideal:
        return 1.0
    return max(at_limit, 1.0 - (1.0 - at_limit) * (value - ideal) / (limit - ideal))


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
_USE_FINGERPRINT = False

_CATALOG_CACHE: dict[tuple[str, ...], AlertCatalog] = {}


def alert_catalog(catalogs: Sequence[str]) -> AlertCatalog:
    """The (per-process cached) :class:`AlertCatalog` of ``catalogs``; building one takes a fraction of a second."""
    key = tuple(catalogs)
    if key not in _CATALOG_CACHE:
        _CATALOG_CACHE[key] = AlertCatalog(key)
    return _CATALOG_CACHE[key]


def sa_score(mol: Chem.Mol) -> float:
    """Synthetic accessibility (1 easy .. 10 hard; Ertl & Schuffenhauer 2009): RDKit Contrib's ``sascorer`` score,
    computed with fewer Python calls (:func:`.descriptors.sa_score`; the same number)."""
    return _sa_score(mol)


def _any_of(smarts: Iterable[str]) -> Chem.Mol | None:
    """One query atom matching where any of the patterns matches with its first atom there (None for none)."""
    smarts = list(smarts)
    return Chem.MolFromSmarts('[' + ','.join(f'$({item})' for item in smarts) + ']') if smarts else None


def _foreign_atom_query(elements: frozenset[str]) -> Chem.Mol | None:
    """A query atom for any element outside ``elements`` (None when a symbol is not an element: then every
    molecule's symbols are compared)."""
    table = Chem.GetPeriodicTable()
    numbers = {table.GetElementSymbol(number): number for number in range(1, 119)}
    if not elements <= set(numbers):
        return None
    return Chem.MolFromSmarts('[' + ';'.join(f'!#{numbers[symbol]}' for symbol in sorted(elements)) + ']')


# -- the screener --------------------------------------------------------------------------------------------------


class RulesScreener(Screener):
    """Chemistry rules for aqueous zinc-battery additives; see the module docstring for every rule and default.

    ``screen(smiles, rows=None, processes=1)`` screens in ``processes`` worker processes when above 1 (chunked,
    order kept); :meth:`iter_screen` streams a long iterable (a whole library) the same way. :meth:`split` gives the
    cheap and the costly half (setting ``stages``), to run a model between them.
    """

    name = 'rules'
    version = f'{__version__}+rules.{RULES_VERSION}'

    def __init__(self, **settings) -> None:
        unknown = sorted(set(settings) - set(DEFAULTS))
        if unknown:
            raise ScreenerError(f'Unknown `rules` setting(s) {", ".join(unknown)}; known: {", ".join(DEFAULTS)}')
        resolved = {**DEFAULTS, **settings}
        # Lists, not tuples or sets: the settings go into the provenance (an AiiDA Dict) as they are.
        for key in ('allowed_elements', 'redox_ignore', 'pains_catalogs', 'tox_catalogs'):
            resolved[key] = list(resolved[key])
        if resolved['tox_alerts'] not in TOX_MODES:
            raise ScreenerError(f'tox_alerts must be one of {TOX_MODES}, got {resolved["tox_alerts"]!r}')
        if resolved['stages'] not in STAGES:
            raise ScreenerError(f'stages must be one of {STAGES}, got {resolved["stages"]!r}')
        if not 0 < resolved['tox_penalty'] <= 1:
            raise ScreenerError(f'tox_penalty must be in (0, 1], got {resolved["tox_penalty"]}')
        unknown_redox = sorted(set(resolved['redox_ignore']) - {name for name, _, _ in REDOX_ALERTS})
        if unknown_redox:
            raise ScreenerError(f'Unknown redox alert(s) {", ".join(unknown_redox)} in redox_ignore')
        super().__init__(**resolved)
        self._elements = frozenset(resolved['allowed_elements']) | {'H'}
        self._foreign = _foreign_atom_query(self._elements)
        self._redox = tuple(item for item in _REDOX_PATTERNS if item[0] not in resolved['redox_ignore'])
        # Most molecules have no redox alert: one search for any of them first, each alert only after a hit.
        self._any_redox = _any_of(_REDOX_SMARTS[name] for name, _, _ in self._redox)
        self._max_length = _CHARACTERS_PER_ATOM * max(40, resolved['max_heavy_atoms'])
        # Catalogs are built on first use: a worker process builds its own, and ``provenance()`` needs none.
        self._pains: AlertCatalog | None = None
        self._tox: AlertCatalog | None = None

    # -- public API ------------------------------------------------------------------------------------------------

    @property
    def label(self) -> str:
        """``rules``, or ``rules.cheap`` / ``rules.costly`` for a half (its stage label in a cascade)."""
        stages = self.settings['stages']
        return self.name if stages == 'all' else f'{self.name}.{stages}'

    def split(self) -> tuple[RulesScreener, RulesScreener]:
        """The cheap and the costly half of this screener (same settings otherwise), for a funnel that runs a model
        between them; on what the cheap half passes, the costly half gives this screener's screenings."""
        if self.settings['stages'] != 'all':
            raise ScreenerError(f'a rules screener with stages={self.settings["stages"]!r} is already a half')
        return type(self)(**{**self.settings, 'stages': 'cheap'}), type(self)(**{**self.settings, 'stages': 'costly'})

    def screen(
        self,
        smiles: Sequence[str],
        rows: Sequence[dict] | None = None,
        *,
        processes: int = 1,
        chunk_size: int = 1000,
    ) -> list[Screening]:
        """One :class:`Screening` per SMILES, in order; ``processes`` > 1 screens in worker processes."""
        if rows is not None and len(rows) != len(smiles):
            raise ScreenerError(f'{len(rows)} rows given for {len(smiles)} SMILES')
        if processes <= 1:
            with BlockLogs():  # RDKit's parse errors go to stderr; here they become reasons
                return [self._screen_one(item, None if rows is None else rows[i])[0] for i, item in enumerate(smiles)]
        return list(self.iter_screen(smiles, rows, processes=processes, chunk_size=chunk_size))

    def screen_parsed(
        self, smiles: Sequence[str], mols: Sequence | None = None, rows: Sequence[dict] | None = None
    ) -> tuple[list[Screening], list[Chem.Mol | None]]:
        """:meth:`screen` in this process, using the molecules an earlier screener parsed (see
        :meth:`.Screener.screen_parsed`) and returning the molecules it parsed (the judged largest fragment; None
        where the SMILES could not be read)."""
        if rows is not None and len(rows) != len(smiles):
            raise ScreenerError(f'{len(rows)} rows given for {len(smiles)} SMILES')
        if mols is not None and len(mols) != len(smiles):
            raise ScreenerError(f'{len(mols)} molecules given for {len(smiles)} SMILES')
        with BlockLogs():
            results = [
                self._screen_one(item, None if rows is None else rows[i], None if mols is None else mols[i])
                for i, item in enumerate(smiles)
            ]
        return [screening for screening, _ in results], [mol for _, mol in results]

    def iter_screen(
        self,
        smiles: Iterable[str],
        rows: Iterable[dict] | None = None,
        *,
        processes: int = 1,
        chunk_size: int = 1000,
    ) -> Iterator[Screening]:
        """Screen an iterable lazily, ``chunk_size`` molecules at a time, in order; at most two chunks per worker
        are in flight, so a library of millions streams in bounded memory."""
        pairs = zip(smiles, rows, strict=True) if rows is not None else ((item, None) for item in smiles)
        chunks = iter(lambda: list(islice(pairs, chunk_size)), [])
        if processes <= 1:
            for chunk in chunks:
                yield from self._screen_chunk(chunk)
            return
        with multiprocessing.get_context().Pool(processes, _init_worker, (dict(self.settings),)) as pool:
            pending: collections.deque = collections.deque()
            for chunk in chunks:
                pending.append(pool.apply_async(_screen_in_worker, (chunk,)))
                if len(pending) >= 2 * processes:
                    yield from pending.popleft().get()
            while pending:
                yield from pending.popleft().get()

    def alerts(self, smiles: str) -> dict[str, list[str]]:
        """Every redox, PAINS and Brenk/NIH alert of ``smiles``'s largest fragment, by kind (for a chemist's look)."""
        with BlockLogs():
            mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            raise ValueError(f'RDKit cannot parse {smiles!r}')
        mol = _largest_fragment(mol)
        words = AlertCatalog.fingerprint(mol)
        return {
            'redox': [name for name, pattern, _ in self._redox if mol.HasSubstructMatch(pattern)],
            'pains': [name for _, name in self._pains_catalog().matches(mol, words)],
            'tox': [name for _, name in self._tox_catalog().matches(mol, words)],
        }

    # -- internals -------------------------------------------------------------------------------------------------

    def _pains_catalog(self) -> AlertCatalog:
        if self._pains is None:
            self._pains = alert_catalog(self.settings['pains_catalogs'])
        return self._pains

    def _tox_catalog(self) -> AlertCatalog:
        if self._tox is None:
            catalogs = self.settings['tox_catalogs'] if self.settings['tox_alerts'] != 'off' else []
            self._tox = alert_catalog(catalogs)
        return self._tox

    def _screen_chunk(self, chunk: list[tuple[str, dict | None]]) -> list[Screening]:
        with BlockLogs():
            return [self._screen_one(smiles, row)[0] for smiles, row in chunk]

    def _parse(self, smiles: str) -> Chem.Mol | Screening:
        """The judged molecule of ``smiles`` (its largest fragment), or the failed :class:`Screening` saying why."""
        if not isinstance(smiles, str) or not smiles.strip():
            return Screening(smiles=smiles, passed=False, reasons=['empty or non-string SMILES'])
        if len(smiles) > self._max_length:
            reason = f'SMILES of {len(smiles)} characters, too large to be an additive (limit {self._max_length})'
            return Screening(smiles=smiles, passed=False, reasons=[reason])
        mol = parse_smiles(smiles)  # MolFromSmiles without stereo perception, which no rule reads
        if mol is None or mol.GetNumAtoms() == 0:  # MolFromSmiles itself, for its reason (rare: no need for speed)
            try:
                mol = Chem.MolFromSmiles(smiles)
            except Exception as error:  # RDKit raises for some inputs (e.g. bad ring closures) as well
                return Screening(smiles=smiles, passed=False, reasons=[f'unparseable SMILES ({error})'])
            if mol is None or mol.GetNumAtoms() == 0:
                reason = 'unparseable SMILES (RDKit cannot sanitise it)'
                return Screening(smiles=smiles, passed=False, reasons=[reason])
        return _largest_fragment(mol) if '.' in smiles else mol

    def _screen_one(
        self, smiles: str, row: dict | None, mol: Chem.Mol | None = None
    ) -> tuple[Screening, Chem.Mol | None]:
        """The rules of ``stages`` for one SMILES, and the molecule judged (None if unreadable); never raises for a
        bad molecule (the reason says what is wrong). ``mol``: the molecule as :meth:`_parse` gives it, when already
        parsed."""
        settings = self.settings
        parsed_here = mol is None or not isinstance(smiles, str) or not smiles.strip() or len(smiles) > self._max_length
        if parsed_here:
            parsed = self._parse(smiles)
            if isinstance(parsed, Screening):
                return parsed, None
            mol = parsed
        elif '.' in smiles:
            mol = _largest_fragment(mol)  # a no-op on the largest fragment an earlier screener handed on

        reasons: list[str] = []
        predictions: dict[str, float] = {}
        # Elements and size, in every stage: a molecule failing these is outside what this platform treats; nothing
        # else is computed. One substructure search for a foreign element; the symbols are listed only for a
        # molecule that has one.
        if self._foreign is None or mol.HasSubstructMatch(self._foreign):
            unknown = sorted({atom.GetSymbol() for atom in mol.GetAtoms()} - self._elements)
            if unknown:
                reasons.append(f'element(s) {", ".join(unknown)} not allowed')
        heavy = mol.GetNumHeavyAtoms()
        predictions['heavy_atoms'] = float(heavy)
        if heavy > settings['max_heavy_atoms']:
            reasons.append(f'{heavy} heavy atoms above {settings["max_heavy_atoms"]}')
        elif heavy < settings['min_heavy_atoms']:
            reasons.append(f'{heavy} heavy atoms below {settings["min_heavy_atoms"]}')
        if reasons:
            return self._result(smiles, reasons, predictions, None), mol

        stages = settings['stages']
        # The costly half computes the cheap descriptors (its predictions and score need them) but judges none.
        # The atom table is left on a molecule parsed here, for the screeners after this one (gnn featurisation,
        # the costly half), which get the same molecule object handed on.
        table = atom_table(mol, keep=parsed_here)
        logp, n_donors = self._cheap_criteria(
            smiles, mol, row, predictions, reasons, table=table, judge=stages != 'costly'
        )
        if stages == 'cheap':
            # The desirability with the costly terms at their best: an upper bound of the final score.
            return self._result(smiles, reasons, predictions, self._score(logp, n_donors, None, 0)), mol
        if reasons and not settings['complete_reasons']:
            return self._result(smiles, reasons, predictions, None), mol
        sa, n_tox = self._costly_criteria(mol, table, predictions, reasons)
        if reasons:
            return self._result(smiles, reasons, predictions, None), mol
        return self._result(smiles, reasons, predictions, self._score(logp, n_donors, sa, n_tox)), mol

    def _cheap_criteria(  # noqa: PLR0912 - one rule a branch
        self,
        smiles: str,
        mol: Chem.Mol,
        row: dict | None,
        predictions: dict,
        reasons: list[str],
        *,
        table: AtomTable | None,
        judge: bool,
    ) -> tuple[float, int]:
        """Charge, logP, TPSA, donors, redox alerts and orbital window: their predictions and, when ``judge``, their
        reasons. ``table``: the molecule's atom table (read once for charges, logP and the alert pre-screen). Returns
        logP and the donor count."""
        settings = self.settings
        charge = Chem.GetFormalCharge(mol)
        predictions['charge'] = float(charge)
        if judge and not settings['min_charge'] <= charge <= settings['max_charge']:
            reasons.append(f'net charge {charge:+d} outside {settings["min_charge"]:+d}..{settings["max_charge"]:+d}')
        # Atom charges and radicals only come from bracket atoms (or CXSMILES extensions): without either, an
        # organic-subset atom is neutral and filled up with implicit hydrogens.
        if judge and ('[' in smiles or '|' in smiles):
            if table is not None and table.radicals is not None:  # charges and radicals from the table
                symbol = _symbol
                for index, (atom, radical) in enumerate(zip(table.atoms, table.radicals, strict=True)):
                    if abs(atom[2]) > 1:
                        reasons.append(f'formal charge {atom[2]:+d} on {symbol(atom[0])}{index}')
                    if radical:
                        reasons.append(f'radical on {symbol(atom[0])}{index} (open shell)')
            else:
                get_atom = mol.GetAtomWithIdx
                for index in range(mol.GetNumAtoms()):
                    atom = get_atom(index)
                    if abs(atom.GetFormalCharge()) > 1:
                        reasons.append(f'formal charge {atom.GetFormalCharge():+d} on {atom.GetSymbol()}{index}')
                    if atom.GetNumRadicalElectrons():
                        reasons.append(f'radical on {atom.GetSymbol()}{index} (open shell)')

        logp = _CRIPPEN(mol, table)
        predictions['logp'] = logp
        if judge and charge == 0 and settings['logp_max'] is not None and logp > settings['logp_max']:
            reasons.append(f'logP {logp:.2f} above {settings["logp_max"]:.2f}')
        if judge and settings['logp_min'] is not None and logp < settings['logp_min']:
            reasons.append(f'logP {logp:.2f} below {settings["logp_min"]:.2f}')
        tpsa = rdMolDescriptors.CalcTPSA(mol)
        predictions['tpsa_a2'] = tpsa
        if judge and settings['tpsa_min'] is not None and tpsa < settings['tpsa_min']:
            reasons.append(f'TPSA {tpsa:.1f} Å² below {settings["tpsa_min"]:.1f}')

        # The donors of find_donors (whose SMARTS count implicit hydrogens too: same donors as with AddHs), counted.
        n_donors = count_donors(mol, table)
        predictions['n_donors'] = float(n_donors)
        if not judge:
            return logp, n_donors
        if charge <= 0 and n_donors < settings['min_donors']:
            reasons.append(f'{n_donors} Zn2+ donor atom(s), fewer than {settings["min_donors"]}')
        if not settings['redox_alerts'] or self._any_redox is None:
            pass
        elif table is not None:  # only the alerts the table leaves possible
            possible = _possible_redox_alerts(table)
            for name, pattern, why in self._redox:
                if name in possible and mol.HasSubstructMatch(pattern):
                    reasons.append(f'redox alert {name}: {why}')
        elif mol.HasSubstructMatch(self._any_redox):
            for name, pattern, why in self._redox:
                if mol.HasSubstructMatch(pattern):
                    reasons.append(f'redox alert {name}: {why}')
        if row is not None:
            reasons.extend(self._orbital_reasons(row))
        return logp, n_donors

    def _costly_criteria(
        self, mol: Chem.Mol, table: AtomTable | None, predictions: dict, reasons: list[str]
    ) -> tuple[float, int]:
        """SA score, PAINS and Brenk/NIH: their predictions and reasons; returns the SA score and the number of
        Brenk/NIH alerts (Brenk/NIH are skipped after a failure unless ``complete_reasons``)."""
        settings = self.settings
        # Of the molecule as bought or made: the score's fragment table knows few charged fragments, so citrate3-
        # scores 4.7 where citric acid scores 2.4.
        sa = sa_score(_uncharged(mol))
        predictions['sa_score'] = sa
        if settings['sa_max'] is not None and sa > settings['sa_max']:
            reasons.append(f'SA score {sa:.2f} above {settings["sa_max"]:.2f}')
        # Pre-screens shared by PAINS and Brenk/NIH: the pattern fingerprint and the kinds of the atoms (read after
        # both catalogs are built: they register the query atoms the kinds are asked about).
        pains_catalog, tox_catalog = self._pains_catalog(), self._tox_catalog()
        kinds = AlertCatalog.kinds(mol, table)
        words = AlertCatalog.fingerprint(mol) if kinds is None or _USE_FINGERPRINT else None
        pains = pains_catalog.matches(mol, words, not settings['complete_reasons'], kinds)
        if pains:
            reasons.append(f'PAINS alert {", ".join(name for _, name in pains)}')
        if reasons and not settings['complete_reasons']:
            return sa, 0
        tox = tox_catalog.matches(mol, words, kinds=kinds)
        predictions['n_tox_alerts'] = float(len(tox))
        if tox and settings['tox_alerts'] == 'fail':
            reasons.append(f'toxicity/reactivity alert {", ".join(f"{name} ({catalog})" for catalog, name in tox)}')
        return sa, len(tox)

    def _score(self, logp: float, n_donors: int, sa: float | None, n_tox: int) -> float:
        """The Derringer desirability (module docstring); ``sa`` None: the SA term at its best, 1."""
        settings = self.settings
        terms = (
            _linear_desirability(logp, 0.0, settings['logp_max']),
            1.0 if sa is None else _linear_desirability(sa, 3.5, settings['sa_max']),
            1.0 if n_donors >= 2 else 0.7,
            settings['tox_penalty'] ** n_tox if settings['tox_alerts'] == 'penalty' else 1.0,
        )
        return math.prod(terms) ** (1 / len(terms))

    def _orbital_reasons(self, row: dict) -> list[str]:
        """HOMO/LUMO of the meta-database row against the window; missing or NaN values are not judged."""
        reasons = []
        homo, lumo = _finite(row.get('homo_ev')), _finite(row.get('lumo_ev'))
        limit = self.settings['homo_ev_max']
        if homo is not None and limit is not None and homo > limit:
            reasons.append(f'HOMO {homo:.2f} eV above {limit:.2f} eV: {_OXIDISED}')
        limit = self.settings['lumo_ev_min']
        if lumo is not None and limit is not None and lumo < limit:
            reasons.append(f'LUMO {lumo:.2f} eV below {limit:.2f} eV: {_REDUCED}')
        return reasons

    @staticmethod
    def _result(smiles: str, reasons: list[str], predictions: dict, score: float | None) -> Screening:
        passed = not reasons
        return Screening(
            smiles=smiles,
            passed=passed,
            score=score if passed else 0.0,
            predictions=predictions,
            uncertainty=dict.fromkeys(predictions),  # rules are exact for their own definitions: no uncertainty
            reasons=reasons,
        )


_PERIODIC_TABLE = Chem.GetPeriodicTable()


def _symbol(number: int) -> str:
    """The element symbol of an atomic number, as ``Atom.GetSymbol`` gives it (dummy atoms never have a table)."""
    return _PERIODIC_TABLE.GetElementSymbol(number)


_UNCHARGER = None


def _uncharged(mol: Chem.Mol) -> Chem.Mol:
    """``mol`` neutralised where it has charged atoms (RDKit's Uncharger; a quaternary N stays charged)."""
    global _UNCHARGER  # noqa: PLW0603 - built once per process, on the first charged molecule
    if not any(atom.GetFormalCharge() for atom in mol.GetAtoms()):
        return mol
    if _UNCHARGER is None:
        from rdkit.Chem.MolStandardize import rdMolStandardize

        _UNCHARGER = rdMolStandardize.Uncharger()
    with BlockLogs():
        return _UNCHARGER.uncharge(mol)


def _largest_fragment(mol: Chem.Mol) -> Chem.Mol:
    """The fragment with the most heavy atoms (the first of equal ones), as ``parse_ligand`` keeps it."""
    fragments = Chem.GetMolFrags(mol, asMols=True, sanitizeFrags=True)
    if len(fragments) == 1:
        return mol
    return max(fragments, key=lambda fragment: fragment.GetNumHeavyAtoms())


def _finite(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


# -- worker processes ----------------------------------------------------------------------------------------------

_WORKER: RulesScreener | None = None


def _init_worker(settings: dict) -> None:
    global _WORKER  # noqa: PLW0603 - one screener per worker process, built once by the pool's initializer
    _WORKER = RulesScreener(**settings)


def _screen_in_worker(chunk: list[tuple[str, dict | None]]) -> list[Screening]:
    assert _WORKER is not None, 'worker not initialised'
    return _WORKER._screen_chunk(chunk)


__all__ = (
    'DEFAULTS',
    'REDOX_ALERTS',
    'RULES_VERSION',
    'STAGES',
    'AlertCatalog',
    'RulesScreener',
    'alert_catalog',
    'sa_score',
)
