"""The promises of the calculator interface, checked on every registered calculator with its real engine.

A calculator registered under ``znadditive.calculators`` is tested here the day it is registered: it must find its
code in the codes file (same key as its entry point name), return a finite energy in eV, the structure, and end a
task it cannot do with the interface's exit code.
"""

import math

import pytest
from aiida import orm
from aiida.engine import run_get_node
from ase import Atoms

from aiida_znadditive.calculators.base import (
    PROTOCOLS,
    TASKS,
    CalculatorError,
    Task,
    calculator_names,
    load_calculator,
)
from aiida_znadditive.workchains.calculator import CalculatorWorkChain

from ..regression import check_regression

pytestmark = pytest.mark.integration


#: Cheaper settings for the relaxation test, where the engine reads a relaxation's energy by the same code at every
#: level of theory: CP2K's PBE relaxation of water costs 2.5 min of the suite, its GFN1-xTB one seconds.
CHEAP_RELAX_SETTINGS = {'cp2k': {'method': 'xtb'}}


def water(r_oh: float) -> orm.StructureData:
    """Water with both O-H bonds ``r_oh`` Å long, angle 104.52°."""
    y, z = r_oh * math.sin(math.radians(52.26)), r_oh * math.cos(math.radians(52.26))
    return orm.StructureData(ase=Atoms('OH2', positions=[[0, 0, 0], [0, y, z], [0, -y, z]], cell=[10, 10, 10]))


def run_task(name, code, structure, **kwargs):
    inputs = {'calculator': orm.Str(name), 'code': code, 'structure': structure, 'protocol': orm.Str('fast')}
    inputs.update(
        {
            key: (v if isinstance(v, orm.Data) else orm.Int(v) if isinstance(v, int) else orm.Str(v))
            for key, v in kwargs.items()
        }
    )
    return run_get_node(CalculatorWorkChain, **inputs)


@pytest.fixture(params=calculator_names())
def calculator(request, znadditive_codes):
    if request.param not in znadditive_codes:
        pytest.fail(f'calculator `{request.param}` has no code `{request.param}` in codes.yaml')
    return request.param, znadditive_codes[request.param]


def test_energy_in_ev_and_structure_returned(calculator):
    """Stretching both O-H bonds of water by 0.1 Å costs 0.3-0.7 eV (O-H force constant ~7.8 mdyn/Å, anharmonic).

    The same number in Hartree would be ~0.015 and in kcal/mol ~10: the window checks the unit, not just a sign.
    """
    name, code = calculator
    energies = []
    for r_oh in (0.9572, 1.0572):
        results, node = run_task(name, code, water(r_oh))
        assert node.is_finished_ok, node.exit_message
        assert math.isfinite(results['energy'].value)
        assert len(results['structure'].sites) == 3
        energies.append(results['energy'].value)
    assert 0.3 < energies[1] - energies[0] < 0.7


def test_a_relaxation_reports_the_energy_of_its_relaxed_structure(calculator):
    """The energy a relaxation returns is the single point of the structure it returns, not of the one it started
    from (aiida-pyscf 0.5.1 reported the starting geometry's SCF: every gas-phase DFT energy of a complex was the
    energy of its cheap-level geometry). Water with both O-H bonds 0.05 Å too long relaxes 0.05-0.2 eV downhill
    (O-H force constant ~7.8 mdyn/Å: 2 x ½k(0.05 Å)² ≈ 0.12 eV), a few optimiser steps in every engine."""
    name, code = calculator
    if 'relax' not in load_calculator(name).tasks:
        pytest.skip(f'{name} does not relax')
    settings = {'settings': orm.Dict(CHEAP_RELAX_SETTINGS[name])} if name in CHEAP_RELAX_SETTINGS else {}
    stretched, _ = run_task(name, code, water(1.0072), **settings)
    relaxed, node = run_task(name, code, water(1.0072), task='relax', **settings)
    assert node.is_finished_ok, node.exit_message
    again, _ = run_task(name, code, relaxed['structure'], **settings)
    assert relaxed['energy'].value == pytest.approx(again['energy'].value, abs=2e-3)
    assert 0.05 < stretched['energy'].value - relaxed['energy'].value < 0.2


def test_a_single_ion_relaxes_as_its_single_point(calculator):
    """A halide (F-, a ligand of the calibration table) has no geometry to optimise; a relaxation of it must end as
    its single point, with the structure returned unchanged, not as an optimiser's failure."""
    name, code = calculator
    if 'relax' not in load_calculator(name).tasks:
        pytest.skip(f'{name} does not relax')
    fluoride = orm.StructureData(ase=Atoms('F', positions=[[5.0, 5.0, 5.0]], cell=[10, 10, 10]))
    results, node = run_task(name, code, fluoride, task='relax', charge=-1)
    assert node.is_finished_ok, node.exit_message
    assert math.isfinite(results['energy'].value)
    assert results['structure'].get_ase().get_positions().tolist() == [[pytest.approx(5.0, abs=1e-6)] * 3]


