"""Campaign results as a tidy table: one row per ranked candidate of each ``CampaignWorkChain``, and its figures.

A row is a line of the campaign's ``ranking`` (the output of the ``rank_candidates`` calcfunction): the rank and the
weighted score, each term (``binding``: -ΔG of the Zn2+ exchange; ``adsorption``: -(E_ads(additive) - E_ads(water))
on Zn(002)) with the UUID of the output node it was read from, what the candidate was predicted to do when it was
promoted (the generator's objective and the screener's exchange energy, from the candidate node), the terms it lacks
and why its children failed. The figures: predicted against computed exchange energy (the parity of the screen's
model against the WorkChains' DFT), and the Pareto front of binding against adsorption where candidates have both.
"""

from __future__ import annotations

from pathlib import Path

from aiida import orm
from aiida.common.links import LinkType

from ..analysis.ranking import predicted_exchange
from .figures import save_figure
from .graph import batched_links, linked, one_transaction

SUMMARY = ('rank', 'smiles', 'score', 'dG_exchange', 'predicted_exchange', 'adsorption', 'missing')
UNITS = {'score': 'eV', 'dG_exchange': 'eV', 'predicted_exchange': 'eV', 'adsorption': 'eV'}

#: the report's bar figure (.figures): each candidate's score, in the ranking's order
FIGURE = {
    'value': 'score',
    'error': None,
    'label': 'smiles',
    'uuid': 'ranking_uuid',
    'ylabel': 'campaign score (eV, larger is better)',
    'lines': {},
}


def _level(node: orm.WorkflowNode) -> str:
    """The campaign's computational settings, which decide what its numbers may be compared with."""
    inputs = linked(node, LinkType.INPUT_WORK, 'incoming')
    settings = inputs['settings'].get_dict() if 'settings' in inputs else {}
    calculators = '/'.join(
        inputs[name].value if name in inputs else default
        for name, default in (('complexation__prerank_calculator', 'xtb'), ('complexation__dft_calculator', 'pyscf'))
    )
    weights = ', '.join(f'{term} {weight:g}' for term, weight in sorted(settings.get('weights', {}).items()))
    level = f'complexation {settings.get("complexation", {}).get("protocol")} ({calculators}), pH {settings.get("ph")}'
    if settings.get('top_m'):
        level += f'; adsorption {settings.get("adsorption", {}).get("protocol")}'
    return f'{level}; weights {weights}'


def campaign_rows(node: orm.WorkflowNode) -> list[dict]:
    """The rows of one finished CampaignWorkChain, in its ranking's order."""
    outputs = linked(node, LinkType.RETURN, 'outgoing')
    if 'ranking' not in outputs:
        return []
    ranking = outputs['ranking']
    content = ranking.get_dict()
    failures = content.get('failures', {})
    level = _level(node)
    rows = []
    for line in content.get('rows', []):
        terms = line.get('terms', {})
        binding, adsorption = terms.get('binding', {}), terms.get('adsorption', {})
        candidate = orm.load_node(line['candidate_uuid']) if line.get('candidate_uuid') else None
        failed = [f'{stage}: {why[line["key"]]}' for stage, why in failures.items() if line['key'] in why]
        rows.append(
            {
                'campaign': node.label or f'CampaignWorkChain<{node.pk}>',
                'rank': line['rank'],
                'smiles': line.get('smiles'),
                'inchikey': line.get('inchikey'),
                'score': line.get('score'),
                'binding': binding.get('value'),
                'binding_uuid': binding.get('uuid'),
                # the binding term is -ΔG; the table also gives ΔG itself, the number a paper quotes
                'dG_exchange': None if binding.get('value') is None else -binding['value'],
                'adsorption': adsorption.get('value'),
                'adsorption_uuid': adsorption.get('uuid'),
                'predicted_exchange': None if candidate is None else predicted_exchange(candidate['predictions'] or {}),
                'predicted_score': line.get('predicted_score'),
                'candidate_uuid': line.get('candidate_uuid'),
                'missing': '; '.join(line.get('missing', [])),
                'failed': '; '.join(failed),
                'level': level,
                'ranking_uuid': ranking.uuid,
                'workchain_uuid': node.uuid,
                'date': node.ctime.date().isoformat(),
            }
        )
    return rows


