"""Promote screened candidates to AiiDA nodes and hand the best ones to the complexation WorkChain.

Only candidates that passed a screener become nodes. Each one is the output of the calcfunction
:func:`promote_candidate`, whose inputs are the SMILES (``Str``), the screening (``Dict``: score, predictions,
uncertainty) and the screener (``Dict``: entry point, version, settings, model checkpoint hash), so the provenance
graph records which screener, at which version and with which model, picked the molecule. Its outputs are
``candidate`` (a ``Dict``: identity, score, predictions, the screener's name/version/checkpoint) and ``smiles`` (the
``Str`` that :func:`complexation_builders` passes on as the WorkChain's ``smiles`` input, so the WorkChain hangs
off the promotion in the graph). Candidates are collected in the group ``znadditive/candidates/<label>``.

Typical use::

    screener = load_screener('rules')
    screenings = screener.screen(smiles)
    candidates = promote(screenings, screener, label='moses-2026')   # passed ones only
    nodes = submit_top_k(candidates, 5, xtb_code, pyscf_code, protocol='fast')
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
from collections.abc import Callable, Iterable

from aiida import orm
from aiida.engine import calcfunction

from ..ml.screeners.base import GROUP, Screener, Screening

GROUP_PREFIX = 'znadditive/candidates/'
# Extras of a candidate node, for queries without loading the Dict: QueryBuilder can filter and order on them.
EXTRA_SCORE = 'znadditive_score'
EXTRA_INCHIKEY = 'znadditive_inchikey'
EXTRA_SCREENER = 'znadditive_screener'
EXTRA_COMPLEXATION = 'znadditive_complexation'  # UUIDs of the complexation WorkChains launched for it


class PromotionError(ValueError):
    """A candidate that cannot be promoted (it failed its screener) or launched."""


def _json_clean(value):  # noqa: PLR0911 - one return per JSON type
    """``value`` as JSON an AiiDA Dict stores: tuples/sets as lists, numpy numbers as Python ones, NaN/inf as None
    (the database refuses them), anything else unknown (a path, say) as its string."""
    if isinstance(value, dict):
        return {str(key): _json_clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_clean(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_json_clean(item) for item in value)
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value) if math.isfinite(value) else None
    return str(value)


def screener_provenance(screener: Screener | dict, checkpoint_hash: str | None = None) -> dict:
    """What a candidate records about its screener: entry point (group and name), version, settings, checkpoint.

    ``screener`` is a :class:`Screener` or its ``provenance()`` dict; ``checkpoint_hash`` overrides the one the
    provenance gives (a model screener reports the hash of its checkpoint there).
    """
    provenance = dict(screener.provenance() if isinstance(screener, Screener) else screener)
    if not provenance.get('screener') or not provenance.get('version'):
        raise PromotionError(f'Screener provenance needs `screener` and `version`, got {sorted(provenance)}')
    # A generator that picked candidates records its own group (znadditive.generators).
    group = provenance.setdefault('entry_point_group', GROUP)
    provenance['entry_point'] = f'{group}:{provenance["screener"]}'
    provenance['checkpoint_hash'] = checkpoint_hash or provenance.get('checkpoint_hash')
    provenance.setdefault('settings', {})
    return _json_clean(provenance)


def _identity(smiles: str) -> dict:
    """InChIKey, canonical SMILES, formula, charge and heavy atoms of ``smiles`` (all fragments)."""
    from rdkit import Chem
    from rdkit.Chem import rdMolDescriptors
    from rdkit.rdBase import BlockLogs

    with BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            raise PromotionError(f'Cannot promote {smiles!r}: RDKit cannot parse it')
        inchikey = Chem.MolToInchiKey(mol) or None
    return {
        'canonical_smiles': Chem.MolToSmiles(mol),
        'inchikey': inchikey,
        'formula': rdMolDescriptors.CalcMolFormula(mol),
        'charge': Chem.GetFormalCharge(mol),
        'heavy_atoms': mol.GetNumHeavyAtoms(),
    }


@calcfunction
def promote_candidate(smiles: orm.Str, screening: orm.Dict, screener: orm.Dict) -> dict:
    """A candidate node for a molecule that passed ``screener``: outputs ``candidate`` (Dict) and ``smiles`` (Str).

    ``screening`` is :meth:`Screening.as_dict` (its ``smiles`` must be ``smiles``); ``screener`` is
    :func:`screener_provenance`. Refuses (raises :class:`PromotionError`) a screening that did not pass.
    """
    result = screening.get_dict()
    if not result.get('passed'):
        raise PromotionError(f'{smiles.value!r} failed `{screener["screener"]}`: {"; ".join(result["reasons"])}')
    if result.get('smiles') != smiles.value:
        raise PromotionError(f'The screening is of {result.get("smiles")!r}, not of {smiles.value!r}')
    candidate = {
        'smiles': smiles.value,
        **_identity(smiles.value),
        'score': result.get('score'),
        'predictions': result.get('predictions', {}),
        'uncertainty': result.get('uncertainty', {}),
        'screener': screener['screener'],
        'screener_version': screener['version'],
        'entry_point': screener['entry_point'],
        'checkpoint_hash': screener.get('checkpoint_hash'),
    }
    return {'candidate': orm.Dict(_json_clean(candidate)), 'smiles': orm.Str(smiles.value)}


def candidate_group(label: str) -> orm.Group:
    """The group ``znadditive/candidates/<label>`` (created when missing)."""
    group, _ = orm.Group.collection.get_or_create(label=f'{GROUP_PREFIX}{label}')
    return group


def screener_node(screener: Screener | dict | orm.Dict, checkpoint_hash: str | None = None) -> orm.Dict:
    """A stored Dict of :func:`screener_provenance`, shared by every candidate of one promotion (one node per batch
    in the graph); a stored Dict is returned as it is."""
    if isinstance(screener, orm.Dict):
        if checkpoint_hash is not None and screener.get('checkpoint_hash') != checkpoint_hash:
            raise PromotionError('checkpoint_hash differs from the one of the given screener node')
        return screener if screener.is_stored else screener.store()
    node = orm.Dict(screener_provenance(screener, checkpoint_hash))
    node.label = f'{node["screener"]} {node["version"]}'
    node.description = f'Screener {node["entry_point"]} (version {node["version"]})'
    return node.store()


def promote_one(screening: Screening, screener: orm.Dict, group: orm.Group | None = None) -> orm.Dict:
    """Promote one screening that passed; :class:`PromotionError` for one that failed (no node is created)."""
    if not screening.passed:
        reasons = '; '.join(screening.reasons) or 'no reason given'
        raise PromotionError(f'{screening.smiles!r} failed `{screener["screener"]}` and is not promoted: {reasons}')
    outputs = promote_candidate(
        smiles=orm.Str(screening.smiles),
        screening=orm.Dict(_json_clean(dataclasses.asdict(screening))),
        screener=screener,
        metadata={'label': f'promote {screening.smiles}'},
    )
    candidate = outputs['candidate']
    candidate.base.extras.set_many(
        {
            EXTRA_SCORE: candidate['score'],
            EXTRA_INCHIKEY: candidate['inchikey'],
            EXTRA_SCREENER: f'{screener["screener"]} {screener["version"]}',
        }
    )
    if group is not None:
        group.add_nodes(candidate)
    return candidate


def promote(
    screenings: Iterable[Screening],
    screener: Screener | dict | orm.Dict,
    label: str,
    *,
    checkpoint_hash: str | None = None,
) -> list[orm.Dict]:
    """Promote the screenings that passed (the others are left out, by design) into ``znadditive/candidates/<label>``.

    :param screenings: what ``screener.screen`` returned.
    :param screener: the screener (or its provenance dict, or a stored screener Dict from an earlier promotion).
    :param label: the group's label after ``znadditive/candidates/``.
    :param checkpoint_hash: the model checkpoint's hash, when the screener's provenance does not give it.
    :return: the candidate Dict nodes, in the order of ``screenings``.
    """
    passed = [screening for screening in screenings if screening.passed]
    if not passed:
        return []
    group = candidate_group(label)
    # Promoting is idempotent: a molecule already in the group, promoted by a screener with the very same
    # provenance (entry point, version, settings, seed, checkpoint), keeps its node; a rerun campaign used to double
    # its candidates.
    provenance = (
        screener.get_dict() if isinstance(screener, orm.Dict) else screener_provenance(screener, checkpoint_hash)
    )
    earlier = _promoted_in(group, provenance)
    node = None
    candidates = []
    for screening in passed:
        found = earlier.get(_identity(screening.smiles)['inchikey'])
        if found is None:
            node = node or screener_node(screener, checkpoint_hash)
            found = promote_one(screening, node, group)
        candidates.append(found)
    return candidates


def _promoted_in(group: orm.Group, provenance: dict) -> dict[str, orm.Dict]:
    """The group's candidates promoted by a screener of exactly this ``provenance``, by InChIKey."""
    wanted = json.dumps(_json_clean(provenance), sort_keys=True)
    found = {}
    for candidate in group.nodes:
        creator = candidate.creator if isinstance(candidate, orm.Dict) else None
        if creator is None or 'screener' not in creator.inputs:
            continue
        if json.dumps(creator.inputs.screener.get_dict(), sort_keys=True) == wanted:
            found.setdefault(candidate.get('inchikey'), candidate)
    return found


