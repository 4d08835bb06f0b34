"""Zn metal (hcp), its Zn(002) = hcp (0001) basal slab, and adsorbate configurations on it for a CP2K relaxation.

The slab is built from the (possibly DFT-relaxed) bulk lattice. Adsorption sites come from pymatgen's
``AdsorbateSiteFinder`` (ontop, bridge and the hollows, reduced by the slab's symmetry); a hollow with a second-layer Zn
below it is ``hcp``, the other ``fcc`` (in the ABAB stacking of hcp Zn it is above no Zn at all). Orientations of the
molecule: each symmetry-distinct lone-pair donor pointing at the surface, and the molecule lying flat. A configuration
is one site with one orientation, raised until no atom touches the surface.

Atom order everywhere: the slab first (bottom to top layer), then the molecule in the order of its RDKit molecule
(heavy atoms in SMILES order, then hydrogens), so a donor index means the same atom in every configuration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from aiida import orm
from aiida.engine import ExitCode, calcfunction
from ase import Atoms
from ase.build import bulk as ase_bulk
from ase.build import hcp0001
from ase.geometry import get_distances
from rdkit import Chem

from .candidates import WATER_GEOMETRY
from .ligands import LigandError, embed_conformers, find_donors, parse_ligand, symmetry_classes

ZN_EXPERIMENT = {'a': 2.665, 'c': 4.947}
SITE_LABELS = ('ontop', 'bridge', 'fcc', 'hcp')
REASONS = ('invalid_molecule', 'molecule_too_large', 'invalid_settings')
# Exit status of the calcfunctions per AdsorptionError reason; SlabAdsorptionWorkChain maps these to its exit codes.
EXIT_STATUS = {'invalid_molecule': 300, 'molecule_too_large': 301, 'invalid_settings': 302}
SETTINGS_KEYS = (
    'allowed_elements',
    'max_heavy_atoms',
    'seed',
    'sites',
    'flat',
    'bond_lengths',
    'flat_height',
    'min_contact',
    'min_image_distance',
    'max_configurations',
)
SLAB_KEYS = ('supercell', 'layers', 'vacuum', 'fixed_layers')
# Elements whose atoms with a lone pair may bind the metal surface besides the O/N/S donors find_donors classifies:
# S and P with a lone pair (sulfoxide S, thiophene S, phosphines) and every halogen (C-F of triflate, halide anions).
_EXTRA_DONOR_ELEMENTS = ('S', 'P', 'F', 'Cl', 'Br', 'I')
# Å a pose is raised per step until no molecule atom is within min_contact of a Zn (the brief's resolution).
_RAISE_STEP = 0.1
# Conformers embedded for a molecule other than water; the lowest in force-field energy is adsorbed.
_N_CONFORMERS = 10
# Relative tolerance on the hcp cell read from a bulk structure: a relaxed cell keeps |a1| = |a2| and 120° to far
# better than this, anything beyond is not an hcp cell at all.
_CELL_TOLERANCE = 0.01


class AdsorptionError(ValueError):
    """A molecule or setting that gives no adsorption configurations; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, message: str, reason: str) -> None:
        if reason not in REASONS:
            raise ValueError(f'Unknown adsorption error reason {reason!r}; expected one of {REASONS}.')
        super().__init__(message)
        self.reason = reason


# eq=False: the numpy fields make the generated __eq__/__hash__ fail; identity semantics are what callers need.
@dataclass(frozen=True, eq=False)
class Site:
    """An adsorption site: ``label`` in :data:`SITE_LABELS`, ``position`` (x, y, z of the top Zn layer) in Å."""

    label: str
    position: np.ndarray


@dataclass(frozen=True, eq=False)
class Orientation:
    """A pose of the molecule: label ('O0-down', 'flat'), the donor pointing down (None when flat), coordinates.

    ``positions`` are in the molecule's atom order, with the donor (donor-down) or the centroid (flat) at the origin;
    ``symbols`` are the molecule's elements in the same order.
    """

    label: str
    donor: int | None
    positions: np.ndarray
    symbols: tuple[str, ...]


