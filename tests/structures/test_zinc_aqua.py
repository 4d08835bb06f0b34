"""The [Zn(H2O)6]2+ builder: geometry against the numbers it promises."""

import numpy as np
import pytest
from aiida import orm

from aiida_znadditive.analysis.geometry import octahedral_deviation
from aiida_znadditive.structures.zinc_aqua import WATER_HOH, WATER_OH, build_zn_aqua_complex, zn_aqua_atoms


def test_zn_aqua_geometry():
    atoms = zn_aqua_atoms(2.09)
    assert atoms.get_chemical_formula() == 'H12O6Zn'
    symbols = atoms.get_chemical_symbols()
    oxygens = [i for i, s in enumerate(symbols) if s == 'O']
    np.testing.assert_allclose(atoms.get_distances(0, oxygens), 2.09, atol=1e-12)
    assert octahedral_deviation(atoms.positions, 0, oxygens) == pytest.approx(0.0, abs=1e-9)
    for oxygen in oxygens:
        np.testing.assert_allclose(atoms.get_distances(oxygen, [oxygen + 1, oxygen + 2]), WATER_OH, atol=1e-12)
        assert np.deg2rad(atoms.get_angle(oxygen + 1, oxygen, oxygen + 2)) == pytest.approx(WATER_HOH)
        # The Zn-O axis bisects H-O-H: both Zn-O-H angles are equal (water dipole points at Zn).
        assert atoms.get_angle(0, oxygen, oxygen + 1) == pytest.approx(atoms.get_angle(0, oxygen, oxygen + 2))
    hydrogens = [i for i, s in enumerate(symbols) if s == 'H']
    distances = atoms.get_all_distances()[np.ix_(hydrogens, hydrogens)]
    intra = {(i, i + 1) for i in range(0, 12, 2)}
    inter = [distances[a, b] for a in range(12) for b in range(a + 1, 12) if (a, b) not in intra]
    assert min(inter) > 2.8  # no clashes between hydrogens of different waters


@pytest.mark.parametrize('zn_o', [0.5, 5.0])
def test_zn_aqua_rejects_unphysical_distance(zn_o):
    with pytest.raises(ValueError, match='outside the physical range'):
        zn_aqua_atoms(zn_o)


def test_build_zn_aqua_complex_provenance():
    structure, node = build_zn_aqua_complex.run_get_node(orm.Float(2.1))
    assert node.is_finished_ok
    assert structure.creator.pk == node.pk
    assert structure.get_formula() == 'H12O6Zn'
    assert structure.pbc == (False, False, False)
    atoms = structure.get_ase()
    assert atoms.get_distance(0, 1) == pytest.approx(2.1)
