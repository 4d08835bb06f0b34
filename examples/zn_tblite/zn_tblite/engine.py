"""An engine without a code: tblite's ASE calculator, run inside a calcfunction by a one-step WorkChain.

A calcfunction cannot be submitted from a WorkChain (aiida-core runs process functions in the caller), so the
adapter's process is :class:`TbliteAseWorkChain`, which calls :func:`tblite_task` in its step: the energies,
structures and frequencies are still the calcfunction's outputs, with the parameters as its input.
"""

from __future__ import annotations

import tempfile

import numpy as np
from aiida import orm
from aiida.engine import ExitCode, WorkChain, calcfunction


@calcfunction
def tblite_task(structure: orm.StructureData, parameters: orm.Dict):
    """One task with tblite's ASE calculator: ``parameters`` holds ``kind`` (singlepoint, relax, frequencies),
    ``method``, ``charge``, ``multiplicity``, ``solvent`` (an ALPB solvent or None), ``fmax`` (eV/Å) and ``steps``."""
    from ase.optimize import BFGS
    from ase.vibrations import Vibrations
    from tblite.ase import TBLite

    settings = parameters.get_dict()
    atoms = structure.get_ase()
    atoms.pbc = False  # a molecule: the box of the StructureData is only a frame
    atoms.calc = TBLite(
        method=settings['method'],
        charge=settings['charge'],
        multiplicity=settings['multiplicity'],
        solvation=('alpb', settings['solvent']) if settings.get('solvent') else None,
        verbosity=0,
    )
    outputs = {}
    if settings['kind'] in ('relax', 'frequencies') and len(atoms) > 1:
        optimiser = BFGS(atoms, logfile=None)
        if not optimiser.run(fmax=settings['fmax'], steps=settings['steps']):
            return ExitCode(410, f'BFGS did not reach fmax {settings["fmax"]} eV/Å in {settings["steps"]} steps')
        outputs['structure'] = orm.StructureData(ase=atoms)
    outputs['energy'] = orm.Float(float(atoms.get_potential_energy()))
    outputs['forces'] = orm.ArrayData({'forces': atoms.get_forces()})
    if settings['kind'] == 'frequencies':
        modes = 3 * len(atoms) - (5 if _linear(atoms) else 6) if len(atoms) > 1 else 0
        with tempfile.TemporaryDirectory() as folder:
            vibrations = Vibrations(atoms, name=f'{folder}/vib', delta=0.005)
            vibrations.run()
            wavenumbers = vibrations.get_frequencies()  # cm⁻¹; imaginary ones complex
        # The translations and rotations are the modes nearest zero; imaginary modes become negative numbers.
        signed = np.where(np.abs(wavenumbers.imag) > 0, -np.abs(wavenumbers.imag), wavenumbers.real)
        vibrational = np.sort(signed[np.argsort(np.abs(signed))[len(signed) - modes :]])
        outputs['frequencies'] = orm.ArrayData({'frequencies': vibrational})
    return outputs


def _linear(atoms) -> bool:
    if len(atoms) == 2:
        return True
    centred = atoms.get_positions() - atoms.get_center_of_mass()
    return np.linalg.svd(centred, compute_uv=False)[1] < 1e-3


class TbliteAseWorkChain(WorkChain):
    """Run :func:`tblite_task` once and pass its outputs on (the submittable process of the ``tblite_ase`` engine)."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('structure', valid_type=orm.StructureData)
        spec.input('parameters', valid_type=orm.Dict)
        spec.outline(cls.run_task)
        spec.output('energy', valid_type=orm.Float, help='Total energy, eV.')
        spec.output('structure', valid_type=orm.StructureData, required=False, help='Relaxed structure.')
        spec.output('forces', valid_type=orm.ArrayData, help='Forces, eV/Å.')
        spec.output('frequencies', valid_type=orm.ArrayData, required=False, help='Vibrations, cm⁻¹.')
        spec.exit_code(410, 'ERROR_NOT_CONVERGED', message='The relaxation did not converge: {message}')

    def run_task(self):
        outputs, node = tblite_task.run_get_node(self.inputs.structure, self.inputs.parameters)
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_NOT_CONVERGED.format(message=node.exit_message)
        self.out_many(outputs)
        return None
