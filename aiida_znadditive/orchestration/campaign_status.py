"""Where a CampaignWorkChain stands: its children per stage and state, and its ranking (or the best binder so far)."""

from __future__ import annotations

from collections import Counter

from aiida import orm
from aiida.common.links import LinkType

#: the stages of the campaign's extra, in the order they run
STAGES = ('complexation', 'adsorption')


def child_state(node: orm.ProcessNode) -> str:
    if node.is_finished_ok:
        return 'finished'
    if node.is_terminated:
        return 'failed'
    return 'running' if node.process_state and node.process_state.value == 'running' else 'waiting'


def campaign_status(node: orm.WorkflowNode) -> dict:
    """``{'state', 'stages': {stage: {state: count}}, 'ranking': [line, ...]}`` of the CampaignWorkChain ``node``.

    Children come from the campaign's extra ``znadditive_campaign_children``; those it did not call itself finished
    in an earlier campaign and were reused (``reused``).
    """
    from ..workchains.campaign import BINDING_OUTPUTS, EXTRA_CHILDREN

    called = {link.node.uuid for link in node.base.links.get_outgoing(link_type=LinkType.CALL_WORK).all()}
    stages = {stage: Counter() for stage in STAGES}
    best = []
    for stage, children in node.base.extras.get(EXTRA_CHILDREN, {}).items():
        for uuid in children.values():
            child = orm.load_node(uuid)
            stages[stage]['reused' if uuid not in called else child_state(child)] += 1
            if stage == 'complexation' and child.is_finished_ok:
                outputs = child.outputs
                for name in BINDING_OUTPUTS:
                    if name in outputs:
                        best.append((outputs[name].value, child.inputs.smiles.value, name))
                        break
    lines = []
    if 'ranking' in node.outputs:
        for row in node.outputs.ranking['rows']:
            score = 'n/a' if row['score'] is None else f'{row["score"]:+.3f} eV'
            missing = f' (missing: {", ".join(row["missing"])})' if row['missing'] else ''
            lines.append(f'{row["rank"]:>3}. {row["smiles"]:<28} score {score}{missing}')
    elif best:
        value, smiles, name = min(best)
        lines.append(f'best binder so far: {smiles} ({name} {value:+.3f} eV)')
    state = node.process_state.value if node.process_state else 'unknown'
    if node.is_finished:
        state += f' (exit status {node.exit_status})'
    return {'state': state, 'stages': {k: dict(v) for k, v in stages.items() if v}, 'ranking': lines}
