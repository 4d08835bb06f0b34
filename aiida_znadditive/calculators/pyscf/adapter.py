"""The ``pyscf`` calculator: molecules (any charge and spin) with PySCF, gas phase or C-PCM water."""

from __future__ import annotations

import copy

import numpy as np
from aiida import orm
from aiida.engine import ProcessBuilder, calcfunction

from ...protocols import recursive_merge
from ..base import Calculator, Task, merge_options
from .restart import PyscfRestartWorkChain


@calcfunction
def normalise_pyscf_outputs(parameters: orm.Dict) -> dict:
    """Energy, HOMO and LUMO in eV and forces in eV/Å (single points) from aiida-pyscf's ``parameters``."""
    mean_field = parameters['mean_field']
    outputs = {'energy': orm.Float(mean_field['total_energy'])}
    orbitals = mean_field.get('molecular_orbitals')
    if orbitals:
        energies, occupations = orbitals['energies'], orbitals['occupations']
        # Unrestricted runs give alpha and beta lists: the frontier orbitals are the highest occupied and lowest
        # virtual over both spins.
        if energies and isinstance(energies[0], list):
            pairs = [pair for spin in zip(energies, occupations, strict=True) for pair in zip(*spin, strict=True)]
        else:
            pairs = list(zip(energies, occupations, strict=True))
        occupied = [e for e, n in pairs if n > 1e-3]
        virtual = [e for e, n in pairs if n <= 1e-3]
        if occupied:
            outputs['homo'] = orm.Float(max(occupied))
        if virtual:
            outputs['lumo'] = orm.Float(min(virtual))
    if 'forces' in mean_field:
        forces = orm.ArrayData()
        forces.set_array('forces', np.array(mean_field['forces']))
        outputs['forces'] = forces
    return outputs


@calcfunction
def normalise_pyscf_hessian(structure: orm.StructureData, hessian: orm.ArrayData | None = None) -> dict:
    """PySCF's Hessian (N x N x 3 x 3, Hartree/bohr²) as the calculator interface's ``hessian`` (3N x 3N, eV/Å²)
    and ``frequencies`` (the 3N-6 wavenumbers, cm⁻¹, ascending, imaginary ones negative: translations and rotations
    projected out) at ``structure``; without a Hessian (an atom) empty ``frequencies`` only."""
    from ase.units import Bohr, Hartree

    from ...analysis.thermochemistry import frequencies_from_hessian

    atoms = structure.get_ase()
    if hessian is None:
        empty = orm.ArrayData()
        empty.set_array('frequencies', np.empty(0))
        return {'frequencies': empty}
    raw = np.asarray(hessian.get_array('hessian'))
    cartesian = raw.transpose(0, 2, 1, 3).reshape(3 * len(atoms), 3 * len(atoms)) * Hartree / Bohr**2
    cartesian = 0.5 * (cartesian + cartesian.T)
    matrix, wavenumbers = orm.ArrayData(), orm.ArrayData()
    matrix.set_array('hessian', cartesian)
    wavenumbers.set_array('frequencies', frequencies_from_hessian(cartesian, atoms.get_masses(), atoms.positions))
    return {'hessian': matrix, 'frequencies': wavenumbers}


