"""Quality control of relaxed Zn2+ complexes and ligands: is the relaxed structure still the species that was built?

A relaxation may end in another species than the one it started from: a proton moves from a water to a carboxylate, a
ring opens, a donor leaves Zn or a water drifts into the second shell. Its energy is then the energy of something
else, and an exchange energy computed from it says nothing about the binding mode it is labelled with (a shipped
label of -3.03 eV came from such a structure). :func:`check_complex` and :func:`check_ligand` compare the relaxed
geometry with the bonds of the built one and return the problems found, each a short code with a detail; an empty
list means the structure passed.

Bonds are read from distances: two atoms are bonded when closer than :data:`BOND_SCALE` times the sum of their
covalent radii (ASE's, after Cordero et al. 2008), the usual criterion of structure-perception codes. Zn-donor contacts
use the cut-offs of :data:`ZN_CONTACT`, from the spread of Zn-O/N/S distances in crystal structures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.data import covalent_radii
from rdkit import Chem

# Bonded: closer than this times the sum of covalent radii. For O-H (radii sum 0.97 Å) the limit is 1.16 Å, between a
# covalent O-H (0.97-1.05 Å, stretched in a strong hydrogen bond) and a hydrogen bond's H...O (1.5-2.0 Å); for C-C
# (1.52 Å) it is 1.82 Å, well below 1,3 distances (2.5 Å).
BOND_SCALE = 1.2
# Longest Zn-donor distance (Å) still counted as a bond, per donor element: Zn-O and Zn-N bonds in octahedral complexes
# reach 2.3-2.4 Å (no Jahn-Teller distortion, but chelates strain the axial bonds), Zn-S about 2.6 Å, the halides
# their ionic radii plus Zn2+'s; the second shell starts near 3.5 Å (O) and beyond.
ZN_CONTACT = {'O': 2.65, 'N': 2.7, 'S': 3.0, 'F': 2.5, 'Cl': 2.9, 'Br': 3.0, 'I': 3.2}
# Atom indices of Zn in every complex built by structures.complexes / structures.chelates.
ZN_INDEX = 0


@dataclass(frozen=True)
class Problem:
    """One failed check: ``code`` (one of :data:`CODES`) and a human-readable ``detail``."""

    code: str
    detail: str

    def __str__(self) -> str:
        return f'{self.code}: {self.detail}'


CODES = (
    'ligand_bonds_changed',  # a covalent bond of the ligand broke or formed (incl. a proton moving within it)
    'proton_transfer',  # a hydrogen moved between the ligand and a water, or between waters
    'water_broken',  # a water is no longer H-O-H
    'donor_detached',  # a donor atom of the binding mode is no longer within bonding distance of Zn
    'coordination_changed',  # the number of atoms bound to Zn differs from the number built
)


def _bond_set(numbers: np.ndarray, positions: np.ndarray, indices: Sequence[int]) -> set[tuple[int, int]]:
    """Bonds (pairs of indices into the full structure) among ``indices``, from distances and covalent radii."""
    indices = np.asarray(list(indices), dtype=int)
    sub = positions[indices]
    radii = covalent_radii[numbers[indices]]
    distances = np.linalg.norm(sub[:, None, :] - sub[None, :, :], axis=-1)
    limits = BOND_SCALE * (radii[:, None] + radii[None, :])
    first, second = np.nonzero(np.triu(distances < limits, k=1))
    return {(int(indices[i]), int(indices[j])) for i, j in zip(first, second, strict=True)}


def mol_bonds(mol: Chem.Mol, offset: int = 0) -> set[tuple[int, int]]:
    """The bonds of an RDKit molecule (explicit hydrogens) as sorted index pairs, shifted by ``offset``."""
    return {
        tuple(sorted((bond.GetBeginAtomIdx() + offset, bond.GetEndAtomIdx() + offset)))  # type: ignore[misc]
        for bond in mol.GetBonds()
        if bond.GetBondType() != Chem.BondType.DATIVE
    }


def _describe(atoms: Atoms, pairs) -> str:
    symbols = atoms.get_chemical_symbols()
    return ', '.join(f'{symbols[i]}{i}-{symbols[j]}{j}' for i, j in sorted(pairs))


def check_ligand(atoms: Atoms, mol: Chem.Mol) -> list[Problem]:
    """Problems of a relaxed free ligand (atoms in the order of ``mol``): its bonds must be those of ``mol``."""
    found = _bond_set(atoms.numbers, atoms.positions, range(len(atoms)))
    expected = mol_bonds(mol)
    return _bond_problems(atoms, found, expected, 'ligand_bonds_changed')


def _bond_problems(atoms: Atoms, found: set, expected: set, code: str) -> list[Problem]:
    broken, formed = expected - found, found - expected
    if not broken and not formed:
        return []
    parts = []
    if broken:
        parts.append(f'broken {_describe(atoms, broken)}')
    if formed:
        parts.append(f'formed {_describe(atoms, formed)}')
    return [Problem(code, '; '.join(parts))]


def zn_neighbours(atoms: Atoms) -> list[int]:
    """Indices of the atoms bound to Zn (atom 0) by :data:`ZN_CONTACT`; hydrogens and carbons never count."""
    distances = atoms.get_distances(ZN_INDEX, list(range(len(atoms))))
    symbols = atoms.get_chemical_symbols()
    return [
        i
        for i in range(len(atoms))
        if i != ZN_INDEX and symbols[i] in ZN_CONTACT and distances[i] <= ZN_CONTACT[symbols[i]]
    ]


def check_complex(
    atoms: Atoms, mol: Chem.Mol, ligand_offset: int, donor_indices: Sequence[int], coordination: int = 6
) -> list[Problem]:
    """Problems of a relaxed complex built by ``structures.complexes`` or ``structures.chelates``.

    :param atoms: the relaxed complex: Zn (atom 0), the remaining waters (O, H, H each), then the ligand in the
        atom order of ``mol`` from ``ligand_offset``.
    :param mol: the ligand with explicit hydrogens, as the complex was built from it.
    :param donor_indices: the binding mode's donors as indices into ``atoms``.
    :param coordination: the number of atoms bound to Zn as built (6: the octahedron).
    """
    problems: list[Problem] = []
    numbers, positions = atoms.numbers, atoms.positions
    n_waters = (ligand_offset - 1) // 3
    ligand = range(ligand_offset, len(atoms))

    # All covalent bonds apart from Zn's: the waters' O-H and the ligand's. Any difference is a broken molecule or a
    # proton that moved; where the changed bonds are says which.
    found = _bond_set(numbers, positions, range(1, len(atoms)))
    expected = mol_bonds(mol, offset=ligand_offset)
    for water in range(n_waters):
        oxygen = 1 + 3 * water
        expected |= {(oxygen, oxygen + 1), (oxygen, oxygen + 2)}
    changed = (expected - found) | (found - expected)
    inside_ligand = {pair for pair in changed if pair[0] in ligand and pair[1] in ligand}
    if any((i < ligand_offset) != (j < ligand_offset) for i, j in found - expected):
        # A new bond between a water and the ligand: a hydrogen went from one to the other.
        problems.append(Problem('proton_transfer', _describe(atoms, changed)))
    else:
        if changed - inside_ligand:
            problems.append(Problem('water_broken', _describe(atoms, changed - inside_ligand)))
        if inside_ligand:
            problems.append(Problem('ligand_bonds_changed', _describe(atoms, inside_ligand)))

    bound = zn_neighbours(atoms)
    detached = [i for i in donor_indices if i not in bound]
    if detached:
        distances = atoms.get_distances(ZN_INDEX, detached)
        problems.append(
            Problem(
                'donor_detached',
                ', '.join(f'{atoms[i].symbol}{i} at {d:.2f} Å' for i, d in zip(detached, distances, strict=True)),
            )
        )
    if len(bound) != coordination:
        problems.append(Problem('coordination_changed', f'{len(bound)} atoms bound to Zn, {coordination} built'))
    return problems
