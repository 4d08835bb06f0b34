"""CP2K for metals: k-points, Fermi smearing, fixed atoms and cell relaxation inputs, and the smeared-SCF rescue.

The rescue runs real CP2K (GFN1-xTB on the 2-atom hcp Zn cell, seconds): an SCF cut at 3 iterations is not a
result, so the restart WorkChain reruns it with gentler Broyden mixing and returns the converged energy.
"""

from __future__ import annotations

import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_znadditive.calculators.base import Task, load_calculator
from aiida_znadditive.structures.zinc_slab import zn_bulk

METAL = {'kpoints': [4, 4, 3], 'smearing': {'temperature': 1000}}


def bulk() -> orm.StructureData:
    return orm.StructureData(ase=zn_bulk(2.665, 4.947))


def test_cell_relaxation_of_a_metal(aiida_profile):
    adapter = load_calculator('cp2k')
    task = Task('relax', settings={**METAL, 'relax_cell': {'symmetry': 'HEXAGONAL', 'pressure_tolerance': 200}})
    parameters = adapter.input_parameters(bulk(), task, adapter.settings(task))
    assert parameters['GLOBAL']['RUN_TYPE'] == 'CELL_OPT'
    assert parameters['FORCE_EVAL']['STRESS_TENSOR'] == 'ANALYTICAL'
    assert parameters['FORCE_EVAL']['SUBSYS']['CELL']['SYMMETRY'] == 'HEXAGONAL'
    assert parameters['MOTION']['CELL_OPT']['KEEP_SYMMETRY'] is True
    assert parameters['MOTION']['CELL_OPT']['PRESSURE_TOLERANCE'] == 200
    dft = parameters['FORCE_EVAL']['DFT']
    assert dft['KPOINTS']['SCHEME'] == 'MONKHORST-PACK 4 4 3'
    scf = dft['SCF']
    # Metals: no OT (it needs a gap), diagonalisation with smeared occupations and Broyden mixing.
    assert 'OT' not in scf and 'OUTER_SCF' not in scf
    assert scf['SMEAR']['METHOD'] == 'FERMI_DIRAC'
    assert scf['SMEAR']['ELECTRONIC_TEMPERATURE'] == 1000
    assert scf['MIXING']['METHOD'] == 'BROYDEN_MIXING'


def test_fixed_atoms_are_counted_from_one(aiida_profile):
    adapter = load_calculator('cp2k')
    task = Task('relax', settings={'method': 'xtb', 'fixed_atoms': [2, 0, 1]})
    parameters = adapter.input_parameters(bulk(), task, adapter.settings(task))
    assert parameters['MOTION']['CONSTRAINT']['FIXED_ATOMS']['LIST'] == '1 2 3'
    assert parameters['GLOBAL']['RUN_TYPE'] == 'GEO_OPT'
    # A single point has no MOTION section to constrain.
    single = Task('singlepoint', settings={'method': 'xtb', 'fixed_atoms': [0]})
    assert 'MOTION' not in adapter.input_parameters(bulk(), single, adapter.settings(single))


def test_metal_slab_relaxation_can_start_from_the_unit_hessian(aiida_profile):
    adapter = load_calculator('cp2k')
    default = Task('relax', settings=METAL)
    # CP2K's own default (its bond-based model Hessian) unless a protocol asks otherwise.
    assert 'BFGS' not in adapter.input_parameters(bulk(), default, adapter.settings(default))['MOTION']['GEO_OPT']
    unit = Task('relax', settings={**METAL, 'geo_opt': {'model_hessian': False}})
    geo_opt = adapter.input_parameters(bulk(), unit, adapter.settings(unit))['MOTION']['GEO_OPT']
    assert geo_opt['OPTIMIZER'] == 'BFGS'
    assert geo_opt['BFGS'] == {'USE_MODEL_HESSIAN': False}
    # L-BFGS (the adsorption protocols' DFT stage) has no first-Hessian choice: nothing BFGS-specific is written.
    lbfgs = Task('relax', settings={**METAL, 'geo_opt': {'optimizer': 'LBFGS', 'model_hessian': False}})
    geo_opt = adapter.input_parameters(bulk(), lbfgs, adapter.settings(lbfgs))['MOTION']['GEO_OPT']
    assert geo_opt['OPTIMIZER'] == 'LBFGS' and 'BFGS' not in geo_opt


def test_unknown_cell_symmetry_is_named(aiida_profile):
    adapter = load_calculator('cp2k')
    task = Task('relax', settings={'relax_cell': {'symmetry': 'rhombic'}})
    with pytest.raises(ValueError, match='Unknown cell symmetry `RHOMBIC`'):
        adapter.input_parameters(bulk(), task, adapter.settings(task))


@pytest.mark.integration
def test_smeared_scf_rescue_converges_the_metal(cp2k_code):
    adapter = load_calculator('cp2k')
    settings = {'method': 'xtb', **METAL, 'xtb': {'max_scf': 3}}
    task = Task('singlepoint', settings=settings)
    _, node = run_get_node(adapter.get_builder(cp2k_code, bulk(), task))
    assert node.is_finished_ok, node.exit_message
    runs = sorted(node.called, key=lambda run: run.pk)
    assert len(runs) >= 2
    first, last = (run.inputs.parameters['FORCE_EVAL']['DFT']['SCF'] for run in (runs[0], runs[-1]))
    assert last['MAX_SCF'] > first['MAX_SCF']
    assert last['MIXING']['ALPHA'] < first['MIXING']['ALPHA']
    # The rescued energy equals a converged reference run of the same input.
    _, reference = run_get_node(
        adapter.get_builder(cp2k_code, bulk(), Task('singlepoint', settings={**settings, 'xtb': {'max_scf': 100}}))
    )
    assert reference.is_finished_ok
    energy = adapter.get_outputs(node, task)['energy'].value
    assert energy == pytest.approx(adapter.get_outputs(reference, task)['energy'].value, abs=1e-4)