def candidates_of(candidates: orm.Group | str | Iterable[orm.Dict]) -> list[orm.Dict]:
    """Candidate nodes from a group, a group label (with or without the ``znadditive/candidates/`` prefix) or nodes."""
    if isinstance(candidates, str):
        label = candidates if candidates.startswith(GROUP_PREFIX) else f'{GROUP_PREFIX}{candidates}'
        candidates = orm.load_group(label)
    nodes = list(candidates.nodes) if isinstance(candidates, orm.Group) else list(candidates)
    for node in nodes:
        if not isinstance(node, orm.Dict) or 'inchikey' not in node.get_dict():
            raise PromotionError(f'{node!r} is not a promoted candidate')
    return nodes


def top_k(candidates: orm.Group | str | Iterable[orm.Dict], k: int) -> list[orm.Dict]:
    """The ``k`` best candidates by score (ties: InChIKey, then pk), one per InChIKey (its best promotion)."""
    best: dict[str, orm.Dict] = {}
    for node in sorted(candidates_of(candidates), key=_rank_key):
        best.setdefault(node['inchikey'] or node['canonical_smiles'], node)
    return sorted(best.values(), key=_rank_key)[: max(k, 0)]


def _rank_key(node: orm.Dict) -> tuple:
    score = node['score']
    return (-(score if score is not None else -math.inf), node['inchikey'] or '', node.pk)


