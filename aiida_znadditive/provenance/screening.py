"""Screening and generation results as a tidy table: one row per promoted candidate node.

A candidate is the ``candidate`` output of the ``promote_candidate`` calcfunction (``orchestration/promotion.py``):
the molecule that passed a screener (or that a generator picked), with the screener's score, predictions and their
uncertainties. Its ``screener`` input records who picked it: the screener's or generator's entry point, version,
model checkpoint hash and settings (a generator's seed, budget, objectives). Every row names the candidate, that
record and the promotion by UUID, so a number in a screening table leads back to the model that produced it.
"""

from __future__ import annotations

from aiida import orm
from aiida.common.links import LinkType

from .graph import batched_links, linked, one_transaction
from .query import ReportError, campaign_node, existing_group, inchikey

PROMOTION = 'promote_candidate'
SUMMARY = ('smiles', 'score', 'screener', 'version', 'model_hash', 'seed')
UNITS: dict[str, str] = {}

#: the report's bar figure (.figures): each candidate's score, the promotion calcfunction as its process
FIGURE = {
    'value': 'score',
    'error': None,
    'label': 'smiles',
    'uuid': 'candidate_uuid',
    'process': 'promotion_uuid',
    'ylabel': 'screening score (larger is better)',
    'lines': {},
}


def candidate_nodes(
    *, group: str | None = None, campaign: str | int | None = None, molecule: str | None = None
) -> list[orm.Dict]:
    """The promoted candidates, oldest first: those in ``group`` (label), those a CampaignWorkChain (PK or UUID)
    took as input, or every one of the profile; ``molecule`` (SMILES or InChIKey) keeps those of that molecule."""
    builder = orm.QueryBuilder().append(orm.CalcFunctionNode, filters={'attributes.process_label': PROMOTION}, tag='p')
    builder.append(orm.Dict, with_incoming='p', edge_filters={'label': 'candidate'}, project='*', tag='candidate')
    if group is not None:
        builder.append(orm.Group, with_node='candidate', filters={'label': existing_group(group).label})
    nodes = builder.all(flat=True)
    if campaign is not None:
        chosen = campaign_node(campaign)
        inputs = {node.pk for node in chosen.base.links.get_incoming(link_type=LinkType.INPUT_WORK).all_nodes()}
        nodes = [node for node in nodes if node.pk in inputs]
    if molecule is not None:
        key = inchikey(molecule)
        nodes = [node for node in nodes if node.get('inchikey') == key]
    return sorted(nodes, key=lambda node: node.ctime)


def screening_row(node: orm.Dict) -> dict:
    """The row of one candidate node."""
    candidate = node.get_dict()
    promotion = node.creator
    screener = linked(promotion, LinkType.INPUT_CALC, 'incoming').get('screener')
    record = screener.get_dict() if screener is not None else {}
    settings = record.get('settings') or {}
    row = {
        'smiles': candidate.get('smiles'),
        'inchikey': candidate.get('inchikey'),
        'formula': candidate.get('formula'),
        'charge': candidate.get('charge'),
        'score': candidate.get('score'),
        'screener': candidate.get('screener'),
        'version': candidate.get('screener_version'),
        'entry_point': candidate.get('entry_point'),
        'model_hash': candidate.get('checkpoint_hash'),
        # a generator's run records its seed and budget in its settings; a screener's settings are its thresholds
        'seed': settings.get('seed'),
        'budget': settings.get('budget'),
    }
    for name, value in sorted((candidate.get('predictions') or {}).items()):
        row[f'predicted {name}'] = value
    for name, value in sorted((candidate.get('uncertainty') or {}).items()):
        row[f'uncertainty {name}'] = value
    hash_text = (row['model_hash'] or 'no model')[:12]
    row.update(
        {
            'level': f'{row["entry_point"]} {row["version"]} (model {hash_text})',
            'candidate_uuid': node.uuid,
            'screener_uuid': screener.uuid if screener is not None else None,
            'promotion_uuid': promotion.uuid,
            'date': node.ctime.date().isoformat(),
        }
    )
    return row


def screening_table(nodes: list[orm.Dict]):
    """The rows of ``nodes`` as a pandas DataFrame, in the order given."""
    import pandas as pd

    if any(node.creator is None or node.creator.process_label != PROMOTION for node in nodes):
        raise ReportError(f'a screening table is made of `{PROMOTION}` outputs only')
    with one_transaction(), batched_links([node.creator for node in nodes]):
        return pd.DataFrame([screening_row(node) for node in nodes])
