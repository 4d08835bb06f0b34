"""Multidentate binding modes: which donor sets can wrap one Zn2+, and a starting geometry for each.

:mod:`~aiida_znadditive.structures.complexes` places a rigid ligand conformer in place of one or two cis waters. That
cannot work for a ligand that wraps Zn2+ with three to six donors (citrate, NTA, EDTA): no conformer of the free
ligand has its donors on the corners of an octahedron. Here the complex is *embedded* as one molecule instead: the
ligand plus a Zn atom bonded (dative bonds) to the chosen donors, with RDKit distance geometry (ETKDGv3) under bounds
that put each donor ``zn_donor`` Å from Zn and the donors at the Zn-donor distances of the octahedral sites they are
assigned to (cis 2.97 Å, trans 4.2 Å at 2.1 Å). The remaining sites get waters, as in the hexaaqua ion. The result
is a start for a quantum-chemical relaxation, like the rigid placements.

Which donor sets count (:func:`chelate_modes`): every donor is within 2-4 bonds of another donor of the set (each
closing a 4-, 5- or 6-membered chelate ring with Zn), no two donors hang on the same atom (the two O of one
carboxylate, sulfonate or phosphate: a 4-membered ring through one centre), and no 4-membered ring closes through an
S or P atom (their O...O bite of about 2.5 Å with Zn-O-S angles near 90° is not a chelate found in crystal
structures of Zn2+ sulfonates, sulfates or phosphates, where each group binds through one O or bridges two metals).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
from ase import Atoms
from rdkit import Chem, DistanceGeometry
from rdkit.Chem import AllChem, rdDistGeom
from rdkit.rdBase import BlockLogs

from aiida_znadditive.structures.complexes import (
    COMFORTABLE_CONTACT,
    MIN_CONTACT,
    BindingMode,
    ComplexGeometry,
    _min_distance,
    build_best_complex,
    enumerate_binding_modes,
    kabsch_rotation,
)
from aiida_znadditive.structures.ligands import Donor, symmetry_classes, through_small_ring_centre
from aiida_znadditive.structures.zinc_aqua import zn_aqua_atoms

# Octahedral sites in the order of zn_aqua_atoms(): +x, -x, +y, -y, +z, -z. For each denticity the site sets a ligand
# may occupy, one per geometric isomer class: tridentate facial (three mutually cis) and meridional; tetradentate
# equatorial (one plane) and cis (a face plus one apex, as NTA's N + 3 O); five and six: all but one, and all.
SITE_SETS: dict[int, tuple[tuple[int, ...], ...]] = {
    2: ((0, 2),),
    3: ((0, 2, 4), (0, 2, 1)),
    4: ((0, 2, 4, 1), (0, 2, 1, 3)),
    5: ((0, 2, 1, 3, 4),),
    6: ((0, 1, 2, 3, 4, 5),),
}
MAX_DENTICITY = max(SITE_SETS)
# Bonds between two donors that close a 4-, 5- or 6-membered chelate ring with Zn.
CHELATE_PATHS = (2, 3, 4)
# Donor-site distances enforced in the embedding, ± this (Å): tight enough to keep the octahedron, loose enough that
# the triangle inequalities of the ligand's own bounds can be met.
SITE_TOLERANCE = 0.1
# Lower bounds (Å) from Zn to atoms not bound to it: hydrogens and heavy atoms stay outside the first shell.
ZN_CLEARANCE = {1: 2.4, 0: 2.8}
# A start whose Zn-donor distances stray further than this (Å) from ``zn_donor`` is used only when no other is found.
DONOR_TOLERANCE = 0.15
# Site assignments tried per site set, and embeddings (random seeds) per assignment, before giving up.
MAX_ASSIGNMENTS = 6
SEEDS_PER_ASSIGNMENT = 2
# Modes kept per denticity, most symmetric donor sets first; the labeller relaxes each, so this bounds its cost.
MAX_MODES_PER_DENTICITY = 4


def donor_centres(mol: Chem.Mol, donors: list[Donor]) -> dict[int, int]:
    """Donor index -> the atom it hangs on when terminal (the C of a carboxylate O, the S of a sulfonate O), else
    itself. Two donors with one centre would close a 4-membered ring through that centre."""
    centres = {}
    for donor in donors:
        atom = mol.GetAtomWithIdx(donor.index)
        heavy = [n.GetIdx() for n in atom.GetNeighbors() if n.GetAtomicNum() > 1]
        centres[donor.index] = heavy[0] if len(heavy) == 1 else donor.index
    return centres


def _chelate_edges(mol: Chem.Mol, donors: list[Donor]) -> dict[int, set[int]]:
    """Donor -> donors it can share Zn with in a 4- to 6-membered ring (see the module docstring for the rules)."""
    bonds = Chem.GetDistanceMatrix(mol)
    centres = donor_centres(mol, donors)
    edges: dict[int, set[int]] = {donor.index: set() for donor in donors}
    for first, second in itertools.combinations(donors, 2):
        i, j = first.index, second.index
        path = int(bonds[i, j])
        if path not in CHELATE_PATHS or centres[i] == centres[j]:
            continue
        if path == 2 and through_small_ring_centre(mol, i, j):
            continue
        edges[i].add(j)
        edges[j].add(i)
    return edges


def _connected_sets(edges: dict[int, set[int]], size: int, allowed) -> Iterator[frozenset[int]]:
    """Every connected set of ``size`` donors in the chelate graph whose members pass ``allowed`` (each once)."""
    seen: set[frozenset[int]] = set()
    frontier = {frozenset([donor]) for donor in edges}
    for _ in range(size - 1):
        grown = set()
        for group in frontier:
            for member in group:
                for neighbour in edges[member] - group:
                    candidate = group | {neighbour}
                    if candidate not in grown and allowed(candidate):
                        grown.add(candidate)
        frontier = grown
    for group in sorted(frontier, key=sorted):
        if group not in seen:
            seen.add(group)
            yield group


def chelate_modes(mol: Chem.Mol, donors: list[Donor], max_denticity: int, min_denticity: int = 3) -> list[BindingMode]:
    """Multidentate modes from ``min_denticity`` to ``max_denticity`` donors, highest denticity first.

    Donor sets equivalent by symmetry or resonance (same symmetry classes and the same bond counts between them) count
    once; at most :data:`MAX_MODES_PER_DENTICITY` per denticity are kept, in order of atom indices.
    """
    if not 1 <= max_denticity <= MAX_DENTICITY:
        raise ValueError(f'max_denticity must be 1-{MAX_DENTICITY}, got {max_denticity}.')
    edges = _chelate_edges(mol, donors)
    centres = donor_centres(mol, donors)
    ranks = symmetry_classes(mol)
    bonds = Chem.GetDistanceMatrix(mol)
    by_index = {donor.index: donor for donor in donors}

    def allowed(group: frozenset[int]) -> bool:
        # One donor per centre, no two donors one bond apart (an N-O of a hydroxamate binds through O only), and no
        # pair of the set closing a 4-membered ring through S or P, even where other donors connect them.
        members = sorted(group)
        if len({centres[i] for i in members}) < len(members):
            return False
        return all(
            bonds[i, j] >= 2 and not (bonds[i, j] == 2 and through_small_ring_centre(mol, i, j))
            for i, j in itertools.combinations(members, 2)
        )

    modes = []
    for size in range(max_denticity, max(min_denticity, 2) - 1, -1):
        keys, kept = set(), []
        for group in _connected_sets(edges, size, allowed):
            members = sorted(group)
            key = (
                tuple(sorted(ranks[i] for i in members)),
                tuple(sorted(int(bonds[i, j]) for i, j in itertools.combinations(members, 2))),
            )
            if key in keys:
                continue
            keys.add(key)
            kept.append(BindingMode.from_donors([by_index[i] for i in members]))
            if len(kept) == MAX_MODES_PER_DENTICITY:
                break
        modes.extend(kept)
    return modes


def all_binding_modes(
    mol: Chem.Mol, conformers: list[Atoms], donors: list[Donor], max_denticity: int = 2
) -> list[BindingMode]:
    """Mono- and bidentate modes of :func:`~aiida_znadditive.structures.complexes.enumerate_binding_modes`, then the
    modes of three to ``max_denticity`` donors (:func:`chelate_modes`)."""
    modes = enumerate_binding_modes(mol, conformers, donors, max_denticity=min(max_denticity, 2))
    if max_denticity > 2:
        modes += chelate_modes(mol, donors, max_denticity, min_denticity=3)
    return modes


def _complex_molecule(mol: Chem.Mol, mode: BindingMode) -> tuple[Chem.Mol, int, list[int]]:
    """The ligand, a Zn2+ atom and the waters of the free sites as one molecule, with dative bonds to Zn from each
    donor of ``mode`` and each water O; (molecule, Zn index, water O indices). Each water's O is followed by its H."""
    editable = Chem.RWMol(mol)
    zinc = Chem.Atom(30)
    zinc.SetFormalCharge(2)
    zinc.SetNoImplicit(True)
    zn = editable.AddAtom(zinc)
    for donor in mode.donors:
        editable.AddBond(donor, zn, Chem.BondType.DATIVE)
    oxygens = []
    for _ in range(6 - mode.denticity):
        oxygen = editable.AddAtom(Chem.Atom(8))
        for _ in range(2):
            editable.AddBond(oxygen, editable.AddAtom(Chem.Atom(1)), Chem.BondType.SINGLE)
        editable.AddBond(oxygen, zn, Chem.BondType.DATIVE)
        oxygens.append(oxygen)
    combined = editable.GetMol()
    Chem.SanitizeMol(combined)
    return combined, zn, oxygens