def test_frequencies_in_wavenumbers_at_a_minimum(calculator):
    """A calculator that declares `frequencies` relaxes first and returns water's 3 vibrations in cm⁻¹: the bend
    above 1000 and the stretches below 4200 (in eV they would be below 0.5, in Hartree far below 1)."""
    name, code = calculator
    if 'frequencies' not in load_calculator(name).tasks:
        pytest.skip(f'{name} computes no frequencies')
    results, node = run_task(name, code, water(1.0572), task='frequencies')
    assert node.is_finished_ok, node.exit_message
    frequencies = results['frequencies'].get_array('frequencies')
    assert len(frequencies) == 3
    assert 1000 < frequencies[0] < 2000 and 3000 < frequencies[1] <= frequencies[2] < 4200
    stretched, relaxed = water(1.0572).get_ase(), results['structure'].get_ase()
    assert relaxed.get_distance(0, 1) < stretched.get_distance(0, 1) - 0.05


@pytest.mark.parametrize(
    ('kwargs', 'exit_status'),
    [({'multiplicity': 2}, 204), ({'task': 'md'}, 202), ({'charge': 20}, 205), ({'solvent': 'mercury'}, 206)],
)
def test_bad_input_gives_exit_code(calculator, kwargs, exit_status):
    name, code = calculator
    calculator_class = load_calculator(name)
    if kwargs.get('task') == 'md' and 'md' in calculator_class.tasks:
        pytest.skip(f'{name} does MD')
    _, node = run_task(name, code, water(0.9572), **kwargs)
    assert node.exit_status == exit_status, node.exit_message
    assert node.exit_message
    assert not node.called  # rejected before anything ran


@pytest.mark.parametrize('protocol', PROTOCOLS)
@pytest.mark.parametrize('task', ['singlepoint', 'relax', 'frequencies'])
def test_builder_regression(calculator, protocol, task, aiida_localhost):
    """The engine inputs each protocol produces; a changed default shows up as a diff of the stored file."""
    name, _ = calculator
    code = orm.InstalledCode(computer=aiida_localhost, filepath_executable='/bin/true', label=f'{name}-regression')
    adapter = load_calculator(name)
    if task not in adapter.tasks:
        pytest.skip(f'{name} does not do {task}')
    builder = adapter.get_builder(code, water(0.9572), Task(kind=task, protocol=protocol, solvent=None))
    data = builder._inputs(prune=True)
    serialised = {'parameters': _find(data, 'parameters').get_dict(), 'options': dict(_find(data, 'options'))}
    check_regression(serialised, f'calculator_{name}_{task}_{protocol}')


def _find(data: dict, key: str):
    """The first value under ``key`` in a nested builder dictionary (engines nest their CalcJob's inputs)."""
    if key in data:
        return data[key]
    for value in data.values():
        if isinstance(value, dict) and (found := _find(value, key)) is not None:
            return found
    return None


def test_tasks_and_protocols_declared():
    for name in calculator_names():
        adapter = load_calculator(name)
        assert set(adapter.tasks) <= set(TASKS)
        for protocol in PROTOCOLS:
            assert adapter.protocol(protocol)


def test_parent_folder_only_where_the_engine_restarts(aiida_localhost):
    folder = orm.RemoteData(computer=aiida_localhost, remote_path='/tmp')
    for name in calculator_names():
        adapter = load_calculator(name)
        if adapter.restarts:
            adapter.check_parent_folder(folder)
        else:
            with pytest.raises(CalculatorError, match='does not continue') as error:
                adapter.check_parent_folder(folder)
            assert error.value.reason == 'unsupported_restart'
        adapter.check_parent_folder(None)


def test_a_code_of_another_engine_is_refused_before_anything_runs(calculator, znadditive_codes):
    """Each calculator names the CalcJob plugins its codes have; another engine's code ends with exit 200."""
    name, _ = calculator
    accepted = load_calculator(name).code_plugins
    assert accepted, f'{name} accepts any code: a mistaken --dft-code would fail only inside its CalcJob'
    other = next(code for key, code in znadditive_codes.items() if code.default_calc_job_plugin not in accepted)
    _, node = run_task(name, other, water(0.9572))
    assert node.exit_status == CalculatorWorkChain.exit_codes.ERROR_INCOMPATIBLE_CODE.status == 200
    assert other.full_label in node.exit_message
    assert not node.called
