"""CP2K relaxations that run out of optimisation steps continue from the restart file, and return the last geometry.

Real CP2K, GFN1-xTB on a stretched water molecule (seconds). A continuation used to keep the first run's structure as
its input; when it then converged at its first step (so writing neither a restart file nor an output structure), the
relaxation returned the *starting* geometry with the *relaxed* energy. That happened to every pre-rank configuration
of the adsorption benchmark whose first run used up its 60 steps.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node
from ase import Atoms

from aiida_znadditive.calculators.base import Task, load_calculator

pytestmark = pytest.mark.integration

XTB = {'method': 'xtb'}


def stretched_water() -> orm.StructureData:
    # O-H 1.15 and 0.90 Å, angle 125°: a few optimisation steps from the GFN1 minimum.
    angle = np.deg2rad(125.0)
    positions = [[0.0, 0.0, 0.0], [1.15, 0.0, 0.0], [0.90 * np.cos(angle), 0.90 * np.sin(angle), 0.0]]
    return orm.StructureData(ase=Atoms('OH2', positions=positions))


def test_relaxation_out_of_steps_continues_and_returns_its_last_geometry(cp2k_code):
    adapter = load_calculator('cp2k')
    task = Task('relax', settings={**XTB, 'geo_opt': {'max_iter': 2}})
    _, node = run_get_node(adapter.get_builder(cp2k_code, stretched_water(), task))
    assert node.is_finished_ok, node.exit_message
    runs = sorted((child for child in node.called if isinstance(child, orm.CalcJobNode)), key=lambda run: run.pk)
    assert len(runs) >= 2  # two steps are not enough: at least one continuation
    # Each continuation's input structure is the geometry its predecessor ended at.
    for previous, run in itertools.pairwise(runs):
        assert run.inputs.structure.uuid == previous.outputs.output_structure.uuid
    # The case that went wrong: the last continuation converged at its first step, so it has no output structure.
    assert 'output_structure' not in runs[-1].outputs
    outputs = adapter.get_outputs(node, task)
    assert outputs['structure'].uuid == runs[-2].outputs.output_structure.uuid
    # The relaxed energy belongs to the returned geometry: a single point there gives it again.
    _, single = run_get_node(adapter.get_builder(cp2k_code, outputs['structure'], Task('singlepoint', settings=XTB)))
    assert single.is_finished_ok, single.exit_message
    energy = adapter.get_outputs(single, Task('singlepoint', settings=XTB))['energy'].value
    assert energy == pytest.approx(outputs['energy'].value, abs=1e-4)  # eV
    # The starting geometry is 0.03 eV and more above it (GFN1-xTB), so it could not pass for the relaxed one.
    _, start = run_get_node(adapter.get_builder(cp2k_code, stretched_water(), Task('singlepoint', settings=XTB)))
    assert adapter.get_outputs(start, Task('singlepoint', settings=XTB))['energy'].value > energy + 0.03
