"""Zn bulk, the Zn(0001) slab and adsorbate configurations, checked against the geometry of the hcp crystal."""

from __future__ import annotations

import math

import numpy as np
import pytest
from aiida import orm
from ase.geometry import get_distances

from aiida_znadditive.structures.ligands import parse_ligand
from aiida_znadditive.structures.zinc_slab import (
    SITE_LABELS,
    ZN_EXPERIMENT,
    AdsorptionError,
    adsorption_sites,
    build_adsorption_configurations,
    build_configurations,
    build_zn_bulk,
    build_zn_slab,
    donor_classes,
    hcp_cell_problem,
    hcp_lattice,
    image_distance,
    layer_indices,
    molecule_in_cell,
    orientations,
    place_adsorbate,
    zn_basal_slab,
    zn_bulk,
)

A, C = ZN_EXPERIMENT['a'], ZN_EXPERIMENT['c']
ELEMENTS = ['H', 'C', 'N', 'O', 'S', 'F', 'P', 'Cl']
# The protocol's configuration settings (adsorption.yaml), trimmed to the elements used here.
SETTINGS = {
    'allowed_elements': ELEMENTS,
    'max_heavy_atoms': 20,
    'seed': 42,
    'sites': list(SITE_LABELS),
    'flat': True,
    'bond_lengths': {'default': 2.3, 'O': 2.2, 'S': 2.5},
    'flat_height': 2.6,
    'min_contact': 1.8,
    'min_image_distance': 3.0,
    'max_configurations': 16,
}
BOND = {'default': 2.3, 'O': 2.2}


@pytest.fixture(scope='module')
def slab():
    """The fast protocol's slab: 3x3 in plane, 3 layers, 15 Å vacuum."""
    return zn_basal_slab(A, C, (3, 3), 3, 15.0)


@pytest.fixture(scope='module')
def sites(slab):
    return {site.label: site for site in adsorption_sites(slab)}


def in_plane(point, positions, cell) -> np.ndarray:
    """In-plane minimum-image distances from ``point`` to ``positions``."""
    flat = np.array(positions, dtype=float).reshape(-1, 3)
    flat[:, 2] = point[2]
    return get_distances(point, flat, cell=cell, pbc=[True, True, False])[1][0]


def zn_distances(atoms, n_slab: int, index: int) -> np.ndarray:
    """Minimum-image distances from atom ``index`` to every Zn of the first ``n_slab`` atoms."""
    return get_distances(atoms.positions[index], atoms.positions[:n_slab], cell=atoms.cell, pbc=atoms.pbc)[1][0]


def closest_contact(atoms, n_slab: int) -> float:
    """Shortest minimum-image distance between a molecule atom and a Zn."""
    return float(
        get_distances(atoms.positions[n_slab:], atoms.positions[:n_slab], cell=atoms.cell, pbc=atoms.pbc)[1].min()
    )


def test_bulk_round_trip():
    bulk = zn_bulk(A, C)
    assert bulk.get_chemical_symbols() == ['Zn', 'Zn']
    assert all(bulk.pbc)
    assert hcp_lattice(bulk) == pytest.approx((A, C), abs=1e-12)
    assert hcp_lattice(zn_bulk(2.7, 5.1)) == pytest.approx((2.7, 5.1), abs=1e-12)


def test_cp2k_60_degree_cell_is_the_same_hcp_lattice():
    """CP2K's CELL_OPT writes the hexagonal cell back with a1, a2 60° apart (a CI run stopped on this): same lattice."""
    bulk = zn_bulk(A, C)
    cell = np.array(bulk.cell)
    bulk.set_cell([cell[0], cell[0] + cell[1], cell[2]], scale_atoms=False)
    assert hcp_cell_problem(bulk) is None
    assert hcp_lattice(bulk) == pytest.approx((A, C), abs=1e-12)
    squashed = zn_bulk(A, C)
    squashed.set_cell([cell[0], cell[1] * 1.05, cell[2]], scale_atoms=True)
    assert 'not an hcp cell' in hcp_cell_problem(squashed)


