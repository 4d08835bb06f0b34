"""Every screener registered in ``znadditive.screeners`` honours the interface of ``screeners/base.py``.

A screener that needs a model raises ``ScreenerError`` without one; it then offers the classmethod
``for_tests(directory)`` returning an instance with a tiny model written under ``directory``, and is checked with
that. The promotion of what passes (calcfunction links, group, extras) and the top-k builders for the complexation
WorkChain are checked here too, for every screener; the builders are not run.
"""

from __future__ import annotations

import importlib.util
import json
import math
from importlib.metadata import entry_points

import pytest
from aiida import orm

from aiida_znadditive.ml.screeners.base import GROUP, Screener, ScreenerError, Screening, load_screener, screener_names
from aiida_znadditive.orchestration.promotion import (
    EXTRA_COMPLEXATION,
    GROUP_PREFIX,
    PromotionError,
    candidate_smiles,
    complexation_builders,
    promote,
    promote_candidate,
    promote_one,
    screener_node,
    screener_provenance,
    submit_top_k,
    top_k,
)

BROKEN = 'C1CC(N'  # unclosed ring and branch: no screener can read it
# A diacid (a dianion at pH 4.5) and a lipophilic alcohol (logP above the rules' ceiling) among ordinary additives.
# Malonic acid and decanol rather than citric acid and hexadecanol: the xtb screener labels every binding mode and
# conformer, and those two took 2 of the suite's minutes for the same contract.
BATCH = ['OCCO', 'CS(C)=O', BROKEN, 'CC(=O)[O-]', 'c1ccncc1', 'OC(=O)CC(=O)O', 'CCCCCCCCCCO']


def make_screener(name: str, directory) -> Screener:
    """The screener ``name`` as registered; with a tiny test model (``for_tests``) when it needs one."""
    entry = next(entry for entry in entry_points(group=GROUP) if entry.name == name)
    module = entry.value.split(':')[0]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f'screener `{name}`: its module {module} does not exist yet')
    try:
        return load_screener(name)
    except ScreenerError as error:
        factory = getattr(entry.load(), 'for_tests', None)
        if factory is None:
            pytest.fail(f'screener `{name}` cannot be set up ({error}) and offers no `for_tests(directory)`')
        return factory(directory)


@pytest.fixture(params=screener_names())
def screener(request, tmp_path_factory) -> Screener:
    return make_screener(request.param, tmp_path_factory.mktemp(request.param))


def test_rules_and_xtb_are_registered():
    assert {'rules', 'xtb', 'gnn'} <= set(screener_names())


def test_screening_contract(screener):
    results = screener.screen(BATCH)
    assert len(results) == len(BATCH)
    assert all(isinstance(result, Screening) for result in results)
    assert [result.smiles for result in results] == BATCH
    broken = results[BATCH.index(BROKEN)]
    assert not broken.passed
    assert broken.reasons and all(isinstance(reason, str) and reason.strip() for reason in broken.reasons)
    for result in results:
        assert isinstance(result.passed, bool)
        if result.passed:
            assert result.reasons == []
            assert isinstance(result.score, float) and math.isfinite(result.score)
        else:
            assert result.reasons, result
            assert result.score is None or math.isfinite(result.score)
        # Predictions are numbers; their uncertainty has the same keys (None where unknown, else a std ≥ 0).
        assert set(result.uncertainty) == set(result.predictions), result
        for key, value in result.predictions.items():
            assert isinstance(key, str)
            assert isinstance(value, (int, float)) and not isinstance(value, bool), (key, value)
            if result.passed:
                assert math.isfinite(value), (key, value)
        for key, sigma in result.uncertainty.items():
            assert sigma is None or (math.isfinite(sigma) and sigma >= 0), (key, sigma)
        json.dumps(result.as_dict())  # what promotion stores must be plain data


def test_rows_and_empty_batches(screener):
    assert screener.screen([]) == []
    with_rows = screener.screen(BATCH[:3], rows=[{} for _ in BATCH[:3]])
    assert [result.smiles for result in with_rows] == BATCH[:3]


def test_provenance(screener):
    provenance = screener.provenance()
    assert provenance['screener'] == screener.name
    assert isinstance(provenance['version'], str) and provenance['version']
    assert isinstance(provenance['settings'], dict)
    recorded = screener_provenance(screener)
    json.dumps(recorded)
    assert recorded['entry_point'] == f'{GROUP}:{screener.name}'
    assert 'checkpoint_hash' in recorded


