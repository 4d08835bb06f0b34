"""Zn bulk (hcp), the Zn(002) = hcp (0001) slab, and adsorbate configurations on it: sites x orientations.

Sites come from pymatgen's ``AdsorbateSiteFinder`` (top, bridge and the two hollows, reduced by the slab's symmetry);
a hollow over a second-layer Zn is ``hcp``, one over a third-layer Zn ``fcc``. Orientations: each symmetry-distinct
donor atom (O, N, S, as the complexation WorkChain finds them) pointing at the surface, and the molecule lying flat.
"""

from __future__ import annotations

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
from .ligands import LigandError, embed_conformers, find_donors, parse_ligand, symmetry_unique

ZN_EXPERIMENT = {'a': 2.665, 'c': 4.947}
SITE_LABELS = ('ontop', 'bridge', 'fcc', 'hcp')
#: Å: a hollow is `hcp` when a second-layer Zn lies this close (in plane) below it
HOLLOW_MATCH = 0.3
#: Å a pose is raised per step until no atom touches the surface
RAISE_STEP = 0.1
ERROR_STATUS = {'invalid_molecule': 300, 'molecule_too_large': 301, 'invalid_settings': 302}


class AdsorptionError(ValueError):
    """A molecule or setting that cannot give adsorption configurations; ``reason`` is a key of ERROR_STATUS."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Site:
    label: str
    position: np.ndarray  # x, y of the site; z of the top Zn layer


@dataclass(frozen=True)
class Orientation:
    label: str
    donor: int | None
    positions: np.ndarray


def zn_bulk(a: float, c: float) -> Atoms:
    """The 2-atom hcp Zn cell."""
    return ase_bulk('Zn', 'hcp', a=a, c=c)


def hcp_lattice(atoms: Atoms) -> tuple[float, float]:
    cell = np.array(atoms.cell)
    return float(np.linalg.norm(cell[0])), float(np.linalg.norm(cell[2]))


def zn_basal_slab(a: float, c: float, supercell: tuple[int, int], layers: int, vacuum: float) -> Atoms:
    """A (0001) slab, atoms sorted bottom to top, periodic in 3D (the vacuum separates the images along z)."""
    slab = hcp0001('Zn', size=(supercell[0], supercell[1], layers), a=a, c=c, vacuum=vacuum / 2, orthogonal=False)
    slab = slab[np.argsort(slab.positions[:, 2], kind='stable')]
    slab.pbc = True
    del slab.constraints
    slab.set_tags(0)
    return slab


def layer_indices(atoms: Atoms, tolerance: float = 0.5) -> list[list[int]]:
    """Indices of the atoms of each layer (z within ``tolerance``), bottom to top."""
    order = np.argsort(atoms.positions[:, 2], kind='stable')
    layers: list[list[int]] = []
    for index in order:
        z = atoms.positions[index, 2]
        if layers and z - atoms.positions[layers[-1][0], 2] < tolerance:
            layers[-1].append(int(index))
        else:
            layers.append([int(index)])
    return layers


def _in_plane_distance(point: np.ndarray, positions: np.ndarray, cell) -> np.ndarray:
    flat = np.array(positions, dtype=float)
    flat[:, 2] = point[2]
    _, distances = get_distances(point, flat, cell=cell, pbc=[True, True, False])
    return distances[0]


def adsorption_sites(slab: Atoms) -> list[Site]:
    """One site of each kind (ontop, bridge, fcc, hcp) on the top face, from pymatgen's AdsorbateSiteFinder."""
    from pymatgen.core.adsorption import AdsorbateSiteFinder
    from pymatgen.io.ase import AseAtomsAdaptor

    layers = layer_indices(slab)
    top_z = float(slab.positions[layers[-1], 2].mean())
    finder = AdsorbateSiteFinder(AseAtomsAdaptor.get_structure(slab))
    found = finder.find_adsorption_sites(distance=0.0, symm_reduce=1e-2, positions=('ontop', 'bridge', 'hollow'))
    sites: dict[str, Site] = {}
    for kind in ('ontop', 'bridge', 'hollow'):
        for coords in found[kind]:
            point = np.array([coords[0], coords[1], top_z])
            label = kind
            if kind == 'hollow':
                below = _in_plane_distance(point, slab.positions[layers[-2]], slab.cell)
                label = 'hcp' if below.min() < HOLLOW_MATCH else 'fcc'
            sites.setdefault(label, Site(label, point))
    return [sites[label] for label in SITE_LABELS if label in sites]


