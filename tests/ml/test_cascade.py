"""The screening cascade: rules then gnn, as one after the other; bad molecules; order and bounds with processes."""

from __future__ import annotations

import collections

import pytest

from aiida_znadditive.ml.screeners.base import Screener, ScreenerError, Screening
from aiida_znadditive.ml.screeners.cascade import (
    Cascade,
    CascadeResult,
    defer_costly_rules,
    screen_library,
    stage_labels,
)
from aiida_znadditive.ml.screeners.gnn import GnnScreener
from aiida_znadditive.ml.screeners.rules import RulesScreener

from .test_rules import BENZYLIDENE_RHODANINE, moses_sample

BROKEN = 'C1CC(N'  # unclosed ring and branch
ADDITIVES = ['OCCO', 'CS(C)=O', 'CC(=O)[O-]', 'c1ccncc1', 'OCC(O)CO', 'O=C1OCCO1', '[Na+].CC(=O)[O-]', 'CCCCCCCCCCCCO']


pytestmark = pytest.mark.usefixtures('one_torch_thread')


@pytest.fixture(scope='module')
def screeners(tmp_path_factory) -> list[Screener]:
    return [RulesScreener(), GnnScreener.for_tests(tmp_path_factory.mktemp('cascade'))]


@pytest.fixture(scope='module')
def library() -> list[str]:
    """Additives, MOSES molecules (when installed) and a broken SMILES in the middle."""
    molecules = ADDITIVES + moses_sample(40)
    return [*molecules[:20], BROKEN, '', *molecules[20:]]


class Exploding(Screener):
    """Passes everything but raises, for a whole batch, when it holds ``CCCCO``: a screener with a bug."""

    name = 'exploding'
    version = '0'

    def screen(self, smiles, rows=None):
        if 'CCCCO' in smiles:
            raise RuntimeError('boom')
        return [Screening(smiles=item, passed=True, score=1.0) for item in smiles]


def test_cascade_equals_the_screeners_one_after_another(screeners, library):
    rules, gnn = screeners
    results = list(screen_library(library, screeners, processes=1, chunk_size=len(library)))
    assert [result.smiles for result in results] == library
    expected_rules = rules.screen(library)
    passed = [screening.smiles for screening in expected_rules if screening.passed]
    expected_gnn = iter(gnn.screen(passed))
    assert 0 < len(passed) < len(library)
    for result, by_rules in zip(results, expected_rules, strict=True):
        assert result.screenings['rules'] == by_rules
        if by_rules.passed:
            by_gnn = next(expected_gnn)
            assert result.screenings['gnn'] == by_gnn  # same molecules in one forward pass: the same numbers
            assert result.passed == by_gnn.passed
            assert result.failed_at == (None if by_gnn.passed else 'gnn')
            assert result.score == by_gnn.score
        else:
            assert list(result.screenings) == ['rules']  # the gnn never sees what rules failed
            assert not result.passed and result.failed_at == 'rules'
            assert result.reasons == by_rules.reasons
    # The gnn's screenings of molecules handed over by rules equal those from parsing their SMILES (salts too).
    _, mols = rules.screen_parsed(passed)
    assert all(mol is not None for mol in mols)
    assert gnn.screen_parsed(passed, mols)[0] == gnn.screen(passed)


def test_bad_molecules_are_reported_and_the_rest_screened(screeners, library):
    rules, gnn = screeners
    cascade = Cascade([rules, Exploding(), gnn])
    assert cascade.labels == ['rules', 'exploding', 'gnn']
    with_bomb = [*library[:10], 'CCCCO', *library[10:]]
    results = cascade.screen(with_bomb)
    by_smiles = {result.smiles: result for result in results}
    assert by_smiles[BROKEN].failed_at == 'rules'
    assert by_smiles[BROKEN].reasons == ['unparseable SMILES (RDKit cannot sanitise it)']
    assert by_smiles[''].reasons == ['empty or non-string SMILES']
    bomb = by_smiles['CCCCO']
    assert bomb.failed_at == 'exploding' and bomb.reasons == ['exploding failed on this molecule (RuntimeError: boom)']
    # Everything else that passed rules went through the exploding stage and on to the gnn.
    for result in results:
        if result.screenings['rules'].passed and result.smiles != 'CCCCO':
            assert list(result.screenings) == ['rules', 'exploding', 'gnn'], result
    assert [result.smiles for result in results] == with_bomb
    assert stage_labels([rules, rules, gnn]) == ['rules', 'rules#2', 'gnn']
    with pytest.raises(ScreenerError):
        Cascade([])