def zn_bulk(a: float, c: float) -> Atoms:
    """The 2-atom hcp Zn primitive cell with lattice constants ``a`` and ``c`` (Å), periodic in 3D."""
    return ase_bulk('Zn', 'hcp', a=a, c=c)


def hcp_lattice(atoms: Atoms) -> tuple[float, float]:
    """Lattice constants (a, c) in Å of an hcp cell: the lengths of its first and third cell vectors."""
    cell = np.array(atoms.cell)
    return float(np.linalg.norm(cell[0])), float(np.linalg.norm(cell[2]))


def hcp_cell_problem(atoms: Atoms) -> str | None:
    """Why ``atoms`` is not a 2-atom hcp Zn cell (|a1| = |a2|, 120° or 60° apart, c normal to both), or None.

    Both in-plane settings describe the same lattice: ase builds 120°, CP2K's CELL_OPT writes the cell back at 60°.
    Only a and c are read from the cell, so either is accepted.
    """
    cell = np.array(atoms.cell)
    lengths = np.linalg.norm(cell, axis=1)
    if len(atoms) != 2 or set(atoms.get_chemical_symbols()) != {'Zn'}:
        return f'expected the 2-atom hcp Zn cell, got {atoms.get_chemical_formula()}'
    if np.any(lengths < 1e-6):
        return 'the cell has a zero-length vector'
    cos_gamma = np.dot(cell[0], cell[1]) / (lengths[0] * lengths[1])
    cos_normal = max(abs(np.dot(cell[2], cell[i])) / (lengths[2] * lengths[i]) for i in (0, 1))
    if abs(lengths[0] - lengths[1]) > _CELL_TOLERANCE * lengths[0] or abs(abs(cos_gamma) - 0.5) > _CELL_TOLERANCE:
        return f'not an hcp cell: |a1| = {lengths[0]:.4f}, |a2| = {lengths[1]:.4f} Å, cos(gamma) = {cos_gamma:.4f}'
    if cos_normal > _CELL_TOLERANCE:
        return 'not an hcp cell: c is not normal to the basal plane'
    return None


def zn_basal_slab(a: float, c: float, supercell: tuple[int, int], layers: int, vacuum: float) -> Atoms:
    """The Zn(0001) slab: ``supercell`` in plane, ``layers`` Zn layers c/2 apart, ``vacuum`` Å between the images.

    Periodic in all three directions (CP2K's cell is 3D periodic; the vacuum separates the slab from its image along
    z), atoms sorted bottom to top, tags cleared (AiiDA's StructureData would turn ase's layer tags into kinds).
    """
    slab = hcp0001('Zn', size=(supercell[0], supercell[1], layers), a=a, c=c, vacuum=vacuum / 2, orthogonal=False)
    # A stable sort keeps ase's in-layer order, so the same settings always give the same atom indices.
    slab = slab[np.argsort(slab.positions[:, 2], kind='stable')]
    slab.pbc = True
    slab.set_tags(0)
    slab.set_constraint()
    return slab


def layer_indices(atoms: Atoms, tolerance: float = 0.5) -> list[list[int]]:
    """Atom indices of each layer, bottom to top: atoms within ``tolerance`` Å in z of the layer's lowest atom."""
    order = np.argsort(atoms.positions[:, 2], kind='stable')
    layers: list[list[int]] = []
    for index in order:
        z = atoms.positions[index, 2]
        if layers and z - atoms.positions[layers[-1][0], 2] < tolerance:
            layers[-1].append(int(index))
        else:
            layers.append([int(index)])
    return layers


def _in_plane_distances(point: np.ndarray, positions: np.ndarray, cell) -> np.ndarray:
    """Distances in the xy plane (minimum image in plane) from ``point`` to each of ``positions``."""
    flattened = np.array(positions, dtype=float).reshape(-1, 3)
    # Same z for all: what is measured is the lateral offset, which decides which atom lies below the point.
    flattened[:, 2] = point[2]
    _, distances = get_distances(np.asarray(point, dtype=float), flattened, cell=cell, pbc=[True, True, False])
    return distances[0]


