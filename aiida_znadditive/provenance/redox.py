"""Redox results as a tidy table: one row per ``RedoxPotentialWorkChain``, every potential with its node's UUID.

Columns: the molecule as given and the species computed, the calibrated and raw reduction potentials and the raw
oxidation potential (V vs SHE, from the calcfunction ``redox_potentials``), the reduction potential against Zn2+/Zn
and against hydrogen evolution at the pH, the flags, and the level of theory of the relaxations (:mod:`.methods`).
"""

from __future__ import annotations

from aiida import orm
from aiida.common.links import LinkType

from .graph import batched_links, linked, one_transaction
from .methods import stage_methods

#: column -> the WorkChain output (a Float) that holds it, V vs SHE
NUMBERS = {
    'E_red': 'reduction_potential',
    'E_red_raw': 'reduction_potential_raw',
    'E_ox_raw': 'oxidation_potential_raw',
}
SUMMARY = ('molecule', 'species', 'ph', 'E_red', 'E_red_vs_zn', 'E_red_vs_her', 'reduced_before_hydrogen_evolution')
UNITS = {'E_red': 'V vs SHE', 'E_red_vs_zn': 'V', 'E_red_vs_her': 'V'}


def _reference_lines(table) -> dict:
    """Zn plating and hydrogen evolution at the pH of the rows (one line per pH)."""
    from ..analysis.redox import ZINC, hydrogen_evolution

    lines = {'Zn2+/Zn': ZINC}
    for ph in sorted(set(table['ph'].dropna())):
        lines[f'H2 evolution, pH {ph:g}'] = hydrogen_evolution(ph)
    return lines


#: the report's figure (.figures): the calibrated reduction potentials against Zn plating and hydrogen evolution
FIGURE = {
    'value': 'E_red',
    'error': None,
    'label': 'molecule',
    'uuid': 'E_red_uuid',
    'ylabel': 'one-electron reduction potential (V vs SHE)',
    'lines': _reference_lines,
}


def redox_row(node: orm.WorkflowNode) -> dict:
    """The row of one finished RedoxPotentialWorkChain (numbers absent from its outputs are None)."""
    outputs = linked(node, LinkType.RETURN, 'outgoing')
    inputs = linked(node, LinkType.INPUT_WORK, 'incoming')
    species = outputs['species'].get_dict() if 'species' in outputs else {}
    summary = outputs['summary'].get_dict() if 'summary' in outputs else {}
    row = {
        'molecule': inputs['smiles'].value,
        'species': species.get('smiles'),
        'species_charge': species.get('charge'),
        'ph': inputs['ph'].value if 'ph' in inputs else None,
    }
    for column, name in NUMBERS.items():
        value = outputs.get(name)
        row[column] = None if value is None else value.value
        row[f'{column}_uuid'] = None if value is None else value.uuid
    row['E_red_vs_zn'] = summary.get('reduction_V_vs_zn')
    row['E_red_vs_her'] = summary.get('reduction_V_vs_her')
    row['reduced_before_hydrogen_evolution'] = summary.get('reduced_before_hydrogen_evolution')
    row['reduced_before_zinc_plating'] = summary.get('reduced_before_zinc_plating')
    row['calibration'] = (summary.get('calibration') or {}).get('name')
    row['summary_uuid'] = outputs['summary'].uuid if 'summary' in outputs else None
    neutral = stage_methods(node).get('neutral', {})
    row.update(
        {
            'level': ' '.join(str(part) for part in (neutral.get('method'), neutral.get('solvent_model')) if part)
            + f' [{neutral.get("calculator")} {neutral.get("protocol")}]',
            'codes': neutral.get('code'),
            'date': node.ctime.isoformat(timespec='seconds'),
            'workchain_uuid': node.uuid,
        }
    )
    return row


def redox_table(nodes: list[orm.WorkflowNode]):
    """The rows of ``nodes`` as a pandas DataFrame, in the order given."""
    import pandas as pd

    with one_transaction(), batched_links(nodes):
        return pd.DataFrame([redox_row(node) for node in nodes])