def test_order_and_results_kept_with_two_processes(screeners, library):
    serial = list(screen_library(library, screeners, processes=1, chunk_size=7))
    parallel = list(screen_library(iter(library), screeners, processes=2, chunk_size=7))
    assert [result.smiles for result in parallel] == library
    assert parallel == serial  # the same chunks, one torch thread: the same numbers
    assert all(isinstance(result, CascadeResult) for result in parallel)
    chunks = list(screen_library(library, screeners, processes=2, chunk_size=7, by_chunk=True))
    assert [len(chunk) for chunk in chunks] == [7] * (len(library) // 7) + (
        [len(library) % 7] if len(library) % 7 else []
    )
    # Brief results: passed molecules whole; a failed one its failing stage's verdict, reasons and score alone.
    brief = list(screen_library(library, screeners, processes=2, chunk_size=7, brief=True))
    assert any(result.passed for result in serial) and any(not result.passed for result in serial)
    for full, short in zip(serial, brief, strict=True):
        if full.passed:
            assert short == full
        else:
            assert (short.passed, short.failed_at, short.reasons) == (False, full.failed_at, full.reasons)
            assert list(short.screenings) == [full.failed_at] and short.screenings[full.failed_at].predictions == {}
            assert short.score == full.screenings[full.failed_at].score


def test_the_library_is_read_lazily(screeners):
    """At most ``in_flight`` chunks per worker are taken from the iterable before the first result comes back."""
    taken = []

    def molecules():
        for index in range(400):
            taken.append(index)
            yield ADDITIVES[index % len(ADDITIVES)]

    stream = screen_library(molecules(), screeners[:1], processes=2, chunk_size=10, in_flight=2)
    first = next(stream)
    assert first.smiles == ADDITIVES[0] and first.passed
    assert len(taken) <= (2 * 2 + 1) * 10
    assert sum(1 for _ in stream) == 399


def test_costly_rules_after_the_gnn_pass_the_same_molecules(screeners, library):
    """[rules.cheap, gnn, rules.costly] passes exactly what [rules, gnn] passes, with the same rules screening; each
    failed molecule names the stage that failed it."""
    rules, gnn = screeners
    # A gnn that passes about half of what it sees (the test model passes no MOSES molecule with the default window),
    # so that molecules reach the costly rules and some fail them.
    loose = GnnScreener(
        checkpoint=gnn.settings['checkpoint'],
        known_elements_only=False,
        max_uncertainty=None,
        homo_max=None,
        lumo_min=None,
        gap_min=None,
        windows={'gap_ev': [4.3, None]},
        min_pass_probability=0.5,  # the mean decides: the tiny test model's spread would pass nearly everything
    )
    smiles = [*library, BENZYLIDENE_RHODANINE, 'O=C1C=CC(=O)c2ccccc21', *moses_sample(500)[40:]]
    stages = defer_costly_rules([rules, loose])
    assert stage_labels(stages) == ['rules.cheap', 'gnn', 'rules.costly']
    assert stages[1] is loose
    assert [stage.label for stage in defer_costly_rules([rules, loose, rules])] == [
        'rules.cheap',
        'gnn',
        'rules.costly',
        'rules',  # last: nothing to defer it behind
    ]
    deferred = list(screen_library(smiles, stages, processes=1, chunk_size=200))
    first = list(screen_library(smiles, [rules, loose], processes=1, chunk_size=200))
    assert [result.smiles for result in deferred] == smiles
    passed = {result.smiles for result in deferred if result.passed}
    assert passed == {result.smiles for result in first if result.passed}
    assert 0 < len(passed) < len(smiles)
    failed_at = collections.Counter(result.failed_at for result in deferred)
    assert failed_at['rules.cheap'] and failed_at['gnn'] and failed_at['rules.costly'], failed_at
    for split, whole in zip(deferred, first, strict=True):
        if split.passed:
            assert list(split.screenings) == ['rules.cheap', 'gnn', 'rules.costly']
            assert split.screenings['rules.costly'] == whole.screenings['rules']  # predictions, reasons, score
            assert split.score == whole.screenings['rules'].score  # the last stage's score: the rules'
            assert split.screenings['gnn'].passed and whole.screenings['gnn'].passed
            assert split.screenings['gnn'].predictions == pytest.approx(whole.screenings['gnn'].predictions)
        elif split.failed_at == 'rules.cheap':
            assert list(split.screenings) == ['rules.cheap']
            assert whole.failed_at == 'rules' and split.reasons == whole.reasons
        elif split.failed_at == 'gnn':
            assert list(split.screenings) == ['rules.cheap', 'gnn']
            assert whole.failed_at in {'rules', 'gnn'}  # rules: a costly rule it fails as well
            if whole.failed_at == 'gnn':
                assert split.reasons == whole.reasons
        else:
            assert split.failed_at == 'rules.costly'
            assert whole.failed_at == 'rules' and split.reasons == whole.reasons
            assert split.screenings['rules.costly'] == whole.screenings['rules']
    assert next(result for result in deferred if result.smiles == BENZYLIDENE_RHODANINE).failed_at == 'rules.costly'
    # Worker processes build the halves from their settings: the same results as in this process.
    parallel = list(screen_library(smiles[:60], stages, processes=2, chunk_size=20))
    assert parallel == list(screen_library(smiles[:60], stages, processes=1, chunk_size=20))