def _in_plane_spacing(slab: Atoms, layer: list[int]) -> float:
    """Nearest-neighbour distance (Å) within one layer, periodic images included: the hcp ``a`` of the slab."""
    cell = np.array(slab.cell)
    positions = slab.positions[layer]
    # Shifts by +-1 in-plane cell vector suffice: a 1x1 layer's neighbours are all images one cell away.
    shifts = [i * cell[0] + j * cell[1] for i in (-1, 0, 1) for j in (-1, 0, 1)]
    vectors = positions[:, None, None, :] - positions[None, :, None, :] + np.array(shifts)[None, None, :, :]
    lengths = np.linalg.norm(vectors[..., :2], axis=-1)
    return float(lengths[lengths > 1e-3].min())


def adsorption_sites(slab: Atoms) -> list[Site]:
    """The high-symmetry sites of the slab's top face, one per label, in the order of :data:`SITE_LABELS`.

    pymatgen's ``AdsorbateSiteFinder`` finds them (distance 0, symmetry-reduced); a hollow is 'hcp' when a
    second-layer Zn lies below it (in plane, minimum image), else 'fcc'. Where the symmetry reduction leaves several
    sites of one label (a distorted slab), the first is kept. The z of each site is the top layer's mean height.

    :raises AdsorptionError: 'invalid_settings' for a slab of fewer than two layers (fcc and hcp hollows coincide).
    """
    # Imported here: pymatgen's import costs about a second, and only site finding needs it.
    from pymatgen.core.adsorption import AdsorbateSiteFinder
    from pymatgen.io.ase import AseAtomsAdaptor

    layers = layer_indices(slab)
    if len(layers) < 2:
        raise AdsorptionError(
            f'the slab has {len(layers)} layer; fcc and hcp hollows need at least 2', 'invalid_settings'
        )
    top_z = float(slab.positions[layers[-1], 2].mean())
    a = _in_plane_spacing(slab, layers[-1])
    finder = AdsorbateSiteFinder(AseAtomsAdaptor.get_structure(slab))
    found = finder.find_adsorption_sites(distance=0.0, symm_reduce=1e-2, positions=('ontop', 'bridge', 'hollow'))
    sites: dict[str, Site] = {}
    for kind in ('ontop', 'bridge', 'hollow'):
        for coords in found[kind]:
            position = np.array([coords[0], coords[1], top_z], dtype=float)
            label = kind
            if kind == 'hollow':
                # Half the hollow-atom distance a/sqrt(3): an hcp hollow is ~0 Å from a 2nd-layer Zn, fcc ~a/sqrt(3).
                below = _in_plane_distances(position, slab.positions[layers[-2]], slab.cell)
                label = 'hcp' if below.min() < a / (2 * math.sqrt(3)) else 'fcc'
            position.setflags(write=False)
            sites.setdefault(label, Site(label, position))
    return [sites[label] for label in SITE_LABELS if label in sites]