def campaign_table(nodes: list[orm.WorkflowNode]):
    """The rows of every campaign of ``nodes`` as a pandas DataFrame, campaign by campaign in the order given."""
    import pandas as pd

    with one_transaction(), batched_links(nodes):
        return pd.DataFrame([row for node in nodes for row in campaign_rows(node)])


def pareto_front(points: list[tuple[float, float]]) -> list[bool]:
    """For each (a, b), larger-is-better in both: True when no other point is at least as good in both and better
    in one."""
    return [
        not any(c >= a and d >= b and (c > a or d > b) for j, (c, d) in enumerate(points) if j != i)
        for i, (a, b) in enumerate(points)
    ]


def campaign_funnel(node: orm.WorkflowNode) -> list[tuple[str, int | None]]:
    """How many molecules each step of the campaign kept: scored by the generator and above zero (the generator's
    record, where the candidates came from a generator run), promoted (the candidates made with those records), sent
    to complexation (the ranking's rows) and computed (rows with a binding term). None where the graph cannot say."""
    inputs = linked(node, LinkType.INPUT_WORK, 'incoming')
    candidates = [value for name, value in inputs.items() if name.startswith('candidates__')]
    records = {}
    for candidate in candidates:
        screener = linked(candidate.creator, LinkType.INPUT_CALC, 'incoming').get('screener')
        if screener is not None:
            records[screener.uuid] = screener
    runs = [record.get('run') for record in records.values()]
    promoted = (
        orm.QueryBuilder()
        .append(orm.Dict, filters={'uuid': {'in': list(records)}}, tag='screener')
        .append(
            orm.CalcFunctionNode, with_incoming='screener', filters={'attributes.process_label': 'promote_candidate'}
        )
        .count()
        if records
        else None
    )
    ranking = linked(node, LinkType.RETURN, 'outgoing').get('ranking')
    rows = ranking.get_dict().get('rows', []) if ranking is not None else []
    known = bool(runs) and all(runs)
    return [
        ('scored by the generator', sum(run['scored'] for run in runs) if known else None),
        ('scored above zero', sum(run['fitness_above_zero'] for run in runs) if known else None),
        ('promoted to candidate nodes', promoted),
        ('sent to complexation', len(rows)),
        ('computed (binding term)', sum(1 for row in rows if 'binding' in row.get('terms', {}))),
    ]


def extra_figures(table, out: Path, stem: str, level: str) -> list[str]:
    """The funnel of each campaign of the table (``<stem>_funnel.png``, read from the graph), then
    :func:`comparison_figures`; each with its sidecar of UUIDs."""
    import matplotlib

    matplotlib.use('Agg')  # files only, no display
    return _funnel(table, out, f'{stem}_funnel', level) + comparison_figures(table, out, stem, level)


def comparison_figures(table, out: Path, stem: str, level: str) -> list[str]:
    """The parity figure (``<stem>_parity.png``) where candidates have a prediction and a computed ΔG, and the
    Pareto figure (``<stem>_pareto.png``) where at least two have both terms, from the table alone."""
    import matplotlib

    matplotlib.use('Agg')  # files only, no display
    written = []
    both = table[table['predicted_exchange'].notna() & table['dG_exchange'].notna()]
    if not both.empty:
        written += _parity(both, out, f'{stem}_parity', level)
    terms = table[table['binding'].notna() & table['adsorption'].notna()]
    if len(terms) >= 2:
        written += _pareto(terms, out, f'{stem}_pareto', level)
    return written


