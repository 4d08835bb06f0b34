"""The Zn-O vibrational signature of a Zn2+ complex: its symmetric Zn-ligand stretch, found by projecting the normal
modes of its Hessian onto the breathing of the first shell, and the shift of that stretch when an additive binds.

The breathing coordinate moves every molecule with a first-shell donor (O, N, S within ``shell_cutoff`` of Zn) rigidly
away from Zn along its donors' mean radial direction (:func:`breathing_vector`), so a water moves as a whole, as it does
in the a1g ν(Zn-O) mode of [Zn(H2O)6]2+. In mass-weighted coordinates the normal modes are orthonormal, so the squared
overlaps of the (projected, normalised) breathing vector with the modes sum to 1: each is the share of the breathing in
that mode.

- ``stretch_cm``: the wavenumber of the mode with the largest share (for [Zn(H2O)6]2+ one mode holds it all);
- ``share``: that mode's share (below about 0.5 the stretch is mixed with ligand modes, and ``mean_stretch_cm``
  is the better number);
- ``mean_stretch_cm``: the share-weighted mean wavenumber over all modes, which moves smoothly when the stretch
  spreads over several modes of a complex; the shift on binding is taken on it.

The measured band: the polarised Raman ν1(ZnO6) of [Zn(H2O)6]2+ in aqueous Zn(ClO4)2 lies at 390 cm⁻¹ (Rudolph &
Pye, Phys. Chem. Chem. Phys. 1999, 1, 4583). docs/source/binding.md compares the levels with it.
"""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import ExitCode, calcfunction

from .errors import AnalysisInputError
from .thermochemistry import _external_basis, n_vibrations, normal_modes

#: The measured Raman ν1(ZnO6) of [Zn(H2O)6]2+ in water, cm⁻¹ (module docstring).
HEXAAQUA_RAMAN_CM = 390.0
DONORS = ('O', 'N', 'S')

# Exit statuses of the calcfunctions (numbers no WorkChain of the package uses).
EXIT_NO_ZINC = 370
EXIT_NO_SHELL = 371
EXIT_BAD_HESSIAN = 372


def ligand_groups(symbols, positions, zinc: int) -> list[list[int]]:
    """The molecules bound to Zn: connected components of the covalent graph without Zn (ASE's natural cutoffs)."""
    from ase import Atoms
    from ase.neighborlist import NeighborList, natural_cutoffs

    atoms = Atoms(symbols, positions=positions)
    cutoffs = natural_cutoffs(atoms)
    cutoffs[zinc] = 0.0  # bonds to Zn do not join the ligands into one group
    neighbours = NeighborList(cutoffs, self_interaction=False, bothways=True)
    neighbours.update(atoms)
    groups, seen = [], {zinc}
    for start in range(len(atoms)):
        if start in seen:
            continue
        group, stack = [], [start]
        seen.add(start)
        while stack:
            index = stack.pop()
            group.append(index)
            for other in neighbours.get_neighbors(index)[0]:
                if other not in seen:
                    seen.add(int(other))
                    stack.append(int(other))
        groups.append(sorted(group))
    return groups


def breathing_vector(symbols, positions, shell_cutoff: float) -> tuple[np.ndarray, list[int]]:
    """The radial displacement (N x 3) of the first shell, and the donors' indices.

    Each bound molecule moves rigidly along the mean Zn→donor direction of its donors: a water along its Zn-O axis
    (the a1g breathing of [Zn(H2O)6]2+), a chelate away from Zn as a whole. A rigid ligand keeps its internal modes
    (C-O stretches, bends) out of the projection, which moving the donor atoms alone would let in.
    """
    positions = np.asarray(positions, dtype=float)
    zinc = [index for index, symbol in enumerate(symbols) if symbol == 'Zn']
    if len(zinc) != 1:
        raise AnalysisInputError(EXIT_NO_ZINC, f'{len(zinc)} Zn atoms: the analysis needs exactly one')
    centre = positions[zinc[0]]
    distances = np.linalg.norm(positions - centre, axis=1)
    shell = [i for i, symbol in enumerate(symbols) if symbol in DONORS and distances[i] <= shell_cutoff]
    if not shell:
        raise AnalysisInputError(EXIT_NO_SHELL, f'no O, N or S donor within {shell_cutoff} Å of Zn')
    vector = np.zeros_like(positions)
    for group in ligand_groups(symbols, positions, zinc[0]):
        donors = [index for index in group if index in shell]
        if not donors:
            continue  # a second-shell molecule does not breathe with the first shell
        radial = sum((positions[d] - centre) / distances[d] for d in donors)
        norm = np.linalg.norm(radial)
        if norm < 1e-6:
            continue  # donors on opposite sides of Zn: no net radial motion of this molecule
        vector[group] = radial / norm
    return vector, shell


