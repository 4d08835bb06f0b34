"""Geometry of Zn2+ complexes: Zn-donor distances and how octahedral the first shell is."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

DONOR_ELEMENTS = ('O', 'N', 'S', 'P', 'F', 'Cl')


def first_shell(positions: np.ndarray, symbols: list[str], cutoff: float) -> list[tuple[int, float]]:
    """Return (index, distance in Å) of donor atoms within ``cutoff`` of the (first) Zn, nearest first."""
    if 'Zn' not in symbols:
        raise ValueError('The structure contains no Zn atom.')
    zinc = symbols.index('Zn')
    distances = np.linalg.norm(positions - positions[zinc], axis=1)
    shell = [(i, float(d)) for i, d in enumerate(distances) if symbols[i] in DONOR_ELEMENTS and d <= cutoff]
    return sorted(shell, key=lambda item: item[1])


def octahedral_deviation(positions: np.ndarray, zinc: int, ligands: list[int]) -> float:
    """Largest deviation in degrees of the ligand-Zn-ligand angles from 90°/180° (six ligands), else NaN."""
    if len(ligands) != 6:
        return float('nan')
    vectors = positions[ligands] - positions[zinc]
    vectors /= np.linalg.norm(vectors, axis=1)[:, None]
    angles = np.degrees(np.arccos(np.clip(vectors @ vectors.T, -1.0, 1.0)))[np.triu_indices(6, 1)]
    # In an octahedron each ligand has one trans partner (180°) and four cis (90°): 3 trans, 12 cis angles.
    ordered = np.sort(angles)
    ideal = np.array([90.0] * 12 + [180.0] * 3)
    return float(np.max(np.abs(ordered - ideal)))


@calcfunction
def zn_donor_distances(structure: orm.StructureData, cutoff: orm.Float) -> orm.Dict:
    """Zn-donor distances (Å) within ``cutoff`` Å of Zn, the coordination number and the octahedral deviation (°)."""
    atoms = structure.get_ase()
    symbols = atoms.get_chemical_symbols()
    positions = atoms.get_positions()
    shell = first_shell(positions, symbols, cutoff.value)
    by_element: dict[str, list[float]] = {}
    for index, distance in shell:
        by_element.setdefault(f'Zn-{symbols[index]}', []).append(round(distance, 5))
    deviation = octahedral_deviation(positions, symbols.index('Zn'), [i for i, _ in shell])
    return orm.Dict(
        {
            'distances': by_element,
            'coordination_number': len(shell),
            'mean_distance': float(np.mean([d for _, d in shell])) if shell else None,
            'octahedral_max_angle_deviation': None if np.isnan(deviation) else deviation,
            'cutoff': cutoff.value,
            'units': {'distances': 'angstrom', 'octahedral_max_angle_deviation': 'degree'},
        }
    )
