"""``export``: an AiiDA archive of exactly the nodes behind a set of results.

aiida-core's default export rules follow CALL links backwards. A result that reused a reference ([Zn(H2O)6]2+, H2O,
computed once per level by whichever WorkChain needed it first) then pulled in that first WorkChain and everything it
computed: the archive of one molecule held another molecule's results. Here the traversal does not go up CALL links
(``call_calc_backward``/``call_work_backward`` off), and the reference calculations a result used are added as entities
of their own: the archive holds each result's own subgraph, each reference's own subgraph (its engine runs and its
starting structure), and nothing else.
"""

from __future__ import annotations

from pathlib import Path

from aiida import orm
from aiida.common.links import LinkType

from ..workchains.references import GROUP as REFERENCE_GROUP

#: aiida-core's export traversal with the backward CALL rules off (module docstring)
TRAVERSAL = {'call_calc_backward': False, 'call_work_backward': False}


def references_used(nodes: list[orm.WorkflowNode]) -> list[orm.WorkflowNode]:
    """The reference calculations (members of the references group) whose outputs the calcfunctions under ``nodes``
    took as inputs, without the ones ``nodes`` called themselves (those are in their subgraph already)."""
    group = orm.QueryBuilder().append(orm.Group, filters={'label': REFERENCE_GROUP}).first(flat=True)
    if group is None:
        return []
    members = {node.pk for node in group.nodes}
    found: dict[int, orm.WorkflowNode] = {}
    for result in nodes:
        own = {node.pk for node in result.called_descendants}
        for calculation in result.called_descendants:
            if not isinstance(calculation, orm.CalcFunctionNode):
                continue
            for data in calculation.base.links.get_incoming(link_type=LinkType.INPUT_CALC).all_nodes():
                for link in data.base.links.get_incoming(link_type=LinkType.RETURN).all():
                    if link.node.pk in members and link.node.pk not in own:
                        found[link.node.pk] = link.node
    return sorted(found.values(), key=lambda node: node.ctime)


def export_results(nodes: list[orm.WorkflowNode], path: Path, *, groups: list[orm.Group] = (), overwrite=False) -> dict:
    """Write the archive of ``nodes`` (and the references they used; ``groups``: their memberships too, so that
    ``report --group`` works on the imported archive) to ``path``; what went in."""
    from aiida.tools.archive import create_archive

    references = references_used(nodes)
    entities = [*nodes, *references, *groups]
    create_archive(entities, filename=path, overwrite=overwrite, **TRAVERSAL)
    return {'results': len(nodes), 'references': len(references), 'path': str(path)}