def _set_bounds(bounds: np.ndarray, i: int, j: int, lower: float, upper: float) -> None:
    # RDKit's bounds matrix keeps upper bounds above the diagonal and lower bounds below it.
    a, b = min(i, j), max(i, j)
    bounds[a, b], bounds[b, a] = upper, lower


def _site_assignments(bounds: np.ndarray, donors: tuple[int, ...], sites: np.ndarray) -> Iterator[tuple[int, ...]]:
    """Orders of ``sites`` (one per donor) whose donor-donor distances the ligand's topological bounds allow."""
    pairs = list(itertools.combinations(range(len(donors)), 2))
    for order in itertools.permutations(range(len(sites))):
        feasible = True
        for a, b in pairs:
            i, j = sorted((donors[a], donors[b]))
            needed = float(np.linalg.norm(sites[order[a]] - sites[order[b]]))
            if not bounds[j, i] - SITE_TOLERANCE <= needed <= bounds[i, j] + SITE_TOLERANCE:
                feasible = False
                break
        if feasible:
            yield order


def embed_complex(mol: Chem.Mol, mode: BindingMode, zn_donor: float = 2.10, seed: int = 42) -> ComplexGeometry:
    """Build [Zn(H2O)6-n(L)] for a mode of any denticity by distance geometry (see the module docstring).

    The first site set of :data:`SITE_SETS` and assignment of donors to its sites that the ligand's bounds allow is
    embedded with ETKDGv3 (then plain distance geometry); the complex is turned so that its donors sit on the
    octahedral sites (Kabsch). Assignments, seeds and both embeddings are tried until every Zn-donor distance lies
    within :data:`DONOR_TOLERANCE` of ``zn_donor`` and the closest contact (ligand to Zn and waters, Zn-donor bonds
    excepted) reaches :data:`COMFORTABLE_CONTACT` Å, else the best above :data:`MIN_CONTACT` is kept.
    ``atoms.info['charge']`` is +2 plus the ligand's formal charge.

    :param mol: the ligand with explicit hydrogens (``parse_ligand``); not modified.
    :param mode: donor indices into ``mol``; 1 to :data:`MAX_DENTICITY` of them.
    :raises ValueError: when no assignment embeds with contacts above :data:`MIN_CONTACT` Å.
    """
    denticity = mode.denticity
    if denticity not in SITE_SETS and denticity != 1:
        raise ValueError(f'Modes of 1-{MAX_DENTICITY} donors can be embedded, got {mode.label}.')
    combined, zn, oxygens = _complex_molecule(mol, mode)
    bounds = _zn_bounds(combined, zn, (*mode.donors, *oxygens), zn_donor)
    aqua = zn_aqua_atoms(zn_donor)
    site_positions = np.array([aqua.positions[1 + 3 * water] for water in range(6)])
    best: ComplexGeometry | None = None
    best_score = (False, 0.0)
    for site_set in SITE_SETS.get(denticity, ((0,),)):
        sites = site_positions[list(site_set)]
        free = site_positions[[site for site in range(6) if site not in site_set]]
        for targets, constrained in _constrained_bounds(bounds, mode.donors, sites, oxygens, free):
            for attempt, knowledge in itertools.product(range(SEEDS_PER_ASSIGNMENT), (True, False)):
                positions = _embed(combined, constrained, seed + attempt, knowledge=knowledge)
                if positions is None:
                    continue
                geometry = _assemble(positions, combined, zn, mode, oxygens=oxygens, targets=targets)
                faithful = np.allclose(geometry.zn_donor_distances, zn_donor, atol=DONOR_TOLERANCE)
                if best is None or (faithful, geometry.min_contact) > best_score:
                    best, best_score = geometry, (faithful, geometry.min_contact)
                if faithful and geometry.min_contact >= COMFORTABLE_CONTACT:
                    return geometry
    if best is None or best.min_contact < MIN_CONTACT:
        detail = 'no donor-to-site assignment embeds' if best is None else f'best contact {best.min_contact:.2f} Å'
        raise ValueError(f'{mode.label} cannot be placed on one Zn2+ octahedron: {detail}.')
    return best


