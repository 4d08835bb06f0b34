"""The two calculator adapters: what aiida-znadditive's WorkChains call. Their settings are the protocol files
next to this module (``tblite_ase.yaml``, ``xtb_sp.yaml``), found through the entry point's module."""

from __future__ import annotations

from aiida import orm
from aiida.plugins import CalculationFactory, WorkflowFactory

from aiida_znadditive.calculators.base import Calculator, CalculatorError, Task, merge_options


class TbliteAseCalculator(Calculator):
    """GFN2-xTB through tblite's ASE calculator, in the AiiDA process itself: no code, no scheduler."""

    name = 'tblite_ase'
    tasks = ('singlepoint', 'relax', 'frequencies')
    solvents = ('water',)
    requires_code = False

    def get_builder(self, code, structure, task: Task, *, overrides=None, options=None, parent_folder=None):
        self.check_parent_folder(parent_folder)
        settings = {**self.settings(task), **(overrides or {})}
        builder = WorkflowFactory('zn_tblite.ase').get_builder()
        builder.structure = structure
        builder.parameters = orm.Dict(
            {
                'kind': task.kind,
                'method': settings['method'],
                'charge': task.charge,
                'multiplicity': task.multiplicity,
                'solvent': task.solvent,
                'fmax': settings['fmax'],
                'steps': settings['steps'],
            }
        )
        return builder

    def get_outputs(self, node, task: Task):
        outputs = {'energy': node.outputs.energy, 'forces': node.outputs.forces}
        outputs['structure'] = node.outputs.structure if 'structure' in node.outputs else node.inputs.structure
        if 'frequencies' in node.outputs:
            outputs['frequencies'] = node.outputs.frequencies
        return outputs


class XtbSinglePointCalculator(Calculator):
    """GFN2-xTB single points with the xtb executable, as a CalcJob on any computer."""

    name = 'xtb_sp'
    tasks = ('singlepoint',)
    solvents = ('water',)
    code_plugins = ('zn_tblite.xtb_sp',)

    def get_builder(self, code, structure, task: Task, *, overrides=None, options=None, parent_folder=None):
        if parent_folder is not None:
            raise CalculatorError('xtb_sp cannot continue from a remote folder', 'unsupported_restart')
        settings = self.settings(task)
        builder = CalculationFactory('zn_tblite.xtb_sp').get_builder()
        builder.code = code
        builder.structure = structure
        builder.parameters = orm.Dict(
            {'charge': task.charge, 'multiplicity': task.multiplicity, 'solvent': task.solvent}
        )
        builder.metadata.options = merge_options(settings['options'], options)
        return builder

    def get_outputs(self, node, task: Task):
        return {'energy': node.outputs.energy, 'structure': node.inputs.structure}
