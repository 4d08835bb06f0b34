"""The hexaaqua zinc(II) ion, [Zn(H2O)6]2+: the reference every additive's binding is measured against."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import calcfunction
from ase import Atoms

# Gas-phase water geometry (experiment): r(O-H) 0.9572 Å, angle 104.52°.
WATER_OH = 0.9572
WATER_HOH = np.deg2rad(104.52)
# Experimental Zn-O distance in aqueous Zn2+ (X-ray/EXAFS, ~2.07-2.10 Å).
ZN_O_EXPERIMENT = 2.09


def zn_aqua_atoms(zn_o: float = ZN_O_EXPERIMENT) -> Atoms:
    """Return an octahedral [Zn(H2O)6]2+ with Zn at the origin, each water flat with its dipole along Zn-O.

    The hydrogens of the water on axis ``i`` lie in the plane of axes ``i`` and ``i+1``: the T_h-like pattern that
    keeps hydrogens of neighbouring waters apart (shortest H...H about 3.4 Å at 2.09 Å).

    :param zn_o: Zn-O distance in Å.
    """
    if not 1.5 < zn_o < 3.5:
        raise ValueError(f'Zn-O distance {zn_o} Å is outside the physical range 1.5-3.5 Å.')
    symbols, positions = ['Zn'], [np.zeros(3)]
    half = WATER_HOH / 2
    for axis in range(3):
        for sign in (1.0, -1.0):
            outward = np.zeros(3)
            outward[axis] = sign
            sideways = np.zeros(3)
            sideways[(axis + 1) % 3] = 1.0
            oxygen = zn_o * outward
            symbols += ['O', 'H', 'H']
            positions += [
                oxygen,
                oxygen + WATER_OH * (np.cos(half) * outward + np.sin(half) * sideways),
                oxygen + WATER_OH * (np.cos(half) * outward - np.sin(half) * sideways),
            ]
    return Atoms(symbols=symbols, positions=np.array(positions))


@calcfunction
def build_zn_aqua_complex(zn_o: orm.Float) -> orm.StructureData:
    """Build [Zn(H2O)6]2+ (charge +2, singlet) with the given Zn-O distance in Å, in a 20 Å non-periodic cell."""
    atoms = zn_aqua_atoms(zn_o.value)
    atoms.set_cell([20.0, 20.0, 20.0])
    atoms.center()
    atoms.pbc = False
    return orm.StructureData(ase=atoms)
