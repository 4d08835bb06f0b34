"""Zn2+ complexes of additives: binding modes and placed geometries checked against the numbers they promise."""

import numpy as np
import pytest
from ase import Atoms

from aiida_znadditive.analysis.geometry import octahedral_deviation
from aiida_znadditive.structures.complexes import (
    COMFORTABLE_CONTACT,
    BindingMode,
    build_best_complex,
    build_complex,
    clash_distance,
    enumerate_binding_modes,
    kabsch_rotation,
)
from aiida_znadditive.structures.ligands import embed_conformers, find_donors, parse_ligand

ELEMENTS = ('C', 'H', 'N', 'O', 'S', 'P', 'F', 'Cl')


def ligand(smiles: str, n_conformers: int = 10):
    mol = parse_ligand(smiles, ELEMENTS, max_heavy_atoms=30)
    donors = find_donors(mol)
    conformers = embed_conformers(mol, n_conformers)
    return mol, donors, conformers, enumerate_binding_modes(mol, conformers, donors)


def water_oxygens(geometry) -> list[int]:
    return list(range(1, geometry.ligand_offset, 3))


def test_binding_mode_label():
    mode = BindingMode(donors=(1, 4), elements=('O', 'O'), kinds=('hydroxyl O', 'hydroxyl O'))
    assert mode.denticity == 2
    assert mode.label == 'bidentate hydroxyl O(1)+hydroxyl O(4)'
    assert BindingMode((3,), ('O',), ('carbonyl O',)).label == 'monodentate carbonyl O(3)'


@pytest.mark.parametrize(
    ('smiles', 'labels'),
    [
        ('CO', ['monodentate hydroxyl O(1)']),
        ('OCCO', ['monodentate hydroxyl O(0)', 'bidentate hydroxyl O(0)+hydroxyl O(3)']),
        # Acetate: one O (both equivalent); the O-C-O bite (2.2 Å) is too short for the cis sites.
        ('CC(=O)[O-]', ['monodentate carboxylate O(2)']),
        ('NCC(=O)O', ['monodentate amine N(0)', 'monodentate carbonyl O(3)', 'bidentate amine N(0)+carbonyl O(3)']),
        ('CS(C)=O', ['monodentate sulfoxide O(3)']),
    ],
)
def test_enumerate_binding_modes(smiles, labels):
    assert [mode.label for mode in ligand(smiles)[3]] == labels


def test_enumerate_binding_modes_monodentate_only():
    mol, donors, conformers, _ = ligand('OCCO')
    modes = enumerate_binding_modes(mol, conformers, donors, max_denticity=1)
    assert [mode.denticity for mode in modes] == [1]
    with pytest.raises(ValueError, match='max_denticity'):
        enumerate_binding_modes(mol, conformers, donors, max_denticity=3)


def test_methanol_monodentate_complex():
    _, _, conformers, modes = ligand('CO')
    geometry = build_complex(conformers[0], modes[0])
    atoms = geometry.atoms
    assert atoms.get_chemical_formula() == 'CH14O6Zn'  # [Zn(H2O)5(CH3OH)]
    assert atoms.info['charge'] == 2
    assert atoms[0].symbol == 'Zn'
    assert geometry.ligand_offset == 16  # Zn + 5 waters
    assert list(geometry.ligand_indices) == list(range(16, 22))
    (donor,) = geometry.donor_indices
    assert donor == 16 + 1
    assert atoms[donor].symbol == 'O'
    assert geometry.zn_donor_distances[0] == pytest.approx(2.10, abs=0.01)
    waters = water_oxygens(geometry)
    assert len(waters) == 5
    np.testing.assert_allclose(atoms.get_distances(0, waters), 2.10, atol=1e-9)
    # The methanol O takes the place of the removed water: the first shell is still an ideal octahedron.
    assert octahedral_deviation(atoms.positions, 0, [*waters, donor]) == pytest.approx(0.0, abs=1e-6)
    assert geometry.min_contact > 1.8
    # Zn sits on the O lone-pair side: Zn-O-C well away from a clash, as in real alcohol complexes (~120-130°).
    assert atoms.get_angle(0, donor, donor - 1) > 110.0
    # The ligand keeps its heavy-atom geometry (only the donor's H may turn).
    assert atoms.get_distance(donor - 1, donor) == pytest.approx(conformers[0].get_distance(0, 1), abs=1e-9)
    rest, placed = atoms[: geometry.ligand_offset], atoms[geometry.ligand_offset :]
    assert clash_distance(placed, rest[1:]) >= geometry.min_contact - 1e-9


