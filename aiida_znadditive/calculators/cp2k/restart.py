"""Restart loop for CP2K runs: every continuation starts from CP2K's own restart files, so no step is lost or redone.

aiida-cp2k 2.1.1's ``Cp2kBaseWorkChain`` continues an incomplete run only once (aiida-cp2k #174), gives up on
``ABORT`` where a backup wavefunction would do (#201) and does not continue an optimisation that ran out of steps
(#219). Here each failure has its own handler, and all of them continue from the failed run's folder
(``EXT_RESTART`` of ``aiida-1.restart`` plus its wavefunction) when it wrote a restart file, else from the last run
that did. MD keeps its step counter: the steps still missing to the target are computed from the restart file.
"""

from __future__ import annotations

import copy

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import BaseRestartWorkChain, ProcessHandlerReport, process_handler, while_
from aiida.plugins import CalculationFactory

from ...exit_codes import declare
from ..interruptions import hit_time_limit
from .trajectory import RESTART_FILE, join_md_runs, restart_step, unconverged_scf_steps

Cp2kCalculation = CalculationFactory('cp2k')

PARENT = './parent_calc'
WAVEFUNCTION = 'aiida-RESTART.wfn'
#: SCF rescue: each step multiplies the SCF iteration limits; the last one also restarts from an atomic guess.
SCF_GROWTH = 2
MAX_SCF_RESCUES = 2
#: Smeared (metal) SCF rescue: the Broyden mixing fraction shrinks, and the last rescue widens the smearing.
MIXING_DAMPING = 0.5
SMEARING_GROWTH = 1.5
MAX_CRASH_RETRIES = 2
WALLTIME_GROWTH = 2
WALLTIME_EXIT_STATUSES = {
    Cp2kCalculation.exit_codes.ERROR_OUT_OF_WALLTIME.status,
    Cp2kCalculation.exit_codes.ERROR_SCHEDULER_OUT_OF_WALLTIME.status,
}


def _has_restart_file(node: orm.CalcJobNode) -> bool:
    return 'retrieved' in node.outputs and RESTART_FILE in node.outputs.retrieved.base.repository.list_object_names()


def _steps_done(node: orm.CalcJobNode) -> int:
    return restart_step(node.outputs.retrieved.base.repository.get_object_content(RESTART_FILE))


