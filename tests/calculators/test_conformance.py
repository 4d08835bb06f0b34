"""The promises of the calculator interface, checked on every registered calculator with its real engine.

A calculator registered under ``znadditive.calculators`` is tested here the day it is registered: it must find its
code in the codes file (same key as its entry point name) and pass the conformance suite that third-party packages
run too (``aiida_znadditive.testing``); the builder regressions and the cross-engine code check are this
repository's own.
"""

from typing import ClassVar

import pytest
from aiida import orm

from aiida_znadditive.calculators.base import PROTOCOLS, Task, calculator_names, load_calculator
from aiida_znadditive.testing import CalculatorConformance, water
from aiida_znadditive.testing.conformance import run_task
from aiida_znadditive.workchains.calculator import CalculatorWorkChain

pytestmark = pytest.mark.integration


class TestRegisteredCalculators(CalculatorConformance):
    """The shipped suite (``aiida_znadditive.testing``) over every calculator registered in this environment."""

    #: CP2K's PBE relaxation of water costs 2.5 min of the suite, its GFN1-xTB one seconds; the energy a relaxation
    #: reports is read by the same code at every level of theory.
    relax_settings: ClassVar[dict[str, dict]] = {'cp2k': {'method': 'xtb'}}
    #: CP2K's PBE single points of water in the `fast` box (11.7 Å, 300 Ry: a 180³ grid) took 110 s of the suite; a
    #: 4 Å padding and 250 Ry keep PBE and the Martyna-Tuckerman solver (the box still over twice the molecule's size;
    #: at 3 Å the stretch energy left the window) at 25 s.
    energy_settings: ClassVar[dict[str, dict]] = {'cp2k': {'box_padding': 4.0, 'cutoff': 250}}

    @pytest.fixture(params=calculator_names())
    def calculator(self, request, znadditive_codes):
        if request.param not in znadditive_codes:
            pytest.fail(f'calculator `{request.param}` has no code `{request.param}` in codes.yaml')
        return request.param, znadditive_codes[request.param]


@pytest.fixture(params=calculator_names())
def calculator(request, znadditive_codes):
    return request.param, znadditive_codes[request.param]


@pytest.mark.parametrize('protocol', PROTOCOLS)
@pytest.mark.parametrize('task', ['singlepoint', 'relax', 'frequencies'])
def test_builder_regression(calculator, protocol, task, aiida_localhost, data_regression):
    """The engine inputs each protocol produces; a changed default shows up as a diff of the stored file."""
    name, _ = calculator
    code = orm.InstalledCode(computer=aiida_localhost, filepath_executable='/bin/true', label=f'{name}-regression')
    adapter = load_calculator(name)
    if task not in adapter.tasks:
        pytest.skip(f'{name} does not do {task}')
    builder = adapter.get_builder(code, water(0.9572), Task(kind=task, protocol=protocol, solvent=None))
    data = builder._inputs(prune=True)
    serialised = {'parameters': _find(data, 'parameters').get_dict(), 'options': dict(_find(data, 'options'))}
    data_regression.check(serialised, basename=f'calculator_{name}_{task}_{protocol}')


def _find(data: dict, key: str):
    """The first value under ``key`` in a nested builder dictionary (engines nest their CalcJob's inputs)."""
    if key in data:
        return data[key]
    for value in data.values():
        if isinstance(value, dict) and (found := _find(value, key)) is not None:
            return found
    return None


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