def _lone_pairs(atom: Chem.Atom) -> int:
    """Lone pairs of ``atom`` by electron count: (valence electrons - formal charge - bond orders incl. H) / 2."""
    outer = Chem.GetPeriodicTable().GetNOuterElecs(atom.GetAtomicNum())
    return max(0, (outer - atom.GetFormalCharge() - atom.GetTotalValence()) // 2)


def donor_classes(mol: Chem.Mol) -> list[int]:
    """Atom indices of the lone-pair donors of ``mol`` (explicit H), one per symmetry class.

    Donors are the O, N and S atoms of :func:`~aiida_znadditive.structures.ligands.find_donors` (the kinds that
    coordinate Zn2+), then S and P atoms with a lone pair and halogens (F, Cl, Br, I) it does not list, each group
    in atom order. Equivalence is ``symmetry_classes`` (canonical ranks without tie breaking, resonance included), so
    the three O of a sulfonate count once. DMSO gives [O, S].
    """
    ranks = symmetry_classes(mol)
    curated = [donor.index for donor in find_donors(mol)]
    extra = [
        atom.GetIdx()
        for atom in mol.GetAtoms()
        if atom.GetSymbol() in _EXTRA_DONOR_ELEMENTS and atom.GetIdx() not in curated and _lone_pairs(atom) > 0
    ]
    classes: list[int] = []
    seen: set[int] = set()
    # The curated donors first: truncation to max_configurations then drops the weaker, extra donors first.
    for index in curated + extra:
        if ranks[index] not in seen:
            seen.add(ranks[index])
            classes.append(index)
    return classes


def _rotation_onto(vector: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotation matrix turning the direction of ``vector`` onto that of ``target`` (Rodrigues' formula)."""
    u = vector / np.linalg.norm(vector)
    v = target / np.linalg.norm(target)
    axis = np.cross(u, v)
    sine, cosine = float(np.linalg.norm(axis)), float(np.dot(u, v))
    if sine < 1e-8:
        if cosine > 0:
            return np.eye(3)
        # Antiparallel: a half turn about any axis perpendicular to u.
        perpendicular = np.cross(u, [1.0, 0.0, 0.0] if abs(u[0]) < 0.9 else [0.0, 1.0, 0.0])
        perpendicular /= np.linalg.norm(perpendicular)
        return 2 * np.outer(perpendicular, perpendicular) - np.eye(3)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]]) / sine
    return np.eye(3) + sine * k + (1 - cosine) * k @ k


def _read_only(positions: np.ndarray) -> np.ndarray:
    """A read-only copy, so a frozen Orientation cannot be changed through its array."""
    array = np.array(positions, dtype=float)
    array.setflags(write=False)
    return array


def orientations(mol: Chem.Mol, positions: np.ndarray) -> list[Orientation]:
    """Each donor class of :func:`donor_classes` pointing down, then the molecule lying flat.

    Donor-down: rotated so that the vector from the donor to the centroid of the other atoms points along +z, the
    donor at the origin (a single atom, or a donor at that centroid, is left unrotated). Flat: rotated so that the
    normal of the best plane through the heavy atoms (through all atoms with fewer than 3 heavy atoms) is along z,
    with the donors, if any, on the lower side; the centroid at the origin. A single-atom molecule with a donor has
    no flat pose (it would repeat the donor-down one).

    :param mol: molecule with explicit hydrogens; ``positions`` (Å) in its atom order.
    """
    positions = np.asarray(positions, dtype=float)
    symbols = tuple(atom.GetSymbol() for atom in mol.GetAtoms())
    up = np.array([0.0, 0.0, 1.0])
    donors = donor_classes(mol)
    poses = []
    for donor in donors:
        others = np.delete(positions, donor, axis=0)
        rotation = np.eye(3)
        if len(others):
            away = others.mean(axis=0) - positions[donor]
            if np.linalg.norm(away) > 1e-6:
                rotation = _rotation_onto(away, up)
        oriented = (positions - positions[donor]) @ rotation.T
        poses.append(Orientation(f'{symbols[donor]}{donor}-down', donor, _read_only(oriented), symbols))
    if len(positions) > 1 or not donors:
        heavy = [i for i, symbol in enumerate(symbols) if symbol != 'H']
        points = positions[heavy] if len(heavy) >= 3 else positions
        rotation = np.eye(3)
        if len(points) > 1:
            # The last right-singular vector is the smallest principal axis: the normal of the best plane.
            normal = np.linalg.svd(points - points.mean(axis=0), full_matrices=False)[2][-1]
            rotation = _rotation_onto(normal, up)
        oriented = (positions - positions.mean(axis=0)) @ rotation.T
        # SVD fixes the normal only up to its sign: turn the donors' side towards the surface, where they bind.
        if donors and oriented[donors, 2].mean() > 1e-3:
            oriented = oriented * np.array([1.0, -1.0, -1.0])
        poses.append(Orientation('flat', None, _read_only(oriented), symbols))
    return poses


def _top_z(slab: Atoms) -> float:
    """Mean height (Å) of the slab's top layer."""
    return float(slab.positions[layer_indices(slab)[-1], 2].mean())