def donor_classes(mol: Chem.Mol) -> list[int]:
    """Atom indices of the donors (O, N, S) of ``mol``, one per symmetry class."""
    return [donor.index for donor in symmetry_unique(mol, find_donors(mol))]


def _rotation_onto(vector: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The rotation matrix that turns ``vector`` onto ``target`` (Rodrigues)."""
    u = vector / np.linalg.norm(vector)
    v = target / np.linalg.norm(target)
    axis = np.cross(u, v)
    sine, cosine = np.linalg.norm(axis), float(np.dot(u, v))
    if sine < 1e-8:
        if cosine > 0:
            return np.eye(3)
        # Antiparallel: half a turn about any axis perpendicular to u.
        perpendicular = np.cross(u, [1.0, 0.0, 0.0] if abs(u[0]) < 0.9 else [0.0, 1.0, 0.0])
        perpendicular /= np.linalg.norm(perpendicular)
        return 2 * np.outer(perpendicular, perpendicular) - np.eye(3)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]]) / sine
    return np.eye(3) + sine * k + (1 - cosine) * k @ k


def orientations(mol: Chem.Mol, positions: np.ndarray, flat: bool = True) -> list[Orientation]:
    """Each symmetry-distinct donor pointing down (-z), and the molecule lying flat (its best plane in xy)."""
    positions = np.asarray(positions, dtype=float)
    symbols = [atom.GetSymbol() for atom in mol.GetAtoms()]
    poses = []
    for donor in donor_classes(mol):
        others = np.delete(positions, donor, axis=0)
        rotation = np.eye(3)
        if len(others):
            away = others.mean(axis=0) - positions[donor]
            if np.linalg.norm(away) > 1e-6:
                rotation = _rotation_onto(away, np.array([0.0, 0.0, 1.0]))
        poses.append(Orientation(f'{symbols[donor]}{donor}-down', donor, (positions - positions[donor]) @ rotation.T))
    if flat and len(positions) > 1:
        heavy = [i for i, symbol in enumerate(symbols) if symbol != 'H']
        points = positions[heavy] if len(heavy) >= 3 else positions
        centred = points - points.mean(axis=0)
        # The smallest principal axis is the normal of the best plane through the points.
        normal = np.linalg.svd(centred, full_matrices=False)[2][-1]
        rotation = _rotation_onto(normal, np.array([0.0, 0.0, 1.0]))
        poses.append(Orientation('flat', None, (positions - positions.mean(axis=0)) @ rotation.T))
    return poses


def _site_height(site: Site, a: float, bond: float) -> float:
    """Height above the top layer at which an atom over ``site`` is ``bond`` from its nearest top-layer Zn."""
    lateral = {'ontop': 0.0, 'bridge': a / 2, 'fcc': a / np.sqrt(3), 'hcp': a / np.sqrt(3)}[site.label]
    return float(np.sqrt(max(bond**2 - lateral**2, 0.25 * bond**2)))


def place_adsorbate(
    slab: Atoms,
    symbols: list[str],
    orientation: Orientation,
    site: Site,
    *,
    a: float,
    bond_lengths: dict[str, float],
    flat_height: float,
    min_contact: float,
) -> Atoms:
    """Slab + molecule (slab atoms first): the donor over the site at its bond length, or the flat molecule's
    centroid over the site with its lowest atom ``flat_height`` up; raised until no atom is within ``min_contact``."""
    positions = orientation.positions.copy()
    if orientation.donor is not None:
        element = symbols[orientation.donor]
        bond = bond_lengths.get(element, bond_lengths['default'])
        positions += site.position + np.array([0.0, 0.0, _site_height(site, a, bond)])
    else:
        positions[:, :2] += site.position[:2] - positions[:, :2].mean(axis=0)
        positions[:, 2] += site.position[2] + flat_height - positions[:, 2].min()
    molecule = Atoms(symbols, positions=positions, cell=slab.cell, pbc=slab.pbc)
    while True:
        _, distances = get_distances(molecule.positions, slab.positions, cell=slab.cell, pbc=slab.pbc)
        if distances.min() >= min_contact:
            break
        molecule.positions[:, 2] += RAISE_STEP
    return slab + molecule


def molecule_in_cell(molecule: Atoms, slab: Atoms) -> Atoms:
    """The isolated molecule in the slab's cell (same cell and k-points: E(molecule) for E_ads), centred."""
    atoms = Atoms(molecule.get_chemical_symbols(), positions=molecule.positions, cell=slab.cell, pbc=True)
    atoms.positions += np.array(slab.cell).sum(axis=0) / 2 - atoms.positions.mean(axis=0)
    return atoms


def image_distance(positions: np.ndarray, cell) -> float:
    """Shortest distance between a molecule and its own images in the slab plane (in-plane lattice vectors)."""
    cell = np.array(cell)
    shortest = np.inf
    for i in (-1, 0, 1):
        for j in (-1, 0, 1):
            if i == j == 0:
                continue
            shift = i * cell[0] + j * cell[1]
            gaps = np.linalg.norm(positions[:, None] - (positions[None] + shift), axis=-1)
            shortest = min(shortest, float(gaps.min()))
    return shortest


def _molecule(smiles: str, settings: dict) -> tuple[Chem.Mol, Atoms]:
    """The molecule with explicit hydrogens and its lowest-energy conformer (water: the experimental geometry)."""
    try:
        mol = parse_ligand(smiles, settings['allowed_elements'], settings['max_heavy_atoms'])
        if Chem.MolToSmiles(Chem.RemoveHs(mol)) == 'O':
            return mol, WATER_GEOMETRY.copy()
        return mol, embed_conformers(mol, 10, seed=settings['seed'])[0]
    except LigandError as error:
        raise AdsorptionError(f'`{smiles}`: {error}', 'invalid_molecule') from error


def build_configurations(slab: Atoms, smiles: str, settings: dict) -> tuple[Atoms, list[tuple[Atoms, dict]]]:
    """The molecule in the slab's cell, and every (site, orientation) configuration with its description."""
    unknown = set(settings['sites']) - set(SITE_LABELS)
    if unknown:
        raise AdsorptionError(f'unknown sites {sorted(unknown)}; use {SITE_LABELS}', 'invalid_settings')
    mol, molecule = _molecule(smiles, settings)
    a, _ = hcp_lattice_from_slab(slab)
    symbols = molecule.get_chemical_symbols()
    poses = orientations(mol, molecule.positions, flat=settings['flat'])
    closest = min(image_distance(pose.positions, slab.cell) for pose in poses)
    if closest < settings['min_image_distance']:
        extent = np.ptp(molecule.positions[:, :2], axis=0).max()
        raise AdsorptionError(
            f'`{smiles}` ({extent:.1f} Å across) comes within {closest:.2f} Å of its own periodic image on this '
            f'{np.linalg.norm(slab.cell[0]):.1f} Å x {np.linalg.norm(slab.cell[1]):.1f} Å slab (minimum '
            f'{settings["min_image_distance"]} Å): use a larger supercell',
            'molecule_too_large',
        )
    sites = [site for site in adsorption_sites(slab) if site.label in settings['sites']]
    top_z = float(slab.positions[:, 2].max())
    # Donor-down poses of every donor over every site first, the flat ones last: truncation drops flat poses first.
    ordered = [pose for pose in poses if pose.donor is not None] + [pose for pose in poses if pose.donor is None]
    pairs = [(pose, site) for pose in ordered for site in sites]
    configurations = []
    for pose, site in pairs[: settings['max_configurations']]:
        atoms = place_adsorbate(
            slab,
            symbols,
            pose,
            site,
            a=a,
            bond_lengths=settings['bond_lengths'],
            flat_height=settings['flat_height'],
            min_contact=settings['min_contact'],
        )
        meta = {
            'label': f'{site.label}/{pose.label}',
            'site': site.label,
            'orientation': pose.label,
            'donor': pose.donor,
            'donor_element': symbols[pose.donor] if pose.donor is not None else None,
            'n_slab': len(slab),
            'height': round(float(atoms.positions[len(slab) :, 2].min() - top_z), 4),
            'n_enumerated': len(pairs),
        }
        configurations.append((atoms, meta))
    return molecule_in_cell(molecule, slab), configurations


def hcp_lattice_from_slab(slab: Atoms) -> tuple[float, float]:
    """a from the slab's in-plane cell and c from twice its interlayer spacing."""
    layers = layer_indices(slab)
    n1 = np.linalg.norm(slab.cell[0])
    atoms_per_layer = len(layers[-1])
    # The in-plane cell holds n1 x n2 primitive cells; one Zn per primitive cell per layer.
    n_side = round(np.sqrt(atoms_per_layer)) or 1
    a = float(n1 / n_side) if n_side * n_side == atoms_per_layer else float(_nearest_neighbour(slab, layers[-1]))
    spacing = float(np.diff([slab.positions[layer, 2].mean() for layer in layers]).mean()) if len(layers) > 1 else 0.0
    return a, 2 * spacing


def _nearest_neighbour(slab: Atoms, layer: list[int]) -> float:
    _, distances = get_distances(slab.positions[layer], cell=slab.cell, pbc=slab.pbc)
    return float(distances[distances > 0.1].min())


@calcfunction
def build_zn_bulk(lattice: orm.Dict) -> orm.StructureData:
    """The 2-atom hcp Zn cell with lattice constants ``a`` and ``c`` (Å)."""
    return orm.StructureData(ase=zn_bulk(lattice['a'], lattice['c']))


@calcfunction
def build_zn_slab(bulk: orm.StructureData, settings: orm.Dict):
    """The (0001) slab of the given hcp cell: ``slab`` and ``slab_info`` (fixed bottom atoms, layers, area, ...).

    ``settings``: ``supercell`` [n1, n2], ``layers``, ``fixed_layers``, ``vacuum`` (Å).
    """
    options = settings.get_dict()
    supercell, layers, fixed_layers = options['supercell'], options['layers'], options['fixed_layers']
    if layers < 2 or not 0 <= fixed_layers < layers or min(supercell) < 1 or options['vacuum'] <= 0:
        return ExitCode(
            302,
            f'invalid slab: {layers} layers ({fixed_layers} fixed), supercell {supercell}, vacuum {options["vacuum"]}',
        )
    a, c = hcp_lattice(bulk.get_ase())
    slab = zn_basal_slab(a, c, tuple(supercell), layers, options['vacuum'])
    layer_sets = layer_indices(slab)
    fixed = sorted(index for layer in layer_sets[:fixed_layers] for index in layer)
    cell = np.array(slab.cell)
    info = {
        'a': a,
        'c': c,
        'layers': layers,
        'supercell': list(supercell),
        'vacuum': options['vacuum'],
        'n_atoms': len(slab),
        'fixed_atoms': fixed,
        'area': float(np.linalg.norm(np.cross(cell[0], cell[1]))),
        'top_z': float(slab.positions[:, 2].max()),
    }
    return {'slab': orm.StructureData(ase=slab), 'slab_info': orm.Dict(info)}


@calcfunction
def build_adsorption_configurations(slab: orm.StructureData, smiles: orm.Str, settings: orm.Dict):
    """``molecule`` (in the slab's cell), ``configuration_<NNN>`` (slab + molecule) and ``configurations`` (Dict).

    ``settings``: ``allowed_elements``, ``max_heavy_atoms``, ``seed``, ``sites``, ``flat``, ``bond_lengths`` (Å per
    element, ``default``), ``flat_height``, ``min_contact``, ``min_image_distance`` (Å), ``max_configurations``.
    Exit 300: the molecule cannot be used; 301: it is too large for the cell; 302: invalid settings.
    """
    try:
        molecule, configurations = build_configurations(slab.get_ase(), smiles.value, settings.get_dict())
    except AdsorptionError as error:
        return ExitCode(ERROR_STATUS[error.reason], str(error))
    outputs: dict[str, orm.Data] = {'molecule': orm.StructureData(ase=molecule)}
    items = []
    for index, (atoms, meta) in enumerate(configurations):
        key = f'configuration_{index:03d}'
        outputs[key] = orm.StructureData(ase=atoms)
        items.append({**meta, 'structure': key})
    outputs['configurations'] = orm.Dict(
        {'smiles': smiles.value, 'n_atoms_molecule': len(molecule), 'n_slab': len(slab.sites), 'items': items}
    )
    return outputs
