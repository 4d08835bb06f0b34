"""Adsorption analysis: the geometry checks that keep dissociated or desorbed adsorbates out of the ranking."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from ase import Atoms
from ase.build import hcp0001

from aiida_znadditive.analysis.adsorption import adsorbate_geometry, adsorption_energies, zn_lattice
from aiida_znadditive.structures.zinc_slab import zn_bulk

CHECKS = {'bond_tolerance': 1.25, 'desorption_distance': 4.0}


def water_on_zn(height: float = 2.2, shift_h: float = 0.0) -> Atoms:
    """Water, O down, on top of a top-layer Zn of a 2x2x3 slab; optionally one H pulled ``shift_h`` Å away."""
    slab = hcp0001('Zn', size=(2, 2, 3), a=2.665, c=4.947, vacuum=6.0)
    top = slab[slab.positions[:, 2].argmax()].position
    water = Atoms('OH2', positions=[[0, 0, 0], [0.7572, 0, 0.5865], [-0.7572, 0, 0.5865]])
    water.positions += top + np.array([0.0, 0.0, height])
    water.positions[1] += [shift_h, 0, 0]
    return slab + water


def test_intact_adsorbate_distances():
    initial = water_on_zn()
    result = adsorbate_geometry(initial, initial, 12, **CHECKS)
    assert result['shortest_zn_distances']['O'] == pytest.approx(2.2, abs=1e-3)
    assert result['closest_atom'] == 'O'
    assert not result['dissociated'] and not result['desorbed']


def test_dissociated_and_desorbed_are_flagged():
    dissociated = adsorbate_geometry(water_on_zn(), water_on_zn(shift_h=1.5), 12, **CHECKS)
    assert dissociated['dissociated']
    assert dissociated['broken_bonds'] == [[0, 1]]
    desorbed = adsorbate_geometry(water_on_zn(), water_on_zn(height=5.0), 12, **CHECKS)
    assert desorbed['desorbed'] and not desorbed['dissociated']


def test_a_molecule_split_by_the_cell_boundary_is_whole():
    """A relaxation may move an H through a cell face: that is not a broken bond."""
    atoms = water_on_zn()
    wrapped = atoms.copy()
    wrapped.positions[-1] -= atoms.cell[0]  # the same H, one cell vector away
    assert not adsorbate_geometry(atoms, wrapped, 12, **CHECKS)['dissociated']


def test_adsorption_energies_rank_only_intact_adsorbates(aiida_profile):
    initial = orm.StructureData(ase=water_on_zn())
    items = [
        {'structure': key, 'label': key, 'site': 'ontop', 'orientation': 'O0-down', 'n_slab': 12}
        for key in ('configuration_000', 'configuration_001', 'configuration_002')
    ]
    outputs = adsorption_energies(
        orm.Float(-100.0),
        orm.Float(-14.0),
        orm.Dict({'items': items}),
        orm.Dict(CHECKS),
        configuration_000_energy=orm.Float(-114.3),
        configuration_000_initial=initial,
        configuration_000_relaxed=initial,
        # lower in energy, but dissociated: must not become the best
        configuration_001_energy=orm.Float(-115.0),
        configuration_001_initial=initial,
        configuration_001_relaxed=orm.StructureData(ase=water_on_zn(shift_h=1.5)),
    )
    table = outputs['table'].get_dict()
    assert table['best'] == 'configuration_000'
    assert outputs['adsorption_energy'].value == pytest.approx(-0.3)
    statuses = {row['structure']: row['status'] for row in table['rows']}
    assert statuses == {'configuration_000': 'ok', 'configuration_001': 'dissociated', 'configuration_002': 'failed'}
    assert table['counts'] == {'ok': 1, 'dissociated': 1, 'desorbed': 0, 'failed': 1}


def test_zn_lattice_deviation(aiida_profile):
    lattice = zn_lattice(orm.StructureData(ase=zn_bulk(2.7183, 4.947)), orm.Dict({'a': 2.665, 'c': 4.947}))
    assert lattice['a_error_percent'] == pytest.approx(2.0, abs=0.01)
    assert lattice['c_error_percent'] == pytest.approx(0.0, abs=1e-9)
    assert lattice['c_over_a'] == pytest.approx(4.947 / 2.7183)
