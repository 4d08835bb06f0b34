"""The quickstart demo: a real B3LYP-D3(BJ)/def2-SVP single point on [Zn(H2O)6]2+ through aiida-pyscf.

Every number it prints is an output in the provenance graph: the structure from a calcfunction, the energy from the
PySCF calculation, the Zn-O distances from a calcfunction on that structure.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import yaml
from aiida import orm
from aiida.engine import run_get_node
from aiida.plugins import CalculationFactory

from .analysis.geometry import zn_donor_distances
from .structures.zinc_aqua import build_zn_aqua_complex


@dataclass
class DemoResult:
    calculation: orm.CalcJobNode
    energy_ev: float
    geometry: dict


def load_demo_settings() -> dict:
    return yaml.safe_load(resources.files('aiida_znadditive.protocols').joinpath('demo.yaml').read_text())


def pyscf_parameters(settings: dict) -> dict:
    """Parameters for aiida-pyscf's script template; the model pickle is off (it would be ~1 GB here)."""
    pyscf = settings['pyscf']
    structure = settings['structure']
    return {
        'structure': {'basis': pyscf['basis'], 'charge': structure['charge'], 'spin': structure['multiplicity'] - 1},
        'mean_field': {key: pyscf[key] for key in ('method', 'xc', 'disp', 'conv_tol', 'max_cycle')},
        'results': {'pickle_model': False},
    }


def run_demo(code: orm.AbstractCode) -> DemoResult:
    """Run the demo on ``code`` (a ``pyscf.base`` code) and return its calculation node and results."""
    settings = load_demo_settings()
    structure = build_zn_aqua_complex(orm.Float(settings['structure']['zn_o']))
    builder = CalculationFactory('pyscf.base').get_builder()
    builder.code = code
    builder.structure = structure
    builder.parameters = orm.Dict(pyscf_parameters(settings))
    options = settings['options']
    builder.metadata.options.max_wallclock_seconds = options['max_wallclock_seconds']
    builder.metadata.options.resources = {
        'num_machines': 1,
        'num_mpiprocs_per_machine': options['num_mpiprocs_per_machine'],
    }
    builder.metadata.label = 'Zn(H2O)6 B3LYP-D3BJ/def2-SVP single point'
    builder.metadata.call_link_label = 'zn_aqua_single_point'
    _, node = run_get_node(builder)
    if not node.is_finished_ok:
        raise RuntimeError(
            f'PySCF calculation<{node.pk}> failed with exit status {node.exit_status}: '
            f'{node.exit_message}. Inspect it with: verdi process report {node.pk}'
        )
    geometry = zn_donor_distances(structure, orm.Float(settings['analysis']['shell_cutoff']))
    energy = node.outputs.parameters['mean_field']['total_energy']
    return DemoResult(calculation=node, energy_ev=energy, geometry=geometry.get_dict())