def test_slab_layers_spacing_and_vacuum(slab):
    assert len(slab) == 27
    layers = layer_indices(slab)
    assert [len(layer) for layer in layers] == [9, 9, 9]
    assert np.all(np.diff(slab.positions[:, 2]) >= 0)  # sorted bottom to top
    heights = [slab.positions[layer, 2].mean() for layer in layers]
    assert np.diff(heights) == pytest.approx([C / 2, C / 2], abs=1e-6)
    assert all(np.ptp(slab.positions[layer, 2]) < 1e-9 for layer in layers)
    assert slab.cell[2][2] - (heights[-1] - heights[0]) >= 15.0 - 1e-9
    assert all(slab.pbc)
    assert not slab.get_tags().any()  # ase's layer tags would become separate kinds in a StructureData
    # Each Zn of the top layer has its 6 in-plane neighbours at a.
    distances = get_distances(slab.positions[layers[-1]], cell=slab.cell, pbc=slab.pbc)[1]
    assert (np.abs(distances - A) < 1e-6).sum(axis=1).tolist() == [6] * 9


@pytest.mark.parametrize(('supercell', 'layers'), [((2, 2), 2), ((3, 3), 3), ((4, 4), 4)])
def test_sites_are_the_four_high_symmetry_sites(supercell, layers):
    slab = zn_basal_slab(A, C, supercell, layers, 12.0)
    found = adsorption_sites(slab)
    assert [site.label for site in found] == list(SITE_LABELS)
    position = {site.label: site.position for site in found}
    stack = [slab.positions[layer] for layer in layer_indices(slab)]
    top, second = stack[-1], stack[-2]
    assert all(site.position[2] == pytest.approx(top[0, 2]) for site in found)
    assert in_plane(position['ontop'], top, slab.cell).min() < 0.05
    assert np.sort(in_plane(position['bridge'], top, slab.cell))[:3] == pytest.approx(
        [A / 2, A / 2, A * math.sqrt(3) / 2], abs=0.05
    )
    for hollow in ('fcc', 'hcp'):
        assert np.sort(in_plane(position[hollow], top, slab.cell))[:4] == pytest.approx(
            [A / math.sqrt(3)] * 3 + [2 * A / math.sqrt(3)], abs=0.05
        )
    # hcp Zn stacks ABAB: the hcp hollow is over a 2nd-layer (B) Zn, the fcc hollow over the empty C position, so
    # over no Zn of any layer; the 3rd layer (A) lies under the top-layer atoms, i.e. under the ontop site.
    assert in_plane(position['hcp'], second, slab.cell).min() < 0.05
    for layer in stack[:-1]:
        assert in_plane(position['fcc'], layer, slab.cell).min() > 1.0
    if layers >= 3:
        assert in_plane(position['ontop'], stack[-3], slab.cell).min() < 0.05


def test_one_layer_has_no_distinct_hollows():
    with pytest.raises(AdsorptionError, match='at least 2') as error:
        adsorption_sites(zn_basal_slab(A, C, (2, 2), 1, 10.0))
    assert error.value.reason == 'invalid_settings'


@pytest.mark.parametrize(
    ('smiles', 'elements'),
    [
        ('O', ['O']),
        ('CS(C)=O', ['O', 'S']),  # DMSO: the O, and the S with its lone pair
        ('CS(=O)(=O)[O-]', ['O']),  # methanesulfonate: three O by resonance, S has no lone pair
        ('CC(=O)[O-]', ['O']),
        ('OCCO', ['O']),
        ('[O-]S(=O)(=O)C(F)(F)F', ['O', 'F']),  # triflate
        ('c1ccccc1', []),
    ],
)
def test_donor_classes(smiles, elements):
    mol = parse_ligand(smiles, ELEMENTS, 20)
    classes = donor_classes(mol)
    assert [mol.GetAtomWithIdx(i).GetSymbol() for i in classes] == elements


def test_sulfonate_oxygens_collapse_to_one_class():
    mol = parse_ligand('CS(=O)(=O)[O-]', ELEMENTS, 20)
    oxygens = [atom.GetIdx() for atom in mol.GetAtoms() if atom.GetSymbol() == 'O']
    assert len(oxygens) == 3
    assert donor_classes(mol) == [oxygens[0]]


def test_water_orientations():
    mol = parse_ligand('O', ELEMENTS, 20)
    water = np.array([[0.0, 0.0, 0.0], [0.0, 0.7572, 0.5865], [0.0, -0.7572, 0.5865]])
    rotated = water @ np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # any start orientation
    down, flat = orientations(mol, rotated)
    assert (down.label, down.donor, flat.label, flat.donor) == ('O0-down', 0, 'flat', None)
    assert down.positions[0] == pytest.approx([0, 0, 0])
    assert down.positions[1:, 2] == pytest.approx([0.5865, 0.5865], abs=1e-6)  # both H up, symmetric
    assert np.ptp(flat.positions[:, 2]) < 1e-9  # the molecular plane in xy
    assert flat.positions.mean(axis=0) == pytest.approx([0, 0, 0], abs=1e-12)
    # Rotations keep the geometry.
    for pose in (down, flat):
        assert np.linalg.norm(pose.positions[1] - pose.positions[0]) == pytest.approx(np.linalg.norm(water[1]))


