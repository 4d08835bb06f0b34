"""The packmol-built electrolyte boxes, checked against the numbers they promise: composition, box length and density,
charge, the fixed first shell, contacts under the minimum image convention, and clear errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from ase.units import _amu

from aiida_znadditive.structures import electrolyte
from aiida_znadditive.structures.electrolyte import (
    PackingError,
    build_solvation_box,
    pack_electrolyte,
)
from aiida_znadditive.structures.ligands import LigandError
from aiida_znadditive.structures.zinc_aqua import WATER_HOH, WATER_OH, ZN_O_EXPERIMENT

TOLERANCE = 2.0


@pytest.fixture(scope='module')
def water_box():
    """The default box: Zn2+, one sulfate and 32 waters at 1.0 g/cm^3."""
    return pack_electrolyte(32)


def density(atoms) -> float:
    """g/cm^3 from the atoms' masses and the cell volume."""
    return atoms.get_masses().sum() * _amu * 1e3 / (atoms.get_volume() * 1e-24)


def zn_distances(box, indices) -> np.ndarray:
    return box.atoms.get_distances(box.zn_index, indices, mic=True)


def symbols(box, indices) -> list[str]:
    return [box.atoms.get_chemical_symbols()[i] for i in indices]


def closest_intermolecular(box) -> float:
    """Shortest minimum-image distance between atoms of different molecules; Zn and its fixed shell count as one,
    and a molecule meeting its own periodic image counts too."""
    owner = np.zeros(len(box.atoms), dtype=int)
    shell_size = 1 + 3 * box.composition['n_first_shell_waters']
    if box.composition['n_bound_additives']:
        shell_size = max(box.molecules['additive'][0]) + 1
    packed = [m for group in box.molecules.values() for m in group if min(m) >= shell_size]
    for label, molecule in enumerate(packed, start=1):
        owner[molecule] = label
    mic = box.atoms.get_all_distances(mic=True)
    direct = box.atoms.get_all_distances()
    other = (owner[:, None] != owner[None, :]) | (direct - mic > 1e-6)
    return float(mic[other].min())


def test_pure_water_box(water_box):
    box, atoms = water_box, water_box.atoms
    assert len(atoms) == 1 + 32 * 3 + 5
    assert atoms.get_chemical_formula() == 'H64O36SZn'
    assert box.charge == 0
    assert box.zn_index == 0
    assert atoms.get_chemical_symbols()[0] == 'Zn'
    assert atoms.pbc.all()
    np.testing.assert_allclose(atoms.cell.angles(), 90.0)
    lengths = atoms.cell.lengths()
    np.testing.assert_allclose(lengths, lengths[0])
    # L = (M / (rho N_A 1e-24))^(1/3): about 10.70 Å for 32 H2O + ZnSO4 at 1.0 g/cm^3.
    mass = 65.38 + 32 * 18.015 + 96.06
    assert lengths[0] == pytest.approx((mass / (1.0 * 0.60221)) ** (1 / 3), abs=0.01)
    assert lengths[0] == pytest.approx(10.70, abs=0.01)
    assert box.composition['box_length'] == pytest.approx(lengths[0])
    assert density(atoms) == pytest.approx(1.0, abs=1e-3)
    np.testing.assert_allclose(atoms.positions[0], lengths / 2, atol=1e-5)  # Zn at the centre

    water_o = [group[0] for group in box.groups['water']]
    assert len(water_o) == 32
    assert set(symbols(box, water_o)) == {'O'}
    distances = np.sort(zn_distances(box, water_o))
    np.testing.assert_allclose(distances[:6], ZN_O_EXPERIMENT, atol=0.01)  # the fixed octahedron
    assert distances[6] > 3.0  # nothing else in the first shell
    assert closest_intermolecular(box) >= 0.8 * TOLERANCE

    sulfate = box.groups['counter_ion']
    assert len(sulfate) == 1
    assert symbols(box, sulfate[0]) == ['O'] * 4
    sulfur = [i for i in box.molecules['counter_ion'][0] if atoms[i].symbol == 'S']
    np.testing.assert_allclose(atoms.get_distances(sulfur[0], sulfate[0], mic=True), 1.5, atol=0.05)  # S-O ~1.49 Å
    assert zn_distances(box, sulfate[0]).min() > 4.0  # outside the 4.35 Å exclusion sphere (capped by the box)

    # Every atom but Zn belongs to exactly one molecule; packed waters keep the experimental geometry.
    members = sorted(i for group in box.molecules.values() for molecule in group for i in molecule)
    assert members == list(range(1, len(atoms)))
    o, h1, h2 = box.molecules['water'][-1]
    np.testing.assert_allclose(atoms.get_distances(o, [h1, h2], mic=True), WATER_OH, atol=1e-4)
    assert np.deg2rad(atoms.get_angle(h1, o, h2, mic=True)) == pytest.approx(WATER_HOH, abs=1e-3)
    assert box.composition['n_counter_ions'] == 1
    assert box.composition['packmol'].startswith('packmol ')
    composition = box.composition
    assert (composition['n_waters'], composition['n_first_shell_waters'], composition['n_additives']) == (32, 6, 0)
    assert (composition['start'], composition['seed'], composition['density']) == ('hydrated', 42, 1.0)
    assert composition['counter_ion'] == 'sulfate'
    assert composition['n_atoms'] == len(atoms)


