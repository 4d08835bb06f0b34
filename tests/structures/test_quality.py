"""Quality control of relaxed complexes: each failure a relaxation can hide is caught and named."""

from __future__ import annotations

import numpy as np

from aiida_znadditive.structures.complexes import build_best_complex, enumerate_binding_modes
from aiida_znadditive.structures.ligands import embed_conformers, find_donors, parse_ligand
from aiida_znadditive.structures.quality import check_complex, check_ligand


def acetate_complex():
    mol = parse_ligand('CC(=O)[O-]', 'CHO', 10)
    conformers = embed_conformers(mol, 1)
    mode = enumerate_binding_modes(mol, conformers, find_donors(mol), max_denticity=1)[0]
    return mol, conformers[0], build_best_complex(conformers, mode)


def codes(problems):
    return sorted(problem.code for problem in problems)


def test_built_structures_pass():
    mol, conformer, geometry = acetate_complex()
    assert check_ligand(conformer, mol) == []
    assert check_complex(geometry.atoms, mol, geometry.ligand_offset, geometry.donor_indices) == []


def test_proton_moved_from_water_to_ligand():
    """A water's H on the acetate's free O: a carboxylic acid and a hydroxide, not the acetate complex."""
    mol, _, geometry = acetate_complex()
    atoms = geometry.atoms.copy()
    free_oxygen = geometry.ligand_offset + next(
        i
        for i in range(mol.GetNumAtoms())
        if mol.GetAtomWithIdx(i).GetSymbol() == 'O' and geometry.ligand_offset + i not in geometry.donor_indices
    )
    atoms.positions[2] = atoms.positions[free_oxygen] + np.array([0.0, 0.0, 0.98])  # first water's first H
    assert 'proton_transfer' in codes(check_complex(atoms, mol, geometry.ligand_offset, geometry.donor_indices))


def test_donor_left_zinc():
    mol, _, geometry = acetate_complex()
    atoms = geometry.atoms.copy()
    ligand = list(range(geometry.ligand_offset, len(atoms)))
    direction = atoms.positions[geometry.donor_indices[0]] / np.linalg.norm(atoms.positions[geometry.donor_indices[0]])
    atoms.positions[ligand] += 1.5 * direction  # the whole acetate 1.5 Å further out: Zn-O 3.6 Å
    found = check_complex(atoms, mol, geometry.ligand_offset, geometry.donor_indices)
    assert codes(found) == ['coordination_changed', 'donor_detached']
    assert any('5 atoms bound to Zn, 6 built' in str(problem) for problem in found)


def test_ligand_bond_broken():
    mol, conformer, geometry = acetate_complex()
    methyl = 0  # the CH3 carbon, first heavy atom of the SMILES
    atoms = geometry.atoms.copy()
    atoms.positions[geometry.ligand_offset + methyl] += np.array([3.0, 3.0, 3.0])
    assert 'ligand_bonds_changed' in codes(check_complex(atoms, mol, geometry.ligand_offset, geometry.donor_indices))
    broken = conformer.copy()
    broken.positions[methyl] += np.array([3.0, 3.0, 3.0])
    assert codes(check_ligand(broken, mol)) == ['ligand_bonds_changed']


def test_water_broken():
    mol, _, geometry = acetate_complex()
    atoms = geometry.atoms.copy()
    atoms.positions[3] += np.array([1.5, 1.5, 0.0])  # a water H pulled 2 Å away from its O, towards nothing
    assert 'water_broken' in codes(check_complex(atoms, mol, geometry.ligand_offset, geometry.donor_indices))