def _bond_length(bond_lengths: dict[str, float], element: str) -> float:
    """The donor-Zn distance for ``element``, or the 'default' one; AdsorptionError when neither is given."""
    if element in bond_lengths:
        return float(bond_lengths[element])
    if 'default' in bond_lengths:
        return float(bond_lengths['default'])
    raise AdsorptionError(f'bond_lengths has no entry for {element} and no default', 'invalid_settings')


def place_adsorbate(
    slab: Atoms,
    orientation: Orientation,
    site: Site,
    *,
    a: float,
    bond_lengths: dict[str, float],
    flat_height: float,
    min_contact: float,
) -> Atoms:
    """Slab + molecule (slab atoms first, the slab's cell and pbc) in ``orientation`` over ``site``.

    Donor-down: the donor over the site at the height where it is ``bond_lengths[element]`` (or 'default') from the
    nearest top-layer Zn, i.e. at lateral distance 0 (ontop), a/2 (bridge) or a/sqrt(3) (hollows). Flat: the
    centroid over the site, the lowest atom ``flat_height`` above the top layer. Then the molecule is raised in 0.1 Å
    steps until no atom is within ``min_contact`` Å of a Zn (minimum image).

    :raises AdsorptionError: 'invalid_settings' without a bond length for the donor; 'molecule_too_large' when no
        height clears the slab and its periodic image above (the vacuum is too thin for the molecule).
    """
    positions = np.array(orientation.positions, dtype=float)
    top_z = _top_z(slab)
    if orientation.donor is not None:
        bond = _bond_length(bond_lengths, orientation.symbols[orientation.donor])
        lateral = {'ontop': 0.0, 'bridge': a / 2, 'fcc': a / math.sqrt(3), 'hcp': a / math.sqrt(3)}[site.label]
        # A bond shorter than the lateral offset has no real height: start in the plane, the contact check lifts it.
        height = math.sqrt(max(bond**2 - lateral**2, 0.0))
        positions += np.array([site.position[0], site.position[1], top_z + height]) - positions[orientation.donor]
    else:
        positions[:, :2] += np.asarray(site.position[:2]) - positions[:, :2].mean(axis=0)
        positions[:, 2] += top_z + flat_height - positions[:, 2].min()
    cell, pbc = np.array(slab.cell), slab.pbc
    # More steps than the cell is tall means the molecule meets the slab's image above whatever the height.
    for _ in range(int(np.linalg.norm(cell[2]) / _RAISE_STEP) + 1):
        _, distances = get_distances(positions, slab.positions, cell=cell, pbc=pbc)
        if distances.min() >= min_contact:
            molecule = Atoms(list(orientation.symbols), positions=positions)
            # Atoms.__add__ keeps the first operand's cell and pbc: the slab's.
            return slab.copy() + molecule
        positions[:, 2] += _RAISE_STEP
    raise AdsorptionError(
        f'the molecule ({orientation.label} over {site.label}) cannot be placed {min_contact} Å clear of the slab and '
        f'its image: the vacuum is too thin for it',
        'molecule_too_large',
    )


def molecule_in_cell(molecule: Atoms, slab: Atoms) -> Atoms:
    """The isolated molecule in the slab's cell (same cell and pbc), its centroid at the cell's centre.

    E_ads = E(slab+molecule) - E(slab) - E(molecule): the molecule in the same cell shares basis-set and k-point
    settings with the configurations.
    """
    atoms = Atoms(molecule.get_chemical_symbols(), positions=molecule.positions, cell=slab.cell, pbc=slab.pbc)
    atoms.positions += np.array(slab.cell).sum(axis=0) / 2 - atoms.positions.mean(axis=0)
    return atoms