class Cp2kRestartWorkChain(BaseRestartWorkChain):
    """Run a ``cp2k`` CalcJob, continuing it on walltime, SCF, ABORT, optimisation-step and crash failures.

    For ``RUN_TYPE MD`` the output ``trajectory`` holds the frames of all runs spliced by step number, and the MD
    of the whole chain reaches the ``STEPS`` of the first run counted from where it started.
    """

    _process_class = Cp2kCalculation

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.expose_inputs(Cp2kCalculation, namespace='cp2k')
        spec.expose_outputs(Cp2kCalculation, exclude=('output_trajectory',))
        spec.output('trajectory', valid_type=orm.TrajectoryData, required=False, help='All MD frames of the chain.')
        spec.output('md_energy', valid_type=orm.Float, required=False, help='Potential energy of the last frame, eV.')
        spec.outline(
            cls.setup,
            while_(cls.should_run_process)(cls.run_process, cls.inspect_process),
            cls.results,
        )
        declare(
            spec,
            'ERROR_UNRECOVERABLE_FAILURE',
            'ERROR_SCF_NOT_CONVERGED',
            'ERROR_CRASHED',
        )

    def setup(self):
        super().setup()
        self.ctx.inputs = AttributeDict(self.exposed_inputs(Cp2kCalculation, 'cp2k'))
        parameters = self.ctx.inputs.parameters.get_dict()
        self.ctx.is_md = parameters.get('GLOBAL', {}).get('RUN_TYPE', '').upper() == 'MD'
        # The last folder holding a restart file: the caller's parent (a previous segment) until a run writes one.
        self.ctx.last_restart_folder = self.ctx.inputs.get('parent_calc_folder')
        start = 0
        if self.ctx.is_md and 'EXT_RESTART' in parameters and self.ctx.last_restart_folder is not None:
            creator = self.ctx.last_restart_folder.creator
            if creator is not None and _has_restart_file(creator):
                start = _steps_done(creator)
        self.ctx.target_step = start + int(parameters.get('MOTION', {}).get('MD', {}).get('STEPS', 0))
        self.ctx.scf_rescues = 0
        self.ctx.crash_retries = 0
        self.ctx.aborts = 0

    def report_error_handled(self, node: orm.CalcJobNode, action: str) -> None:
        self.report(f'{node.process_label}<{node.pk}> failed with exit status {node.exit_status}: {node.exit_message}')
        self.report(f'Action taken: {action}')

    def inspect_process(self):
        node = self.ctx.children[self.ctx.iteration - 1]
        if _has_restart_file(node):
            self.ctx.last_restart_folder = node.outputs.remote_folder
        if node.is_finished_ok:
            self.ctx.crash_retries = 0
        return super().inspect_process()

    def _continue_from(self, folder: orm.RemoteData | None, wavefunction: str | None = WAVEFUNCTION) -> str:
        """Set the inputs to continue from ``folder``'s restart file (and wavefunction); from scratch when None."""
        parameters = copy.deepcopy(self.ctx.inputs.parameters.get_dict())
        scf = parameters['FORCE_EVAL']['DFT'].setdefault('SCF', {})
        if folder is None:
            parameters.pop('EXT_RESTART', None)
            self.ctx.inputs.pop('parent_calc_folder', None)
            self.ctx.inputs.parameters = orm.Dict(parameters)
            return 'restarting from the start'
        parameters['EXT_RESTART'] = {'RESTART_FILE_NAME': f'{PARENT}/aiida-1.restart'}
        if wavefunction:
            scf['SCF_GUESS'] = 'RESTART'
            parameters['FORCE_EVAL']['DFT']['WFN_RESTART_FILE_NAME'] = f'{PARENT}/{wavefunction}'
        else:
            # A fresh guess: drop what an earlier continuation set, or CP2K would read that wavefunction again
            parameters['FORCE_EVAL']['DFT'].pop('WFN_RESTART_FILE_NAME', None)
            original = self.inputs.cp2k.parameters.get_dict()['FORCE_EVAL']['DFT'].get('SCF', {})
            scf['SCF_GUESS'] = original.get('SCF_GUESS', 'ATOMIC')
        creator = folder.creator
        if self.ctx.is_md:
            done = _steps_done(creator) if creator is not None and _has_restart_file(creator) else 0
            parameters['MOTION']['MD']['STEPS'] = max(self.ctx.target_step - done, 0)
        elif creator is not None and 'output_structure' in creator.outputs:
            # The continuation starts from the restart file's geometry, so its input structure is that geometry: in
            # the graph, and as the result of a continuation that converges at its first step and so writes no
            # restart file and has no output structure of its own (it used to fall back to the first geometry).
            self.ctx.inputs.structure = creator.outputs.output_structure
        self.ctx.inputs.parameters = orm.Dict(parameters)
        self.ctx.inputs.parent_calc_folder = folder
        return f'continuing from the restart file of {folder.creator.process_label}<{folder.creator.pk}>'

    @process_handler(priority=600)
    def handle_out_of_walltime(self, node):
        """Walltime reached, CP2K's own (it wrote its restart files at the stop) or the scheduler's (it killed CP2K
        after its last periodic restart file, and the parser, finding the output cut short, may have called it
        incomplete): continue from the last restart file, as often as needed, since each run makes progress."""
        walltime = node.exit_status in WALLTIME_EXIT_STATUSES or (node.is_failed and hit_time_limit(node))
        if not walltime:
            return None
        if _has_restart_file(node):
            self.report_error_handled(node, self._continue_from(node.outputs.remote_folder))
            return ProcessHandlerReport(True)
        # Stopped before its first restart file: the walltime is too short for even that; double it.
        options = self.ctx.inputs.metadata.options
        options.max_wallclock_seconds = int(options.max_wallclock_seconds * WALLTIME_GROWTH)
        parameters = copy.deepcopy(self.ctx.inputs.parameters.get_dict())
        if 'WALLTIME' in parameters.get('GLOBAL', {}):
            parameters['GLOBAL']['WALLTIME'] = int(parameters['GLOBAL']['WALLTIME'] * WALLTIME_GROWTH)
        self.ctx.inputs.parameters = orm.Dict(parameters)
        action = self._continue_from(self.ctx.last_restart_folder)
        self.report_error_handled(node, f'no restart file: walltime {options.max_wallclock_seconds} s; {action}')
        return ProcessHandlerReport(True)

    @process_handler(
        priority=550,
        exit_codes=[
            Cp2kCalculation.exit_codes.ERROR_GEOMETRY_CONVERGENCE_NOT_REACHED,
            Cp2kCalculation.exit_codes.ERROR_MAXIMUM_NUMBER_OPTIMIZATION_STEPS_REACHED,
        ],
    )
    def handle_geometry_not_converged(self, node):
        """Optimisation out of steps: continue from its last geometry (the restart file) for another round."""
        self.report_error_handled(node, self._continue_from(node.outputs.remote_folder))
        return ProcessHandlerReport(True)

    @process_handler(priority=510)
    def handle_scf_warning(self, node):
        """CP2K 2023 only *warns* when an SCF does not converge (2024 aborts): a single point or optimisation that
        finished with such a warning is not a result; rescue it like an abort. MD keeps going (one step's SCF
        rarely matters); the count of such steps is recorded on the trajectory by ``join_md_runs``."""
        if not node.is_finished_ok or self.ctx.is_md or unconverged_scf_steps(node.outputs.retrieved) == 0:
            return None
        return self._rescue_scf(node)

    @process_handler(priority=500, exit_codes=[Cp2kCalculation.exit_codes.ERROR_SCF_NOT_CONVERGED])
    def handle_scf_not_converged(self, node):
        """SCF not converged: more SCF and outer-SCF iterations; the second rescue also drops the old wavefunction."""
        return self._rescue_scf(node)

    def _rescue_scf(self, node: orm.CalcJobNode) -> ProcessHandlerReport:
        if self.ctx.scf_rescues >= MAX_SCF_RESCUES:
            self.report_error_handled(node, 'SCF rescues exhausted, aborting')
            return ProcessHandlerReport(
                True, self.exit_codes.ERROR_SCF_NOT_CONVERGED.format(message=f'{MAX_SCF_RESCUES} rescues')
            )
        self.ctx.scf_rescues += 1
        parameters = copy.deepcopy(self.ctx.inputs.parameters.get_dict())
        scf = parameters['FORCE_EVAL']['DFT'].setdefault('SCF', {})
        scf['MAX_SCF'] = int(scf.get('MAX_SCF', 50)) * SCF_GROWTH
        if 'SMEAR' in scf:
            # Metals (diagonalisation): gentler density mixing, and on the last rescue a wider Fermi smearing too.
            mixing = scf.setdefault('MIXING', {})
            mixing['ALPHA'] = float(mixing.get('ALPHA', 0.2)) * MIXING_DAMPING
            if self.ctx.scf_rescues == MAX_SCF_RESCUES:
                smear = scf['SMEAR']
                smear['ELECTRONIC_TEMPERATURE'] = float(smear.get('ELECTRONIC_TEMPERATURE', 300)) * SMEARING_GROWTH
            change = f'MAX_SCF {scf["MAX_SCF"]}, mixing {mixing["ALPHA"]:.3g}, smearing {scf["SMEAR"]}'
        else:
            outer = scf.setdefault('OUTER_SCF', {})
            outer['MAX_SCF'] = int(outer.get('MAX_SCF', 10)) * SCF_GROWTH
            change = f'MAX_SCF {scf["MAX_SCF"]}, outer {outer["MAX_SCF"]}'
        self.ctx.inputs.parameters = orm.Dict(parameters)
        fresh_guess = self.ctx.scf_rescues == MAX_SCF_RESCUES
        folder = node.outputs.remote_folder if _has_restart_file(node) else self.ctx.last_restart_folder
        action = self._continue_from(folder, wavefunction=None if fresh_guess else WAVEFUNCTION)
        self.report_error_handled(node, f'{change}; {action}')
        return ProcessHandlerReport(True)

    @process_handler(priority=400, exit_codes=[Cp2kCalculation.exit_codes.ERROR_OUTPUT_CONTAINS_ABORT])
    def handle_abort(self, node):
        """CP2K ABORT: a corrupt or unsuitable wavefunction is the usual cause: continue from the backup copy
        (``.wfn.bak-1``, one step older), then from a fresh guess; a third ABORT is final."""
        self.ctx.aborts += 1
        if self.ctx.aborts > 2:
            return ProcessHandlerReport(True, self.exit_codes.ERROR_UNRECOVERABLE_FAILURE.format(message='ABORT x3'))
        folder = node.outputs.remote_folder if _has_restart_file(node) else self.ctx.last_restart_folder
        wavefunction = f'{WAVEFUNCTION}.bak-1' if self.ctx.aborts == 1 else None
        self.report_error_handled(node, f'{self._continue_from(folder, wavefunction)}, wavefunction {wavefunction}')
        return ProcessHandlerReport(True)

    @process_handler(
        priority=300,
        exit_codes=[
            Cp2kCalculation.exit_codes.ERROR_OUTPUT_INCOMPLETE,
            Cp2kCalculation.exit_codes.ERROR_OUTPUT_MISSING,
            Cp2kCalculation.exit_codes.ERROR_SCHEDULER_NODE_FAILURE,
        ],
    )
    def handle_crash(self, node):
        """A run that died (killed, node failure, truncated output): retry from the last restart file written."""
        return self._retry(node)

    def _retry(self, node: orm.CalcJobNode) -> ProcessHandlerReport:
        self.ctx.crash_retries += 1
        if self.ctx.crash_retries > MAX_CRASH_RETRIES:
            message = node.exit_message or str(node.exit_status)
            return ProcessHandlerReport(
                True, self.exit_codes.ERROR_CRASHED.format(retries=MAX_CRASH_RETRIES + 1, message=message)
            )
        folder = node.outputs.remote_folder if _has_restart_file(node) else self.ctx.last_restart_folder
        self.report_error_handled(node, self._continue_from(folder))
        return ProcessHandlerReport(True)

    @process_handler(priority=0)
    def handle_unrecoverable_failure(self, node):
        """Any other failure: abort with the calculation's own message."""
        if node.is_failed:
            self.report_error_handled(node, 'unrecoverable, aborting')
            message = node.exit_message or str(node.exit_status)
            return ProcessHandlerReport(True, self.exit_codes.ERROR_UNRECOVERABLE_FAILURE.format(message=message))
        return None

    def results(self):
        result = super().results()
        if result is None and self.ctx.is_md:
            runs = {
                f'run_{index}': child.outputs.retrieved
                for index, child in enumerate(self.ctx.children)
                if 'retrieved' in child.outputs
            }
            joined = join_md_runs(structure=self.ctx.inputs.structure, **runs)
            self.out('trajectory', joined['trajectory'])
            self.out('md_energy', joined['energy'])
        return result
