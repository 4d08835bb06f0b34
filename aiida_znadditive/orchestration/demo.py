"""The quickstart demo: a real B3LYP-D3(BJ)/def2-SVP single point on [Zn(H2O)6]2+ with PySCF.

It goes through the calculator interface like every WorkChain does. Every number it prints is an output in the
provenance graph: the structure from a calcfunction, the energy and orbitals from the PySCF calculation (normalised
by a calcfunction), the Zn-O distances from a calcfunction on that structure.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import yaml
from aiida import orm
from aiida.engine import run_get_node

from ..analysis.geometry import zn_donor_distances
from ..structures.zinc_aqua import build_zn_aqua_complex
from ..workchains.calculator import CalculatorWorkChain


@dataclass
class DemoResult:
    workchain: orm.WorkChainNode
    outputs: dict
    geometry: dict


def load_demo_settings() -> dict:
    return yaml.safe_load(resources.files('aiida_znadditive.protocols').joinpath('demo.yaml').read_text())


def run_demo(code: orm.AbstractCode) -> DemoResult:
    """Run the demo on ``code`` (a ``pyscf.base`` interpreter) and return its node, outputs and geometry."""
    settings = load_demo_settings()
    structure = build_zn_aqua_complex(orm.Float(settings['structure']['zn_o']))
    outputs, node = run_get_node(
        CalculatorWorkChain,
        calculator=orm.Str(settings['calculator']['name']),
        code=code,
        structure=structure,
        task=orm.Str('singlepoint'),
        charge=orm.Int(settings['structure']['charge']),
        multiplicity=orm.Int(settings['structure']['multiplicity']),
        protocol=orm.Str(settings['calculator']['protocol']),
        metadata={'label': '[Zn(H2O)6]2+ B3LYP-D3(BJ)/def2-SVP single point'},
    )
    if not node.is_finished_ok:
        raise RuntimeError(
            f'CalculatorWorkChain<{node.pk}> failed with exit status {node.exit_status}: {node.exit_message}. '
            f'Inspect it with: verdi process report {node.pk}'
        )
    geometry = zn_donor_distances(structure, orm.Float(settings['analysis']['shell_cutoff']))
    return DemoResult(workchain=node, outputs=outputs, geometry=geometry.get_dict())
