"""Solvation-shell results as a tidy table: one row per ``SolvationShellWorkChain``, every number with its node.

Per group of molecules around Zn2+ (water, the additive, the counter-ion): the first g(r) peak and minimum (Å), the
coordination number (molecules and atoms in the first shell), the fraction of frames in which the group is in the
shell, and the mean residence time (ps; censored when no molecule was seen to leave). All come from the WorkChain's
``results`` Dict (made by the calcfunction ``analyse_solvation_shell``), whose UUID each row names; the MD's
temperature from ``md_statistics``; water's H-bond network (``hbonds``: H-bonds per water, additive-water H-bonds,
tetrahedral order, each with its block standard error) and the self-diffusion coefficients and conductivity
(``transport``), each Dict named by its UUID; the level of theory from the MD segments' engine processes
(:mod:`.methods`).
"""

from __future__ import annotations

import itertools
import math

from aiida import orm
from aiida.common.links import LinkType

from .graph import batched_links, linked, one_transaction
from .methods import stage_methods

#: per-group quantities, as named in the ``results`` Dict -> column suffix
GROUP_VALUES = {
    'first_peak': 'peak',
    'first_minimum': 'minimum',
    'coordination': 'cn',
    'coordination_atoms': 'cn_atoms',
    'shell_fraction': 'shell_fraction',
    'residence_time_ps': 'residence_ps',
    'residence_censored': 'residence_censored',
}
#: column -> the figure of the ``hbonds`` Dict (analysis.hbonds): block mean, and ``<column>_sem`` its error
HBOND_VALUES = {
    'hbonds_per_water': 'hbonds_per_water',
    'additive_water_hbonds': 'additive_water_hbonds_per_additive',
    'tetrahedral_q': 'tetrahedral_order_q',
}
SUMMARY = (
    'additive',
    'start',
    'water_cn',
    'water_peak',
    'additive_cn',
    'total_cn',
    'hbonds_per_water',
    'tetrahedral_q',
    'D_water',
    'time_analysed_ps',
    'temperature',
)
UNITS = {'water_peak': 'Å', 'time_analysed_ps': 'ps', 'temperature': 'K', 'D_water': 'm²/s'}
#: the report's figure (.figures): the first-shell coordination of each run
FIGURE = {
    'value': 'total_cn',
    'error': None,
    'label': 'additive',
    'uuid': 'results_uuid',
    'ylabel': 'Zn2+ first-shell coordination (molecules)',
    'lines': {'[Zn(H2O)6]2+ (experiment)': 6.0},
}


def solvation_row(node: orm.WorkflowNode) -> dict:
    """The row of one finished SolvationShellWorkChain (a group absent from its box has no columns)."""
    outputs = linked(node, LinkType.RETURN, 'outgoing')
    inputs = linked(node, LinkType.INPUT_WORK, 'incoming')
    results = outputs['results'].get_dict() if 'results' in outputs else {}
    statistics = outputs['md_statistics'].get_dict() if 'md_statistics' in outputs else {}
    segment = stage_methods(node).get('segment', {})
    row = {
        'additive': inputs['additive'].value if 'additive' in inputs else 'water',
        'start': inputs['start'].value if 'start' in inputs else None,
        'total_cn': results.get('total_coordination'),
        'n_frames': results.get('n_frames'),
        'time_analysed_ps': results.get('time_analysed_ps'),
        'temperature': statistics.get('temperature_mean'),
        'results_uuid': outputs['results'].uuid if 'results' in outputs else None,
        'rdf_uuid': outputs['rdf'].uuid if 'rdf' in outputs else None,
        'md_statistics_uuid': outputs['md_statistics'].uuid if 'md_statistics' in outputs else None,
    }
    for group, values in results.get('groups', {}).items():
        for key, suffix in GROUP_VALUES.items():
            row[f'{group}_{suffix}'] = values.get(key)
    row.setdefault('additive_cn', None)  # water alone: the column exists, empty
    hbonds = outputs['hbonds'].get_dict() if 'hbonds' in outputs else {}
    for column, key in HBOND_VALUES.items():
        figure = hbonds.get(key) or {}
        row[column], row[f'{column}_sem'] = figure.get('mean'), figure.get('sem')
    row['hbonds_uuid'] = outputs['hbonds'].uuid if 'hbonds' in outputs else None
    transport = outputs['transport'].get_dict() if 'transport' in outputs else {}
    for species in ('zinc', 'water', 'additive', 'counter_ion'):
        value = transport.get('diffusion', {}).get(species, {})
        row[f'D_{species}'], row[f'D_{species}_err'] = value.get('D_m2_s'), value.get('uncertainty_m2_s')
    row['conductivity'] = transport.get('nernst_einstein_conductivity_S_m')
    row['conductivity_err'] = transport.get('conductivity_uncertainty_S_m')
    row['transport_uuid'] = outputs['transport'].uuid if 'transport' in outputs else None
    row.update(
        {
            'level': ' '.join(str(part) for part in (segment.get('method'), segment.get('basis')) if part)
            + f' [{segment.get("calculator")} {segment.get("protocol")}]',
            'codes': segment.get('code'),
            'date': node.ctime.isoformat(timespec='seconds'),
            'workchain_uuid': node.uuid,
        }
    )
    return row


