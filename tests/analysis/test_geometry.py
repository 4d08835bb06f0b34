"""Zn-donor distance analysis."""

import numpy as np
import pytest
from aiida import orm
from ase import Atoms

from aiida_znadditive.analysis.geometry import first_shell, octahedral_deviation, zn_donor_distances
from aiida_znadditive.structures.zinc_aqua import zn_aqua_atoms


def test_zn_donor_distances_of_hexaaqua():
    atoms = zn_aqua_atoms(2.08)
    atoms.set_cell([20, 20, 20])
    result = zn_donor_distances(orm.StructureData(ase=atoms), orm.Float(2.6)).get_dict()
    assert result['coordination_number'] == 6
    np.testing.assert_allclose(result['distances']['Zn-O'], 2.08, atol=1e-5)
    assert result['mean_distance'] == pytest.approx(2.08)
    assert result['octahedral_max_angle_deviation'] == pytest.approx(0.0, abs=1e-6)


def test_distorted_complex_is_seen():
    atoms = zn_aqua_atoms(2.08)
    atoms.positions[1:4] += [0.0, 0.5, 0.0]  # slide the first water sideways
    shell = first_shell(atoms.positions, atoms.get_chemical_symbols(), 2.6)
    assert len(shell) == 6
    assert shell[-1][1] == pytest.approx(np.hypot(2.08, 0.5))
    assert octahedral_deviation(atoms.positions, 0, [i for i, _ in shell]) == pytest.approx(
        np.degrees(np.arctan2(0.5, 2.08)), rel=1e-6
    )


def test_cutoff_excludes_second_shell():
    atoms = zn_aqua_atoms(2.08) + Atoms('O', positions=[[4.2, 0.0, 0.0]])
    shell = first_shell(atoms.positions, atoms.get_chemical_symbols(), 2.6)
    assert len(shell) == 6
    assert np.isnan(octahedral_deviation(atoms.positions, 0, [i for i, _ in shell][:5]))


def test_no_zinc_is_an_error():
    with pytest.raises(ValueError, match='no Zn atom'):
        first_shell(np.zeros((1, 3)), ['O'], 2.6)
