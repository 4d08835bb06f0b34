"""Adsorption results as a tidy table: one row per ``SlabAdsorptionWorkChain``, every number with its node's UUID.

E_ads of the additive and of the water reference on Zn(002) (eV, best configuration at the DFT stage), their
difference (``compare_with_water``), where the best configuration sits (site, closest atom and its distance to Zn),
the slab (layers, supercell) and the Zn lattice it was cut from (a, c and their error against experiment).
"""

from __future__ import annotations

from aiida import orm
from aiida.common.links import LinkType

from .graph import batched_links, linked, one_transaction
from .methods import stage_methods

SUMMARY = ('molecule', 'E_ads', 'E_ads_water', 'E_ads_difference', 'site', 'closest_atom', 'closest_distance')
UNITS = {'E_ads': 'eV', 'E_ads_water': 'eV', 'E_ads_difference': 'eV', 'closest_distance': 'Å'}


def _water_line(table) -> dict:
    """Water's adsorption energy on the same slabs, where the rows have it (one line per distinct value)."""
    return {f'water: {value:+.3f} eV': value for value in sorted(set(table['E_ads_water'].dropna()))}


#: the report's figure (.figures): each molecule's adsorption energy on Zn(002), water's as a line (below it: the
#: molecule displaces water from the surface)
FIGURE = {
    'value': 'E_ads',
    'error': None,
    'label': 'molecule',
    'uuid': 'E_ads_uuid',
    'ylabel': 'E_ads on Zn(002) (eV)',
    'lines': _water_line,
}


def _best(configurations: orm.Dict | None) -> dict:
    if configurations is None:
        return {}
    table = configurations.get_dict()
    return next((row for row in table.get('rows', []) if row.get('structure') == table.get('best')), {})


def adsorption_row(node: orm.WorkflowNode) -> dict:
    """The row of one finished SlabAdsorptionWorkChain (numbers absent from its outputs are None)."""
    outputs = linked(node, LinkType.RETURN, 'outgoing')
    inputs = linked(node, LinkType.INPUT_WORK, 'incoming')
    molecule = inputs['molecule'].value if 'molecule' in inputs else 'water'
    own = 'additive' if 'molecule' in inputs else 'water'
    energy, water = outputs.get(f'{own}__adsorption_energy'), outputs.get('water__adsorption_energy')
    comparison = outputs['comparison'].get_dict() if 'comparison' in outputs else {}
    best = _best(outputs.get(f'{own}__configurations'))
    closest = best.get('closest_atom')
    lattice = outputs['lattice'].get_dict() if 'lattice' in outputs else {}
    slab = outputs['slab_info'].get_dict() if 'slab_info' in outputs else {}
    # the slab's calculations name every level the configurations went through (pre-rank and DFT), '; '-joined
    dft = stage_methods(node).get('slab', {})
    return {
        'molecule': molecule,
        'E_ads': None if energy is None else energy.value,
        'E_ads_uuid': None if energy is None else energy.uuid,
        'E_ads_water': None if water is None else water.value,
        'E_ads_water_uuid': None if water is None else water.uuid,
        'E_ads_difference': comparison.get('difference'),
        'E_ads_difference_uuid': outputs['comparison'].uuid if 'comparison' in outputs else None,
        'site': best.get('site'),
        'closest_atom': closest,
        'closest_distance': (best.get('shortest_zn_distances') or {}).get(closest) if closest else None,
        'configurations_uuid': outputs[f'{own}__configurations'].uuid if f'{own}__configurations' in outputs else None,
        'layers': slab.get('layers'),
        'supercell': 'x'.join(str(n) for n in slab.get('supercell', [])) or None,
        'lattice_a': lattice.get('a'),
        'lattice_c': lattice.get('c'),
        'lattice_uuid': outputs['lattice'].uuid if 'lattice' in outputs else None,
        'level': ' '.join(str(part) for part in (dft.get('method'), dft.get('basis')) if part)
        + f' [{dft.get("calculator")} {dft.get("protocol")}]',
        'codes': dft.get('code'),
        'date': node.ctime.isoformat(timespec='seconds'),
        'workchain_uuid': node.uuid,
    }


def adsorption_table(nodes: list[orm.WorkflowNode]):
    """The rows of ``nodes`` as a pandas DataFrame, in the order given."""
    import pandas as pd

    with one_transaction(), batched_links(nodes):
        return pd.DataFrame([adsorption_row(node) for node in nodes])