def solvation_table(nodes: list[orm.WorkflowNode]):
    """The rows of ``nodes`` as a pandas DataFrame, in the order given."""
    import pandas as pd

    with one_transaction(), batched_links(nodes):
        return pd.DataFrame([solvation_row(node) for node in nodes])


def extra_figures(table, out, stem: str, level: str) -> list[str]:
    """``<stem>_rdf.png``: the Zn2+-donor g(r) of every run (solid) and its running coordination number n(r)
    (dashed, right axis), one panel per group around Zn2+, read from each run's ``rdf`` output; the sidecar names
    the WorkChain and the ``rdf`` node of every curve and the coordination number the table gives it."""
    import matplotlib

    matplotlib.use('Agg')  # files only, no display
    import matplotlib.pyplot as plt

    from .figures import save_figure

    runs = table[table['rdf_uuid'].notna()] if 'rdf_uuid' in table else table.iloc[0:0]
    if runs.empty:
        return []
    arrays = {uuid: orm.load_node(uuid) for uuid in runs['rdf_uuid']}
    groups = sorted({name[2:] for rdf in arrays.values() for name in rdf.get_arraynames() if name.startswith('g_')})
    figure, axes = plt.subplots(1, len(groups), figsize=(4.4 * len(groups), 3.6), squeeze=False)
    for axis, group in zip(axes[0], groups, strict=True):
        running = axis.twinx()
        colours = itertools.cycle(plt.rcParams['axes.prop_cycle'].by_key()['color'])
        for (_, row), colour in zip(runs.iterrows(), colours, strict=False):
            rdf = arrays[row['rdf_uuid']]
            if f'g_{group}' not in rdf.get_arraynames():
                continue
            r = rdf.get_array('r')
            name = f'{row["additive"]} ({row["start"]})' if row.get('start') else str(row['additive'])
            axis.plot(r, rdf.get_array(f'g_{group}'), color=colour, label=name)
            running.plot(r, rdf.get_array(f'n_{group}'), color=colour, linestyle='--', linewidth=0.9)
        axis.set_xlabel(f'r, Zn2+-{group} donor (Å)')
        axis.set_ylabel('g(r)')
        running.set_ylabel('n(r), running coordination (dashed)')
        axis.set_title(group, fontsize=8)
        axis.legend(fontsize=6)
    figure.suptitle(level, fontsize=6)
    sidecar = {
        'figure': f'{stem}_rdf.png',
        'quantity': 'g(r) and n(r) per group around Zn2+',
        'level': level,
        'rows': [
            {
                'label': str(row['additive']),
                'workchain_uuid': row['workchain_uuid'],
                'value_uuid': row['rdf_uuid'],
                'coordination': {
                    group: number for group in groups if (number := _number(row.get(f'{group}_cn'))) is not None
                },
            }
            for _, row in runs.iterrows()
        ],
    }
    return save_figure(figure, sidecar, out, f'{stem}_rdf')


def _number(value) -> float | None:
    """A table cell as a JSON number: None for a missing one (pandas gives NaN)."""
    return None if value is None or math.isnan(float(value)) else float(value)
