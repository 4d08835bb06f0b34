"""Zn2+ complexes of an additive: which donor atoms bind (binding modes) and a starting geometry for each.

A complex is the hexaaqua ion with one (monodentate) or two cis (bidentate) waters replaced by the ligand's donor
atom(s), [Zn(H2O)6-n(L)]. The geometry is a rigid placement of one ligand conformer, good enough as the start of a
DFT optimisation: donors at the vacated octahedral sites, the rest of the ligand turned away from the other waters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.data import covalent_radii
from rdkit import Chem

from aiida_znadditive.structures.ligands import Donor, chelating_pairs, symmetry_classes, symmetry_unique
from aiida_znadditive.structures.zinc_aqua import zn_aqua_atoms

DENTICITY_NAMES = {1: 'monodentate', 2: 'bidentate'}
# Waters of zn_aqua_atoms() in order +x, -x, +y, -y, +z, -z (atoms 1+3k .. 3+3k). A bidentate ligand takes +x and +y,
# which are cis (90° apart), as a chelate must.
REPLACED_WATERS = {1: (0,), 2: (0, 2)}
# Closest acceptable contact (Å) between a ligand atom and Zn or a remaining water, the Zn-donor bonds excepted.
MIN_CONTACT = 1.5
# How far (Å) from the sites' midpoint the third Kabsch point lies along the outward bisector; only its direction
# matters for the fit, this length just weights it like the donor sites.
BISECTOR_ARM = 2.0
# Bidentate ligands are tilted about their donor-donor axis by at most this much (radians) to escape clashes; larger
# tilts would point the donors' lone pairs away from Zn.
MAX_TILT = np.deg2rad(30.0)
# Tilts (radians) of a monodentate donor's lone pair off the Zn-donor axis: sp2/sp3 lone pairs lie 55-60° off the
# axis of the donor's bonds, so Zn-O=C and Zn-O-S angles of 120-180° all occur.
MONODENTATE_TILTS = tuple(np.deg2rad([0.0, 20.0, 40.0]))
# Torsion steps for turning the hydrogens of a donor (O-H, NH2) about its bond to the heavy neighbour.
HYDROGEN_STEPS = 12
# build_best_complex() takes the lowest-energy conformer whose closest contact reaches this (Å): comfortably clear of
# a clash, without trading conformer energy for contacts that a DFT optimisation would relax anyway.
COMFORTABLE_CONTACT = 2.0
# A later (more tilted) pose replaces an earlier one only if it improves the closest contact by more than this (Å).
PREFERENCE_MARGIN = 0.05


@dataclass(frozen=True)
class BindingMode:
    """Donor atoms (indices in the ligand) binding one Zn2+, with their elements and kinds."""

    donors: tuple[int, ...]
    elements: tuple[str, ...]
    kinds: tuple[str, ...]

    @property
    def denticity(self) -> int:
        """Number of donor atoms bound to Zn."""
        return len(self.donors)

    @property
    def label(self) -> str:
        """Human-readable description, e.g. 'bidentate hydroxyl O(0)+hydroxyl O(3)'."""
        name = DENTICITY_NAMES.get(self.denticity, f'{self.denticity}-dentate')
        return f'{name} ' + '+'.join(f'{kind}({index})' for kind, index in zip(self.kinds, self.donors, strict=True))

    @classmethod
    def from_donors(cls, donors: list[Donor] | tuple[Donor, ...]) -> BindingMode:
        """The binding mode through the given donors, in the given order."""
        return cls(
            donors=tuple(donor.index for donor in donors),
            elements=tuple(donor.element for donor in donors),
            kinds=tuple(donor.kind for donor in donors),
        )


def enumerate_binding_modes(
    mol: Chem.Mol, conformers: list[Atoms], donors: list[Donor], max_denticity: int = 2
) -> list[BindingMode]:
    """Return the distinct binding modes of a ligand: monodentate ones first, then bidentate (chelating) ones.

    One monodentate mode per symmetry-unique donor. A donor pair gives a bidentate mode when it is chelating
    (:func:`~aiida_znadditive.structures.ligands.chelating_pairs`) in at least one conformer; pairs equivalent by
    symmetry (same symmetry classes and same number of bonds apart) count once.

    :param conformers: conformers of ``mol`` in its atom order, e.g. from ``embed_conformers``.
    :param max_denticity: 1 (monodentate only) or 2.
    """
    if max_denticity not in DENTICITY_NAMES:
        raise ValueError(f'max_denticity must be one of {sorted(DENTICITY_NAMES)}, got {max_denticity}.')
    modes = [BindingMode.from_donors([donor]) for donor in symmetry_unique(mol, donors)]
    if max_denticity < 2:
        return modes
    by_index = {donor.index: donor for donor in donors}
    ranks = symmetry_classes(mol)
    bonds = Chem.GetDistanceMatrix(mol)
    seen: set[tuple[int, int, int]] = set()
    for atoms in conformers:
        for i, j in chelating_pairs(atoms, mol, donors):
            key = (*sorted((ranks[i], ranks[j])), int(bonds[i, j]))
            if key not in seen:
                seen.add(key)
                modes.append(BindingMode.from_donors([by_index[i], by_index[j]]))
    return modes


@dataclass(frozen=True)
class ComplexGeometry:
    """A built complex: Zn is atom 0, then the remaining waters (O, H, H each), then the ligand from ``ligand_offset``.

    ``donor_indices`` are the ligand's donor atoms as indices into ``atoms`` (in the order of the binding mode);
    ``min_contact`` is the shortest distance (Å) from a ligand atom to Zn or a water, the Zn-donor bonds excepted.
    """

    atoms: Atoms
    ligand_offset: int
    donor_indices: tuple[int, ...]
    min_contact: float

    @classmethod
    def of_mode(cls, atoms: Atoms, ligand_offset: int, mode: BindingMode, min_contact: float) -> ComplexGeometry:
        """The complex ``atoms`` of ``mode``, its ligand from ``ligand_offset`` (donor indices follow from both)."""
        atoms.info['binding_mode'] = mode.label
        donor_indices = tuple(ligand_offset + index for index in mode.donors)
        return cls(
            atoms=atoms, ligand_offset=ligand_offset, donor_indices=donor_indices, min_contact=float(min_contact)
        )

    @property
    def ligand_indices(self) -> range:
        """Indices of the ligand's atoms in ``atoms``."""
        return range(self.ligand_offset, len(self.atoms))

    @property
    def zn_donor_distances(self) -> tuple[float, ...]:
        """Zn-donor distances in Å, in the order of ``donor_indices``."""
        return tuple(float(d) for d in self.atoms.get_distances(0, list(self.donor_indices)))


