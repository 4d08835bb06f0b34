"""Read the links of many nodes in a few queries: what makes a report of 1,000 results take seconds, not an hour.

The tables read the graph through aiida-core's own API (``node.inputs.x``, ``node.outputs.x``, ``node.called``), and
the calculators' ``describe`` does the same on the engine processes. Each of those calls is one query (and loads every
node linked by that link type), so a report of 1,000 complexation results ran ~100,000 queries: ~2.5 s a result on
this machine. :func:`batched_links` gives the nodes a :class:`SharedLinks` instead of their own link interface: when
one of them first asks for its links of some types in one direction, the links of every node of the same kind in the
batch are fetched with them, in one query per 500 nodes; the nodes those links reach join the batch, so the next level
down (the CalculatorWorkChains, then their engine processes) is fetched the same way. The answers are the same
triples, in the same order (by link id), as aiida-core's own query gives: the tables stay byte-identical.
"""

from __future__ import annotations

import contextlib
import typing as t

from aiida import orm
from aiida.common.escaping import sql_string_match
from aiida.common.links import LinkType
from aiida.orm.nodes.links import NodeLinks
from aiida.orm.utils.links import LinkTriple
from sqlalchemy import column, select, table

#: nodes per query: well under SQLite's limit of bound parameters
CHUNK = 500


class LinkCache:
    """The links of a batch of stored nodes, fetched per (direction, link types) for all nodes of one kind at once."""

    def __init__(self) -> None:
        self.nodes: dict[int, orm.Node] = {}
        #: node type -> the PKs of the batch's nodes of that type (read once: each read of a stored node's field is a
        #: call through aiida-core's model wrapper)
        self.kinds: dict[str, list[int]] = {}
        #: (direction, link types) -> {pk: [(link id, LinkTriple)]} for the nodes already fetched
        self.links: dict[tuple[str, tuple[str, ...]], dict[int, list]] = {}

    def add(self, node: orm.Node) -> orm.Node:
        """``node`` joins the batch (or the copy already in it is returned, so a shared input is one object)."""
        pk = node.pk
        known = self.nodes.get(pk)
        if known is not None:
            return known
        self.nodes[pk] = node
        self.kinds.setdefault(node.node_type, []).append(pk)
        # ``base.links`` is a cached property: the instance's own value replaces aiida-core's per-node query interface.
        node.base.__dict__['links'] = SharedLinks(node, self, pk)
        return node

    def triples(self, pk: int, direction: str, link_types: tuple[str, ...]) -> list[LinkTriple]:
        key = (direction, link_types)
        fetched = self.links.setdefault(key, {})
        if pk not in fetched:
            kind = self.nodes[pk].node_type
            pending = [other for other in self.kinds[kind] if other not in fetched]
            for start in range(0, len(pending), CHUNK):
                self._fetch(pending[start : start + CHUNK], direction, link_types, fetched)
        return [triple for _, triple in fetched[pk]]

    def _fetch(self, pks: list[int], direction: str, link_types: tuple[str, ...], fetched: dict) -> None:
        """The links of ``pks``; the nodes at their other ends are loaded once each (many share an input: a code, a
        protocol name), in a query of their own."""
        rows = _link_rows(pks, direction, link_types)
        missing = sorted({row[1] for row in rows} - self.nodes.keys())
        for start in range(0, len(missing), CHUNK):
            chunk = missing[start : start + CHUNK]
            for (node,) in orm.QueryBuilder().append(orm.Node, filters={'id': {'in': chunk}}).iterall(batch_size=CHUNK):
                self.add(node)
        for pk in pks:
            fetched[pk] = []
        for pk, other, link_id, link_type, label in sorted(rows, key=lambda row: row[2]):
            fetched[pk].append((link_id, LinkTriple(self.nodes[other], LinkType(link_type), label)))


#: aiida-core's link table (the same in its PostgreSQL and SQLite storages)
LINKS = table('db_dblink', column('id'), column('input_id'), column('output_id'), column('label'), column('type'))