def _zn_bounds(combined: Chem.Mol, zn: int, donors: tuple[int, ...], zn_donor: float) -> np.ndarray:
    """RDKit's topological bounds of the complex, with Zn-donor bonds of ``zn_donor`` Å and the other atoms kept out
    of the first shell (:data:`ZN_CLEARANCE`)."""
    # UFF, which the bounds and the embedding consult, has no Zn2+ type and says so on stderr every time: expected.
    with BlockLogs():
        bounds = rdDistGeom.GetMoleculeBoundsMatrix(combined)
    for atom in combined.GetAtoms():
        index = atom.GetIdx()
        if index != zn and index not in donors:
            _set_bounds(bounds, zn, index, ZN_CLEARANCE[atom.GetAtomicNum() > 1], 100.0)
    for donor in donors:
        _set_bounds(bounds, zn, donor, zn_donor - 0.05, zn_donor + 0.05)
    return bounds


def _constrained_bounds(bounds: np.ndarray, donors: tuple[int, ...], sites: np.ndarray, oxygens, free: np.ndarray):
    """(Zn-bound atoms' target positions, bounds with the distances between them) for up to :data:`MAX_ASSIGNMENTS`
    feasible orders of the ligand's ``sites`` whose bounds stay consistent under triangle smoothing; the waters'
    ``oxygens`` take the ``free`` sites in order (they are all alike)."""
    bound_atoms = (*donors, *oxygens)
    for order in itertools.islice(_site_assignments(bounds, donors, sites), MAX_ASSIGNMENTS):
        targets = np.vstack([sites[list(order)], free])
        constrained = bounds.copy()
        for a, b in itertools.combinations(range(len(bound_atoms)), 2):
            needed = float(np.linalg.norm(targets[a] - targets[b]))
            _set_bounds(constrained, bound_atoms[a], bound_atoms[b], needed - SITE_TOLERANCE, needed + SITE_TOLERANCE)
        if DistanceGeometry.DoTriangleSmoothing(constrained):
            yield targets, constrained