def test_passed_candidates_become_linked_nodes(screener, aiida_profile):
    results = screener.screen(BATCH)
    passed = [result for result in results if result.passed]
    label = f'conformance-{screener.name}'
    candidates = promote(results, screener, label)
    assert [candidate['smiles'] for candidate in candidates] == [result.smiles for result in passed]
    group = orm.load_group(f'{GROUP_PREFIX}{label}')
    assert {node.uuid for node in group.nodes} >= {candidate.uuid for candidate in candidates}
    for candidate, result in zip(candidates, passed, strict=True):
        creator = candidate.creator
        assert creator.process_label == 'promote_candidate'
        screener_input = creator.inputs.screener
        assert screener_input['screener'] == screener.name
        assert screener_input['version'] == screener.version
        assert screener_input['entry_point'] == f'{GROUP}:{screener.name}'
        assert screener_input['checkpoint_hash'] == screener.provenance().get('checkpoint_hash')
        assert creator.inputs.smiles.value == result.smiles
        assert creator.inputs.screening['passed'] is True
        assert candidate['score'] == pytest.approx(result.score)
        assert candidate['screener_version'] == screener.version
        assert candidate['inchikey'] and len(candidate['inchikey']) == 27
        assert candidate_smiles(candidate).value == result.smiles
    # One screener node for the whole batch.
    assert len({candidate.creator.inputs.screener.uuid for candidate in candidates}) == 1


def test_failed_candidates_are_refused(aiida_profile):
    screener = load_screener('rules')
    failed = screener.screen([BROKEN])[0]
    node = screener_node(screener)
    with pytest.raises(PromotionError, match='failed `rules` and is not promoted'):
        promote_one(failed, node)
    # Called directly, the calcfunction refuses it too.
    with pytest.raises(PromotionError, match='failed `rules`'):
        promote_candidate(orm.Str(BROKEN), orm.Dict(failed.as_dict()), node)
    assert promote([failed], screener, 'conformance-nothing') == []


def test_checkpoint_hash_is_recorded(aiida_profile):
    candidates = promote(load_screener('rules').screen(['OCCO']), load_screener('rules'), 'hash', checkpoint_hash='abc')
    assert candidates[0].creator.inputs.screener['checkpoint_hash'] == 'abc'
    assert candidates[0]['checkpoint_hash'] == 'abc'


def test_top_k_builders_for_the_complexation_workchain(aiida_profile, aiida_localhost):
    from aiida_znadditive.workchains.complexation import ZnComplexationWorkChain

    screener = load_screener('rules')
    # Ethylene glycol, glycerol and acetate score 1 (ties go by InChIKey), the polyether 0.95, DMSO 0.91. The
    # 26-heavy-atom polyether passes the rules (≤ 40) but the `fast` complexation protocol takes at most 20 heavy
    # atoms: it is skipped and DMSO taken instead.
    smiles = ['CS(C)=O', 'OCCO', 'COCCOCCOCCOCCOCCOCCOCCOCCO', 'OCC(O)CO', 'CC(=O)[O-]']
    candidates = promote(screener.screen(smiles), screener, 'top-k')
    assert [node['smiles'] for node in candidates] == smiles
    assert [node['smiles'] for node in top_k(candidates, 3)] == ['OCCO', 'OCC(O)CO', 'CC(=O)[O-]']
    code = orm.InstalledCode(computer=aiida_localhost, filepath_executable='/bin/true', label='top-k').store()
    builders, skipped = complexation_builders(f'{GROUP_PREFIX}top-k', 4, code, code, protocol='fast')
    assert [candidate['smiles'] for candidate, _ in skipped] == ['COCCOCCOCCOCCOCCOCCOCCOCCO']
    assert 'heavy atoms' in skipped[0][1]
    assert [candidate['smiles'] for candidate, _ in builders] == ['OCCO', 'OCC(O)CO', 'CC(=O)[O-]', 'CS(C)=O']
    spec = ZnComplexationWorkChain.spec()
    for candidate, builder in builders:
        assert builder.smiles.value == candidate['smiles']
        assert builder.smiles.uuid == candidate_smiles(candidate).uuid  # linked to the promotion
        assert builder.prerank.code.uuid == code.uuid and builder.dft.code.uuid == code.uuid
        assert builder.settings['ligand']['conformers'] == 5  # the `fast` protocol
        assert spec.inputs.validate(builder._inputs(prune=True)) is None

    launched = []

    def launcher(builder):
        launched.append(builder)
        return orm.WorkflowNode().store()  # stands in for the submitted WorkChain

    nodes = submit_top_k(candidates, 2, code, code, protocol='fast', launcher=launcher)
    assert len(nodes) == len(launched) == 2
    assert [builder.smiles.value for builder in launched] == [candidate['smiles'] for candidate, _ in builders[:2]]
    assert builders[0][0].base.extras.get(EXTRA_COMPLEXATION) == [nodes[0].uuid]