def _parity(table, out: Path, stem: str, level: str) -> list[str]:
    import matplotlib.pyplot as plt
    import numpy as np

    predicted, computed = table['predicted_exchange'].astype(float), table['dG_exchange'].astype(float)
    figure, axes = plt.subplots(figsize=(4.2, 4.0))
    low, high = min(predicted.min(), computed.min()) - 0.1, max(predicted.max(), computed.max()) + 0.1
    axes.plot([low, high], [low, high], color='grey', linewidth=0.8, linestyle='--', label='y = x')
    axes.scatter(predicted, computed, color='#4c72b0', zorder=3)
    if len(table) <= 20:
        for x, y, name in zip(predicted, computed, table['smiles'], strict=True):
            axes.annotate(name, (x, y), fontsize=6, xytext=(3, 3), textcoords='offset points')
    error = float(np.mean(np.abs(computed - predicted)))
    axes.set_xlabel('predicted at promotion (eV)')
    axes.set_ylabel('computed ΔG of exchange (eV)')
    axes.set_title(f'{level}\n{len(table)} candidate(s), mean |computed - predicted| {error:.3f} eV', fontsize=6)
    axes.legend(fontsize=7)
    sidecar = {
        'figure': f'{stem}.png',
        'quantity': 'predicted_exchange against dG_exchange',
        'level': level,
        'mean_absolute_difference_ev': round(error, 6),
        'rows': [
            {
                'smiles': row['smiles'],
                'workchain_uuid': row['workchain_uuid'],
                'candidate_uuid': row['candidate_uuid'],
                'value_uuid': row['binding_uuid'],
            }
            for _, row in table.iterrows()
        ],
    }
    return save_figure(figure, sidecar, out, stem)


def _pareto(table, out: Path, stem: str, level: str) -> list[str]:
    import matplotlib.pyplot as plt

    points = list(zip(table['binding'].astype(float), table['adsorption'].astype(float), strict=True))
    front = pareto_front(points)
    figure, axes = plt.subplots(figsize=(4.6, 4.0))
    axes.scatter(*zip(*points, strict=True), color=['#c44e52' if f else '#8c8c8c' for f in front], zorder=3)
    on_front = sorted(point for point, f in zip(points, front, strict=True) if f)
    axes.plot(*zip(*on_front, strict=True), color='#c44e52', linewidth=1.0, label='Pareto front')
    if len(table) <= 20:
        for (x, y), name in zip(points, table['smiles'], strict=True):
            axes.annotate(name, (x, y), fontsize=6, xytext=(3, 3), textcoords='offset points')
    axes.set_xlabel('binding: -ΔG of exchange (eV)')
    axes.set_ylabel('adsorption: -(E_ads - E_ads(water)) (eV)')
    axes.set_title(level, fontsize=6)
    axes.legend(fontsize=7)
    sidecar = {
        'figure': f'{stem}.png',
        'quantity': 'binding against adsorption',
        'level': level,
        'rows': [
            {
                'smiles': row['smiles'],
                'pareto': bool(f),
                'workchain_uuid': row['workchain_uuid'],
                'binding_uuid': row['binding_uuid'],
                'value_uuid': row['adsorption_uuid'],
            }
            for (_, row), f in zip(table.iterrows(), front, strict=True)
        ],
    }
    return save_figure(figure, sidecar, out, stem)


def _funnel(table, out: Path, stem: str, level: str) -> list[str]:
    import matplotlib.pyplot as plt

    campaigns = list(dict.fromkeys(table['workchain_uuid']))
    funnels = {uuid: campaign_funnel(orm.load_node(uuid)) for uuid in campaigns}
    figure, axes = plt.subplots(len(campaigns), 1, figsize=(6.4, 2.4 * len(campaigns)), squeeze=False)
    for axis, (uuid, funnel) in zip(axes[:, 0], funnels.items(), strict=True):
        shown = [(stage, count) for stage, count in funnel if count is not None]
        axis.barh(range(len(shown)), [count for _, count in shown], color='#4c72b0')
        axis.set_yticks(range(len(shown)), [f'{stage} ({count:,})' for stage, count in shown], fontsize=7)
        axis.invert_yaxis()  # the funnel reads from the top
        axis.set_xscale('log')
        axis.set_title(table.loc[table['workchain_uuid'] == uuid, 'campaign'].iloc[0], fontsize=7)
    figure.suptitle(level, fontsize=6)
    sidecar = {
        'figure': f'{stem}.png',
        'quantity': 'molecules kept at each step',
        'level': level,
        'rows': [
            {
                'workchain_uuid': uuid,
                'funnel': dict(funnel),
                'value_uuid': table.loc[table['workchain_uuid'] == uuid, 'ranking_uuid'].iloc[0],
            }
            for uuid, funnel in funnels.items()
        ],
    }
    return save_figure(figure, sidecar, out, stem)
