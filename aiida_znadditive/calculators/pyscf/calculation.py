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
"""

from __future__ import annotations

from aiida_pyscf.calculations.base import PyscfCalculation
from jinja2 import ChoiceLoader, Environment, PackageLoader, PrefixLoader


class ZnPyscfCalculation(PyscfCalculation):
    """PySCF calculation with our mean-field and optimizer templates (parsed by upstream's ``pyscf.base``)."""

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