def zn_stretch(hessian, symbols, masses, positions, shell_cutoff: float = 2.6) -> dict:
    """The symmetric Zn-donor stretch of a complex (module docstring) from its Cartesian Hessian (eV/Å²)."""
    masses = np.asarray(masses, dtype=float)
    positions = np.asarray(positions, dtype=float).reshape(-1, 3)
    hessian = np.asarray(hessian, dtype=float)
    if hessian.shape != (positions.size, positions.size) or not np.isfinite(hessian).all():
        raise AnalysisInputError(
            EXIT_BAD_HESSIAN, f'a {hessian.shape} Hessian for {len(positions)} atoms, or not finite'
        )
    vector, shell = breathing_vector(symbols, positions, shell_cutoff)
    wavenumbers, displacements = normal_modes(hessian, masses, positions)
    sqrt_m = np.repeat(np.sqrt(masses), 3)
    # The mass-weighted modes (orthonormal) from the Cartesian displacements normal_modes returns.
    modes = sqrt_m[:, None] * displacements
    modes /= np.linalg.norm(modes, axis=0)
    # The breathing in mass-weighted coordinates, without its translation and rotation part (a complex with an
    # uneven shell would otherwise also 'breathe' by moving as a whole).
    n_external = positions.size - n_vibrations(masses, positions)
    external = _external_basis(masses, positions, n_external)[:, :n_external]
    weighted = sqrt_m * vector.reshape(-1)
    weighted -= external @ (external.T @ weighted)
    weighted /= np.linalg.norm(weighted)
    shares = (modes.T @ weighted) ** 2
    best = int(np.argmax(shares))
    return {
        'stretch_cm': float(wavenumbers[best]),
        'share': float(shares[best]),
        'mean_stretch_cm': float(shares @ wavenumbers / shares.sum()),
        'mode_index': best,
        'shell_atoms': [int(index) for index in shell],
        'shell_symbols': [symbols[index] for index in shell],
        'shell_cutoff_A': float(shell_cutoff),
        'units': 'cm-1',
    }


@calcfunction
def zn_o_stretch(structure: orm.StructureData, hessian: orm.ArrayData, shell_cutoff: orm.Float):
    """The Zn-O (Zn-donor) symmetric stretch of ``structure`` from its ``hessian`` (array ``hessian``, eV/Å²,
    Cartesian, of this geometry): a Dict of :func:`zn_stretch`."""
    atoms = structure.get_ase()
    try:
        result = zn_stretch(
            hessian.get_array('hessian'),
            atoms.get_chemical_symbols(),
            atoms.get_masses(),
            atoms.positions,
            shell_cutoff.value,
        )
    except AnalysisInputError as error:
        return ExitCode(error.code, str(error))
    return orm.Dict(result)


@calcfunction
def zn_o_stretch_shift(complex_stretch: orm.Dict, hexaaqua_stretch: orm.Dict) -> orm.Float:
    """The shift of the share-weighted Zn-donor stretch on binding (complex - [Zn(H2O)6]2+), cm⁻¹."""
    return orm.Float(complex_stretch['mean_stretch_cm'] - hexaaqua_stretch['mean_stretch_cm'])