@pytest.mark.parametrize(('label', 'n_bonded'), [('ontop', 1), ('bridge', 2), ('fcc', 3), ('hcp', 3)])
def test_water_donor_down_sits_at_the_bond_length(slab, sites, label, n_bonded):
    mol = parse_ligand('O', ELEMENTS, 20)
    down = orientations(mol, np.array([[0.0, 0.0, 0.0], [0.0, 0.7572, 0.5865], [0.0, -0.7572, 0.5865]]))[0]
    site = sites[label]
    atoms = place_adsorbate(slab, down, site, a=A, bond_lengths=BOND, flat_height=2.6, min_contact=1.8)
    n = len(slab)
    assert atoms.get_chemical_symbols() == ['Zn'] * n + ['O', 'H', 'H']
    assert np.allclose(atoms.positions[:n], slab.positions) and np.allclose(atoms.cell, slab.cell)
    assert all(atoms.pbc)
    oxygen = atoms.positions[n]
    assert oxygen[:2] == pytest.approx(site.position[:2], abs=1e-9)
    distances = np.sort(zn_distances(atoms, n, n))
    assert distances[:n_bonded] == pytest.approx([2.2] * n_bonded, abs=1e-6)
    assert distances[n_bonded] > 2.2 + 0.3
    assert (atoms.positions[n + 1 :, 2] > oxygen[2]).all()  # the H point away from the surface


def test_too_close_pose_is_raised_until_clear(slab, sites):
    mol = parse_ligand('O', ELEMENTS, 20)
    down = orientations(mol, np.array([[0.0, 0.0, 0.0], [0.0, 0.7572, 0.5865], [0.0, -0.7572, 0.5865]]))[0]
    # A 1.0 Å bond over a bridge (a/2 = 1.33 Å) has no real height: the O starts in the Zn plane and is lifted.
    atoms = place_adsorbate(slab, down, sites['bridge'], a=A, bond_lengths={'O': 1.0}, flat_height=2.6, min_contact=2.0)
    assert 2.0 <= closest_contact(atoms, len(slab)) < 2.0 + 0.1 + 1e-9


def test_image_distance_and_molecule_in_cell(slab):
    from ase import Atoms

    # One atom: its nearest image is one in-plane cell vector (3a) away.
    assert image_distance(Atoms('O', positions=[[1.0, 2.0, 3.0]]), slab.cell) == pytest.approx(3 * A)
    rod = Atoms('C2', positions=[[0.0, 0.0, 0.0], [6.0, 0.0, 0.0]])  # 6 Å along a1 of a 7.995 Å cell
    assert image_distance(rod, slab.cell) == pytest.approx(3 * A - 6.0)
    boxed = molecule_in_cell(rod, slab)
    assert np.allclose(boxed.cell, slab.cell) and all(boxed.pbc)
    assert boxed.positions.mean(axis=0) == pytest.approx(np.array(slab.cell).sum(axis=0) / 2)
    assert boxed.get_distance(0, 1) == pytest.approx(6.0)


def test_water_configurations(slab):
    molecule, configurations = build_configurations(slab, 'O', SETTINGS)
    n = len(slab)
    assert molecule.get_chemical_symbols() == ['O', 'H', 'H'] and np.allclose(molecule.cell, slab.cell)
    labels = [meta['label'] for _, meta in configurations]
    assert labels == [f'{site}/O0-down' for site in SITE_LABELS] + [f'{site}/flat' for site in SITE_LABELS]
    top_z = slab.positions[:, 2].max()
    for atoms, meta in configurations:
        assert atoms.get_chemical_symbols() == ['Zn'] * n + ['O', 'H', 'H']
        assert closest_contact(atoms, n) >= SETTINGS['min_contact'] - 1e-9, meta['label']
        assert meta['height'] == pytest.approx(atoms.positions[n:, 2].min() - top_z)
        assert (meta['n_slab'], meta['n_enumerated']) == (n, 8)
        expected = (0, 'O') if meta['orientation'] == 'O0-down' else (None, None)
        assert (meta['donor'], meta['donor_element']) == expected
    ontop, meta = configurations[0]
    assert zn_distances(ontop, n, n).min() == pytest.approx(2.2, abs=1e-6)
    assert (ontop.positions[n + 1 :, 2] > ontop.positions[n, 2]).all()
    for atoms, meta in configurations[4:]:
        assert np.ptp(atoms.positions[n:, 2]) < 1e-6, meta['label']  # flat: the molecular plane in xy
        assert meta['height'] == pytest.approx(SETTINGS['flat_height'])


