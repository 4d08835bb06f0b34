"""The CP2K restart handlers (ABORT, crash), driven through ``inspect_process`` with fake failed calculations.

No CP2K runs: each test hands the work chain a finished ``Cp2kCalculation`` node with the exit code, the retrieved
files and the remote folder a failed run leaves, and checks what the next run would be given (its restart file, its
wavefunction) or how the chain ends. ``inspect_process`` runs every handler in priority order, as the engine does.
"""

from __future__ import annotations

import io

import pytest
from aiida import orm
from aiida.common import LinkType
from aiida.engine import ProcessState
from aiida.engine.utils import instantiate_process
from aiida.manage import get_manager
from aiida.plugins import CalculationFactory
from ase import Atoms

from aiida_znadditive.calculators.cp2k.restart import MAX_CRASH_RETRIES, Cp2kRestartWorkChain

from .handlers import inspect

Cp2kCalculation = CalculationFactory('cp2k')
EXIT_CODES = Cp2kCalculation.exit_codes
WATER = Atoms('OH2', positions=[[0, 0, 0], [0, 0.76, 0.59], [0, -0.76, 0.59]], cell=[10, 10, 10])
PARAMETERS = {
    'GLOBAL': {'RUN_TYPE': 'ENERGY'},
    'FORCE_EVAL': {'METHOD': 'Quickstep', 'DFT': {'SCF': {'SCF_GUESS': 'ATOMIC', 'MAX_SCF': 50}}},
}


@pytest.fixture
def workchain(cp2k_code):
    """A Cp2kRestartWorkChain after ``setup``, as the engine would have it before its first child."""
    inputs = {
        'cp2k': {
            'code': cp2k_code,
            'structure': orm.StructureData(ase=WATER),
            'parameters': orm.Dict(PARAMETERS),
            'metadata': {'options': {'max_wallclock_seconds': 600, 'resources': {'num_machines': 1}}},
        }
    }
    process = instantiate_process(get_manager().get_runner(), Cp2kRestartWorkChain, **inputs)
    process.setup()
    return process


def failed_run(exit_code, computer, *, restart_file: bool = True) -> orm.CalcJobNode:
    """A finished Cp2kCalculation node with ``exit_code``, its remote folder and (optionally) a restart file."""
    node = orm.CalcJobNode(computer=computer)
    node.set_process_type('aiida.calculations:cp2k')
    node.set_process_label('Cp2kCalculation')
    node.set_process_state(ProcessState.FINISHED)
    node.set_exit_status(exit_code.status)
    node.set_exit_message(exit_code.message)
    node.store()
    retrieved = orm.FolderData()
    retrieved.base.repository.put_object_from_filelike(io.BytesIO(b'CP2K output'), 'aiida.out')
    if restart_file:
        retrieved.base.repository.put_object_from_filelike(io.BytesIO(b'&GLOBAL\n&END GLOBAL\n'), 'aiida-1.restart')
    remote = orm.RemoteData(computer=computer, remote_path=f'/tmp/cp2k-run-{node.pk}')
    for label, output in (('retrieved', retrieved), ('remote_folder', remote)):
        output.base.links.add_incoming(node, link_type=LinkType.CREATE, link_label=label)
        output.store()
    return node


def next_run(process) -> dict:
    parameters = process.ctx.inputs.parameters.get_dict()
    dft = parameters['FORCE_EVAL']['DFT']
    return {
        'restart': parameters.get('EXT_RESTART', {}).get('RESTART_FILE_NAME'),
        'wavefunction': dft.get('WFN_RESTART_FILE_NAME'),
        'guess': dft['SCF'].get('SCF_GUESS'),
        'parent': process.ctx.inputs.get('parent_calc_folder'),
    }


def test_abort_continues_from_the_backup_wavefunction_then_a_fresh_guess_then_ends(workchain, cp2k_code):
    computer = cp2k_code.computer
    first = failed_run(EXIT_CODES.ERROR_OUTPUT_CONTAINS_ABORT, computer)
    assert inspect(workchain, first).status == 0
    run = next_run(workchain)
    assert run['restart'] == './parent_calc/aiida-1.restart'
    assert run['wavefunction'] == './parent_calc/aiida-RESTART.wfn.bak-1'
    assert run['guess'] == 'RESTART'
    assert run['parent'].uuid == first.outputs.remote_folder.uuid

    second = failed_run(EXIT_CODES.ERROR_OUTPUT_CONTAINS_ABORT, computer)
    assert inspect(workchain, second).status == 0
    run = next_run(workchain)
    assert run['parent'].uuid == second.outputs.remote_folder.uuid
    # A fresh guess: neither the wavefunction file of the first continuation nor its RESTART guess survives.
    assert run['wavefunction'] is None
    assert run['guess'] == 'ATOMIC'

    third = inspect(workchain, failed_run(EXIT_CODES.ERROR_OUTPUT_CONTAINS_ABORT, computer))
    assert third.status == Cp2kRestartWorkChain.exit_codes.ERROR_UNRECOVERABLE_FAILURE.status == 300
    assert 'ABORT' in third.message


def test_a_crash_without_restart_file_retries_from_the_last_folder_that_has_one(workchain, cp2k_code):
    computer = cp2k_code.computer
    walltime = failed_run(EXIT_CODES.ERROR_OUT_OF_WALLTIME, computer)
    assert inspect(workchain, walltime).status == 0  # continues from its restart file
    for _ in range(MAX_CRASH_RETRIES):
        crashed = failed_run(EXIT_CODES.ERROR_OUTPUT_INCOMPLETE, computer, restart_file=False)
        assert inspect(workchain, crashed).status == 0
        # The crashed run left no restart file: the walltime run's folder is still the one to continue from.
        assert next_run(workchain)['parent'].uuid == walltime.outputs.remote_folder.uuid
    final = inspect(workchain, failed_run(EXIT_CODES.ERROR_SCHEDULER_NODE_FAILURE, computer, restart_file=False))
    assert final.status == Cp2kRestartWorkChain.exit_codes.ERROR_CRASHED.status == 320
    assert f'{MAX_CRASH_RETRIES + 1} times' in final.message


def test_scf_rescues_grow_the_iterations_then_drop_the_wavefunction_then_end(workchain, cp2k_code):
    computer = cp2k_code.computer
    assert inspect(workchain, failed_run(EXIT_CODES.ERROR_SCF_NOT_CONVERGED, computer)).status == 0
    scf = workchain.ctx.inputs.parameters['FORCE_EVAL']['DFT']['SCF']
    assert (scf['MAX_SCF'], scf['OUTER_SCF']['MAX_SCF']) == (100, 20)
    assert next_run(workchain)['wavefunction'] == './parent_calc/aiida-RESTART.wfn'
    assert inspect(workchain, failed_run(EXIT_CODES.ERROR_SCF_NOT_CONVERGED, computer)).status == 0
    scf = workchain.ctx.inputs.parameters['FORCE_EVAL']['DFT']['SCF']
    assert scf['MAX_SCF'] == 200
    assert (next_run(workchain)['wavefunction'], next_run(workchain)['guess']) == (None, 'ATOMIC')
    final = inspect(workchain, failed_run(EXIT_CODES.ERROR_SCF_NOT_CONVERGED, computer))
    assert final.status == Cp2kRestartWorkChain.exit_codes.ERROR_SCF_NOT_CONVERGED.status == 310
