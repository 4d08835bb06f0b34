"""Restart loop for PySCF calculations, with handlers that actually run.

aiida-pyscf 0.5.1's ``PyscfBaseWorkChain`` has a priority-600 handler that aborts on every exit status below 400,
so its walltime (120) and node-failure (140) handlers never run. Here the specific handlers come first and stop the
loop when they act (``do_break=True``); the catch-all abort has the lowest priority. The parser attaches the SCF
checkpoint whenever a calculation fails, which is what the handlers restart from.
"""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import BaseRestartWorkChain, ProcessHandlerReport, process_handler, while_

from ...exit_codes import declare
from ..interruptions import hit_time_limit
from .calculation import ZnPyscfCalculation

#: SCF rescue strategies, tried in this order: damping, then a level shift on top, then the Newton solver.
SCF_STRATEGIES = (
    {'damp': 0.5, 'diis_start_cycle': 4, 'max_cycle': 200},
    {'level_shift': 0.3},
    {'second_order': True},
)
WALLTIME_FACTOR = 2


class PyscfRestartWorkChain(BaseRestartWorkChain):
    """Run a :class:`ZnPyscfCalculation`, restarting it on SCF, geometry and walltime failures."""

    _process_class = ZnPyscfCalculation

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.expose_inputs(ZnPyscfCalculation, namespace='pyscf')
        spec.expose_outputs(ZnPyscfCalculation)
        spec.outline(
            cls.setup,
            while_(cls.should_run_process)(cls.run_process, cls.inspect_process),
            cls.results,
        )
        declare(
            spec,
            'ERROR_UNRECOVERABLE_FAILURE',
            'ERROR_SCF_NOT_CONVERGED',
        )

    def setup(self):
        super().setup()
        self.ctx.inputs = AttributeDict(self.exposed_inputs(ZnPyscfCalculation, 'pyscf'))
        self.ctx.scf_strategy = 0

    def report_error_handled(self, node: orm.CalcJobNode, action: str) -> None:
        self.report(f'{node.process_label}<{node.pk}> failed with exit status {node.exit_status}: {node.exit_message}')
        self.report(f'Action taken: {action}')

    def _update_mean_field(self, updates: dict) -> None:
        parameters = self.ctx.inputs.parameters.get_dict()
        parameters.setdefault('mean_field', {}).update(updates)
        self.ctx.inputs.parameters = orm.Dict(parameters)

    def _restart_from_checkpoint(self, node: orm.CalcJobNode) -> bool:
        if 'checkpoint' in node.outputs:
            self.ctx.inputs.checkpoint = node.outputs.checkpoint
            return True
        return False

    def _continue_from_last_geometry(self, node: orm.CalcJobNode) -> bool:
        if 'trajectory' not in node.outputs or node.outputs.trajectory.numsteps == 0:
            return False
        structure = node.outputs.trajectory.get_step_structure(-1)
        structure.pbc = self.ctx.inputs.structure.pbc
        self.ctx.inputs.structure = structure
        return True

    @process_handler(priority=500, exit_codes=[ZnPyscfCalculation.exit_codes.ERROR_ELECTRONIC_CONVERGENCE_NOT_REACHED])
    def handle_scf_not_converged(self, node):
        """SCF not converged: add damping, then a level shift, then switch to the Newton solver; then give up."""
        if self.ctx.scf_strategy >= len(SCF_STRATEGIES):
            self.report_error_handled(node, 'all SCF strategies tried, aborting')
            return ProcessHandlerReport(
                True,
                self.exit_codes.ERROR_SCF_NOT_CONVERGED.format(message='damping, level shift and Newton all failed'),
            )
        strategy = SCF_STRATEGIES[self.ctx.scf_strategy]
        self.ctx.scf_strategy += 1
        self._update_mean_field(strategy)
        restarted = self._restart_from_checkpoint(node)
        self.report_error_handled(node, f'restarting with {strategy}' + (' from the checkpoint' if restarted else ''))
        return ProcessHandlerReport(True)

    @process_handler(priority=450, exit_codes=[ZnPyscfCalculation.exit_codes.ERROR_IONIC_CONVERGENCE_NOT_REACHED])
    def handle_geometry_not_converged(self, node):
        """Geometry not converged within the step limit: continue from its last geometry and wavefunction."""
        moved = self._continue_from_last_geometry(node)
        self._restart_from_checkpoint(node)
        self.report_error_handled(node, 'continuing from the last geometry' if moved else 'restarting as is')
        return ProcessHandlerReport(True)

    @process_handler(priority=400)
    def handle_out_of_walltime(self, node):
        """Walltime reached (aiida-core's exit code, or slurmstepd's banner where the parser chose another code):
        continue from the last geometry and checkpoint; with neither, double the walltime."""
        if not node.is_failed or not hit_time_limit(node):
            return None
        moved = self._continue_from_last_geometry(node)
        restarted = self._restart_from_checkpoint(node)
        if moved or restarted:
            self.report_error_handled(node, 'continuing from the last geometry/checkpoint')
        else:
            options = self.ctx.inputs.metadata.options
            options.max_wallclock_seconds = int(options.max_wallclock_seconds * WALLTIME_FACTOR)
            self.report_error_handled(node, f'no checkpoint: restarting with {options.max_wallclock_seconds} s')
        return ProcessHandlerReport(True)

    @process_handler(priority=0)
    def handle_unrecoverable_failure(self, node):
        """Any other failure: abort with the calculation's own message."""
        if node.is_failed:
            self.report_error_handled(node, 'unrecoverable, aborting')
            return ProcessHandlerReport(
                True, self.exit_codes.ERROR_UNRECOVERABLE_FAILURE.format(message=node.exit_message or node.exit_status)
            )
        return None
