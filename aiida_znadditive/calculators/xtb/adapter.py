"""The ``xtb`` calculator: GFN2-xTB single points, relaxations and frequencies of molecules, gas phase or ALPB water."""

from __future__ import annotations

from aiida import orm
from aiida.engine import ProcessBuilder, calcfunction

from ...protocols import recursive_merge
from ..base import Calculator, Task, merge_options
from .calculation import XtbCalculation
from .restart import XtbRestartWorkChain


@calcfunction
def normalise_xtb_outputs(parameters: orm.Dict) -> dict:
    """Energy, HOMO and LUMO in eV from the xtb parser's ``parameters`` (GFN-FF has no orbitals)."""
    outputs = {'energy': orm.Float(parameters['total_energy'])}
    for key in ('homo', 'lumo'):
        if parameters.get(key) is not None:
            outputs[key] = orm.Float(parameters[key])
    return outputs


class XtbCalculator(Calculator):
    """GFN-xTB through the xtb program, run as :class:`XtbCalculation`."""

    name = 'xtb'
    tasks = ('singlepoint', 'relax', 'frequencies')
    code_plugins = ('znadditive.xtb',)
    solvents = ('water',)

    def get_builder(
        self, code, structure, task: Task, *, overrides=None, options=None, parent_folder=None
    ) -> ProcessBuilder:
        self.check_parent_folder(parent_folder)
        settings = self.settings(task)
        parameters = {
            **settings['parameters'],
            'charge': task.charge,
            'multiplicity': task.multiplicity,
            'task': task.kind,
            'solvent': settings['solvents'][task.solvent] if task.solvent else None,
        }
        if task.kind == 'frequencies':
            # The relaxation before the Hessian is tighter than a plain relax: frequencies need a true minimum.
            parameters['opt_level'] = settings['frequencies']['opt_level']
        if task.kind == 'frequencies':
            # A Hessian at a saddle point is redone from the displaced structure xtb writes (restart.py).
            builder = XtbRestartWorkChain.get_builder()
            target = builder.xtb
        else:
            builder = target = XtbCalculation.get_builder()
        target.code = code
        target.structure = structure
        target.parameters = orm.Dict(recursive_merge(parameters, overrides or {}))
        target.metadata.options = merge_options(settings['options'], options)
        return builder

    def get_outputs(self, node, task: Task) -> dict[str, orm.Data]:
        outputs = dict(normalise_xtb_outputs(node.outputs.parameters))
        outputs['structure'] = (
            node.outputs.structure if task.kind in ('relax', 'frequencies') else node.inputs.structure
        )
        if task.kind == 'frequencies':
            outputs['frequencies'] = node.outputs.frequencies
            if 'hessian' in node.outputs:
                outputs['hessian'] = node.outputs.hessian
        if 'trajectory' in node.outputs:
            outputs['trajectory'] = node.outputs.trajectory
        return outputs

    def describe(self, node) -> dict:
        # a frequency task runs in XtbRestartWorkChain, whose calculation inputs are in the `xtb` namespace
        parameters = (node.inputs.xtb if 'xtb' in node.inputs else node.inputs).parameters.get_dict()
        method = {'gfn2': 'GFN2-xTB', 'gfn1': 'GFN1-xTB', 'gfn0': 'GFN0-xTB', 'gfnff': 'GFN-FF'}
        description = {
            'method': method.get(str(parameters.get('method')).lower(), parameters.get('method')),
            'engine': 'xtb',
            'scc_accuracy': parameters.get('accuracy'),
            'optimizer': f'xtb ANCopt {parameters.get("opt_level", "normal")}'
            if parameters.get('task') != 'singlepoint'
            else None,
        }
        if parameters.get('solvent'):
            description['solvent_model'] = f'ALPB ({parameters["solvent"]})'
        results = node.outputs.parameters if 'parameters' in node.outputs else None
        if results is not None and results.get('xtb_version'):
            description['engine_version'] = results['xtb_version']
        return {key: value for key, value in description.items() if value is not None}
