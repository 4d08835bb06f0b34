"""The level of theory behind a result, read from the graph: each engine process described by its own calculator.

:func:`stage_methods` walks a WorkChain's CalculatorWorkChains (named ``<stage>_<what>`` by their caller) to their
engine processes and asks the calculator that launched them (:meth:`~aiida_znadditive.calculators.base.Calculator.
describe`) what they ran: functional, basis, dispersion, solvent model, cutoff, k-points, engine version. Nothing is
read from today's protocol files, which may have changed since the run.
"""

from __future__ import annotations

from aiida import orm
from aiida.common.links import LinkType

from ..calculators.base import CalculatorError, load_calculator
from .graph import linked

CALCULATOR_WORKCHAIN = 'aiida.workflows:znadditive.calculator'


def stage_methods(node: orm.WorkflowNode) -> dict[str, dict]:
    """``{stage: description}`` over the CalculatorWorkChains ``node`` called, the stage being the call link label's
    first word (``prerank``, ``thermo``, ``dft``, ``solvated``, ...). Each description merges those of the stage's
    engine processes, plus ``calculator``, ``protocol``, ``code`` and ``task``; a key whose value differs between
    the processes of one stage lists every value, joined by ``; ``."""
    stages: dict[str, dict[str, set]] = {}
    for link in node.base.links.get_outgoing(link_type=LinkType.CALL_WORK).all():
        child = link.node
        if child.process_type != CALCULATOR_WORKCHAIN:
            continue
        stage = link.link_label.split('_', 1)[0]
        values = stages.setdefault(stage, {})
        for key, value in describe_calculation(child).items():
            values.setdefault(key, set()).add(str(value))
    return {stage: {key: '; '.join(sorted(v)) for key, v in values.items()} for stage, values in stages.items()}


def describe_calculation(node: orm.WorkflowNode) -> dict:
    """One CalculatorWorkChain: its calculator, protocol, task, code, and its engine process's description."""
    inputs = linked(node, LinkType.INPUT_WORK, 'incoming')  # one read of the inputs, not one per `node.inputs.x`
    name = inputs['calculator'].value
    description = {
        'calculator': name,
        'protocol': inputs['protocol'].value,
        'task': inputs['task'].value,
        # an engine without a code (an ASE calculator in a calcfunction) ran in the AiiDA process itself
        'code': inputs['code'].full_label if 'code' in inputs else 'none (in-process)',
    }
    # The engine's CalcJob or restart WorkChain; the calcfunctions beside it (normalised outputs) ran no engine.
    engines = [
        link.node
        for link in node.base.links.get_outgoing(link_type=(LinkType.CALL_CALC, LinkType.CALL_WORK)).all()
        if not isinstance(link.node, orm.CalcFunctionNode)
    ]
    if engines:
        try:
            description.update(load_calculator(name).describe(engines[-1]))
        except CalculatorError:  # a calculator uninstalled since: the graph still names it and its code
            description['method'] = name
    return description


def level_of_theory(methods: dict[str, dict]) -> str:
    """A one-line name of a complexation level: ``DFT method/basis, solvent model // cheap method``; results of one
    level may be compared and averaged, results of two may not."""
    dft, solvated, cheap = methods.get('dft', {}), methods.get('solvated', {}), methods.get('prerank', {})
    parts = []
    if dft:
        text = '/'.join(value for value in (dft.get('method'), dft.get('dispersion'), dft.get('basis')) if value)
        text += f' [{dft.get("calculator")} {dft.get("protocol")}]'
        if solvated.get('solvent_model'):
            text += f', {solvated["solvent_model"]}'
        parts.append(text)
    if cheap:
        text = f'{cheap.get("method")} [{cheap.get("calculator")} {cheap.get("protocol")}]'
        if cheap.get('solvent_model'):
            text += f', {cheap["solvent_model"]}'
        parts.append(text)
    return ' // '.join(parts)


def calculation_cost(calculations: list[orm.CalcJobNode]) -> dict:
    """Wall and core hours of engine calculations, from each node's own record: the scheduler's wall time where
    it reported one (SLURM does), else the node's life from creation to its last change; cores are the machines x
    MPI ranks per machine x threads per rank it asked for (``num_cores_per_mpiproc``, or ``OMP_NUM_THREADS`` of
    its environment where that is larger: a PySCF or xtb run asks for one rank and threads)."""
    wall = core = 0.0
    for node in calculations:
        info = node.get_last_job_info()
        seconds = getattr(info, 'wallclock_time_seconds', None) if info is not None else None
        if seconds is None:
            seconds = (node.mtime - node.ctime).total_seconds()
        resources = node.get_option('resources') or {}
        threads = max(
            int(resources.get('num_cores_per_mpiproc') or 1),
            int((node.get_option('environment_variables') or {}).get('OMP_NUM_THREADS') or 1),
        )
        ranks = int(resources.get('num_machines') or 1) * int(resources.get('num_mpiprocs_per_machine') or 1)
        wall += seconds
        core += seconds * ranks * threads
    return {'calculations': len(calculations), 'wall_hours': wall / 3600, 'core_hours': core / 3600}
