"""``CalculatorWorkChain``: one task on one structure with any registered calculator, with normalised outputs.

This is the only door through which the science WorkChains reach an engine: they name a calculator (an entry
point of ``znadditive.calculators``) and a code, and get back ``energy`` (eV), ``structure`` and, where the engine
gives them, ``forces`` (eV/Å), ``homo``/``lumo`` (eV) and a ``trajectory``.
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain

from ..calculators.base import PROTOCOLS, TASKS, CalculatorError, Task, load_calculator
from ..exit_codes import declare

#: CalculatorError.reason -> exit code label
REASONS = {
    'unknown_calculator': 'ERROR_UNKNOWN_CALCULATOR',
    'unsupported_task': 'ERROR_UNSUPPORTED_TASK',
    'unsupported_elements': 'ERROR_UNSUPPORTED_ELEMENTS',
    'invalid_spin': 'ERROR_INVALID_SPIN',
    'invalid_charge': 'ERROR_INVALID_CHARGE',
    'unsupported_solvent': 'ERROR_UNSUPPORTED_SOLVENT',
    'unknown_protocol': 'ERROR_UNKNOWN_PROTOCOL',
    'unsupported_restart': 'ERROR_UNSUPPORTED_RESTART',
    'incompatible_code': 'ERROR_INCOMPATIBLE_CODE',
    'missing_code': 'ERROR_MISSING_CODE',
}


def _validate_task(value, _):
    if value.value not in TASKS:
        return f'task `{value.value}` is not one of {TASKS}'
    return None


class CalculatorWorkChain(WorkChain):
    """Run a single point, relaxation, frequency calculation or MD with the calculator named by ``calculator``."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('calculator', valid_type=orm.Str, help='Entry point name in `znadditive.calculators`.')
        spec.input(
            'code',
            valid_type=orm.AbstractCode,
            required=False,
            help='The code of the engine; none for a calculator that runs without one (`requires_code = False`).',
        )
        spec.input('structure', valid_type=orm.StructureData, help='Molecule (in a box) or periodic system.')
        spec.input('task', valid_type=orm.Str, default=lambda: orm.Str('singlepoint'), validator=_validate_task)
        spec.input('charge', valid_type=orm.Int, default=lambda: orm.Int(0), help='Total charge in e.')
        spec.input('multiplicity', valid_type=orm.Int, default=lambda: orm.Int(1), help='Spin multiplicity 2S+1.')
        spec.input('protocol', valid_type=orm.Str, default=lambda: orm.Str('fast'), help=f'One of {PROTOCOLS}.')
        spec.input('solvent', valid_type=orm.Str, required=False, help='Implicit solvent (e.g. `water`).')
        spec.input('forces', valid_type=orm.Bool, default=lambda: orm.Bool(True), help='Single points return forces.')
        spec.input('overrides', valid_type=orm.Dict, required=False, help='Engine parameters over the protocol.')
        spec.input('options', valid_type=orm.Dict, required=False, help='CalcJob metadata options over the protocol.')
        spec.input('settings', valid_type=orm.Dict, required=False, help='Calculator settings over its protocol.')
        spec.input(
            'parent_folder', valid_type=orm.RemoteData, required=False, help='Continue from this run (MD segments).'
        )
        spec.outline(cls.validate_task, cls.run_calculation, cls.inspect_calculation, cls.results)
        spec.output('energy', valid_type=orm.Float, help='Total energy in eV.')
        spec.output('structure', valid_type=orm.StructureData, help='Final (relaxed) or input structure.')
        spec.output('forces', valid_type=orm.ArrayData, required=False, help='Forces in eV/Å (array `forces`).')
        spec.output('homo', valid_type=orm.Float, required=False, help='HOMO energy in eV.')
        spec.output('lumo', valid_type=orm.Float, required=False, help='LUMO energy in eV.')
        spec.output('trajectory', valid_type=orm.TrajectoryData, required=False, help='Relaxation or MD frames.')
        spec.output(
            'frequencies',
            valid_type=orm.ArrayData,
            required=False,
            help='A frequencies task: vibrational wavenumbers (cm⁻¹, array `frequencies`) at `structure`.',
        )
        spec.output(
            'hessian',
            valid_type=orm.ArrayData,
            required=False,
            help='A frequencies task, where the engine gives it: the Cartesian Hessian (array `hessian`, 3N x 3N, '
            'eV/Å²) at `structure`.',
        )
        spec.output(
            'remote_folder', valid_type=orm.RemoteData, required=False, help='Folder of the last run, to continue from.'
        )
        declare(
            spec,
            'ERROR_INCOMPATIBLE_CODE',
            'ERROR_UNKNOWN_CALCULATOR',
            'ERROR_UNSUPPORTED_TASK',
            'ERROR_UNSUPPORTED_ELEMENTS',
            'ERROR_INVALID_SPIN',
            'ERROR_INVALID_CHARGE',
            'ERROR_UNSUPPORTED_SOLVENT',
            'ERROR_UNKNOWN_PROTOCOL',
            'ERROR_UNSUPPORTED_RESTART',
            'ERROR_MISSING_CODE',
            'ERROR_CALCULATION_FAILED',
        )

    @property
    def task(self) -> Task:
        return Task(
            kind=self.inputs.task.value,
            charge=self.inputs.charge.value,
            multiplicity=self.inputs.multiplicity.value,
            protocol=self.inputs.protocol.value,
            solvent=self.inputs.solvent.value if 'solvent' in self.inputs else None,
            forces=self.inputs.forces.value,
            settings=self.inputs.settings.get_dict() if 'settings' in self.inputs else None,
        )

    def validate_task(self):
        """Check that the calculator exists and can do this task on this structure, before anything runs."""
        try:
            calculator = load_calculator(self.inputs.calculator.value)
            calculator.check_code(self.inputs.get('code'))
            calculator.validate(self.inputs.structure, self.task)
        except CalculatorError as exception:
            self.report(str(exception))
            return self.exit_codes[REASONS[exception.reason]].format(message=str(exception))
        return None

    def run_calculation(self):
        calculator = load_calculator(self.inputs.calculator.value)
        try:
            builder = self._engine_builder(calculator)
        except CalculatorError as exception:
            self.report(str(exception))
            return self.exit_codes[REASONS[exception.reason]].format(message=str(exception))
        builder.metadata.call_link_label = f'{calculator.name}_{self.task.kind}'
        # `verdi process list -P pk label ...` tells 40 engine runs apart by their caller's label
        builder.metadata.label = f'{self.node.label or "calculation"} ({calculator.name} {self.task.kind})'
        node = self.submit(builder)
        self.report(f'launched {node.process_label}<{node.pk}> ({calculator.name}, {self.task.kind})')
        return ToContext(calculation=node)

    def _engine_builder(self, calculator):
        return calculator.get_builder(
            self.inputs.get('code'),
            self.inputs.structure,
            self.task,
            overrides=self.inputs.overrides.get_dict() if 'overrides' in self.inputs else None,
            options=self.inputs.options.get_dict() if 'options' in self.inputs else None,
            parent_folder=self.inputs.get('parent_folder'),
        )

    def inspect_calculation(self):
        node = self.ctx.calculation
        if not node.is_finished_ok:
            message = node.exit_message or f'exit status {node.exit_status}'
            return self.exit_codes.ERROR_CALCULATION_FAILED.format(engine=node.process_label, message=message)
        return None

    def results(self):
        calculator = load_calculator(self.inputs.calculator.value)
        for name, node in calculator.get_outputs(self.ctx.calculation, self.task).items():
            self.out(name, node)