def test_fast_paths_screen_moses_as_the_reference_paths(screeners, monkeypatch):
    """On MOSES, the funnel with its fast paths (atom tables read from RDKit's pickle and kept on the molecule for
    the next stages, donor and redox searches after a pre-screen, the D-MPNN's kind tables) gives what the reference
    paths give (RDKit's calls atom by atom, the full searches, ``forward``): the same stages, passes, reasons and rules
    predictions, and gnn predictions equal up to float rounding."""
    from aiida_znadditive.ml.models.gnn2d import DMPNN
    from aiida_znadditive.ml.screeners import descriptors
    from aiida_znadditive.ml.screeners import rules as rules_module

    rules, gnn = screeners
    loose = GnnScreener(
        checkpoint=gnn.settings['checkpoint'],
        known_elements_only=False,
        max_uncertainty=None,
        homo_max=None,
        lumo_min=None,
        gap_min=None,
        windows={'gap_ev': [4.3, None]},
    )
    smiles = [*ADDITIVES, BENZYLIDENE_RHODANINE, 'O=C1C=CC(=O)c2ccccc21', 'CNNC', *moses_sample(1000)]
    fast = Cascade(defer_costly_rules([rules, loose])).screen(smiles)
    every_alert = {name for name, _, _ in rules_module.REDOX_ALERTS}
    monkeypatch.setattr(descriptors, '_table_from_pickle', lambda mol: None)
    monkeypatch.setattr(rules_module, 'count_donors', lambda mol, table=None: descriptors.count_donors(mol))
    monkeypatch.setattr(rules_module, 'possible_redox_alerts', lambda table: every_alert)
    monkeypatch.setattr(DMPNN, 'predict', DMPNN.forward)
    reference = Cascade(defer_costly_rules([RulesScreener(), loose])).screen(smiles)
    assert any(result.passed for result in fast) and not all(result.passed for result in fast)
    for new, old in zip(fast, reference, strict=True):
        assert (new.passed, new.failed_at, list(new.screenings)) == (old.passed, old.failed_at, list(old.screenings))
        for label, screening in new.screenings.items():
            expected = old.screenings[label]
            assert screening.reasons == expected.reasons, (new.smiles, label)
            if label == 'gnn':
                assert screening.predictions == pytest.approx(expected.predictions, rel=1e-5, abs=1e-5)
                assert screening.score == pytest.approx(expected.score, rel=1e-5, abs=1e-5)
            else:
                assert screening == expected, (new.smiles, label)