@pytest.mark.parametrize(
    ('counter_ion', 'donor_symbols'),
    [('chloride', ['Cl']), ('triflate', ['O'] * 3), ('perchlorate', ['O'] * 4), ('acetate', ['O'] * 2)],
)
def test_monovalent_counter_ions_come_in_pairs(counter_ion, donor_symbols):
    box = pack_electrolyte(32, counter_ion=counter_ion)
    assert box.charge == 0
    assert len(box.groups['counter_ion']) == 2
    for donors in box.groups['counter_ion']:
        assert symbols(box, donors) == donor_symbols
    assert density(box.atoms) == pytest.approx(1.0, abs=1e-3)
    assert closest_intermolecular(box) >= 0.8 * TOLERANCE


def test_counter_ion_as_smiles_and_none():
    # Carbonate by SMILES: one dianion neutralises Zn2+.
    carbonate = pack_electrolyte(32, counter_ion='C(=O)([O-])[O-]')
    assert carbonate.charge == 0
    assert len(carbonate.groups['counter_ion']) == 1
    bare = pack_electrolyte(32, counter_ion='none')
    assert bare.charge == 2
    assert bare.groups['counter_ion'] == []
    assert len(bare.atoms) == 1 + 32 * 3
    assert pack_electrolyte(32, counter_ion=None).charge == 2


def test_additives_hydrated_start():
    box = pack_electrolyte(32, 'CO', 2)
    assert len(box.atoms) == 1 + 32 * 3 + 5 + 2 * 6
    assert box.charge == 0
    assert len(box.groups['additive']) == 2
    for donors, molecule in zip(box.groups['additive'], box.molecules['additive'], strict=True):
        assert symbols(box, donors) == ['O']
        assert sorted(symbols(box, molecule)) == ['C', 'H', 'H', 'H', 'H', 'O']
        assert zn_distances(box, donors).min() > 4.0
    assert len(box.groups['water']) == 32
    assert box.composition['n_additives'] == 2
    assert box.composition['n_bound_additives'] == 0
    assert closest_intermolecular(box) >= 0.8 * TOLERANCE


def test_additive_bound_start():
    box = pack_electrolyte(32, 'CO', 1, start='bound')
    assert len(box.atoms) == 1 + 32 * 3 + 5 + 6
    assert len(box.groups['water']) == 32  # five in the shell, the rest packed
    donors = box.groups['additive'][0]
    assert symbols(box, donors) == ['O']
    assert 2.0 <= zn_distances(box, donors).min() <= 2.3
    water_o = [group[0] for group in box.groups['water']]
    assert (zn_distances(box, water_o) < 2.5).sum() == 5
    assert box.composition['n_first_shell_waters'] == 5
    assert box.composition['bound_mode'].startswith('monodentate')
    assert closest_intermolecular(box) >= 0.8 * TOLERANCE


