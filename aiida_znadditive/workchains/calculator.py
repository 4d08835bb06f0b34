"""``CalculatorWorkChain``: one task on one structure with any registered calculator, with normalised outputs.

This is the only door through which the science WorkChains reach an engine: they name a calculator (an entry
point of ``znadditive.calculators``) and a code, and get back ``energy`` (eV), ``structure`` and, where the engine
gives them, ``forces`` (eV/Å), ``homo``/``lumo`` (eV) and a ``trajectory``.
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain, while_

from ..calculators.base import PROTOCOLS, TASKS, CalculatorError, Task, load_calculator
from ..calculators.interruptions import scheduler_interruption
from ..environment.partitions import check_options
from ..environment.resources import EXTRA as RESOURCE_RULE
from ..environment.resources import resources_for
from ..exit_codes import declare
from .options import define_options

#: submissions of one calculation after the scheduler interrupted it (scancel, preemption, node failure)
MAX_RESUBMISSIONS = 2

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
        define_options(spec)
        spec.input('settings', valid_type=orm.Dict, required=False, help='Calculator settings over its protocol.')
        spec.input(
            'parent_folder', valid_type=orm.RemoteData, required=False, help='Continue from this run (MD segments).'
        )
        spec.input(
            'start_hessian',
            valid_type=orm.ArrayData,
            required=False,
            help='A relax task: the Cartesian Hessian at `structure` (array `hessian`, 3N x 3N, eV/Å²; a cheaper '
            "level's `frequencies` output) that the optimiser starts from, for calculators with `starts_from_hessian`.",
        )
        spec.outline(
            cls.validate_task,
            while_(cls.should_run_calculation)(cls.run_calculation, cls.inspect_calculation),
            cls.results,
        )
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
            'ERROR_INVALID_START_HESSIAN',
            'ERROR_WALLTIME_EXCEEDS_PARTITION',
            'ERROR_UNKNOWN_QUEUE',
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
        if 'start_hessian' in self.inputs and (problem := self._start_hessian_problem(calculator)) is not None:
            self.report(problem)
            return self.exit_codes.ERROR_INVALID_START_HESSIAN.format(message=problem)
        self.ctx.resubmissions = 0
        self.ctx.calculation = None
        return None

    def should_run_calculation(self):
        """Until the calculation finished, or failed for a reason of its own."""
        return self.ctx.calculation is None or not self.ctx.calculation.is_finished_ok

    def run_calculation(self):
        calculator = load_calculator(self.inputs.calculator.value)
        try:
            builder = self._engine_builder(calculator)
        except CalculatorError as exception:
            self.report(str(exception))
            return self.exit_codes[REASONS[exception.reason]].format(message=str(exception))
        # A walltime or queue the scheduler would refuse: aiida-core would retry and then pause the CalcJob, and
        # this WorkChain would wait for ever (environment/partitions.py).
        code = self.inputs.get('code')
        for options in _calcjob_options(builder._inputs(prune=True)):
            refusal = check_options(code.computer if code is not None else None, options)
            if refusal is not None:
                label, message = refusal
                self.report(message)
                return self.exit_codes[label].format(message=message)
        builder.metadata.call_link_label = f'{calculator.name}_{self.task.kind}'
        # `verdi process list -P pk label ...` tells 40 engine runs apart by their caller's label
        builder.metadata.label = f'{self.node.label or "calculation"} ({calculator.name} {self.task.kind})'
        node = self.submit(builder)
        self.report(f'launched {node.process_label}<{node.pk}> ({calculator.name}, {self.task.kind})')
        return ToContext(calculation=node)

    def _start_hessian_problem(self, calculator) -> str | None:
        """Why ``start_hessian`` cannot start this task's optimiser, or None: it would otherwise be an input that
        changed nothing, and the provenance would say it did."""
        if not calculator.starts_from_hessian:
            return f'calculator `{calculator.name}` cannot start an optimisation from a given Hessian'
        if self.task.kind != 'relax':
            return f'a starting Hessian is for a relax task, not `{self.task.kind}`'
        names = self.inputs.start_hessian.get_arraynames()
        if 'hessian' not in names:
            return f'the ArrayData has no array `hessian` (it has {", ".join(names) or "none"})'
        size = 3 * len(self.inputs.structure.sites)
        shape = tuple(self.inputs.start_hessian.get_shape('hessian'))
        if shape != (size, size):
            return f'its shape {shape} does not fit {len(self.inputs.structure.sites)} atoms ({size} x {size})'
        return None

    def _engine_builder(self, calculator):
        extra = {'start_hessian': self.inputs.start_hessian} if 'start_hessian' in self.inputs else {}
        return calculator.get_builder(
            self.inputs.get('code'),
            self.inputs.structure,
            self.task,
            overrides=self.inputs.overrides.get_dict() if 'overrides' in self.inputs else None,
            options=self._options(),
            parent_folder=self.inputs.get('parent_folder'),
            **extra,
        )

    def _options(self) -> dict | None:
        """The ``options`` input, over the resources the code's rule gives for this structure (resources given
        explicitly win; environment/resources.py)."""
        options = self.inputs.options.get_dict() if 'options' in self.inputs else {}
        code = self.inputs.get('code')
        rule = code.base.extras.get(RESOURCE_RULE, None) if code is not None else None
        if rule and 'resources' not in options:
            scaled = resources_for(
                rule,
                len(self.inputs.structure.sites),
                code.computer.get_default_mpiprocs_per_machine() or 1,
                with_mpi=code.with_mpi is not False,
            )
            environment = {**scaled.pop('environment_variables'), **options.get('environment_variables', {})}
            options = {**scaled, **options, 'environment_variables': environment}
            self.report(f'resources from the rule of code {code.full_label}: {options["resources"]}')
        return options or None

    def inspect_calculation(self):
        """A calculation the scheduler interrupted is submitted again, up to :data:`MAX_RESUBMISSIONS` times; any
        other failure is the engine's to report and ends this WorkChain."""
        node = self.ctx.calculation
        if node.is_finished_ok:
            return None
        message = node.exit_message or f'exit status {node.exit_status}'
        interruption = scheduler_interruption(node)
        if interruption is not None and self.ctx.resubmissions < MAX_RESUBMISSIONS:
            self.ctx.resubmissions += 1
            self.report(
                f'{node.process_label}<{node.pk}> was {interruption} by the scheduler: submitting it again '
                f'({self.ctx.resubmissions}/{MAX_RESUBMISSIONS})'
            )
            return None
        if interruption is not None:
            message = f'{interruption} by the scheduler {MAX_RESUBMISSIONS + 1} times; last: {message}'
        return self.exit_codes.ERROR_CALCULATION_FAILED.format(engine=node.process_label, message=message)

    def results(self):
        calculator = load_calculator(self.inputs.calculator.value)
        for name, node in calculator.get_outputs(self.ctx.calculation, self.task).items():
            self.out(name, node)


def engine_runs(node: orm.WorkflowNode) -> list[orm.ProcessNode]:
    """The engine processes a ``CalculatorWorkChain`` launched, oldest first: one, or more where the scheduler
    interrupted a run (the calcfunctions that normalise the outputs are not among them)."""
    calculator = load_calculator(node.inputs.calculator.value)
    label = f'{calculator.name}_{node.inputs.task.value}'
    called = node.base.links.get_outgoing(link_label_filter=label).all_nodes()
    return sorted((child for child in called if isinstance(child, orm.ProcessNode)), key=lambda child: child.ctime)


def _calcjob_options(inputs: dict):
    """Every CalcJob ``metadata.options`` in a builder's nested inputs (a restart WorkChain holds its calculation's
    one namespace down: ``xtb``, ``pyscf``, ``cp2k``)."""
    for key, value in inputs.items():
        if key == 'metadata' and isinstance(value, dict) and 'options' in value:
            yield value['options']
        elif isinstance(value, dict):
            yield from _calcjob_options(value)


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
