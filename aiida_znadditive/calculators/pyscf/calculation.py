"""``PyscfCalculation`` with a mean-field template that knows grids, density fitting, PCM and Newton SCF.

aiida-pyscf 0.5.1 only sets attributes on ``scf.<method>(mol)``; density fitting, implicit solvent and second-order
SCF need wrapper calls, so our templates replace two sections (``templates/mean_field.py.j2`` and
``templates/optimizer.py.j2``) and reuse every other section of the upstream template. Upstream's optimizer section
leaves the energy and orbitals of the *starting* geometry in the results; ours replaces them with those of the
optimised geometry (geomeTRIC's last evaluation) and records the number of geometry cycles. The mean-field section
skips the gradient before a geometry optimisation, where geomeTRIC computes it anyway (upstream computes it twice).
New keys under ``mean_field``:

- ``grids_level`` (int): DFT integration grid level;
- ``density_fit`` (dict with ``auxbasis``): RI-J/K with that auxiliary basis;
- ``solvent`` (dict with ``method`` such as ``C-PCM`` and ``eps``): PCM implicit solvent;
- ``second_order`` (bool): Newton (SOSCF) solver, the last resort of the SCF restart handler.

and ``results.forces: false`` skips the gradient of a single point (upstream always computes it; with PCM it costs
about as much as the SCF).

The optional input ``start_hessian`` (a Cartesian Hessian at ``structure``, 3N x 3N, eV/Å²) is written to
``start_hessian.txt`` in atomic units, and geomeTRIC starts from it instead of its model Hessian
(``optimizer.start_hessian`` in the rendered parameters).
"""

from __future__ import annotations

import io

import numpy as np
from aiida import orm
from aiida_pyscf.calculations.base import PyscfCalculation
from ase.units import Bohr, Hartree
from jinja2 import ChoiceLoader, Environment, PackageLoader, PrefixLoader

#: Eh/bohr²: the curvature given to the six rigid-body motions (geomeTRIC's model value for its translation and
#: rotation coordinates). A true Hessian has zero there, and geomeTRIC throws away a Hessian with an eigenvalue at or
#: below 1e-5 after its first update and starts again from its model one.
RIGID_BODY_CURVATURE = 0.05
#: Eh/bohr²: the smallest curvature a vibration keeps. A cheap level's soft or slightly imaginary mode (a water
#: rotation) would otherwise give the first step a direction it has no curvature for.
SMALLEST_CURVATURE = 2.0e-3


def optimiser_hessian(hessian: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """A Cartesian Hessian (3N x 3N, eV/Å²) at ``positions`` (N x 3, Å) as geomeTRIC's starting Hessian: in
    Hartree/bohr², symmetric, its rigid-body subspace at :data:`RIGID_BODY_CURVATURE` and every vibrational
    eigenvalue at least :data:`SMALLEST_CURVATURE`."""
    matrix = np.asarray(hessian, dtype=float) * Bohr**2 / Hartree
    matrix = 0.5 * (matrix + matrix.T)
    centred = np.asarray(positions, dtype=float) - np.mean(positions, axis=0)
    motions = []
    for axis in np.eye(3):
        motions.append(np.tile(axis, len(centred)))  # translation
        motions.append(np.cross(axis, centred).ravel())  # rotation about the centre
    basis, triangle = np.linalg.qr(np.array(motions).T)
    scale = np.abs(np.diag(triangle))
    rigid = basis[:, scale > 1e-8 * scale.max()]  # a linear molecule has two rotations
    projector = rigid @ rigid.T
    internal = np.eye(len(matrix)) - projector
    values, vectors = np.linalg.eigh(internal @ matrix @ internal)
    vibrations = np.einsum('ij,ij->j', vectors, internal @ vectors) > 0.5
    values, vectors = np.maximum(values[vibrations], SMALLEST_CURVATURE), vectors[:, vibrations]
    return (vectors * values) @ vectors.T + RIGID_BODY_CURVATURE * projector


class ZnPyscfCalculation(PyscfCalculation):
    """PySCF calculation with our mean-field and optimizer templates (parsed by upstream's ``pyscf.base``)."""

    FILENAME_START_HESSIAN = 'start_hessian.txt'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input(
            'start_hessian',
            valid_type=orm.ArrayData,
            required=False,
            help='Cartesian Hessian at `structure` (array `hessian`, 3N x 3N, eV/Å²) for geomeTRIC to start from; '
            'only with an `optimizer`.',
        )

    def get_parameters(self) -> dict:
        parameters = super().get_parameters()
        if 'start_hessian' in self.inputs and 'optimizer' in parameters:
            parameters['optimizer']['start_hessian'] = self.FILENAME_START_HESSIAN
        return parameters

    def prepare_for_submission(self, folder):
        calcinfo = super().prepare_for_submission(folder)
        # Written only where the script reads it (an optimisation), as `get_parameters` decided.
        if 'start_hessian' in self.get_parameters().get('optimizer', {}):
            # geomeTRIC reads numpy text in Hartree/bohr²; the node itself is the provenance, the file a copy.
            positions = self.inputs.structure.get_ase().positions
            hessian = optimiser_hessian(self.inputs.start_hessian.get_array('hessian'), positions)
            stream = io.StringIO()
            np.savetxt(stream, hessian)
            folder.create_file_from_filelike(io.StringIO(stream.getvalue()), self.FILENAME_START_HESSIAN, 'w')
            calcinfo.provenance_exclude_list.append(self.FILENAME_START_HESSIAN)
        return calcinfo

    def get_template_environment(self) -> Environment:
        loader = PrefixLoader(
            {
                'pyscf': ChoiceLoader(
                    [
                        PackageLoader('aiida_znadditive.calculators.pyscf', 'templates'),
                        PackageLoader('aiida_pyscf.calculations.base'),
                    ]
                )
            }
        )
        environment = Environment(loader=loader, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
        environment.filters['render_python'] = self.filter_render_python
        return environment