class PyscfCalculator(Calculator):
    """PySCF through aiida-pyscf (:class:`PyscfRestartWorkChain`), with RI-JK, D3(BJ) and C-PCM water."""

    name = 'pyscf'
    tasks = ('singlepoint', 'relax', 'frequencies')
    code_plugins = ('pyscf.base', 'znadditive.pyscf')
    solvents = ('water',)
    starts_from_hessian = True

    def get_builder(
        self, code, structure, task: Task, *, overrides=None, options=None, parent_folder=None, start_hessian=None
    ) -> ProcessBuilder:
        self.check_parent_folder(parent_folder)
        settings = self.settings(task)
        unrestricted = task.multiplicity > 1
        parameters = {
            'structure': {**settings['structure'], 'charge': task.charge, 'spin': task.multiplicity - 1},
            'mean_field': {'method': 'UKS' if unrestricted else 'RKS', **copy.deepcopy(settings['mean_field'])},
            # The pickled SCF object is ~1 GB for [Zn(H2O)6]2+ and would be stored twice.
            'results': {'pickle_model': False},
        }
        if task.solvent:
            parameters['mean_field']['solvent'] = settings['solvents'][task.solvent]
        if task.kind == 'singlepoint' and not task.forces:
            parameters['results']['forces'] = False
        # A single atom (F-, Cl-, a metal ion) has no geometry: geomeTRIC fails on it, so its relaxation is its single
        # point (get_outputs returns the input structure as the relaxed one).
        if task.kind == 'relax' and len(structure.sites) > 1:
            parameters['optimizer'] = copy.deepcopy(settings['optimizer'])
        elif task.kind == 'relax' and not task.forces:
            parameters['results']['forces'] = False
        if task.kind == 'frequencies' and len(structure.sites) > 1:
            # Relaxed to tight criteria, then the Hessian at that minimum (templates/hessian.py.j2); an atom has no
            # vibrations, so its frequency task is its single point.
            optimizer = settings['frequencies']['convergence_parameters']
            parameters['optimizer'] = {'solver': settings['optimizer']['solver'], 'convergence_parameters': optimizer}
            parameters['hessian'] = {}
        parameters = recursive_merge(parameters, overrides or {})
        builder = PyscfRestartWorkChain.get_builder()
        builder.pyscf.code = code
        builder.pyscf.structure = structure
        builder.pyscf.parameters = orm.Dict(parameters)
        if start_hessian is not None and 'optimizer' in parameters and task.kind == 'relax':
            builder.pyscf.start_hessian = start_hessian
        builder.pyscf.metadata.options = merge_options(settings['options'], options)
        return builder

    def get_outputs(self, node, task: Task) -> dict[str, orm.Data]:
        outputs = dict(normalise_pyscf_outputs(node.outputs.parameters))
        relaxed = task.kind in ('relax', 'frequencies') and 'structure' in node.outputs
        outputs['structure'] = node.outputs.structure if relaxed else node.inputs.pyscf.structure
        if task.kind == 'frequencies':  # an atom has no Hessian: empty frequencies
            hessian = node.outputs.hessian if 'hessian' in node.outputs else None
            outputs.update(normalise_pyscf_hessian(outputs['structure'], hessian))
        if 'trajectory' in node.outputs:
            outputs['trajectory'] = node.outputs.trajectory
        return outputs

    def describe(self, node) -> dict:
        parameters = node.inputs.pyscf.parameters.get_dict()
        mean_field = parameters.get('mean_field', {})
        description = {
            'method': f'{mean_field.get("method", "RKS")}/{str(mean_field.get("xc", "?")).upper()}',
            'basis': parameters.get('structure', {}).get('basis'),
            'dispersion': {'d3bj': 'D3(BJ)', 'd3zero': 'D3(0)', 'd4': 'D4'}.get(
                mean_field.get('disp'), mean_field.get('disp')
            ),
            'density_fitting': (mean_field.get('density_fit') or {}).get('auxbasis'),
            'grid_level': mean_field.get('grids_level'),
            'scf_convergence': mean_field.get('conv_tol'),
            'engine': 'PySCF',
        }
        solvent = mean_field.get('solvent')
        if solvent:
            description['solvent_model'] = f'{solvent.get("method")} (ε = {solvent.get("eps")})'
        optimizer = parameters.get('optimizer')
        if optimizer:
            convergence = optimizer.get('convergence_parameters', {})
            description['optimizer'] = (
                f'{optimizer.get("solver", "geomeTRIC")} {convergence.get("convergence_set", "")}'.strip()
            )
        return {key: value for key, value in description.items() if value is not None}