def candidate_smiles(candidate: orm.Dict) -> orm.Str:
    """The ``smiles`` Str output of the promotion that made ``candidate`` (the node to feed WorkChains with)."""
    try:
        return candidate.creator.outputs['smiles']
    except (AttributeError, KeyError):
        raise PromotionError(f'{candidate!r} was not made by promote_candidate') from None


def complexation_builders(
    candidates: orm.Group | str | Iterable[orm.Dict],
    k: int,
    prerank_code: orm.AbstractCode,
    dft_code: orm.AbstractCode,
    *,
    protocol: str | None = None,
    overrides: dict | None = None,
    prerank_calculator: str = 'xtb',
    dft_calculator: str = 'pyscf',
) -> tuple[list[tuple[orm.Dict, object]], list[tuple[orm.Dict, str]]]:
    """Builders of ``ZnComplexationWorkChain`` for the ``k`` best candidates the WorkChain accepts.

    Candidates are taken by score; one the protocol's ligand settings refuse (too many heavy atoms for it, an
    element it lacks, no donor) is skipped with its reason and the next one is taken, so up to ``k`` builders come
    back. Each builder's ``smiles`` is the candidate's ``smiles`` node (see :func:`candidate_smiles`).

    :return: ``(builders, skipped)``: ``[(candidate, builder)]`` best first, and ``[(candidate, reason)]``.
    """
    from ..protocols import resolve_protocol
    from ..structures.candidates import prepare_ligand
    from ..structures.ligands import LigandError
    from ..workchains.complexation import ZnComplexationWorkChain

    _, settings = resolve_protocol('complexation', protocol, overrides)
    nodes = candidates_of(candidates)
    ranked = top_k(nodes, len(nodes))
    builders, skipped = [], []
    for candidate in ranked:
        if len(builders) >= k:
            break
        smiles = candidate_smiles(candidate)
        try:
            prepare_ligand(smiles.value, settings['ligand'])
        except LigandError as error:
            skipped.append((candidate, str(error)))
            continue
        builder = ZnComplexationWorkChain.get_builder_from_protocol(
            prerank_code,
            dft_code,
            smiles.value,
            protocol=protocol,
            overrides=overrides,
            prerank_calculator=prerank_calculator,
            dft_calculator=dft_calculator,
        )
        builder.smiles = smiles  # the promotion's output: the WorkChain is linked to the screener in the graph
        builder.metadata.description = (
            f'Top-{k} candidate of {candidate["screener"]} {candidate["screener_version"]} '
            f'(score {candidate["score"]}, candidate pk {candidate.pk})'
        )
        builders.append((candidate, builder))
    return builders, skipped


def submit_top_k(
    candidates: orm.Group | str | Iterable[orm.Dict],
    k: int,
    prerank_code: orm.AbstractCode,
    dft_code: orm.AbstractCode,
    *,
    protocol: str | None = None,
    overrides: dict | None = None,
    prerank_calculator: str = 'xtb',
    dft_calculator: str = 'pyscf',
    launcher: Callable | None = None,
) -> list[orm.ProcessNode]:
    """Submit ``znadditive.complexation`` for the ``k`` best candidates (see :func:`complexation_builders`).

    ``launcher`` defaults to :func:`aiida.engine.submit` (the daemon runs them); pass e.g. a function calling
    ``aiida.engine.run_get_node`` to run them in this process. Each candidate's extra ``znadditive_complexation``
    lists the UUIDs of the WorkChains launched for it.
    """
    from aiida.engine import submit

    launcher = launcher or submit
    builders, _ = complexation_builders(
        candidates,
        k,
        prerank_code,
        dft_code,
        protocol=protocol,
        overrides=overrides,
        prerank_calculator=prerank_calculator,
        dft_calculator=dft_calculator,
    )
    nodes = []
    for candidate, builder in builders:
        node = launcher(builder)
        if isinstance(node, tuple):  # run_get_node returns (results, node)
            node = node[-1]
        launched = list(candidate.base.extras.get(EXTRA_COMPLEXATION, []))
        candidate.base.extras.set(EXTRA_COMPLEXATION, [*launched, node.uuid])
        nodes.append(node)
    return nodes


__all__ = (
    'GROUP_PREFIX',
    'PromotionError',
    'candidate_group',
    'candidate_smiles',
    'candidates_of',
    'complexation_builders',
    'promote',
    'promote_candidate',
    'promote_one',
    'screener_node',
    'screener_provenance',
    'submit_top_k',
    'top_k',
)