def calculator_inputs(
    calculator: str, code: orm.AbstractCode | None, structure: orm.StructureData, task: Task, **extra
) -> dict:
    """The inputs of a :class:`CalculatorWorkChain` that runs ``task`` with ``calculator`` on ``structure``.

    Every WorkChain launches its calculations through this one translation of a :class:`Task`. Inputs at their
    defaults are left out, so the reference lookup keys (``references.reference_key``) stay those of earlier runs.
    ``extra``: further inputs as they are (``options``, ``parent_folder``, ``metadata``). ``code`` None: a calculator
    that runs without one.
    """
    inputs = {
        'calculator': orm.Str(calculator),
        'structure': structure,
        'task': orm.Str(task.kind),
        'charge': orm.Int(task.charge),
        'protocol': orm.Str(task.protocol),
    }
    if code is not None:
        inputs['code'] = code
    if task.multiplicity != 1:
        inputs['multiplicity'] = orm.Int(task.multiplicity)
    if task.solvent:
        inputs['solvent'] = orm.Str(task.solvent)
    if not task.forces:
        inputs['forces'] = orm.Bool(False)
    if task.settings:
        inputs['settings'] = orm.Dict(task.settings)
    metadata = extra.get('metadata')
    if metadata and 'call_link_label' in metadata and 'label' not in metadata:
        # the link label names the job in its caller (`prerank_water_ontop_flat`): also the node's label, which
        # `verdi process list -P pk label process_label` shows
        extra = {**extra, 'metadata': {**metadata, 'label': metadata['call_link_label']}}
    return {**inputs, **extra}
