"""Measured cell results beside what was computed for the same additive: one row per experiment node.

An experiment is a ``Dict`` labelled ``experiment`` (``aiida-znadditive experiments import``,
``orchestration/experiments.py``) with the additive's InChIKey as an extra. Each row gives the measurement as stored
(concentration, electrolyte, cell, current density, cycle life, Coulombic efficiency, overpotential, reference)
and, where the graph has one, the newest finished complexation of the same molecule (as added, or as the species
computed at the pH): its level, ΔG of exchange (ΔE in water where it has no ΔG) and that number's node. The figure
sets each measured quantity against the computed exchange, one point per experiment, so a reader sees at once
whether what the platform computes orders the additives the way cells do.
"""

from __future__ import annotations

from pathlib import Path

from aiida import orm

from ..orchestration.experiments import EXTRA_INCHIKEY, LABEL, MEASURES
from .complexation import complexation_table
from .figures import save_figure
from .query import existing_group, inchikey, result_nodes
from .screening import candidate_nodes

SUMMARY = ('name', 'concentration_M', 'cell_type', *MEASURES, 'computed_dG', 'reference')
UNITS = {'concentration_M': 'M', 'cycle_life_h': 'h', 'coulombic_efficiency_percent': '%', 'overpotential_mV': 'mV'}
UNITS |= {'computed_dG': 'eV'}

#: the report's bar figure (.figures): each experiment's cycle life
FIGURE = {
    'value': 'cycle_life_h',
    'error': None,
    'label': 'name',
    'uuid': 'experiment_uuid',
    'process': 'complexation_uuid',
    'ylabel': 'cycle life (h)',
    'lines': {},
}


def experiment_nodes(
    *, group: str | None = None, campaign: str | int | None = None, molecule: str | None = None
) -> list[orm.Dict]:
    """The experiment nodes, oldest first: those in ``group`` (label; default: all of the profile), those on the
    candidates of a CampaignWorkChain (PK or UUID), those of ``molecule`` (SMILES or InChIKey)."""
    filters = {'label': LABEL}
    if molecule is not None:
        filters[f'extras.{EXTRA_INCHIKEY}'] = inchikey(molecule)
    builder = orm.QueryBuilder().append(orm.Dict, filters=filters, tag='node', project='*')
    if group is not None:
        builder.append(orm.Group, with_node='node', filters={'label': existing_group(group).label})
    nodes = builder.all(flat=True)
    if campaign is not None:
        keys = {node.get('inchikey') for node in candidate_nodes(campaign=campaign)}
        nodes = [node for node in nodes if node.base.extras.get(EXTRA_INCHIKEY, None) in keys]
    return sorted(nodes, key=lambda node: node.ctime)


def experiments_table(nodes: list[orm.Dict]):
    """The rows of ``nodes`` (experiment Dicts), each joined with the newest finished complexation of its molecule."""
    import pandas as pd

    computed = {}
    for key in {node.base.extras.get(EXTRA_INCHIKEY, None) for node in nodes} - {None}:
        found = result_nodes('complexation', molecule=key)
        if found:
            row = complexation_table(found[-1:]).iloc[0]
            column = 'dG' if pd.notna(row['dG']) else 'dE_water'
            computed[key] = {
                'computed_dG': row[column],
                'computed_quantity': column,
                'computed_dG_uuid': row[f'{column}_uuid'],
                'computed_level': row['level'],
                'complexation_uuid': row['workchain_uuid'],
            }
    rows = []
    for node in nodes:
        key = node.base.extras.get(EXTRA_INCHIKEY, None)
        measured = node.get_dict()
        rows.append(
            {
                'name': measured.get('name') or measured.get('smiles'),
                **measured,
                'inchikey': key,
                **computed.get(key, dict.fromkeys(('computed_dG', 'computed_quantity', 'computed_dG_uuid'))),
                'level': computed.get(key, {}).get('computed_level') or 'not computed',
                'complexation_uuid': computed.get(key, {}).get('complexation_uuid'),
                'experiment_uuid': node.uuid,
                'date': node.ctime.date().isoformat(),
            }
        )
    table = pd.DataFrame(rows)
    for column in SUMMARY:  # an optional column no row has is still a column of the table (empty)
        if column not in table:
            table[column] = None
    return table


def extra_figures(table, out: Path, stem: str, level: str) -> list[str]:
    """``<stem>_measured.png``: each measured quantity the rows have against the computed exchange (one panel per
    quantity), with its sidecar naming the experiment and the computed number of every point."""
    import matplotlib

    matplotlib.use('Agg')  # files only, no display
    import matplotlib.pyplot as plt

    joined = table[table['computed_dG'].notna()] if 'computed_dG' in table else table.iloc[0:0]
    measures = [m for m in MEASURES if m in joined and joined[m].notna().any()]
    if joined.empty or not measures:
        return []
    figure, axes = plt.subplots(1, len(measures), figsize=(4.2 * len(measures), 3.8), squeeze=False)
    for axis, measure in zip(axes[0], measures, strict=True):
        shown = joined[joined[measure].notna()]
        axis.scatter(shown['computed_dG'].astype(float), shown[measure].astype(float), color='#4c72b0', zorder=3)
        for x, y, name in zip(shown['computed_dG'], shown[measure], shown['name'], strict=True):
            axis.annotate(str(name), (x, y), fontsize=6, xytext=(3, 3), textcoords='offset points')
        axis.set_xlabel('computed ΔG of Zn2+ exchange (eV)')
        axis.set_ylabel(f'{measure.rsplit("_", 1)[0].replace("_", " ")} ({UNITS[measure]})')
    figure.suptitle(level, fontsize=6)
    sidecar = {
        'figure': f'{stem}_measured.png',
        'quantity': f'{", ".join(measures)} against computed_dG',
        'level': level,
        'rows': [
            {
                'name': str(row['name']),
                'complexation_uuid': row['complexation_uuid'],
                'experiment_uuid': row['experiment_uuid'],
                'value_uuid': row['computed_dG_uuid'],
            }
            for _, row in joined.iterrows()
        ],
    }
    return save_figure(figure, sidecar, out, f'{stem}_measured', process='complexation_uuid')