def _embed(combined: Chem.Mol, bounds: np.ndarray, seed: int, *, knowledge: bool) -> np.ndarray | None:
    """ETKDGv3 coordinates under ``bounds``; without ``knowledge`` plain distance geometry, whose last stage keeps all
    the bounds (ETKDG's torsion stage keeps only 1-2 and 1-3 distances and may pull a strained chelate off its
    octahedral sites by 0.4 Å)."""
    params = AllChem.ETKDGv3()
    if not knowledge:
        params.useExpTorsionAnglePrefs = False
        params.useBasicKnowledge = False
    params.randomSeed = seed
    params.useRandomCoords = True
    params.SetBoundsMat(bounds)
    with BlockLogs():  # UFF's missing Zn2+ type again (see _zn_bounds)
        if AllChem.EmbedMolecule(combined, params) < 0:
            return None
    return combined.GetConformer().GetPositions()


def _assemble(positions, combined: Chem.Mol, zn: int, mode: BindingMode, *, oxygens, targets) -> ComplexGeometry:
    """The embedded complex turned so that its Zn-bound atoms sit on their ``targets`` (Kabsch), in the atom order of
    the rigid placements (Zn, waters, ligand); contacts as in ``build_complex``."""
    bound_atoms = [*mode.donors, *oxygens]
    mobile = np.vstack([positions[zn], positions[bound_atoms]])
    target = np.vstack([np.zeros(3), targets])
    rotation = kabsch_rotation(mobile, target)
    placed = (positions - mobile.mean(axis=0)) @ rotation.T + target.mean(axis=0)
    placed -= placed[zn]
    waters = [index for oxygen in oxygens for index in (oxygen, oxygen + 1, oxygen + 2)]
    order = [zn, *waters, *range(zn)]
    numbers = np.array([atom.GetAtomicNum() for atom in combined.GetAtoms()])
    atoms = Atoms(numbers=numbers[order], positions=placed[order])
    offset = 1 + len(waters)
    ligand = placed[:zn]
    non_donor = np.array([i not in mode.donors for i in range(zn)])
    contact = min(_min_distance(ligand[non_donor], placed[[zn]]), _min_distance(ligand, placed[waters]))
    atoms.info['charge'] = Chem.GetFormalCharge(combined)  # Zn2+ included
    return ComplexGeometry.of_mode(atoms, offset, mode, contact)