def test_bound_shell_reaching_the_boundary_keeps_clear_of_packed_molecules():
    # DMSO bound in a 32-water box reaches ~5.2 Å from Zn, beyond the packing region (5.7 - 1.0 Å): its periodic
    # images go to packmol as fixed atoms, so nothing is packed against them across the boundary.
    box = pack_electrolyte(32, 'CS(C)=O', 2, start='bound')
    dmso = box.molecules['additive'][0]
    reach = np.abs(box.atoms.positions[dmso] - box.atoms.positions[0]).max()
    assert reach > box.atoms.cell.lengths()[0] / 2 - TOLERANCE / 2
    assert symbols(box, box.groups['additive'][0]) == ['O']
    assert closest_intermolecular(box) >= 0.8 * TOLERANCE
    assert len(box.groups['additive']) == 2


def test_charged_additive():
    box = pack_electrolyte(32, 'CC(=O)[O-]', 1)
    assert box.charge == -1  # Zn2+ + SO4 2- + acetate-
    assert symbols(box, box.groups['additive'][0]) == ['O', 'O']


def test_same_seed_same_box():
    first, again, other = (pack_electrolyte(32, 'CO', 1, seed=seed).atoms.positions for seed in (3, 3, 4))
    assert np.array_equal(first, again)
    assert not np.allclose(first, other)


def test_workdir_keeps_packmol_files(tmp_path):
    pack_electrolyte(32, workdir=tmp_path)
    script = (tmp_path / 'pack.inp').read_text()
    assert 'inside box 1.000000 1.000000 1.000000' in script
    assert 'outside sphere' in script
    assert 'fixed' in script
    assert 'Success!' in (tmp_path / 'packmol.log').read_text()


@pytest.mark.parametrize(
    ('kwargs', 'match'),
    [
        ({'start': 'bound'}, 'needs an additive'),
        ({'start': 'frozen'}, 'start must be one of'),
        ({'n_waters': 4}, 'fewer than the 6 waters of the first shell'),
        ({'n_additives': 2}, 'no additive SMILES'),
        ({'density': 0.0}, 'must be positive'),
        ({'counter_ion': '[Na+]'}, 'must be an anion'),
        ({'counter_ion': 'OS(=O)(=O)O'}, 'must be an anion'),
        ({'counter_ion': 'nitr@te'}, 'neither a known name'),
        ({'counter_ion': '[Na+].[Cl-]'}, 'several fragments'),
        ({'counter_ion': '[O-]P(=O)([O-])[O-]'}, 'charge -3'),
    ],
)
def test_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match) as error:
        pack_electrolyte(**{'n_waters': 16, **kwargs})
    assert not isinstance(error.value, LigandError | PackingError)


@pytest.mark.parametrize(('smiles', 'reason'), [('C1CC', 'invalid_smiles'), ('C[Se]C', 'unsupported_elements')])
def test_bad_additive(smiles, reason):
    with pytest.raises(LigandError) as error:
        pack_electrolyte(16, smiles, 1)
    assert error.value.reason == reason


def test_impossible_packing_names_the_molecules_box_and_density():
    # Decanoic acid (~13 Å long) cannot lie in the 10 Å packing region outside the 4.5 Å sphere about Zn.
    with pytest.raises(PackingError, match=r'could not fit 2 additive \(CCCCCCCCCC\(=O\)O\)') as error:
        pack_electrolyte(32, 'CCCCCCCCCC(=O)O', 2)
    assert '12.16 Å box' in str(error.value)
    assert 'density 1 g/cm^3' in str(error.value)
    # With only the six first-shell waters the box is 9.22 Å: two triflates do not fit its corners.
    with pytest.raises(PackingError, match=r'could not fit 2 counter_ion \(O=S\(=O\)\(\[O-\]\)C\(F\)\(F\)F\)'):
        pack_electrolyte(6, counter_ion='triflate')
    # Waters 3 Å apart (atom to atom) do not fit at 1.0 g/cm^3, where O...O is 2.8 Å.
    with pytest.raises(PackingError, match=r'could not place \d+ of 10 water') as error:
        pack_electrolyte(16, tolerance=3.0)
    assert '9.07 Å box' in str(error.value)
    assert 'density 1 g/cm^3, tolerance 3 Å' in str(error.value)
    # At 2.2 g/cm^3 the box (6.98 Å) is too small for [Zn(H2O)6]2+ to keep 2 Å from its own periodic image.
    with pytest.raises(PackingError, match=r'own periodic image in the 6\.98 Å box'):
        pack_electrolyte(16, density=2.2)


