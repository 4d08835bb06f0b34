"""The PySCF restart handlers, driven through ``inspect_process`` with fake failed calculations.

Calling a handler directly would miss what broke upstream (a catch-all handler with a higher priority that
aborts first); ``inspect_process`` runs them all in priority order, as the engine does.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from aiida import orm
from aiida.common import LinkType
from aiida.engine import ProcessState
from aiida.engine.utils import instantiate_process
from aiida.manage import get_manager
from ase import Atoms

from aiida_znadditive.calculators.pyscf.calculation import ZnPyscfCalculation
from aiida_znadditive.calculators.pyscf.restart import SCF_STRATEGIES, PyscfRestartWorkChain

from .handlers import inspect

WATER = Atoms('OH2', positions=[[0, 0, 0], [0, 0.76, 0.59], [0, -0.76, 0.59]], cell=[10, 10, 10])


@pytest.fixture
def workchain(pyscf_code):
    """A PyscfRestartWorkChain instance after ``setup``, as the engine would have it before the first child."""

    def factory(parameters: dict | None = None):
        inputs = {
            'pyscf': {
                'code': pyscf_code,
                'structure': orm.StructureData(ase=WATER),
                'parameters': orm.Dict(parameters or {'mean_field': {'method': 'RKS', 'xc': 'b3lyp'}}),
                'metadata': {'options': {'max_wallclock_seconds': 600}},
            }
        }
        process = instantiate_process(get_manager().get_runner(), PyscfRestartWorkChain, **inputs)
        process.setup()
        return process

    return factory


def failed_calculation(exit_code, outputs: dict | None = None) -> orm.CalcJobNode:
    """A finished CalcJobNode with ``exit_code`` and the given outputs, as a failed run would leave it."""
    node = orm.CalcJobNode()
    node.set_process_type('aiida.calculations:znadditive.pyscf')
    node.set_process_label('ZnPyscfCalculation')
    node.set_process_state(ProcessState.FINISHED)
    node.set_exit_status(exit_code.status)
    node.set_exit_message(exit_code.message)
    node.store()
    for label, output in (outputs or {}).items():
        output.base.links.add_incoming(node, link_type=LinkType.CREATE, link_label=label)
        output.store()
    return node


def checkpoint() -> orm.SinglefileData:
    return orm.SinglefileData(io.BytesIO(b'chk'), filename='checkpoint.chk')


def trajectory(last_z: float) -> orm.TrajectoryData:
    positions = np.array([WATER.positions, WATER.positions + np.array([0, 0, last_z])])
    node = orm.TrajectoryData()
    node.set_trajectory(symbols=WATER.get_chemical_symbols(), positions=positions, cells=np.array([WATER.cell] * 2))
    return node


EXIT_CODES = ZnPyscfCalculation.exit_codes


def test_scf_not_converged_escalates_then_aborts(workchain):
    """Damping, then a level shift, then Newton; a fourth failure ends with ERROR_SCF_NOT_CONVERGED (310)."""
    process = workchain()
    for attempt, strategy in enumerate(SCF_STRATEGIES):
        chk = checkpoint()
        result = inspect(
            process, failed_calculation(EXIT_CODES.ERROR_ELECTRONIC_CONVERGENCE_NOT_REACHED, {'checkpoint': chk})
        )
        assert result.status == 0, f'attempt {attempt} should restart'
        mean_field = process.ctx.inputs.parameters['mean_field']
        assert all(mean_field[key] == value for key, value in strategy.items())
        assert process.ctx.inputs.checkpoint.uuid == chk.uuid
    result = inspect(process, failed_calculation(EXIT_CODES.ERROR_ELECTRONIC_CONVERGENCE_NOT_REACHED))
    assert result.status == 310  # not 401: aiida-core's maximum-iterations code


def test_geometry_not_converged_continues_from_last_frame(workchain):
    process = workchain({'mean_field': {'method': 'RKS'}, 'optimizer': {'solver': 'geometric'}})
    node = failed_calculation(
        EXIT_CODES.ERROR_IONIC_CONVERGENCE_NOT_REACHED, {'trajectory': trajectory(0.25), 'checkpoint': checkpoint()}
    )
    assert inspect(process, node).status == 0
    restarted = process.ctx.inputs.structure.get_ase().positions
    np.testing.assert_allclose(restarted, WATER.positions + np.array([0, 0, 0.25]), atol=1e-9)
    assert 'checkpoint' in process.ctx.inputs


def test_walltime_with_checkpoint_restarts_from_it(workchain):
    process = workchain()
    chk = checkpoint()
    assert (
        inspect(process, failed_calculation(EXIT_CODES.ERROR_SCHEDULER_OUT_OF_WALLTIME, {'checkpoint': chk})).status
        == 0
    )
    assert process.ctx.inputs.checkpoint.uuid == chk.uuid
    assert process.ctx.inputs.metadata.options.max_wallclock_seconds == 600


def test_walltime_without_checkpoint_doubles_walltime(workchain):
    """The case upstream's priority-600 handler never let through: walltime (exit 120) must restart, not abort."""
    process = workchain()
    assert inspect(process, failed_calculation(EXIT_CODES.ERROR_SCHEDULER_OUT_OF_WALLTIME)).status == 0
    assert process.ctx.inputs.metadata.options.max_wallclock_seconds == 1200


def test_other_failure_aborts_with_message(workchain):
    process = workchain()
    result = inspect(process, failed_calculation(EXIT_CODES.ERROR_OUTPUT_RESULTS_MISSING))
    assert result.status == 300
    assert 'results' in result.message.lower()