def test_ethylene_glycol_bidentate_complex():
    mol, _, conformers, modes = ligand('OCCO')
    mode = modes[1]
    assert mode.donors == (0, 3)
    chelating = next(a for a in conformers if 2.4 <= a.get_distance(0, 3) <= 3.3)
    geometry = build_complex(chelating, mode)
    atoms = geometry.atoms
    assert atoms.get_chemical_formula() == 'C2H14O6Zn'  # [Zn(H2O)4(HOCH2CH2OH)]: 4 waters left
    assert len(water_oxygens(geometry)) == 4
    for distance in geometry.zn_donor_distances:
        assert 1.9 <= distance <= 2.4
    first, second = geometry.donor_indices
    # A five-membered chelate ring: the O-Zn-O bite angle is close to the octahedral 90°.
    assert 75.0 < atoms.get_angle(first, 0, second) < 95.0
    # The two O take the places of the removed cis waters, +x and +y (exactly so for a 2.97 Å bite).
    sites = np.array([[2.1, 0.0, 0.0], [0.0, 2.1, 0.0]])
    offsets = np.linalg.norm(atoms.positions[[first, second]][:, None, :] - sites[None, :, :], axis=-1)
    assert sorted(offsets.min(axis=1)) == pytest.approx([0.0, 0.0], abs=0.3)
    assert geometry.min_contact >= 1.5
    # Rigid heavy-atom skeleton.
    heavy = [i for i, atom in enumerate(mol.GetAtoms()) if atom.GetAtomicNum() > 1]
    placed = atoms[geometry.ligand_offset :]
    np.testing.assert_allclose(
        placed.get_all_distances()[np.ix_(heavy, heavy)], chelating.get_all_distances()[np.ix_(heavy, heavy)], atol=1e-9
    )
    # Its internal O-H...O hydrogen bond pointed into the Zn site; the hydroxyl H are turned away from Zn.
    hydroxyl_h = [
        geometry.ligand_offset + n.GetIdx()
        for i in (0, 3)
        for n in mol.GetAtomWithIdx(i).GetNeighbors()
        if n.GetSymbol() == 'H'
    ]
    assert len(hydroxyl_h) == 2
    assert min(atoms.get_distances(0, hydroxyl_h)) > 2.4


def test_dmso_binds_through_oxygen():
    _, _, conformers, modes = ligand('CS(C)=O')
    geometry = build_complex(conformers[0], modes[0])
    atoms = geometry.atoms
    (donor,) = geometry.donor_indices
    assert atoms[donor].symbol == 'O'
    assert geometry.zn_donor_distances[0] == pytest.approx(2.10, abs=0.01)
    sulfur = geometry.ligand_offset + 1
    assert atoms[sulfur].symbol == 'S'
    assert atoms.get_distance(0, sulfur) > 3.0  # S points away: Zn-O-S is open, not a Zn-S contact
    assert atoms.get_chemical_formula() == 'C2H16O6SZn'
    assert geometry.min_contact > 1.8


def test_acetate_complex_charge():
    _, _, conformers, modes = ligand('CC(=O)[O-]')
    geometry = build_complex(conformers[0], modes[0])
    assert geometry.atoms.info['charge'] == 1  # Zn2+ + acetate-


def test_bulky_ligand_is_rejected():
    # 2,4,6-tri-tert-butylpyridine: the tert-butyl groups next to N cannot fit between the cis waters.
    _, _, conformers, modes = ligand('CC(C)(C)c1cc(C(C)(C)C)nc(C(C)(C)C)c1', n_conformers=2)
    with pytest.raises(ValueError, match='too bulky'):
        build_complex(conformers[0], modes[0])
    with pytest.raises(ValueError, match='None of the'):
        build_best_complex(conformers, modes[0])


def test_build_best_complex_picks_a_fitting_conformer():
    # All-anti diethyl ether folds its methyl groups back towards the cis waters (methyl H 1.65 Å from a water O);
    # a gauche conformer fits comfortably.
    _, _, conformers, modes = ligand('CCOCC', n_conformers=30)
    assert build_complex(conformers[0], modes[0]).min_contact < COMFORTABLE_CONTACT
    geometry = build_best_complex(conformers, modes[0])
    assert geometry.min_contact >= COMFORTABLE_CONTACT
    assert geometry.atoms.info['ligand_conformer_id'] != conformers[0].info['conformer_id']
    assert geometry.zn_donor_distances[0] == pytest.approx(2.10, abs=0.01)


@pytest.mark.parametrize('smiles', ['NC1CC(O)C1', 'NC1CCC1', 'NC(C)C'])
def test_amine_on_a_secondary_carbon_binds(smiles):
    # The alpha-H and ring CH2 of these amines came within 1.3 Å of a cis water's H in the hexaaqua's fixed hydrogen
    # pattern, and the amine mode was dropped as too bulky (3-aminocyclobutanol in a campaign). The waters turn.
    _, _, conformers, modes = ligand(smiles)
    (amine,) = [mode for mode in modes if mode.kinds == ('amine N',)]
    geometry = build_complex(conformers[0], amine)
    atoms = geometry.atoms
    assert geometry.min_contact >= 1.5
    assert atoms[geometry.donor_indices[0]].symbol == 'N'
    # Only the water hydrogens moved: every O stays 2.10 Å from Zn on its octahedral axis, each water intact.
    waters = water_oxygens(geometry)
    np.testing.assert_allclose(atoms.get_distances(0, waters), 2.10, atol=1e-9)
    for oxygen in waters:
        np.testing.assert_allclose(atoms.get_distances(oxygen, [oxygen + 1, oxygen + 2]), 0.9572, atol=1e-9)
        assert atoms.get_angle(oxygen + 1, oxygen, oxygen + 2) == pytest.approx(104.52, abs=1e-6)
        # still flat, dipole along Zn-O: both H equally far from Zn
        h1, h2 = atoms.get_distances(0, [oxygen + 1, oxygen + 2])
        assert h1 == pytest.approx(h2, abs=1e-9)


def test_clash_distance():
    a = Atoms('H2', positions=[[0, 0, 0], [0, 0, 1]])
    b = Atoms('O2', positions=[[0, 0, 3.5], [4, 0, 0]])
    assert clash_distance(a, b) == pytest.approx(2.5)
    assert clash_distance(a, Atoms()) == float('inf')


def test_kabsch_rotation_recovers_a_rotation():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(5, 3))
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    rotation = q * np.sign(np.linalg.det(q))  # a proper rotation
    found = kabsch_rotation(points, points @ rotation.T + [1.0, 2.0, 3.0])
    np.testing.assert_allclose(found, rotation, atol=1e-10)
    assert np.linalg.det(found) == pytest.approx(1.0)
