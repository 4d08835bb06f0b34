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
- :func:`count_donors`: ``len(find_donors(mol))`` in one substructure search (a recursive SMARTS of all donor
  patterns) instead of one per pattern.
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

__all__ = ('AtomTable', 'CrippenLogP', 'count_donors', 'parse_smiles', 'sa_score')

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


@dataclasses.dataclass
class AtomTable:
    """What the cached descriptors read of a molecule's atoms, with one RDKit call per atom property.

    :param atoms: per atom ``(atomic number, aromatic, formal charge, total hydrogens, degree)``.
    :param neighbours: per atom its ``(bond kind, neighbour index)`` pairs; bond kinds 1, 2, 3 and 4 (aromatic).
    :param bonds: per bond ``(begin atom, end atom, bond kind)``, in RDKit's order.
    """

    atoms: list[tuple[int, bool, int, int, int]]
    neighbours: list[list[tuple[int, int]]]
    bonds: list[tuple[int, int, int]]

    @classmethod
    def of(cls, mol: Chem.Mol) -> AtomTable | None:
        """The table of ``mol``; None where it holds hydrogen atoms or bonds other than single, double, triple and
        aromatic (the callers then ask RDKit)."""
        n_atoms = mol.GetNumAtoms()
        neighbours: list[list[tuple[int, int]]] = [[] for _ in range(n_atoms)]
        bonds = []
        get_bond = mol.GetBondWithIdx
        for index in range(mol.GetNumBonds()):
            bond = get_bond(index)
            kind = _BOND_CODES.get(bond.GetBondType())
            if kind is None:
                return None
            begin, end = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
            neighbours[begin].append((kind, end))
            neighbours[end].append((kind, begin))
            bonds.append((begin, end, kind))
        get_atom = mol.GetAtomWithIdx
        atoms = []
        for index in range(n_atoms):
            atom = get_atom(index)
            number = atom.GetAtomicNum()
            if number == 1:
                return None
            atoms.append(
                (number, atom.GetIsAromatic(), atom.GetFormalCharge(), atom.GetTotalNumHs(), len(neighbours[index]))
            )
        return cls(atoms, neighbours, bonds)


# -- Crippen logP --------------------------------------------------------------------------------------------------


class CrippenLogP:
    """Wildman-Crippen logP equal to ``rdMolDescriptors.CalcCrippenDescriptors(mol)[0]``, with a cache of atom
    environments (see the module docstring). One per process; ``max_entries`` bounds the cache (then misses go to
    RDKit uncached). ``hits`` and ``misses`` count molecules."""

    def __init__(self, max_entries: int = 2_000_000) -> None:
        self.max_entries = max_entries
        self._codes: dict[tuple, int] = {}
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
        tuple; its radius-1 key that and the sorted (bond, neighbour) pairs, each interned as a small integer
        (exact: a dictionary, no hash codes)."""
        codes = self._codes
        lookup = codes.get
        level0 = []
        for key in table.atoms:
            code = lookup(key)
            if code is None:
                code = codes[key] = len(codes)
            level0.append(code)
        neighbours = table.neighbours
        keys = []
        for index, code in enumerate(level0):
            key = (code, *sorted([(kind, level0[other]) for kind, other in neighbours[index]]))
            found = lookup(key)
            if found is None:
                found = codes[key] = len(codes)
            keys.append(found)
        first = list(keys)
        for index, atom in enumerate(table.atoms):
            if atom[0] == _OXYGEN:  # oxygen's types read two bonds out (O=C-X, H-O-C=X): a radius-2 key
                keys[index] = (first[index], *sorted([(kind, first[other]) for kind, other in neighbours[index]]))
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


def count_donors(mol: Chem.Mol) -> int:
    """``len(find_donors(mol))``: the atoms that are the first atom of a match of any donor pattern."""
    return len(mol.GetSubstructMatches(_ANY_DONOR, maxMatches=max(1000, mol.GetNumAtoms())))


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