def _link_rows(pks: list[int], direction: str, link_types: tuple[str, ...]) -> list[tuple]:
    """``(pk, other pk, link id, link type, label)`` of the links of ``pks`` in ``direction``. Read from the link
    table in SQL: aiida-core's QueryBuilder turns every projected value into a backend entity first, ~0.1 ms a value
    on this machine, and the links of 1,000 results are ~240,000 rows. Storages without a SQL session (none of
    aiida-core's own) go through the QueryBuilder."""
    from aiida.manage import get_manager

    storage = get_manager().get_profile_storage()
    if not hasattr(storage, 'get_session'):
        edge_filters = {'type': {'in': list(link_types)}} if link_types else {}
        builder = orm.QueryBuilder().append(orm.Node, filters={'id': {'in': pks}}, project='id', tag='main')
        relation = {'with_incoming' if direction == 'outgoing' else 'with_outgoing': 'main'}
        edge = {'edge_project': ['id', 'type', 'label'], 'edge_filters': edge_filters}
        return builder.append(orm.Node, project='id', **edge, **relation).all()
    own, other = (LINKS.c.input_id, LINKS.c.output_id)[:: 1 if direction == 'outgoing' else -1]
    statement = select(own, other, LINKS.c.id, LINKS.c.type, LINKS.c.label).where(own.in_(pks))
    if link_types:
        statement = statement.where(LINKS.c.type.in_(link_types))
    return [tuple(row) for row in storage.get_session().execute(statement)]


class SharedLinks(NodeLinks):
    """aiida-core's link interface of one node, answered from the batch's :class:`LinkCache`."""

    def __init__(self, node: orm.Node, cache: LinkCache, pk: int) -> None:
        super().__init__(node)
        self._cache, self._pk = cache, pk

    def get_stored_link_triples(
        self,
        node_class: type[orm.Node] | None = None,
        link_type: LinkType | t.Sequence[LinkType] = (),
        link_label_filter: str | None = None,
        link_direction: str = 'incoming',
        only_uuid: bool = False,
    ) -> list[LinkTriple]:
        types = (link_type,) if isinstance(link_type, LinkType) else tuple(link_type)
        key = tuple(sorted(LinkType(value).value for value in types))
        triples = self._cache.triples(self._pk, link_direction, key)
        if node_class is not None:
            triples = [triple for triple in triples if isinstance(triple.node, node_class)]
        if link_label_filter:
            triples = [link for link in triples if sql_string_match(string=link.link_label, pattern=link_label_filter)]
        if only_uuid:
            triples = [LinkTriple(triple.node.uuid, triple.link_type, triple.link_label) for triple in triples]
        return triples


def linked(node: orm.Node, link_type: LinkType, direction: str) -> dict[str, orm.Node]:
    """``{link label: node}`` of ``node``'s links of one type (labels as stored: a namespace's ``a__b``)."""
    links = node.base.links.get_outgoing if direction == 'outgoing' else node.base.links.get_incoming
    return {link.link_label: link.node for link in links(link_type=link_type).all()}


@contextlib.contextmanager
def batched_links(nodes: t.Iterable[orm.Node]):
    """Within the block, ``nodes`` (stored) read their links in batches (module docstring); after it, every node
    touched reads its own links again, so a caller's nodes see links added later. A block inside another, over nodes
    already batched, uses the outer batch (and never ends it early)."""
    nodes = list(nodes)
    if any(isinstance(node.base.__dict__.get('links'), SharedLinks) for node in nodes):
        yield nodes
        return
    cache = LinkCache()
    for node in nodes:
        cache.add(node)  # a second object of a PK already in the batch keeps reading its own links
    try:
        yield nodes
    finally:
        for node in cache.nodes.values():
            node.base.__dict__.pop('links', None)


@contextlib.contextmanager
def one_transaction():
    """Read inside one database transaction (nothing is written). Outside one, aiida-core re-reads a stored node's
    attributes from the database at every access (another process may have changed them): one query per number of
    the table. Inside, each node is read once; nested uses join the outer transaction rather than commit it, which
    would expire every node loaded so far."""
    from aiida.manage import get_manager

    storage = get_manager().get_profile_storage()
    if storage.in_transaction:
        yield
        return
    with storage.transaction():
        yield