def image_distance(molecule: Atoms, cell) -> float:
    """Shortest distance (Å) between the molecule and its own periodic images along the cell's in-plane vectors."""
    cell = np.array(cell)
    positions = molecule.positions
    # Enough images to reach past the molecule's extent along either in-plane direction, at least one cell.
    extent = float(np.linalg.norm(np.ptp(positions, axis=0))) if len(positions) else 0.0
    area = np.linalg.norm(np.cross(cell[0], cell[1]))
    heights = [area / np.linalg.norm(cell[i]) for i in (1, 0)]
    reach = [math.ceil(extent / height) + 1 for height in heights]
    shortest = math.inf
    for i in range(-reach[0], reach[0] + 1):
        for j in range(-reach[1], reach[1] + 1):
            if i == j == 0:
                continue
            shift = i * cell[0] + j * cell[1]
            gaps = np.linalg.norm(positions[:, None, :] - positions[None, :, :] - shift, axis=-1)
            shortest = min(shortest, float(gaps.min()))
    return shortest


def _check_settings(settings: dict) -> None:
    """AdsorptionError ('invalid_settings') for missing, unknown or out-of-range configuration settings."""
    missing = [key for key in SETTINGS_KEYS if key not in settings]
    unknown = sorted(set(settings) - set(SETTINGS_KEYS))
    if missing or unknown:
        parts = ([f'missing {", ".join(missing)}'] if missing else []) + (
            [f'unknown {", ".join(unknown)}'] if unknown else []
        )
        raise AdsorptionError(f'configuration settings: {"; ".join(parts)}', 'invalid_settings')
    sites = list(settings['sites'])
    wrong = [site for site in sites if site not in SITE_LABELS]
    if not sites or wrong:
        raise AdsorptionError(f'sites {sites}: choose from {", ".join(SITE_LABELS)}', 'invalid_settings')
    if int(settings['max_configurations']) < 1:
        raise AdsorptionError('max_configurations must be at least 1', 'invalid_settings')
    lengths = {'flat_height': settings['flat_height'], 'min_contact': settings['min_contact']}
    lengths.update({f'bond_lengths.{key}': value for key, value in dict(settings['bond_lengths']).items()})
    bad = [f'{name} = {value}' for name, value in lengths.items() if not float(value) > 0]
    # Zero is allowed: it switches the image checks off.
    if not float(settings['min_image_distance']) >= 0:
        bad.append(f'min_image_distance = {settings["min_image_distance"]}')
    if bad:
        raise AdsorptionError(f'distances must be positive: {", ".join(bad)}', 'invalid_settings')


def _molecule(smiles: str, settings: dict) -> tuple[Chem.Mol, Atoms]:
    """The molecule with explicit hydrogens and its geometry: water's experimental one, else the lowest conformer."""
    try:
        mol = parse_ligand(smiles, settings['allowed_elements'], int(settings['max_heavy_atoms']))
        symbols = [atom.GetSymbol() for atom in mol.GetAtoms()]
        if Chem.MolToSmiles(Chem.RemoveHs(mol)) == 'O':
            # parse_ligand orders water O, H, H, as WATER_GEOMETRY is.
            return mol, WATER_GEOMETRY.copy()
        if mol.GetNumAtoms() == 1:
            # A bare ion (Cl-, I-) has no conformer to embed.
            return mol, Atoms(symbols, positions=[[0.0, 0.0, 0.0]])
        return mol, embed_conformers(mol, _N_CONFORMERS, seed=int(settings['seed']))[0]
    except LigandError as error:
        raise AdsorptionError(f'invalid molecule `{smiles}`: {error}', 'invalid_molecule') from error


def _cell_text(cell) -> str:
    """'7.99 Å x 7.99 Å' for the in-plane cell vectors, for messages."""
    cell = np.array(cell)
    return f'{np.linalg.norm(cell[0]):.2f} Å x {np.linalg.norm(cell[1]):.2f} Å'