def test_truncation_keeps_donor_down_poses_first(slab):
    _, configurations = build_configurations(slab, 'CS(C)=O', {**SETTINGS, 'max_configurations': 5})
    labels = [meta['label'] for _, meta in configurations]
    assert labels == [f'{site}/O3-down' for site in SITE_LABELS] + ['ontop/S1-down']
    assert {meta['n_enumerated'] for _, meta in configurations} == {12}  # (O, S, flat) x 4 sites
    assert all(closest_contact(atoms, len(slab)) >= SETTINGS['min_contact'] - 1e-9 for atoms, _ in configurations)


def test_bad_inputs_raise_with_a_reason(slab):
    small = zn_basal_slab(A, C, (2, 2), 3, 10.0)
    cases = [
        (slab, 'C1CC', SETTINGS, 'invalid_molecule'),
        (slab, 'O[Si](O)(O)O', {**SETTINGS, 'allowed_elements': ['C', 'O']}, 'invalid_molecule'),
        (small, 'CCCCCCCCCCCCCCCCCCCC', SETTINGS, 'molecule_too_large'),
        (slab, 'O', {**SETTINGS, 'sites': ['ontop', 'atop']}, 'invalid_settings'),
        (slab, 'c1ccccc1', {**SETTINGS, 'flat': False}, 'invalid_settings'),
        (slab, 'O', {key: value for key, value in SETTINGS.items() if key != 'min_contact'}, 'invalid_settings'),
    ]
    for structure, smiles, settings, reason in cases:
        with pytest.raises(AdsorptionError) as error:
            build_configurations(structure, smiles, settings)
        assert error.value.reason == reason, smiles


def test_calcfunctions_and_exit_codes(aiida_profile):
    bulk, node = build_zn_bulk.run_get_node(orm.Dict(ZN_EXPERIMENT))
    assert node.is_finished_ok and len(bulk.sites) == 2
    slab_settings = {'supercell': [2, 2], 'layers': 3, 'fixed_layers': 1, 'vacuum': 10.0}
    result = build_zn_slab(bulk, orm.Dict(slab_settings))
    info = result['slab_info'].get_dict()
    assert (info['a'], info['c']) == pytest.approx((A, C))
    assert info['n_atoms'] == 12 and info['layers'] == 3 and info['supercell'] == [2, 2]
    assert info['fixed_atoms'] == [0, 1, 2, 3]  # the bottom layer: atoms are sorted bottom to top
    assert info['area'] == pytest.approx(4 * A * A * math.sqrt(3) / 2)
    slab = result['slab']
    assert info['top_z'] == pytest.approx(max(site.position[2] for site in slab.sites))
    assert slab.get_kind_names() == ['Zn']

    outputs, node = build_adsorption_configurations.run_get_node(slab, orm.Str('O'), orm.Dict(SETTINGS))
    assert node.is_finished_ok
    summary = outputs['configurations'].get_dict()
    assert (summary['smiles'], summary['n_atoms_molecule'], summary['n_slab']) == ('O', 3, 12)
    assert [item['structure'] for item in summary['items']] == [f'configuration_{i:03d}' for i in range(8)]
    assert all(len(outputs[item['structure']].sites) == 15 for item in summary['items'])
    assert len(outputs['molecule'].sites) == 3
    assert outputs['configuration_000'].creator.pk == node.pk

    _, node = build_adsorption_configurations.run_get_node(slab, orm.Str('C1CC'), orm.Dict(SETTINGS))
    assert node.exit_status == 300 and 'invalid molecule' in node.exit_message
    chain = 'CCCCCCCCCCCCCCCCCCCC'
    _, node = build_adsorption_configurations.run_get_node(slab, orm.Str(chain), orm.Dict(SETTINGS))
    assert node.exit_status == 301
    assert chain in node.exit_message and 'larger supercell' in node.exit_message
    _, node = build_adsorption_configurations.run_get_node(slab, orm.Str('O'), orm.Dict({**SETTINGS, 'sites': []}))
    assert node.exit_status == 302

    for bad in ({'fixed_layers': 3}, {'layers': 1, 'fixed_layers': 0}, {'supercell': [0, 2]}):
        _, node = build_zn_slab.run_get_node(bulk, orm.Dict({**slab_settings, **bad}))
        assert node.exit_status == 302, bad
    _, node = build_zn_bulk.run_get_node(orm.Dict({'a': -1.0, 'c': C}))
    assert node.exit_status == 302
