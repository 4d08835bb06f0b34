"""Zn bulk, the Zn(0001) slab and adsorbate configurations: geometry checked against the hcp crystal."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from ase.geometry import get_distances
from rdkit import Chem

from aiida_znadditive.structures.zinc_slab import (
    ZN_EXPERIMENT,
    adsorption_sites,
    build_adsorption_configurations,
    build_configurations,
    build_zn_bulk,
    build_zn_slab,
    donor_classes,
    hcp_lattice,
    layer_indices,
    zn_basal_slab,
    zn_bulk,
)

A, C = ZN_EXPERIMENT['a'], ZN_EXPERIMENT['c']
SETTINGS = {
    'allowed_elements': ['H', 'C', 'N', 'O', 'S', 'F', 'P', 'Cl'],
    'max_heavy_atoms': 20,
    'seed': 42,
    'sites': ['ontop', 'bridge', 'fcc', 'hcp'],
    'flat': True,
    'bond_lengths': {'default': 2.3, 'O': 2.2, 'S': 2.5},
    'flat_height': 2.6,
    'min_contact': 1.8,
    'min_image_distance': 3.0,
    'max_configurations': 16,
}


def in_plane(point, positions, cell) -> np.ndarray:
    flat = np.array(positions)
    flat[:, 2] = point[2]
    return get_distances(point, flat, cell=cell, pbc=[True, True, False])[1][0]


def test_bulk_round_trip():
    bulk = zn_bulk(A, C)
    assert len(bulk) == 2
    assert hcp_lattice(bulk) == pytest.approx((A, C))


def test_slab_layers_and_vacuum():
    slab = zn_basal_slab(A, C, (3, 3), 3, 15.0)
    layers = layer_indices(slab)
    assert [len(layer) for layer in layers] == [9, 9, 9]
    heights = [slab.positions[layer, 2].mean() for layer in layers]
    assert np.diff(heights) == pytest.approx([C / 2, C / 2], abs=1e-6)
    assert slab.cell[2][2] - (heights[-1] - heights[0]) >= 15.0 - 1e-6
    assert all(slab.pbc)
    # Every Zn of the top layer has 6 in-plane neighbours at a.
    top = layers[-1]
    distances = get_distances(slab.positions[top], cell=slab.cell, pbc=slab.pbc)[1]
    assert (np.abs(distances - A) < 1e-6).sum(axis=1).tolist() == [6] * 9


def test_sites_are_the_four_high_symmetry_sites():
    slab = zn_basal_slab(A, C, (3, 3), 3, 15.0)
    layers = layer_indices(slab)
    sites = {site.label: site.position for site in adsorption_sites(slab)}
    assert list(sites) == ['ontop', 'bridge', 'fcc', 'hcp']
    top, second, third = (slab.positions[layers[i]] for i in (-1, -2, -3))
    assert in_plane(sites['ontop'], top, slab.cell).min() < 0.05
    assert np.sort(in_plane(sites['bridge'], top, slab.cell))[:2] == pytest.approx([A / 2, A / 2], abs=0.05)
    for hollow in ('fcc', 'hcp'):
        assert np.sort(in_plane(sites[hollow], top, slab.cell))[:3] == pytest.approx([A / np.sqrt(3)] * 3, abs=0.05)
    # ABA stacking: the hcp hollow sits over a second-layer Zn, the fcc hollow over none of the layers below.
    assert in_plane(sites['hcp'], second, slab.cell).min() < 0.05
    assert in_plane(sites['fcc'], second, slab.cell).min() > 1.0
    assert in_plane(sites['fcc'], third, slab.cell).min() > 1.0


@pytest.mark.parametrize(('smiles', 'classes'), [('O', 1), ('CC(C)=O', 1), ('OCCO', 1), ('CS(=O)(=O)[O-]', 1)])
def test_donor_classes_collapse_symmetric_donors(smiles, classes):
    assert len(donor_classes(Chem.AddHs(Chem.MolFromSmiles(smiles)))) == classes


def test_water_configurations():
    slab = zn_basal_slab(A, C, (3, 3), 3, 15.0)
    molecule, configurations = build_configurations(slab, 'O', SETTINGS)
    assert len(configurations) == 8  # 4 sites x (O down, flat)
    assert len(molecule) == 3 and np.allclose(molecule.cell, slab.cell)
    for atoms, meta in configurations:
        assert atoms.get_chemical_symbols()[:27] == ['Zn'] * 27
        distances = get_distances(atoms.positions[27:], atoms.positions[:27], cell=atoms.cell, pbc=atoms.pbc)[1]
        assert distances.min() >= SETTINGS['min_contact'] - 1e-9, meta['label']
    atoms, meta = configurations[0]
    assert meta['label'] == 'ontop/O0-down'
    oxygen, hydrogens = atoms.positions[27], atoms.positions[28:]
    distances = get_distances(oxygen, atoms.positions[:27], cell=atoms.cell, pbc=atoms.pbc)[1]
    assert distances.min() == pytest.approx(2.2, abs=1e-6)
    assert (hydrogens[:, 2] > oxygen[2]).all()
    flat = next(atoms for atoms, meta in configurations if meta['orientation'] == 'flat')
    assert np.ptp(flat.positions[27:, 2]) < 0.05  # the molecular plane lies in xy


def test_calcfunctions_and_their_exit_codes(aiida_profile):
    bulk = build_zn_bulk(orm.Dict(ZN_EXPERIMENT))
    result = build_zn_slab(bulk, orm.Dict({'supercell': [2, 2], 'layers': 3, 'fixed_layers': 1, 'vacuum': 10.0}))
    info = result['slab_info'].get_dict()
    assert info['n_atoms'] == 12 and len(info['fixed_atoms']) == 4
    assert info['area'] == pytest.approx(4 * A * A * np.sqrt(3) / 2)
    slab = result['slab']
    outputs = build_adsorption_configurations(slab, orm.Str('O'), orm.Dict(SETTINGS))
    items = outputs['configurations']['items']
    assert [item['structure'] for item in items] == [f'configuration_{i:03d}' for i in range(8)]
    assert all(len(outputs[item['structure']].sites) == 15 for item in items)

    _, node = build_adsorption_configurations.run_get_node(slab, orm.Str('C1CC'), orm.Dict(SETTINGS))
    assert node.exit_status == 300
    _, node = build_adsorption_configurations.run_get_node(slab, orm.Str('CCCCCCCCCCCC'), orm.Dict(SETTINGS))
    assert node.exit_status == 301
    assert 'CCCCCCCCCCCC' in node.exit_message and 'larger supercell' in node.exit_message
    bad = {'supercell': [2, 2], 'layers': 3, 'fixed_layers': 3, 'vacuum': 10.0}
    _, node = build_zn_slab.run_get_node(bulk, orm.Dict(bad))
    assert node.exit_status == 302
