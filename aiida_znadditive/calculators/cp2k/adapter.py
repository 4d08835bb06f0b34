"""The ``cp2k`` calculator: molecules in a large non-periodic box with CP2K (PBE-D3(BJ), GTH, MOLOPT-SR)."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import ProcessBuilder, calcfunction
from aiida.plugins import CalculationFactory
from ase.units import Hartree

from ..base import Calculator, Task, merge_options, recursive_merge, site_symbols

Cp2kCalculation = CalculationFactory('cp2k')


@calcfunction
def box_molecule(structure: orm.StructureData, padding: orm.Float) -> orm.StructureData:
    """Put a molecule in a cubic box ``padding`` Å wider than its extent on every side, centred, non-periodic."""
    atoms = structure.get_ase()
    extent = np.ptp(atoms.positions, axis=0).max() if len(atoms) > 1 else 0.0
    length = float(extent + 2 * padding.value)
    atoms.set_cell([length, length, length])
    atoms.center()
    atoms.pbc = False
    return orm.StructureData(ase=atoms)


@calcfunction
def normalise_cp2k_outputs(output_parameters: orm.Dict) -> dict:
    """Energy in eV from aiida-cp2k's ``output_parameters`` (CP2K reports Hartree)."""
    return {'energy': orm.Float(output_parameters['energy'] * Hartree)}


class Cp2kCalculator(Calculator):
    """CP2K single points and relaxations of molecules (periodic tasks come with the solvation/slab WorkChains)."""

    name = 'cp2k'
    tasks = ('singlepoint', 'relax')

    def input_parameters(self, structure: orm.StructureData, task: Task, settings: dict) -> dict:
        kinds = sorted(set(site_symbols(structure)))
        dft = {
            'BASIS_SET_FILE_NAME': 'BASIS_MOLOPT',
            'POTENTIAL_FILE_NAME': 'GTH_POTENTIALS',
            'CHARGE': task.charge,
            'MULTIPLICITY': task.multiplicity,
            'UKS': task.multiplicity > 1,
            'MGRID': {'CUTOFF': settings['cutoff'], 'REL_CUTOFF': settings['rel_cutoff']},
            # Isolated molecule: no images, Martyna-Tuckerman decoupling of the Hartree potential.
            'POISSON': {'PERIODIC': 'NONE', 'PSOLVER': 'MT'},
            'QS': {'EPS_DEFAULT': 1.0e-12},
            'SCF': {
                'EPS_SCF': settings['eps_scf'],
                'MAX_SCF': settings['max_scf'],
                'SCF_GUESS': 'ATOMIC',
                'OT': {'MINIMIZER': 'DIIS', 'PRECONDITIONER': 'FULL_SINGLE_INVERSE'},
                'OUTER_SCF': {'EPS_SCF': settings['eps_scf'], 'MAX_SCF': settings['outer_max_scf']},
            },
            'XC': {
                'XC_FUNCTIONAL': {'_': 'PBE'},
                'VDW_POTENTIAL': {
                    'POTENTIAL_TYPE': 'PAIR_POTENTIAL',
                    'PAIR_POTENTIAL': {
                        'TYPE': 'DFTD3(BJ)',
                        'REFERENCE_FUNCTIONAL': 'PBE',
                        'PARAMETER_FILE_NAME': 'dftd3.dat',
                    },
                },
            },
        }
        parameters = {
            'GLOBAL': {'RUN_TYPE': 'GEO_OPT' if task.kind == 'relax' else 'ENERGY', 'PRINT_LEVEL': 'MEDIUM'},
            'FORCE_EVAL': {
                'METHOD': 'Quickstep',
                'DFT': dft,
                'SUBSYS': {
                    'CELL': {'PERIODIC': 'NONE'},
                    'KIND': [
                        {'_': kind, 'BASIS_SET': settings['basis_set'], 'POTENTIAL': settings['potential']}
                        for kind in kinds
                    ],
                },
            },
        }
        if task.kind == 'relax':
            geo = settings['geo_opt']
            parameters['MOTION'] = {
                'GEO_OPT': {'OPTIMIZER': geo['optimizer'], 'MAX_ITER': geo['max_iter'], 'MAX_FORCE': geo['max_force']}
            }
        return parameters

    def get_builder(self, code, structure, task: Task, overrides=None, options=None) -> ProcessBuilder:
        settings = self.protocol(task.protocol)
        boxed = box_molecule(structure, orm.Float(settings['box_padding']))
        builder = Cp2kCalculation.get_builder()
        builder.code = code
        builder.structure = boxed
        builder.parameters = orm.Dict(recursive_merge(self.input_parameters(boxed, task, settings), overrides or {}))
        builder.metadata.options = merge_options(settings['options'], options)
        return builder

    def get_outputs(self, node, task: Task) -> dict[str, orm.Data]:
        outputs = dict(normalise_cp2k_outputs(node.outputs.output_parameters))
        outputs['structure'] = node.outputs.output_structure if task.kind == 'relax' else node.inputs.structure
        return outputs