def place_binding_mode(
    mol: Chem.Mol, conformers: list[Atoms], mode: BindingMode, zn_donor: float = 2.10, seed: int = 42
) -> ComplexGeometry:
    """A starting complex for any mode: the rigid placement of ``build_best_complex`` for one or two donors, falling
    back to the embedding of :func:`embed_complex` when no conformer fits (EDTA's N,N chelate, crowded amines); the
    embedding for three or more donors.

    :raises ValueError: when neither works, with both reasons.
    """
    if mode.denticity <= 2:
        try:
            return build_best_complex(conformers, mode, zn_donor=zn_donor)
        except ValueError as rigid:
            try:
                return embed_complex(mol, mode, zn_donor=zn_donor, seed=seed)
            except ValueError as embedded:
                raise ValueError(f'{rigid} Embedding: {embedded}') from None
    return embed_complex(mol, mode, zn_donor=zn_donor, seed=seed)


def starting_complexes(
    mol: Chem.Mol,
    conformers: list[Atoms],
    mode: BindingMode,
    *,
    zn_donor: float = 2.10,
    starts: int = 1,
    seed: int = 42,
) -> list[ComplexGeometry]:
    """Up to ``starts`` different starting complexes of one mode: :func:`place_binding_mode`'s first, then embeddings
    with further seeds. A relaxation finds the minimum nearest its start; the hydrogen-bond pattern between a
    ligand and the cis waters differs between starts, and with it the relaxed energy (by 0.28 eV for glycinate's
    amine mode between the rigid start and an embedded one, measured at GFN2-xTB).

    :raises ValueError: when the mode cannot be placed at all.
    """
    geometries = [place_binding_mode(mol, conformers, mode, zn_donor=zn_donor, seed=seed)]
    for start in range(1, starts):
        try:
            geometries.append(embed_complex(mol, mode, zn_donor=zn_donor, seed=seed + 1000 * start))
        except ValueError:
            break
    return geometries
