"""Additive molecules as Zn2+ ligands: SMILES checks, donor atoms, 3D conformers and chelating donor pairs.

Everything here is plain RDKit/numpy/ASE; nothing creates AiiDA nodes. The RDKit molecule returned by
:func:`parse_ligand` carries explicit hydrogens, and the conformers from :func:`embed_conformers` keep its atom order,
so a donor index means the same atom in the molecule, in every conformer and (offset by the ligand's position) in a
complex built from it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from rdkit import Chem
from rdkit.Chem import AllChem, rdMolAlign
from rdkit.rdBase import BlockLogs

REASONS = (
    'invalid_smiles',
    'unsupported_elements',
    'radical',
    'impossible_charge',
    'no_donor',
    'too_large',
    'embedding_failed',
)
# Net charges we accept: aminocarboxylate chelators exist in water as tri- and tetra-anions (NTA3-, EDTA4-, citrate3-),
# which implicit water (ALPB, C-PCM) describes; cations stop at +2 (a protonated diamine), beyond which a molecule is
# a bare ion, not a ligand of Zn2+.
MIN_NET_CHARGE = -4
MAX_NET_CHARGE = 2
# Conformers closer than this heavy-atom RMSD (Å, after optimal alignment) are treated as the same conformer.
PRUNE_RMSD = 0.5


class LigandError(ValueError):
    """A molecule that cannot be used as a ligand; ``reason`` is one of :data:`REASONS`, ``smiles`` the input."""

    def __init__(self, smiles: str, reason: str, detail: str) -> None:
        if reason not in REASONS:
            raise ValueError(f'Unknown ligand error reason {reason!r}; expected one of {REASONS}.')
        self.smiles = smiles
        self.reason = reason
        super().__init__(f'Ligand {smiles!r}: {detail}')


# Monatomic cations of salts and electrolytes: never the additive of a salt, always its spectators.
SPECTATOR_CATIONS = frozenset({'Li', 'Na', 'K', 'Rb', 'Cs', 'Mg', 'Ca', 'Sr', 'Ba', 'Zn', 'Al', 'Mn'})


def main_fragment(fragments) -> int:
    """Index of a salt's additive among its fragments: the largest that is not a monatomic metal cation (the first
    of equal ones, so the choice follows the SMILES order); the first fragment when all are such cations.

    NaCl is chloride with Na+ dropped, as a chemist reads it (both fragments have one heavy atom).
    """

    def rank(index: int) -> tuple[bool, int]:
        fragment = fragments[index]
        atoms = fragment.GetAtoms()
        cation = (
            fragment.GetNumAtoms() == 1 and atoms[0].GetSymbol() in SPECTATOR_CATIONS and atoms[0].GetFormalCharge() > 0
        )
        return (not cation, fragment.GetNumHeavyAtoms())

    return max(range(len(fragments)), key=rank)


def parse_ligand(smiles: str, allowed_elements: Iterable[str], max_heavy_atoms: int) -> Chem.Mol:
    """Return the sanitised molecule of ``smiles`` with explicit hydrogens (heavy atoms first, in SMILES order).

    Multi-fragment SMILES (salts such as ``[Na+].CC(=O)[O-]``) keep only the fragment :func:`main_fragment` picks
    (the largest that is not a metal cation): a counter-ion is not part of the ligand, and the Zn2+ complex is built
    for the ligand alone. The dropped fragments are recorded, as dot-separated SMILES, in the molecule's string property
    ``_dropped_fragments`` (empty when nothing was dropped); :func:`dropped_fragments` reads it back.

    Hydrogen is always allowed; ``allowed_elements`` lists the other elements (an iterable of symbols, or one string
    of symbols such as ``'CHNOSCl'`` or ``'C, H, Cl'``).

    :param smiles: the ligand's SMILES.
    :param allowed_elements: element symbols the downstream methods (basis sets, force fields) can handle.
    :param max_heavy_atoms: largest number of non-hydrogen atoms accepted (after dropping counter-ions).
    :raises LigandError: with reason 'invalid_smiles', 'unsupported_elements', 'impossible_charge', 'radical' or
        'too_large'.
    """
    # RDKit prints parse/sanitisation errors to stderr; we report them through LigandError instead.
    with BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None or mol.GetNumAtoms() == 0:
        raise LigandError(smiles, 'invalid_smiles', 'RDKit cannot parse or sanitise this SMILES.')

    fragments = Chem.GetMolFrags(mol, asMols=True, sanitizeFrags=True)
    dropped: list[str] = []
    if len(fragments) > 1:
        keep = main_fragment(fragments)
        dropped = [Chem.MolToSmiles(fragment) for i, fragment in enumerate(fragments) if i != keep]
        mol = fragments[keep]

    if isinstance(allowed_elements, str):
        # 'CHNOCl', 'C H N O Cl' or 'C,H,N,O,Cl': iterating the string itself would split 'Cl' into 'C' and 'l'.
        allowed_elements = re.findall('[A-Z][a-z]?', allowed_elements)
    allowed = {element.strip() for element in allowed_elements} | {'H'}
    unsupported = sorted({atom.GetSymbol() for atom in mol.GetAtoms()} - allowed)
    if unsupported:
        raise LigandError(smiles, 'unsupported_elements', f'contains unsupported element(s) {", ".join(unsupported)}.')

    # Charge before radicals: RDKit gives 'C[N+2]' two radical electrons, but what is wrong with it is the charge.
    charge = Chem.GetFormalCharge(mol)
    if not MIN_NET_CHARGE <= charge <= MAX_NET_CHARGE:
        raise LigandError(
            smiles, 'impossible_charge', f'net charge {charge:+d} outside {MIN_NET_CHARGE:+d}..{MAX_NET_CHARGE:+d}.'
        )
    # Sulfonate, nitro, nitrate, N-oxide and ammonium groups are all written with ±1 formal charges; a ±2 (or
    # larger) charge on one atom of an organic molecule is not a species found in an electrolyte.
    overcharged = [
        f'{atom.GetSymbol()}{atom.GetIdx()} ({atom.GetFormalCharge():+d})'
        for atom in mol.GetAtoms()
        if abs(atom.GetFormalCharge()) > 1
    ]
    if overcharged:
        raise LigandError(smiles, 'impossible_charge', f'implausible atomic formal charge on {", ".join(overcharged)}.')

    radicals = [f'{atom.GetSymbol()}{atom.GetIdx()}' for atom in mol.GetAtoms() if atom.GetNumRadicalElectrons()]
    if radicals:
        raise LigandError(smiles, 'radical', f'has unpaired electrons on {", ".join(radicals)} (open shell).')

    heavy = mol.GetNumHeavyAtoms()
    if heavy > max_heavy_atoms:
        raise LigandError(smiles, 'too_large', f'has {heavy} heavy atoms, more than the limit of {max_heavy_atoms}.')

    mol = Chem.AddHs(mol)
    mol.SetProp('_dropped_fragments', '.'.join(dropped))
    return mol


def dropped_fragments(mol: Chem.Mol) -> list[str]:
    """SMILES of the fragments :func:`parse_ligand` dropped from a multi-fragment input (empty list if none)."""
    if not mol.HasProp('_dropped_fragments'):
        return []
    value = mol.GetProp('_dropped_fragments')
    return value.split('.') if value else []


def net_charge(mol: Chem.Mol) -> int:
    """Net formal charge of the molecule in units of e."""
    return int(Chem.GetFormalCharge(mol))


@dataclass(frozen=True)
class Donor:
    """A Zn2+ donor atom: its index in the molecule, element, kind (e.g. 'carbonyl O') and whether it is anionic."""

    index: int
    element: str
    kind: str
    anionic: bool


# Donor kinds as SMARTS, in priority order: an atom matching several patterns gets the first kind. The first atom of
# each pattern is the donor. The molecule has explicit hydrogens, so X (connectivity) counts H atoms, as H does.
_NOT_ACYL = '!$([#6]=[O,S,N])'  # a carbon that is not a carbonyl/thiocarbonyl/imine carbon
DONOR_PATTERNS: tuple[tuple[str, str], ...] = (
    ('water O', '[OX2H2]'),
    # Halide ions bind Zn2+ weakly (log K1 0-1.3): rarely additives themselves, but present in every chloride salt.
    ('halide', '[F-,Cl-,Br-,I-]'),
    ('hydroxide O', '[OX1H1-]'),
    # Both O of a carboxylate share the charge (resonance); carbonate is included.
    ('carboxylate O', '[$([OX1-][CX3]=[OX1]),$([OX1]=[CX3][OX1-])]'),
    ('nitrate O', '[OX1]~[NX3+](~[OX1])~[OX1]'),
    # Terminal O on P: phosphoryl P=O (phosphate, phosphonate, phosphine oxide) and anionic P-O-.
    ('phosphate O', '[$([OX1]=P),$([OX1-]P)]'),
    ('sulfonate O', '[$([OX1-][SX4](=O)=O),$([OX1]=[SX4](=O)[OX1-])]'),
    # Sulfone, sulfonamide, sulfonate/sulfate ester: S(=O)(=O) without an anionic O.
    ('sulfonyl O', '[OX1]=[SX4]=[OX1]'),
    ('sulfoxide O', '[$([OX1]=[SX3]),$([OX1-][SX3+])]'),
    ('phenoxide O', '[OX1-]c'),
    ('alkoxide O', f'[OX1-][#6;{_NOT_ACYL}]'),
    # Ketone, aldehyde, ester, amide, urea, carbonate, carboxylic acid C=O; aromatic c=O (pyridones) too.
    ('carbonyl O', '[OX1]=[#6X3]'),
    # Alcohols and phenols; the OH of a carboxylic acid is not a donor (its lone pairs are conjugated with C=O).
    ('hydroxyl O', f'[OX2H1][#6;{_NOT_ACYL}]'),
    # Ethers only: the single-bonded O of esters (C(=O)-O-C, P-O-C, S-O-C) and aromatic O (furan) are not donors.
    ('ether O', f'[OX2;!a]([#6;{_NOT_ACYL}])[#6;{_NOT_ACYL}]'),
    # sp3 neutral amines; amide, sulfonamide, aniline and enamine N (conjugated, sp2 in RDKit) and ammonium are not.
    # Deprotonated imides and sulfonamides (saccharinate, acesulfamate): the N- binds Zn2+, as in [Zn(sac)2(H2O)4].
    ('imidate N', '[NX2-]'),
    # Azolate anions (tetrazolate, triazolate, imidazolate): every ring N carries part of the charge.
    ('azolate N', '[n-,$([nX2;+0]:[n-]),$([nX2;+0]:[c,n]:[n-])]'),
    ('amine N', '[NX3;+0;^3;!$(N-[!#1]=[O,S,N])]'),
    ('imine N', '[NX2;+0;!a]=[#6]'),
    # Aromatic N with its lone pair in the ring plane (pyridine, imidazole N3); pyrrole-type N (X3) is not a donor.
    ('pyridine N', '[nX2;+0]'),
    ('nitrile N', '[NX1]#[CX2]'),
    ('thiolate S', '[SX1-][#6]'),
    ('thiol S', '[SX2H1][#6]'),
    ('thioether S', '[SX2;+0;!a]([#6])[#6]'),
    ('thiocarbonyl S', '[SX1]=[#6]'),
)
_COMPILED_PATTERNS = tuple((kind, Chem.MolFromSmarts(smarts)) for kind, smarts in DONOR_PATTERNS)


def _heavy_neighbours(atom: Chem.Atom) -> list[Chem.Atom]:
    return [neighbour for neighbour in atom.GetNeighbors() if neighbour.GetAtomicNum() > 1]


def _is_anionic(atom: Chem.Atom) -> bool:
    """Whether the donor carries (a share of) a negative charge: its own, or its group's through resonance.

    A terminal donor (one heavy neighbour) belongs to the group of that neighbour and all of its terminal O/S; the
    group is anionic when its formal charges sum below zero. So both O of a carboxylate and the P=O of a phosphate
    monoanion count as anionic, while the charge-separated sulfoxide [S+][O-] and nitro [N+](=O)[O-] do not.
    """
    neighbours = _heavy_neighbours(atom)
    if len(neighbours) != 1:
        return atom.GetFormalCharge() < 0
    centre = neighbours[0]
    group = [centre] + [n for n in _heavy_neighbours(centre) if n.GetSymbol() in ('O', 'S') and n.GetDegree() == 1]
    return sum(member.GetFormalCharge() for member in group) < 0


def find_donors(mol: Chem.Mol) -> list[Donor]:
    """Return the Zn2+ donor atoms (O, N, S) of ``mol`` ordered by atom index, each with its kind.

    Kinds are matched with :data:`DONOR_PATTERNS` in priority order; an atom gets the first kind it matches. The
    molecule should have explicit hydrogens (as :func:`parse_ligand` returns it). An empty list means the molecule has
    no donor (e.g. tetramethylammonium); :func:`require_donors` turns that into a :class:`LigandError`.
    """
    kinds: dict[int, str] = {}
    for kind, pattern in _COMPILED_PATTERNS:
        # The donor is the first atom of each pattern; the rest is context. uniquify=False because the same donor
        # may only be reachable through a context match that uniquify would discard as a duplicate atom set.
        for match in mol.GetSubstructMatches(pattern, uniquify=False):
            kinds.setdefault(match[0], kind)
    donors = []
    for index in sorted(kinds):
        atom = mol.GetAtomWithIdx(index)
        donors.append(Donor(index=index, element=atom.GetSymbol(), kind=kinds[index], anionic=_is_anionic(atom)))
    return donors


def require_donors(mol: Chem.Mol) -> list[Donor]:
    """Like :func:`find_donors`, but raise :class:`LigandError` ('no_donor') when the molecule has none."""
    donors = find_donors(mol)
    if not donors:
        raise LigandError(Chem.MolToSmiles(Chem.RemoveHs(mol)), 'no_donor', 'has no O, N or S atom that can bind Zn2+.')
    return donors


def symmetry_classes(mol: Chem.Mol) -> list[int]:
    """Symmetry class (canonical rank without tie breaking) of each atom of ``mol``, resonance included.

    Plain canonical ranks tell the two O of a written carboxylate C(=O)[O-] apart by bond order and charge, although
    resonance makes them equivalent. The ranks are therefore computed on the hydrogen-explicit graph with all bonds
    single and all charges zero: with every H an atom, the graph still distinguishes sp3/sp2/sp centres, and the
    only extra equivalences are resonance ones (carboxylate, sulfonate, phosphate, nitrate O; Kekulé rings).
    """
    graph = Chem.RWMol(Chem.AddHs(mol))
    for bond in graph.GetBonds():
        bond.SetBondType(Chem.BondType.SINGLE)
        bond.SetIsAromatic(False)
    for atom in graph.GetAtoms():
        atom.SetFormalCharge(0)
        atom.SetIsAromatic(False)
        atom.SetNoImplicit(True)
        atom.SetNumExplicitHs(0)
    graph.UpdatePropertyCache(strict=False)
    # AddHs appends hydrogens, so the first mol.GetNumAtoms() ranks belong to the atoms of ``mol``.
    return list(Chem.CanonicalRankAtoms(graph, breakTies=False))[: mol.GetNumAtoms()]


def symmetry_unique(mol: Chem.Mol, donors: list[Donor]) -> list[Donor]:
    """Drop donors equivalent by symmetry or resonance to an earlier one (e.g. the two O of a carboxylate).

    Equivalence is :func:`symmetry_classes`; the first donor of each class is kept, in the given order.
    """
    ranks = symmetry_classes(mol)
    seen: set[int] = set()
    unique = []
    for donor in donors:
        if ranks[donor.index] not in seen:
            seen.add(ranks[donor.index])
            unique.append(donor)
    return unique


def _optimise(mol: Chem.Mol) -> tuple[str, list[float]]:
    """Optimise every conformer in place with MMFF94, else UFF; return the force field and energies in kcal/mol."""
    # The parameter checks print every unknown atom type to stderr; the fallback below is the answer to those.
    with BlockLogs():
        has_mmff = AllChem.MMFFHasAllMoleculeParams(mol)
        has_uff = not has_mmff and AllChem.UFFHasAllMoleculeParams(mol)
    if has_mmff:
        results = AllChem.MMFFOptimizeMoleculeConfs(mol, numThreads=1, maxIters=2000, mmffVariant='MMFF94')
        return 'MMFF94', [energy for _, energy in results]
    if has_uff:
        results = AllChem.UFFOptimizeMoleculeConfs(mol, numThreads=1, maxIters=2000)
        return 'UFF', [energy for _, energy in results]
    # No force field covers the molecule: keep the ETKDG geometries (already chemically sensible), unranked.
    return 'none', [0.0] * mol.GetNumConformers()


def embed_conformers(mol: Chem.Mol, n_conformers: int, seed: int = 42) -> list[Atoms]:
    """Return up to ``n_conformers`` distinct 3D conformers of ``mol``, lowest force-field energy first.

    ETKDGv3 embedding with ``seed`` (single-threaded, so the result is reproducible), then MMFF94 optimisation, or UFF
    where MMFF94 lacks parameters. Conformers within :data:`PRUNE_RMSD` Å heavy-atom RMSD (symmetry-aware, after
    alignment) of a lower-energy one are dropped. Atoms keep the order of ``mol``. Each ``Atoms.info`` holds
    ``energy`` (kcal/mol; only differences are meaningful), ``force_field``, ``conformer_id`` (embedding index, before
    pruning) and ``charge`` (net formal charge).

    :param mol: molecule with explicit hydrogens (from :func:`parse_ligand`); it is not modified.
    :param n_conformers: number of conformers to embed before pruning.
    :param seed: ETKDG random seed.
    :raises LigandError: 'embedding_failed' when no conformer can be embedded.
    """
    if n_conformers < 1:
        raise ValueError(f'n_conformers must be at least 1, got {n_conformers}.')
    work = Chem.Mol(mol)
    work.RemoveAllConformers()
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    params.numThreads = 1
    conformer_ids = list(AllChem.EmbedMultipleConfs(work, numConfs=n_conformers, params=params))
    if not conformer_ids:
        # Strained or crowded molecules sometimes only embed from random starting coordinates.
        params.useRandomCoords = True
        conformer_ids = list(AllChem.EmbedMultipleConfs(work, numConfs=n_conformers, params=params))
    if not conformer_ids:
        smiles = Chem.MolToSmiles(Chem.RemoveHs(mol))
        raise LigandError(smiles, 'embedding_failed', 'RDKit ETKDG could not embed any 3D conformer.')

    force_field, energies = _optimise(work)
    order = sorted(range(len(conformer_ids)), key=lambda i: (energies[i], i))
    heavy = Chem.RemoveHs(work)
    kept: list[int] = []
    for i in order:
        if all(rdMolAlign.GetBestRMS(heavy, heavy, conformer_ids[j], conformer_ids[i]) >= PRUNE_RMSD for j in kept):
            kept.append(i)

    symbols = [atom.GetSymbol() for atom in work.GetAtoms()]
    charge = net_charge(work)
    conformers = []
    for i in kept:
        positions = work.GetConformer(conformer_ids[i]).GetPositions()
        info = {'energy': float(energies[i]), 'force_field': force_field, 'conformer_id': i, 'charge': charge}
        conformers.append(Atoms(symbols=symbols, positions=positions, info=info))
    return conformers


# Atoms through which no 4-membered chelate ring closes: an O-S-O or O-P-O bite (about 2.5 Å) with Zn-O-S angles near
# 90° is not found in crystal structures of Zn2+ sulfonates, sulfates or phosphates (one O binds, or the group bridges).
NO_SMALL_RING_CENTRES = ('S', 'P')


def through_small_ring_centre(mol: Chem.Mol, i: int, j: int) -> bool:
    """Whether atoms ``i`` and ``j`` (two bonds apart) share a neighbour in :data:`NO_SMALL_RING_CENTRES`."""
    shared = {n.GetIdx() for n in mol.GetAtomWithIdx(i).GetNeighbors()} & {
        n.GetIdx() for n in mol.GetAtomWithIdx(j).GetNeighbors()
    }
    return any(mol.GetAtomWithIdx(k).GetSymbol() in NO_SMALL_RING_CENTRES for k in shared)


def chelating_pairs(
    atoms: Atoms, mol: Chem.Mol, donors: list[Donor], min_distance: float = 2.4, max_distance: float = 3.3
) -> list[tuple[int, int]]:
    """Donor index pairs that could chelate one Zn2+ in this conformer.

    A pair qualifies when the donors are 2 to 4 bonds apart (a 4-, 5- or 6-membered chelate ring with Zn) and their
    distance in ``atoms`` lies in [``min_distance``, ``max_distance``] Å: cis sites of an octahedron at Zn-O 2.1 Å are
    2.97 Å apart. The two O of one carboxylate (bite ~2.2 Å) therefore usually fail the distance test. Pairs are
    ordered by preference: 5-membered rings first, then 6, then 4, then by index. No 4-membered ring closes through
    an S or P atom (:data:`NO_SMALL_RING_CENTRES`).

    :param atoms: a conformer in the atom order of ``mol``.
    """
    bonds = Chem.GetDistanceMatrix(mol)
    positions = atoms.get_positions()
    preference = {3: 0, 4: 1, 2: 2}  # bonds between donors -> rank (5-ring, 6-ring, 4-ring)
    pairs = []
    for a, first in enumerate(donors):
        for second in donors[a + 1 :]:
            i, j = sorted((first.index, second.index))
            path = int(bonds[i, j])
            distance = float(np.linalg.norm(positions[i] - positions[j]))
            if path == 2 and through_small_ring_centre(mol, i, j):
                continue
            if path in preference and min_distance <= distance <= max_distance:
                pairs.append((preference[path], i, j))
    return [(i, j) for _, i, j in sorted(pairs)]