def build_configurations(slab: Atoms, smiles: str, settings: dict) -> tuple[Atoms, list[tuple[Atoms, dict]]]:
    """The molecule of ``smiles`` in the slab's cell, and each (site, orientation) configuration with its metadata.

    Order: each donor class pointing down over every site (in the order of ``settings['sites']``), then the flat
    molecule over every site; only the first ``max_configurations`` are built, and every metadata dict records the
    full count as ``n_enumerated``. ``settings``: see :data:`SETTINGS_KEYS` (all required).

    :raises AdsorptionError: 'invalid_molecule' (parse_ligand/embedding), 'molecule_too_large' (within
        ``min_image_distance`` of its own in-plane periodic image in an orientation used, or of the slab's image
        across the vacuum), 'invalid_settings'.
    """
    _check_settings(settings)
    mol, molecule = _molecule(smiles, settings)
    poses = [pose for pose in orientations(mol, molecule.positions) if settings['flat'] or pose.donor is not None]
    if not poses:
        raise AdsorptionError(f'`{smiles}` has no lone-pair donor and flat poses are disabled', 'invalid_settings')

    minimum = float(settings['min_image_distance'])
    distances = [image_distance(Atoms(pose.symbols, positions=pose.positions), slab.cell) for pose in poses]
    worst = int(np.argmin(distances))
    if distances[worst] < minimum:
        extent = float(np.ptp(poses[worst].positions[:, :2], axis=0).max())
        raise AdsorptionError(
            f'molecule too large: `{smiles}` ({poses[worst].label}: {extent:.1f} Å across in plane) comes within '
            f'{distances[worst]:.2f} Å of its own periodic image in the {_cell_text(slab.cell)} slab cell (minimum '
            f'{minimum} Å); use a larger supercell',
            'molecule_too_large',
        )

    found = {site.label: site for site in adsorption_sites(slab)}
    labels = list(dict.fromkeys(settings['sites']))
    absent = [label for label in labels if label not in found]
    if absent:
        raise AdsorptionError(
            f'the slab has no {", ".join(absent)} site (is it a clean Zn(0001) slab?)', 'invalid_settings'
        )
    sites = [found[label] for label in labels]

    layers = layer_indices(slab)
    a = _in_plane_spacing(slab, layers[-1])
    top_z = _top_z(slab)
    # Poses list donor-down first (orientations' order), so site-inner iteration gives the documented order.
    pairs = [(pose, site) for pose in poses for site in sites]
    configurations = []
    for pose, site in pairs[: int(settings['max_configurations'])]:
        atoms = place_adsorbate(
            slab,
            pose,
            site,
            a=a,
            bond_lengths=dict(settings['bond_lengths']),
            flat_height=float(settings['flat_height']),
            min_contact=float(settings['min_contact']),
        )
        adsorbate = atoms.positions[len(slab) :]
        # The slab's periodic image above: a molecule reaching within min_image_distance of it bridges the vacuum.
        _, gaps = get_distances(adsorbate, slab.positions + slab.cell[2], cell=slab.cell, pbc=[True, True, False])
        if gaps.min() < minimum:
            raise AdsorptionError(
                f'molecule too large: `{smiles}` ({pose.label} over {site.label}) comes within {gaps.min():.2f} Å of '
                f'the slab image across the vacuum (minimum {minimum} Å); use more vacuum',
                'molecule_too_large',
            )
        meta = {
            'label': f'{site.label}/{pose.label}',
            'site': site.label,
            'orientation': pose.label,
            'donor': pose.donor,
            'donor_element': pose.symbols[pose.donor] if pose.donor is not None else None,
            'n_slab': len(slab),
            'height': float(adsorbate[:, 2].min() - top_z),
            'n_enumerated': len(pairs),
        }
        configurations.append((atoms, meta))

    # The most isolated checked pose is the reference molecule: its images are no closer than in any configuration.
    reference = poses[int(np.argmax(distances))]
    return molecule_in_cell(Atoms(reference.symbols, positions=reference.positions), slab), configurations


@calcfunction
def build_zn_bulk(lattice: orm.Dict) -> orm.StructureData:
    """The 2-atom hcp Zn cell for ``lattice`` {'a', 'c'} in Å; exit 302 for missing or non-positive constants."""
    values = lattice.get_dict()
    if not all(isinstance(values.get(key), (int, float)) and values[key] > 0 for key in ('a', 'c')):
        return ExitCode(302, f'invalid settings: lattice needs positive a and c (Å), got {values}')
    return orm.StructureData(ase=zn_bulk(float(values['a']), float(values['c'])))