def clash_distance(a: Atoms, b: Atoms) -> float:
    """Shortest distance in Å between any atom of ``a`` and any atom of ``b`` (inf if either is empty)."""
    return _min_distance(a.get_positions(), b.get_positions())


def _min_distance(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) == 0 or len(b) == 0:
        return float('inf')
    return float(np.min(np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)))


def kabsch_rotation(mobile: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Proper rotation matrix R minimising the RMSD of ``(mobile - mean) @ R.T`` to ``target - mean`` (N x 3 each)."""
    p = mobile - mobile.mean(axis=0)
    q = target - target.mean(axis=0)
    u, _, vt = np.linalg.svd(p.T @ q)
    # Flip the smallest singular direction if needed so that R is a rotation, never a reflection (which would turn
    # the ligand into its mirror image).
    sign = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
    return vt.T @ np.diag([1.0, 1.0, sign]) @ u.T


def _rotation_about(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotation matrix for ``angle`` radians about the unit vector ``axis`` (Rodrigues)."""
    x, y, z = axis / np.linalg.norm(axis)
    k = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.eye(3) + np.sin(angle) * k + (1.0 - np.cos(angle)) * (k @ k)


def _rotation_onto(vector: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Smallest rotation taking the direction of ``vector`` onto that of ``target``."""
    a = vector / np.linalg.norm(vector)
    b = target / np.linalg.norm(target)
    axis = np.cross(a, b)
    sine, cosine = np.linalg.norm(axis), float(np.dot(a, b))
    if sine < 1e-8:
        if cosine > 0:
            return np.eye(3)
        # Antiparallel: half a turn about any axis perpendicular to a.
        helper = np.eye(3)[np.argmin(np.abs(a))]
        return _rotation_about(np.cross(a, helper), np.pi)
    return _rotation_about(axis, float(np.arctan2(sine, cosine)))


def _perpendicular(vector: np.ndarray) -> np.ndarray:
    helper = np.eye(3)[np.argmin(np.abs(vector))]
    normal = np.cross(vector, helper)
    return normal / np.linalg.norm(normal)


def _bonded(positions: np.ndarray, numbers: np.ndarray, index: int) -> np.ndarray:
    """Indices of atoms bonded to ``index``: closer than 1.2 x the sum of covalent radii (ASE Atoms carry no bonds)."""
    radii = covalent_radii[numbers]
    distances = np.linalg.norm(positions - positions[index], axis=1)
    return np.flatnonzero((distances < 1.2 * (radii + radii[index])) & (np.arange(len(numbers)) != index))


def _lone_pair_direction(positions: np.ndarray, numbers: np.ndarray, donor: int) -> np.ndarray | None:
    """Unit vector from the centroid of the donor's bonded neighbours to the donor; None if it has no neighbours."""
    bonded = _bonded(positions, numbers, donor)
    if len(bonded) == 0:
        return None
    direction = positions[donor] - positions[bonded].mean(axis=0)
    norm = np.linalg.norm(direction)
    return direction / norm if norm > 1e-6 else None


def _donor_hydrogens(positions: np.ndarray, numbers: np.ndarray, donors: tuple[int, ...]):
    """(heavy neighbour, donor, hydrogens) for each donor with one heavy neighbour and hydrogens (O-H, NH2)."""
    groups = []
    for donor in donors:
        bonded = _bonded(positions, numbers, donor)
        heavy = [int(i) for i in bonded if numbers[i] > 1]
        hydrogens = [int(i) for i in bonded if numbers[i] == 1]
        if len(heavy) == 1 and hydrogens:
            groups.append((heavy[0], donor, hydrogens))
    return groups


def _best_pose(poses, score):
    """The best-scoring pose and its score; a later pose replaces the best only if it scores more than
    :data:`PREFERENCE_MARGIN` higher.

    Poses come in order of preference (smallest tilt, original torsion first), so a marginally better contact does
    not pull the geometry away from the chemically expected one.
    """
    best, best_score = None, -np.inf
    for pose in poses:
        value = score(pose)
        if best is None or value > best_score + PREFERENCE_MARGIN:
            best, best_score = pose, value
    return best, best_score


def _turn_donor_hydrogens(pose: np.ndarray, groups, environment: np.ndarray) -> np.ndarray:
    """Turn the hydrogens on each donor about its bond to the heavy neighbour, away from Zn, waters and the ligand.

    An isolated conformer often has such a hydrogen in an internal hydrogen bond (the gauche OCCO of ethylene glycol)
    pointing right into the site Zn now occupies; in the complex it would point away.
    """
    pose = pose.copy()
    for heavy, donor, hydrogens in groups:
        axis = pose[donor] - pose[heavy]
        others = np.array([i for i in range(len(pose)) if i not in (heavy, donor, *hydrogens)], dtype=int)
        surroundings = np.vstack([environment, pose[others]])
        pose[hydrogens] = _turn_hydrogens(pose[hydrogens], pose[donor], axis, surroundings)
    return pose


def _turn_hydrogens(hydrogens: np.ndarray, pivot: np.ndarray, axis: np.ndarray, surroundings: np.ndarray):
    """``hydrogens`` turned about ``axis`` through ``pivot`` (:data:`HYDROGEN_STEPS` steps) farthest from
    ``surroundings``; the unturned ones unless a turn gains more than :data:`PREFERENCE_MARGIN` Å."""
    relative = hydrogens - pivot
    candidates = (
        relative @ _rotation_about(axis, 2.0 * np.pi * step / HYDROGEN_STEPS).T + pivot
        for step in range(HYDROGEN_STEPS)
    )
    best, _ = _best_pose(candidates, lambda h: _min_distance(h, surroundings))
    return best


def _turn_water_hydrogens(rest: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """Turn each remaining water of ``rest`` (Zn, then O, H, H per water) about its Zn-O axis, away from the ligand.

    The hexaaqua ion's hydrogen pattern is one arbitrary choice among the waters' free rotations; with a ligand in
    place, a cis water's hydrogen may sit 1.3 Å from a hydrogen of the ligand (the alpha-H of isopropylamine or a
    cyclobutylamine ring), which a DFT optimisation would undo by turning the water. A water whose hydrogens come
    closer to the ligand than :data:`COMFORTABLE_CONTACT` is turned in :data:`HYDROGEN_STEPS` steps, the others
    held, keeping its original orientation unless a turn gains more than :data:`PREFERENCE_MARGIN` Å of closest
    contact to the ligand and the other waters' hydrogens; the waters of an uncrowded complex stay as they are.
    """
    rest = rest.copy()
    n_waters = (len(rest) - 1) // 3
    for water in range(n_waters):
        oxygen, hydrogens = 1 + 3 * water, [2 + 3 * water, 3 + 3 * water]
        if _min_distance(rest[hydrogens], pose) >= COMFORTABLE_CONTACT:
            continue
        others = [2 + 3 * k + h for k in range(n_waters) if k != water for h in (0, 1)]
        surroundings = np.vstack([pose, rest[others]])
        rest[hydrogens] = _turn_hydrogens(rest[hydrogens], rest[oxygen], rest[oxygen] - rest[0], surroundings)
    return rest


def _monodentate_poses(ligand: np.ndarray, numbers: np.ndarray, donor: int, site: np.ndarray, n_rotations: int):
    """Ligand positions with the donor at ``site`` and its lone pair towards Zn, rotated about the Zn-donor axis.

    The lone pair is then also tilted off the Zn-donor axis (:data:`MONODENTATE_TILTS`), since real Zn-O=C or Zn-O-S
    angles are 120-160° rather than 180°; the untilted poses come first.
    """
    axis = site / np.linalg.norm(site)
    centred = ligand - ligand[donor]
    direction = _lone_pair_direction(ligand, numbers, donor)
    if direction is not None:
        # Lone pair (neighbour centroid -> donor) along donor -> Zn, i.e. along -axis.
        centred = centred @ _rotation_onto(direction, -axis).T
    for tilt in MONODENTATE_TILTS:
        tilted = centred @ _rotation_about(_perpendicular(axis), tilt).T
        for step in range(n_rotations):
            yield tilted @ _rotation_about(axis, 2.0 * np.pi * step / n_rotations).T + site


def _bidentate_poses(
    ligand: np.ndarray,
    numbers: np.ndarray,
    donors: tuple[int, int],
    sites: np.ndarray,
    *,
    zn_donor: float,
    n_tilts: int,
):
    """Ligand positions with the two donors at (or as near as the bite allows to) the two cis ``sites``."""
    first, second = donors
    bite = ligand[second] - ligand[first]
    half_bite = np.linalg.norm(bite) / 2.0
    midpoint = (ligand[first] + ligand[second]) / 2.0
    # Direction away from Zn on the ligand side: opposite to where the donors' lone pairs converge; fall back to the
    # ligand's centroid. Made perpendicular to the bite so the three fitted points form matching isosceles triangles.
    away = np.zeros(3)
    for donor in donors:
        direction = _lone_pair_direction(ligand, numbers, donor)
        if direction is not None:
            away -= direction
    away -= np.dot(away, bite) / np.dot(bite, bite) * bite
    if np.linalg.norm(away) < 1e-3:
        away = ligand.mean(axis=0) - midpoint
        away -= np.dot(away, bite) / np.dot(bite, bite) * bite
    away = away / np.linalg.norm(away) if np.linalg.norm(away) > 1e-3 else _perpendicular(bite)

    bisector = sites.sum(axis=0) / np.linalg.norm(sites.sum(axis=0))
    # Donor midpoint on the bisector, at the depth that puts both donors zn_donor from Zn. A bite wider than
    # 2 * zn_donor cannot reach that: the midpoint then sits at Zn, the closest the rigid ligand can get.
    depth = np.sqrt(max(zn_donor**2 - half_bite**2, 0.0))
    tilts = sorted(np.linspace(-MAX_TILT, MAX_TILT, n_tilts), key=abs) if n_tilts > 1 else [0.0]
    placements = []
    for order in (donors, donors[::-1]):
        mobile = np.array([ligand[order[0]], ligand[order[1]], midpoint + BISECTOR_ARM * away])
        target = np.array([sites[0], sites[1], sites.mean(axis=0) + BISECTOR_ARM * bisector])
        placed = (ligand - midpoint) @ kabsch_rotation(mobile, target).T + depth * bisector
        placements.append((placed, placed[order[1]] - placed[order[0]], placed[order[0]]))
    for tilt in tilts:
        for placed, axis, pivot in placements:
            # Tilting about the donor-donor axis moves the ligand body but leaves both Zn-donor distances unchanged.
            yield (placed - pivot) @ _rotation_about(axis, tilt).T + pivot


def build_complex(ligand: Atoms, mode: BindingMode, zn_donor: float = 2.10, n_rotations: int = 24) -> ComplexGeometry:
    """Place a ligand conformer on [Zn(H2O)6]2+ in place of one (monodentate) or two cis (bidentate) waters.

    Start from ``zn_aqua_atoms(zn_donor)`` and remove the +x water (and the +y water for a bidentate mode). A
    monodentate donor goes to the +x O site with its lone pair (neighbour centroid -> donor) pointing at Zn, and the
    ligand is turned about the Zn-donor axis in ``n_rotations`` steps, first untilted, then with the lone pair tilted
    off the axis by :data:`MONODENTATE_TILTS`. A bidentate ligand is Kabsch-fitted with its two donors and a point on
    its side away from Zn onto the +x, +y sites and their outward bisector, then shifted along the bisector so that
    both Zn-donor distances are ``zn_donor`` (or as close as the ligand's bite allows); both donor-to-site assignments
    and tilts of up to :data:`MAX_TILT` about the donor-donor axis are tried (about ``n_rotations`` poses in all).

    The ligand is rigid except for hydrogens on the donor atoms (O-H, NH2), which are turned about their bond to point
    away from Zn; the remaining waters turn about their Zn-O axes away from the ligand (the hexaaqua's hydrogen
    pattern is arbitrary). The pose with the largest closest contact between the ligand and Zn + remaining waters
    (Zn-donor bonds excepted) is kept, preferring the earlier, less tilted pose unless a later one gains more than
    :data:`PREFERENCE_MARGIN` Å.

    :param ligand: one conformer of the ligand (e.g. from ``embed_conformers``); its ``info['charge']``, if present,
        sets ``info['charge']`` of the complex (+2 plus the ligand's charge).
    :param mode: binding mode with donor indices into ``ligand``.
    :param zn_donor: Zn-donor distance in Å, also used for the remaining Zn-water distances.
    :param n_rotations: number of rotation steps (monodentate) or the pose budget (bidentate).
    :raises ValueError: when even the best pose has a contact shorter than :data:`MIN_CONTACT` Å.
    """
    if mode.denticity not in REPLACED_WATERS:
        raise ValueError(f'Only mono- and bidentate modes can be built, got {mode.label}.')
    if any(not 0 <= index < len(ligand) for index in mode.donors):
        raise ValueError(f'Donor indices {mode.donors} lie outside the ligand of {len(ligand)} atoms.')
    if n_rotations < 1:
        raise ValueError(f'n_rotations must be at least 1, got {n_rotations}.')
    aqua = zn_aqua_atoms(zn_donor)
    removed = REPLACED_WATERS[mode.denticity]
    sites = np.array([aqua.positions[1 + 3 * water] for water in removed])
    keep = [0] + [1 + 3 * water + k for water in range(6) if water not in removed for k in range(3)]
    rest = aqua[keep]

    positions, numbers = ligand.get_positions(), ligand.get_atomic_numbers()
    if mode.denticity == 1:
        poses = _monodentate_poses(positions, numbers, mode.donors[0], sites[0], n_rotations)
    else:
        # Two donor orders share the pose budget; an odd number of tilts includes the untilted pose.
        n_tilts = max(1, n_rotations // 2) | 1
        donors = (mode.donors[0], mode.donors[1])
        poses = _bidentate_poses(positions, numbers, donors, sites, zn_donor=zn_donor, n_tilts=n_tilts)
    groups = _donor_hydrogens(positions, numbers, mode.donors)

    def settle(pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The pose with its donor hydrogens turned, and the remaining waters turned away from it."""
        pose = _turn_donor_hydrogens(pose, groups, rest.positions)
        return pose, _turn_water_hydrogens(rest.positions, pose)

    # The Zn-donor bonds are the intended contacts, fixed by construction: score everything else.
    non_donor = np.array([i not in mode.donors for i in range(len(ligand))])

    def contact(settled: tuple[np.ndarray, np.ndarray]) -> float:
        pose, waters = settled
        return min(_min_distance(pose[non_donor], waters[:1]), _min_distance(pose, waters[1:]))

    (best_pose, best_waters), best_contact = _best_pose((settle(pose) for pose in poses), contact)
    if best_contact < MIN_CONTACT:
        raise ValueError(
            f'No pose of the ligand for {mode.label} keeps all contacts with Zn and the remaining waters above '
            f'{MIN_CONTACT} Å (best {best_contact:.2f} Å): the ligand is too bulky for this binding mode.'
        )

    placed = Atoms(numbers=numbers, positions=best_pose)
    rest.positions = best_waters
    atoms = rest + placed
    if 'conformer_id' in ligand.info:
        atoms.info['ligand_conformer_id'] = ligand.info['conformer_id']
    if 'charge' in ligand.info:
        atoms.info['charge'] = 2 + int(ligand.info['charge'])
    return ComplexGeometry.of_mode(atoms, len(rest), mode, best_contact)


def build_best_complex(
    conformers: list[Atoms], mode: BindingMode, zn_donor: float = 2.10, n_rotations: int = 24
) -> ComplexGeometry:
    """Build the complex from the lowest-energy conformer that fits the binding mode comfortably.

    Conformers are tried in the given order (``embed_conformers`` sorts them by energy); the first whose complex has a
    closest contact of at least :data:`COMFORTABLE_CONTACT` Å is returned, else the complex with the largest closest
    contact. A rigid conformer matters: the all-anti diethyl ether folds its methyl groups back towards the cis
    waters, while a gauche conformer binds without clashes.

    :raises ValueError: when no conformer gives a contact of at least :data:`MIN_CONTACT` Å.
    """
    if not conformers:
        raise ValueError('No conformers given.')
    best: ComplexGeometry | None = None
    errors = []
    for conformer in conformers:
        try:
            geometry = build_complex(conformer, mode, zn_donor=zn_donor, n_rotations=n_rotations)
        except ValueError as error:
            errors.append(str(error))
            continue
        if geometry.min_contact >= COMFORTABLE_CONTACT:
            return geometry
        if best is None or geometry.min_contact > best.min_contact:
            best = geometry
    if best is None:
        raise ValueError(f'None of the {len(conformers)} conformers fits {mode.label}: {errors[0]}')
    return best