def test_near_miss_is_retried_with_the_next_seeds(monkeypatch):
    seeds = []
    original = electrolyte._run_packmol_in

    def stuck_first(*args, seed, **kwargs):
        seeds.append(seed)
        if len(seeds) == 1:
            raise electrolyte._NearMiss('packmol could not place 1 of 26 water')
        return original(*args, seed=seed, **kwargs)

    monkeypatch.setattr(electrolyte, '_run_packmol_in', stuck_first)
    box = pack_electrolyte(32, seed=5)
    assert seeds == [5, 1005]
    assert box.composition['seed'] == 5
    assert box.composition['packmol_seed'] == 1005

    def always_stuck(*args, seed, **kwargs):
        raise electrolyte._NearMiss('packmol could not place 1 of 26 water')

    monkeypatch.setattr(electrolyte, '_run_packmol_in', always_stuck)
    with pytest.raises(PackingError, match=r'1 of 26 water \(seeds 5, 1005, 2005 tried\)'):
        pack_electrolyte(32, seed=5)


def test_packmol_timeout_is_a_packing_error(monkeypatch):
    monkeypatch.setattr(electrolyte, 'PACKMOL_TIMEOUT', 0)
    with pytest.raises(PackingError, match=r'did not place 26 water, 1 counter_ion .* within 0 s'):
        pack_electrolyte(32)


def test_calcfunction_outputs_and_provenance():
    settings = {'n_waters': 32, 'n_additives': 1, 'counter_ion': 'sulfate', 'density': 1.0, 'start': 'hydrated'}
    outputs, node = build_solvation_box.run_get_node(orm.Dict(settings), orm.Str('CS(C)=O'))
    assert node.is_finished_ok
    assert outputs['structure'].creator.pk == node.pk
    structure = outputs['structure']
    assert structure.pbc == (True, True, True)
    assert len(structure.sites) == 1 + 32 * 3 + 5 + 10
    system = outputs['system'].get_dict()
    assert system['charge'] == 0
    assert system['zn_index'] == 0
    assert len(system['groups']['water']) == 32
    assert len(system['molecules']['additive']) == 1
    assert system['composition']['additive'] == 'CS(C)=O'
    assert system['composition']['packmol'].startswith('packmol ')
    # Without an additive (the optional input left out) the box is pure water.
    outputs, node = build_solvation_box.run_get_node(orm.Dict({'n_waters': 32}))
    assert node.is_finished_ok
    assert outputs['system']['groups']['additive'] == []


@pytest.mark.parametrize(
    ('overrides', 'additive', 'status', 'match'),
    [
        ({'n_waters': 32, 'n_additives': 2}, 'CCCCCCCCCC(=O)O', 300, 'could not fit'),
        ({}, 'C1CC', 301, 'RDKit cannot parse'),
        ({'counter_ion': 'nitr@te'}, 'CO', 302, 'neither a known name'),
        ({'start': 'bound'}, None, 302, 'needs an additive'),
        ({'n_water': 16}, 'CO', 302, 'unknown key'),
    ],
)
def test_calcfunction_exit_codes(overrides, additive, status, match):
    settings = orm.Dict({'n_waters': 16, 'n_additives': 1 if additive else 0, **overrides})
    inputs = {'settings': settings} if additive is None else {'settings': settings, 'additive': orm.Str(additive)}
    outputs, node = build_solvation_box.run_get_node(**inputs)
    assert node.is_failed
    assert node.exit_status == status
    assert match in node.exit_message
    assert outputs == {}
