"""Multidentate binding modes: which donor sets count, and that each embeds as an octahedral complex."""

from __future__ import annotations

import numpy as np
import pytest

from aiida_znadditive.structures.chelates import all_binding_modes, chelate_modes, embed_complex, place_binding_mode
from aiida_znadditive.structures.ligands import embed_conformers, find_donors, parse_ligand

EDTA4 = 'O=C([O-])CN(CC(=O)[O-])CCN(CC(=O)[O-])CC(=O)[O-]'
NTA3 = 'O=C([O-])CN(CC(=O)[O-])CC(=O)[O-]'
CITRATE3 = 'O=C([O-])CC(O)(CC(=O)[O-])C(=O)[O-]'
QUADROL = 'OCC(C)N(CC(C)O)CCN(CC(C)O)CC(C)O'
SACCHARINATE = 'O=C1[N-]S(=O)(=O)c2ccccc21'


def ligand(smiles: str):
    mol = parse_ligand(smiles, 'CHNOSP', 30)
    return mol, find_donors(mol), embed_conformers(mol, 3)


@pytest.mark.parametrize(
    ('smiles', 'denticity', 'elements'),
    [(EDTA4, 6, ('N', 'N', 'O', 'O', 'O', 'O')), (NTA3, 4, ('N', 'O', 'O', 'O')), ('NCCNCCN', 3, ('N', 'N', 'N'))],
)
def test_highest_denticity_is_the_known_one(smiles, denticity, elements):
    """EDTA4- is hexadentate (N2O4), NTA3- tetradentate (NO3), diethylenetriamine tridentate (N3): their modes in
    crystal structures of the Zn2+ complexes; no mode exceeds it."""
    mol, donors, _ = ligand(smiles)
    modes = chelate_modes(mol, donors, max_denticity=6)
    assert max(mode.denticity for mode in modes) == denticity
    top = next(mode for mode in modes if mode.denticity == denticity)
    assert sorted(top.elements) == sorted(elements)
    # One O per carboxylate: two O on one C would be a 4-membered ring through it.
    carbons = [
        next(n.GetIdx() for n in mol.GetAtomWithIdx(i).GetNeighbors())
        for i in top.donors
        if mol.GetAtomWithIdx(i).GetSymbol() == 'O'
    ]
    assert len(set(carbons)) == len(carbons)


def test_no_four_membered_ring_through_sulfur():
    """Saccharinate binds through N- (its donor in [Zn(sac)2(H2O)4]) or an O, never O,O of its sulfonyl or N,O through
    the S; methanesulfonate has monodentate modes only."""
    mol, donors, conformers = ligand(SACCHARINATE)
    assert 'imidate N' in {donor.kind for donor in donors}
    modes = all_binding_modes(mol, conformers, donors, max_denticity=6)
    for mode in modes:
        if mode.denticity > 1:
            assert 'S' not in {
                mol.GetAtomWithIdx(k).GetSymbol()
                for i in mode.donors
                for j in mode.donors
                if i < j
                for k in range(mol.GetNumAtoms())
                if mol.GetBondBetweenAtoms(i, k) and mol.GetBondBetweenAtoms(k, j)
            }
    mol, donors, conformers = ligand('CS(=O)(=O)[O-]')
    assert {mode.denticity for mode in all_binding_modes(mol, conformers, donors, max_denticity=6)} == {1}


@pytest.mark.parametrize('smiles', [EDTA4, NTA3, CITRATE3, QUADROL, 'NCCNCCN'])
def test_every_mode_is_placed_on_an_octahedron(smiles):
    """Every mode of these chelators gets a starting complex: donors at 2.1 Å from Zn, six atoms on Zn, nothing else
    within 1.5 Å (the rigid placements' bound); quadrol's N modes (every one failed on clashes in the rigid placement)
    included."""
    mol, donors, conformers = ligand(smiles)
    for mode in all_binding_modes(mol, conformers, donors, max_denticity=6):
        geometry = place_binding_mode(mol, conformers, mode)
        atoms = geometry.atoms
        assert geometry.min_contact >= 1.5
        assert np.allclose(geometry.zn_donor_distances, 2.1, atol=0.15), mode.label
        distances = atoms.get_distances(0, list(range(1, len(atoms))))
        bound = [i + 1 for i, d in enumerate(distances) if d < 2.3 and atoms[i + 1].symbol in ('N', 'O', 'S')]
        assert len(bound) == 6, mode.label
        assert atoms.info['charge'] == 2 + sum(a.GetFormalCharge() for a in mol.GetAtoms())
        # Atom order of the rigid placements: Zn, then waters (O, H, H), then the ligand.
        assert atoms[0].symbol == 'Zn'
        assert atoms.get_chemical_symbols()[geometry.ligand_offset :] == [a.GetSymbol() for a in mol.GetAtoms()]


def test_embedding_of_edta_hexadentate_is_octahedral():
    mol, donors, _ = ligand(EDTA4)
    mode = chelate_modes(mol, donors, max_denticity=6)[0]
    atoms = embed_complex(mol, mode).atoms
    assert np.allclose(atoms.positions[0], 0.0)
    # A distorted octahedron, as in crystal structures of [Zn(EDTA)]2-: the five-membered chelate rings close the cis
    # donor pairs they span (bite 2.6-2.8 Å rather than 2.97 Å), three pairs stay roughly trans, none collapse.
    geometry = embed_complex(mol, mode)
    assert np.allclose(geometry.zn_donor_distances, 2.1, atol=0.15)
    donor_xyz = geometry.atoms.positions[list(geometry.donor_indices)]
    gaps = np.sort(np.linalg.norm(donor_xyz[:, None] - donor_xyz[None], axis=-1)[np.triu_indices(6, 1)])
    assert gaps[0] > 2.1
    assert np.all(gaps[-3:] > 3.3)
    assert atoms.get_chemical_formula(mode='hill') == 'C10H12N2O8Zn'  # no water left: all six sites taken
