"""Find the result WorkChains behind a table: by group, by campaign, by molecule (SMILES or InChIKey), by level.

Every helper returns stored nodes of the provenance graph; the tables (:mod:`.complexation`) read their numbers from
those nodes' outputs only, so a row can always be traced back to the calcfunction that made each number.
"""

from __future__ import annotations

from aiida import orm

from ..workchains.campaign import campaign_group_label

#: result kind -> the WorkChain's entry point in ``aiida.workflows``
WORKCHAINS = {
    'complexation': 'znadditive.complexation',
    'solvation': 'znadditive.solvation',
    'adsorption': 'znadditive.adsorption',
    'redox': 'znadditive.redox',
    'campaign': 'znadditive.campaign',
}


class ReportError(ValueError):
    """A request that names something that does not exist or holds no results; the message says which."""


def result_nodes(
    kind: str,
    *,
    group: str | None = None,
    campaign: str | int | None = None,
    molecule: str | None = None,
    finished_ok: bool = True,
) -> list[orm.WorkflowNode]:
    """The ``kind`` WorkChains (:data:`WORKCHAINS`), oldest first, filtered by ``group`` (label), ``campaign`` (PK or
    UUID of a CampaignWorkChain: the WorkChains it called) and ``molecule`` (SMILES or InChIKey, matched on the
    molecule as given and on the species computed). ``finished_ok``: leave out failed and running ones."""
    if kind not in WORKCHAINS:
        raise ReportError(f'no result kind `{kind}`; choose from {", ".join(WORKCHAINS)}')
    builder = orm.QueryBuilder()
    filters = {'attributes.process_state': 'finished'}
    if finished_ok:
        filters['attributes.exit_status'] = 0
    process_type = f'aiida.workflows:{WORKCHAINS[kind]}'
    if group is not None:
        builder.append(orm.Group, filters={'label': existing_group(group).label}, tag='group')
        builder.append(orm.WorkflowNode, with_group='group', filters={**filters, 'process_type': process_type})
    else:
        builder.append(orm.WorkflowNode, filters={**filters, 'process_type': process_type})
    nodes = sorted((node for (node,) in builder.all()), key=lambda node: node.ctime)
    if campaign is not None:
        chosen = campaign_node(campaign)
        if kind == 'campaign':  # the campaign's own results: its ranking
            return [node for node in nodes if node.pk == chosen.pk]
        # what it launched, and what it reused from earlier campaigns (not called by it, but in its group)
        members = {node.pk for node in chosen.called_descendants}
        group = orm.QueryBuilder().append(orm.Group, filters={'label': campaign_group_label(chosen)}).first(flat=True)
        members |= {node.pk for node in group.nodes} if group is not None else set()
        nodes = [node for node in nodes if node.pk in members]
    if molecule is not None:
        key = inchikey(molecule)
        nodes = [node for node in nodes if key in _node_keys(node)]
    return nodes


def inchikey(text: str) -> str:
    """The InChIKey of a SMILES, or ``text`` itself when it is one (27 characters, hyphens at 14 and 25)."""
    text = text.strip()
    if len(text) == 27 and text[14] == '-' and text[25] == '-':
        return text.upper()
    from rdkit import Chem

    molecule = Chem.MolFromSmiles(text)
    if molecule is None:
        raise ReportError(f'`{text}` is neither a SMILES RDKit can read nor an InChIKey')
    return Chem.MolToInchiKey(molecule)


def _node_keys(node: orm.WorkflowNode) -> set[str]:
    """InChIKeys of a result's molecule: as given, and as the species computed at the pH (glycine and glycinate)."""
    from rdkit import Chem

    smiles = [node.inputs.smiles.value] if 'smiles' in node.inputs else []
    if 'species' in node.outputs:
        smiles.append(node.outputs.species['smiles'])
    keys = set()
    for text in smiles:
        molecule = Chem.MolFromSmiles(text)
        if molecule is not None:
            keys.add(Chem.MolToInchiKey(molecule))
    return keys


def existing_group(label: str) -> orm.Group:
    """The group ``label``, or a ReportError that lists the profile's groups (the first 20)."""
    from aiida.common.exceptions import NotExistent

    try:
        return orm.load_group(label)
    except NotExistent:
        known = [group.label for group in orm.QueryBuilder().append(orm.Group, project='*').all(flat=True)]
        hint = f'; groups: {", ".join(sorted(known)[:20])}' if known else '; this profile has no groups'
        raise ReportError(f'no group `{label}`{hint}') from None


def campaign_node(identifier: str | int) -> orm.WorkflowNode:
    """The CampaignWorkChain of this PK or UUID, or a ReportError saying what the node is instead."""
    from aiida.common.exceptions import NotExistent

    try:
        node = orm.load_node(identifier)
    except (NotExistent, ValueError):
        raise ReportError(f'no node `{identifier}`: give the PK or UUID of a CampaignWorkChain') from None
    if node.process_type != f'aiida.workflows:{WORKCHAINS["campaign"]}':
        raise ReportError(f'node {identifier} is a {node.process_label or type(node).__name__}, not a campaign')
    return node
