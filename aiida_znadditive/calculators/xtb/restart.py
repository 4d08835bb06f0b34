"""Restart loop for xtb frequency calculations: a Hessian at a saddle point is redone from the minimum next to it.

``xtb --ohess`` relaxes, then computes the Hessian. On the flat surfaces of Zn2+ aqua complexes its optimiser can stop
at a saddle point of water rotations: [ZnF(H2O)5]+ ended with modes of -159 and -136 cm⁻¹ and no free energy (exit 411
of the complexation WorkChain), however tight the thresholds (``vtight`` from the same start stopped at the same
saddle point). xtb then writes ``xtbhess.xyz``, the structure displaced along the imaginary modes; a new ``--ohess``
from there reached a minimum with every mode real. This WorkChain does that, up to ``MAX_DISPLACEMENTS`` times.
"""

from __future__ import annotations

from aiida.common import AttributeDict
from aiida.engine import BaseRestartWorkChain, ProcessHandlerReport, process_handler, while_

from ...exit_codes import declare
from .calculation import XtbCalculation

#: imaginary modes up to this size (cm⁻¹) are numerical noise of flat rotations, accepted by the thermochemistry
#: (its own `max_imaginary_cm` decides); larger ones are a saddle point worth another optimisation
IMAGINARY_RESTART_CM = 50.0
MAX_DISPLACEMENTS = 3


class XtbRestartWorkChain(BaseRestartWorkChain):
    """Run an :class:`XtbCalculation`; a frequency task that ends on a saddle point restarts from xtb's displaced
    structure; any other failure ends the loop with the calculation's own exit status."""

    _process_class = XtbCalculation

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.expose_inputs(XtbCalculation, namespace='xtb')
        spec.expose_outputs(XtbCalculation)
        spec.outline(
            cls.setup,
            while_(cls.should_run_process)(cls.run_process, cls.inspect_process),
            cls.results,
        )
        declare(spec, 'ERROR_UNRECOVERABLE_FAILURE')

    def setup(self):
        super().setup()
        self.ctx.inputs = AttributeDict(self.exposed_inputs(XtbCalculation, 'xtb'))
        self.ctx.displacements = 0

    @process_handler(priority=500)
    def handle_saddle_point(self, node):
        """Imaginary modes beyond the noise, and xtb's displaced structure retrieved: optimise again from there."""
        if not node.is_finished_ok or 'frequencies' not in node.outputs or 'displaced_structure' not in node.outputs:
            return None
        lowest = float(node.outputs.frequencies.get_array('frequencies').min(initial=0.0))
        if lowest >= -IMAGINARY_RESTART_CM or self.ctx.displacements >= MAX_DISPLACEMENTS:
            return None
        self.ctx.displacements += 1
        self.ctx.inputs.structure = node.outputs.displaced_structure
        self.report(
            f'{node.process_label}<{node.pk}> ended on a saddle point (lowest mode {lowest:.1f} cm^-1): '
            f'optimising again from the displaced structure ({self.ctx.displacements}/{MAX_DISPLACEMENTS})'
        )
        return ProcessHandlerReport(do_break=True)

    @process_handler(priority=0)
    def handle_any_failure(self, node):
        """Any failure of xtb itself (SCC, abort, missing files) is the calculation's to report: no blind retry."""
        if node.is_finished_ok:
            return None
        self.report(f'{node.process_label}<{node.pk}> failed with exit status {node.exit_status}: {node.exit_message}')
        message = f'{node.process_label}<{node.pk}> exit {node.exit_status}: {node.exit_message}'
        return ProcessHandlerReport(
            do_break=True, exit_code=self.exit_codes.ERROR_UNRECOVERABLE_FAILURE.format(message=message)
        )