def _slab_settings_error(options: dict) -> str | None:
    """Why the slab settings are unusable (every problem found, joined), or None."""
    missing = [key for key in SLAB_KEYS if key not in options]
    if missing:
        return f'slab settings lack {", ".join(missing)}'
    supercell, layers, fixed, vacuum = (options[key] for key in ('supercell', 'layers', 'fixed_layers', 'vacuum'))
    problems = []
    # bool is an int subclass; True as a repeat count is a typo, not a supercell.
    integers = isinstance(supercell, (list, tuple)) and all(type(n) is int for n in supercell)
    if not integers or len(supercell) != 2 or min(supercell) < 1:
        problems.append(f'supercell {supercell}: two integers of at least 1')
    if type(layers) is not int or layers < 2:
        problems.append(f'layers = {layers}: at least 2 (fcc and hcp hollows differ from the second layer on)')
    elif type(fixed) is not int or not 0 <= fixed < layers:
        problems.append(f'fixed_layers = {fixed}: at least 0 and fewer than the {layers} layers')
    if not isinstance(vacuum, (int, float)) or not vacuum > 0:
        problems.append(f'vacuum = {vacuum}: a positive number of Å')
    return '; '.join(problems) or None


@calcfunction
def build_zn_slab(bulk: orm.StructureData, settings: orm.Dict) -> dict:
    """The Zn(0001) slab of the hcp ``bulk`` cell: outputs ``slab`` and ``slab_info``.

    ``settings``: ``supercell`` [n1, n2], ``layers``, ``vacuum`` (Å), ``fixed_layers`` (bottom layers to keep fixed).
    ``slab_info``: a, c, layers, supercell, vacuum, n_atoms, fixed_atoms (0-based indices of the fixed layers),
    area (Å^2), top_z (Å, the top layer's height). Exit 302 for invalid settings or a bulk that is not hcp Zn.
    """
    options = settings.get_dict()
    problem = _slab_settings_error(options) or hcp_cell_problem(bulk.get_ase())
    if problem:
        return ExitCode(302, f'invalid settings: {problem}')
    a, c = hcp_lattice(bulk.get_ase())
    supercell = [int(n) for n in options['supercell']]
    slab = zn_basal_slab(a, c, (supercell[0], supercell[1]), options['layers'], float(options['vacuum']))
    layers = layer_indices(slab)
    cell = np.array(slab.cell)
    info = {
        'a': a,
        'c': c,
        'layers': options['layers'],
        'supercell': supercell,
        'vacuum': float(options['vacuum']),
        'n_atoms': len(slab),
        'fixed_atoms': sorted(index for layer in layers[: options['fixed_layers']] for index in layer),
        'area': float(np.linalg.norm(np.cross(cell[0], cell[1]))),
        'top_z': _top_z(slab),
    }
    return {'slab': orm.StructureData(ase=slab), 'slab_info': orm.Dict(info)}


@calcfunction
def build_adsorption_configurations(slab: orm.StructureData, smiles: orm.Str, settings: orm.Dict) -> dict:
    """``molecule`` (in the slab's cell), ``configuration_000``... (slab + molecule) and ``configurations`` (Dict).

    ``settings``: see :func:`build_configurations`. ``configurations`` holds smiles, n_atoms_molecule, n_slab and
    ``items``, one metadata dict per configuration with ``structure`` naming its output. Exit 300: invalid molecule;
    301: molecule too large for the cell; 302: invalid settings.
    """
    try:
        molecule, configurations = build_configurations(slab.get_ase(), smiles.value, settings.get_dict())
    except AdsorptionError as error:
        return ExitCode(EXIT_STATUS[error.reason], str(error))
    outputs: dict[str, orm.Data] = {'molecule': orm.StructureData(ase=molecule)}
    items = []
    for index, (atoms, meta) in enumerate(configurations):
        key = f'configuration_{index:03d}'
        outputs[key] = orm.StructureData(ase=atoms)
        items.append({**meta, 'structure': key})
    summary = {'smiles': smiles.value, 'n_atoms_molecule': len(molecule), 'n_slab': len(slab.sites), 'items': items}
    outputs['configurations'] = orm.Dict(summary)
    return outputs
