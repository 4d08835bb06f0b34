"""A cheaper level's Hessian as the starting Hessian of a relaxation: how PySCF's optimiser receives it, and the
refusals of ``CalculatorWorkChain`` when it cannot be used (no engine runs: the checks come first)."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node
from ase import Atoms
from ase.units import Bohr, Hartree

from aiida_znadditive.calculators.pyscf.calculation import (
    RIGID_BODY_CURVATURE,
    SMALLEST_CURVATURE,
    optimiser_hessian,
)
from aiida_znadditive.workchains.calculator import CalculatorWorkChain

WATER = Atoms('OH2', positions=[[0, 0, 0], [0, 0.7572, 0.5865], [0, -0.7572, 0.5865]])


def toy_hessian(positions: np.ndarray, soft: float) -> np.ndarray:
    """A 3N x 3N Hessian (eV/Å²) with no rigid-body curvature: springs between every pair of atoms (constant
    ``soft`` for the last pair), so that translations and rotations cost nothing, as in a true Hessian."""
    n = len(positions)
    hessian = np.zeros((3 * n, 3 * n))
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    for index, (i, j) in enumerate(pairs):
        bond = positions[j] - positions[i]
        unit = bond / np.linalg.norm(bond)
        block = (soft if index == len(pairs) - 1 else 30.0) * np.outer(unit, unit)
        for a, b, sign in ((i, i, 1), (j, j, 1), (i, j, -1), (j, i, -1)):
            hessian[3 * a : 3 * a + 3, 3 * b : 3 * b + 3] += sign * block
    return hessian


def test_rigid_body_motions_get_curvature_and_soft_modes_a_floor():
    hessian = toy_hessian(WATER.positions, soft=1e-4)
    assert np.sort(np.linalg.eigvalsh(hessian))[:6] == pytest.approx(np.zeros(6), abs=1e-9)
    started = optimiser_hessian(hessian, WATER.positions)
    values = np.sort(np.linalg.eigvalsh(started))
    # geomeTRIC would throw away a Hessian with an eigenvalue at or below 1e-5 and fall back to its model one
    assert values.min() >= SMALLEST_CURVATURE - 1e-12
    assert np.count_nonzero(np.isclose(values, RIGID_BODY_CURVATURE)) == 6
    # the stiff modes are kept, in Hartree/bohr²
    stiff = np.sort(np.linalg.eigvalsh(hessian))[-1] * Bohr**2 / Hartree
    assert values[-1] == pytest.approx(stiff)
    assert np.allclose(started, started.T)


@pytest.fixture
def water_structure():
    return orm.StructureData(ase=WATER)


def refusal(code, structure, hessian: np.ndarray, task='relax', calculator='pyscf'):
    array = orm.ArrayData()
    array.set_array('hessian', hessian)
    inputs = {
        'calculator': orm.Str(calculator),
        'code': code,
        'structure': structure,
        'task': orm.Str(task),
        'start_hessian': array,
    }
    _, node = run_get_node(CalculatorWorkChain, **inputs)
    return node


@pytest.mark.parametrize(
    ('case', 'message'),
    [
        (('xtb', 'relax', 9), 'calculator `xtb` cannot start an optimisation from a given Hessian'),
        (('pyscf', 'singlepoint', 9), 'a starting Hessian is for a relax task, not `singlepoint`'),
        (('pyscf', 'relax', 6), 'its shape (6, 6) does not fit 3 atoms (9 x 9)'),
    ],
)
def test_a_starting_hessian_that_cannot_be_used_is_refused(znadditive_codes, water_structure, case, message):
    calculator, task, size = case
    node = refusal(znadditive_codes[calculator], water_structure, np.eye(size), task, calculator)
    assert node.exit_status == CalculatorWorkChain.exit_codes.ERROR_INVALID_START_HESSIAN.status
    assert message in node.exit_message
    assert not node.called  # nothing ran
