"""The packmol-built electrolyte boxes: composition, density, charge, first shell, contacts and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from ase.units import _amu

from aiida_znadditive.structures.electrolyte import (
    PackingError,
    box_length,
    build_solvation_box,
    pack_electrolyte,
)
from aiida_znadditive.structures.ligands import LigandError


def density(atoms) -> float:
    """g/cm^3 from the atoms' masses and the cell volume."""
    return atoms.get_masses().sum() * _amu * 1e3 / (atoms.get_volume() * 1e-24)


def zn_distances(box, indices) -> np.ndarray:
    return box.atoms.get_distances(box.zn_index, indices, mic=True)


def test_pure_water_box():
    box = pack_electrolyte(32)
    atoms = box.atoms
    assert len(atoms) == 1 + 32 * 3 + 5
    assert box.charge == 0
    assert atoms.pbc.all()
    assert np.allclose(atoms.cell.angles(), 90.0)
    assert density(atoms) == pytest.approx(1.0, abs=1e-3)
    assert atoms.cell.lengths()[0] == pytest.approx(box_length(atoms.get_masses().sum(), 1.0), abs=0.01)
    assert np.allclose(atoms.positions[0], atoms.cell.lengths() / 2)  # Zn at the centre
    water_o = [group[0] for group in box.groups['water']]
    assert len(water_o) == 32
    assert set(atoms.get_chemical_symbols()[i] for i in water_o) == {'O'}
    distances = np.sort(zn_distances(box, water_o))
    assert np.allclose(distances[:6], 2.09, atol=0.01)  # the fixed octahedron
    assert distances[6] > 3.0  # nothing else in the first shell
    sulfate = box.groups['counter_ion']
    assert len(sulfate) == 1
    assert [atoms.get_chemical_symbols()[i] for i in sulfate[0]] == ['O'] * 4
    assert zn_distances(box, sulfate[0]).min() > 3.0


def test_intermolecular_contacts_respect_the_tolerance_across_the_boundary():
    box = pack_electrolyte(32, tolerance=2.0)
    owner = np.zeros(len(box.atoms), dtype=int)
    for label, molecule in enumerate((m for group in box.molecules.values() for m in group if min(m) >= 19), 1):
        owner[molecule] = label
    distances = box.atoms.get_all_distances(mic=True)
    assert distances[owner[:, None] != owner[None, :]].min() >= 1.6


def test_counter_ions_neutralise_zn():
    chloride = pack_electrolyte(16, counter_ion='chloride')
    assert chloride.charge == 0
    assert len(chloride.groups['counter_ion']) == 2
    bare = pack_electrolyte(16, counter_ion='none')
    assert bare.charge == 2
    assert bare.groups['counter_ion'] == []


def test_additives_hydrated_start():
    box = pack_electrolyte(32, 'CO', 2)
    assert len(box.groups['additive']) == 2
    for donors in box.groups['additive']:
        assert [box.atoms.get_chemical_symbols()[i] for i in donors] == ['O']
        assert zn_distances(box, donors).min() > 4.0
    assert len(box.groups['water']) == 32
    assert box.composition['n_additives'] == 2


def test_additive_bound_start():
    box = pack_electrolyte(32, 'CO', 1, start='bound')
    assert len(box.groups['water']) == 32  # five in the shell, the rest packed
    donors = box.groups['additive'][0]
    assert 2.0 <= zn_distances(box, donors).min() <= 2.3
    first_shell_waters = (zn_distances(box, [g[0] for g in box.groups['water']]) < 2.5).sum()
    assert first_shell_waters == 5


def test_charged_additive():
    box = pack_electrolyte(32, 'CC(=O)[O-]', 1)
    assert box.charge == -1  # Zn2+ + SO4 2- + acetate -


def test_same_seed_same_box():
    assert np.array_equal(pack_electrolyte(16, seed=3).atoms.positions, pack_electrolyte(16, seed=3).atoms.positions)


def test_bad_input():
    with pytest.raises(ValueError, match='needs an additive'):
        pack_electrolyte(16, start='bound')
    with pytest.raises(ValueError, match='anion'):
        pack_electrolyte(16, counter_ion='[Na+]')
    with pytest.raises(ValueError, match='neither a known name'):
        pack_electrolyte(16, counter_ion='nitr@te')
    with pytest.raises(LigandError):
        pack_electrolyte(16, 'C1CC', 1)
    with pytest.raises(PackingError, match='could not place'):
        pack_electrolyte(8, 'CCCCCCCCCC(=O)O', 6)


def test_calcfunction_outputs_and_exit_codes():
    settings = {'n_waters': 16, 'n_additives': 1, 'counter_ion': 'sulfate', 'density': 1.0, 'start': 'hydrated'}
    outputs, node = build_solvation_box.run_get_node(orm.Dict(settings), orm.Str('CS(C)=O'))
    assert node.is_finished_ok
    system = outputs['system'].get_dict()
    assert system['charge'] == 0
    assert system['composition']['packmol'].startswith('packmol')
    assert len(outputs['structure'].sites) == 1 + 16 * 3 + 5 + 10
    for overrides, status in (
        ({'n_waters': 8, 'n_additives': 6}, 300),
        ({'start': 'bound'}, 301),
        ({'counter_ion': 'nitr@te'}, 302),
    ):
        additive = orm.Str('CCCCCCCCCC(=O)O') if status == 300 else orm.Str('C1CC' if status == 301 else 'CO')
        _, node = build_solvation_box.run_get_node(orm.Dict({**settings, **overrides}), additive)
        assert node.exit_status == status, node.exit_message
        assert node.exit_message
