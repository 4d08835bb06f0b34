"""CampaignWorkChain with GFN2-xTB at both complexation levels: children submitted, ranked, reused, bad input."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from aiida import orm
from aiida.common.links import LinkType
from aiida.engine import run_get_node
from click.testing import CliRunner

from aiida_znadditive.cli import cmd_root
from aiida_znadditive.ml.database.store import MetaDatabase
from aiida_znadditive.ml.screeners.base import Screening
from aiida_znadditive.orchestration.campaign import computed_candidates, record_results
from aiida_znadditive.orchestration.campaign_status import campaign_status
from aiida_znadditive.orchestration.promotion import promote
from aiida_znadditive.provenance import result_nodes
from aiida_znadditive.provenance.campaign import campaign_table
from aiida_znadditive.workchains.campaign import CampaignWorkChain, campaign_group_label
from aiida_znadditive.workchains.complexation import ZnComplexationWorkChain

SCREENER = {'screener': 'test', 'version': '1'}
#: No adsorption stage (it needs CP2K on a slab: tests/workchains/test_adsorption.py), so its weight is 0.
OVERRIDES = {'top_k': 2, 'max_concurrent': 2, 'weights': {'adsorption': 0.0}}


@pytest.fixture
def candidates(aiida_profile):
    screenings = [
        # what the screen predicted for the exchange (the report's parity figure sets it against the computed ΔG)
        Screening('CO', passed=True, score=0.9, predictions={'test.zn_exchange_free_energy_calibrated_ev': -0.1}),
        Screening(smiles='OC', passed=True, score=0.8),  # methanol again: one complexation per InChIKey
        Screening(smiles='O', passed=True, score=0.7, predictions={'test.zn_exchange_energy_ev': 0.0}),  # ΔG about 0
        Screening(smiles='CCO', passed=True, score=0.1),  # below top_k once methanol is counted once
    ]
    nodes = promote(screenings, SCREENER, 'campaign-workchain')
    return {f'c{index}': node for index, node in enumerate(nodes)}


def build(candidates, codes, **overrides):
    return CampaignWorkChain.get_builder_from_protocol(
        candidates, codes['xtb'], codes['xtb'], dft_calculator='xtb', overrides={**OVERRIDES, **overrides}
    )


def complexations() -> int:
    return orm.QueryBuilder().append(ZnComplexationWorkChain).count()


def check_campaign_report(node, rows, out, promoted: int):
    """The paper layer: `report --kind campaign` gives the ranking as tables (each term with its node's UUID), the
    scores' figure and the parity of the screen's predictions against the computed ΔG, with their sidecars."""
    report = CliRunner().invoke(
        cmd_root, ['report', '--kind', 'campaign', '--campaign', str(node.pk), '--out', str(out)]
    )
    assert report.exit_code == 0, report.output
    written = {path.name for path in (out).iterdir()}
    assert written == {f'campaign{suffix}' for suffix in ('.csv', '.md', '.tex', '.png', '.png.json')} | {
        'campaign_parity.png',
        'campaign_parity.png.json',
        'campaign_funnel.png',
        'campaign_funnel.png.json',
        'index.html',
    }  # no Pareto figure: no candidate has an adsorption term
    page = (out / 'index.html').read_text()
    assert all(name in written for name in re.findall(r'<img src="([^"]+)"', page)) and 'campaign_parity.png' in page
    table = pd.read_csv(out / 'campaign.csv')
    assert list(table['smiles']) == [row['smiles'] for row in rows] and list(table['rank']) == [1, 2]
    assert list(table['binding_uuid']) == [row['terms']['binding']['uuid'] for row in rows]
    computed = {row['smiles']: -row['terms']['binding']['value'] for row in rows}
    assert dict(zip(table['smiles'], table['dG_exchange'], strict=True)) == pytest.approx(computed, abs=1e-6)
    assert dict(zip(table['smiles'], table['predicted_exchange'], strict=True)) == {'CO': -0.1, 'O': 0.0}
    assert 'complexation fast (xtb/xtb)' in table['level'][0]
    parity = json.loads((out / 'campaign_parity.png.json').read_text())
    assert {row['value_uuid'] for row in parity['rows']} == set(table['binding_uuid'])
    expected = (abs(computed['CO'] + 0.1) + abs(computed['O'])) / 2
    assert parity['mean_absolute_difference_ev'] == pytest.approx(expected, abs=1e-5)
    # the funnel from the graph: a screener's candidates carry no generator run, so its first steps are unknown
    (funnel,) = json.loads((out / 'campaign_funnel.png.json').read_text())['rows']
    assert funnel['workchain_uuid'] == node.uuid and funnel['funnel'] == {
        'scored by the generator': None,
        'scored above zero': None,
        'promoted to candidate nodes': promoted,
        'sent to complexation': 2,
        'computed (binding term)': 2,
    }


def test_ranks_by_binding_with_every_term_traceable_then_reuses(candidates, znadditive_codes, tmp_path):
    results, node = run_get_node(build(candidates, znadditive_codes))
    assert node.is_finished_ok, node.exit_message
    rows = results['ranking']['rows']
    assert {row['smiles'] for row in rows} == {'CO', 'O'}  # top 2 by score, methanol once
    children = [child for child in node.called if child.process_class is ZnComplexationWorkChain]
    assert len(children) == 2
    for row in rows:
        term = row['terms']['binding']
        # The term is minus the complexation's (calibrated) exchange free energy, and names that very node.
        binding = orm.load_node(term['uuid'])
        assert binding.creator is not None
        producer = binding.base.links.get_incoming(link_type=LinkType.RETURN).one().node
        assert term['value'] == pytest.approx(-binding.value)
        assert producer in children and producer.inputs.smiles.value == row['smiles']
        assert row['score'] == pytest.approx(term['value']) and row['missing'] == []
    assert rows[0]['score'] >= rows[1]['score']
    assert results['ranking']['failures'] == {}
    status = campaign_status(node)
    assert status['stages'] == {'complexation': {'finished': 2}} and len(status['ranking']) == 2
    # What `campaign run` prints: per candidate in ranking order, the complexation's energies and its PK.
    computed = computed_candidates(node)
    assert [item.smiles for item in computed] == [row['smiles'] for row in rows]
    for item in computed:
        workchain = orm.load_node(item.workchain_pk)
        assert workchain in children and item.exit_status == 0 and item.error is None
        assert item.exchange_energy == workchain.outputs.exchange_energy.value
        assert item.exchange_energy_solvated == workchain.outputs.exchange_energy_solvated.value

    check_campaign_report(node, rows, tmp_path / 'report', len({c.uuid for c in candidates.values()}))

    # Their numbers into the meta-database, one row per complexation, keyed by its UUID.
    assert record_results(tmp_path, node) == 2
    database = MetaDatabase(tmp_path / 'molecules')
    stored = database.query('SELECT source, source_id, smiles, zn_exchange_energy_ev FROM molecules').to_pylist()
    assert {row['source_id'] for row in stored} == {child.uuid for child in children}
    assert {row['source'] for row in stored} == {'znadditive-aiida'}
    for row in stored:
        assert row['zn_exchange_energy_ev'] == orm.load_node(row['source_id']).outputs.exchange_energy_solvated.value

    # The same candidates again: nothing is recomputed, the ranking is the same.
    before = complexations()
    again, second = run_get_node(build(candidates, znadditive_codes))
    assert second.is_finished_ok, second.exit_message
    assert complexations() == before
    assert campaign_status(second)['stages'] == {'complexation': {'reused': 2}}
    assert [row['smiles'] for row in again['ranking']['rows']] == [row['smiles'] for row in rows]
    assert [row['terms']['binding']['uuid'] for row in again['ranking']['rows']] == [
        row['terms']['binding']['uuid'] for row in rows
    ]
    # Both campaigns name their results: the second's group holds the children it reused, and `--campaign` of
    # the paper layer finds them although the second campaign called none of them.
    for campaign in (node, second):
        assert {child.uuid for child in orm.load_group(campaign_group_label(campaign)).nodes} == {
            child.uuid for child in children
        }
        assert {n.uuid for n in result_nodes('complexation', campaign=campaign.pk)} == {c.uuid for c in children}
    # the second campaign reused both children: recording it finds them in its group and writes no second copy
    assert record_results(tmp_path, second) == 2
    assert database.query('SELECT count(*) AS n FROM molecules').to_pylist() == [{'n': 2}]


def test_a_failing_candidate_is_reported_and_the_round_goes_on(znadditive_codes, aiida_profile):
    """Methane has no atom that binds Zn2+: its complexation ends with exit 213 before anything runs; methanol (reused
    from the test before when run in one session) is still ranked."""
    nodes = promote(
        [Screening(smiles='CO', passed=True, score=0.5), Screening(smiles='C', passed=True, score=0.9)],
        SCREENER,
        'campaign-failing',
    )
    results, node = run_get_node(build({f'c{i}': n for i, n in enumerate(nodes)}, znadditive_codes))
    assert node.is_finished_ok, node.exit_message
    rows = results['ranking']['rows']
    assert rows[0]['smiles'] == 'CO' and rows[0]['missing'] == []
    failures = results['ranking']['failures']['complexation']
    assert len(failures) == 1 and 'exit 213' in next(iter(failures.values()))
    # the campaign's table says which candidate failed and why, beside the one that was ranked
    table = campaign_table([node])
    methane = table[table['smiles'] == 'C'].iloc[0]
    assert methane['failed'].startswith('complexation: ZnComplexationWorkChain<') and 'exit 213' in methane['failed']
    assert pd.isna(methane['dG_exchange'])
    assert methane['missing'] == 'binding' and table['failed'][table['smiles'] == 'CO'].iloc[0] == ''


def test_bad_settings_and_candidates_are_named(candidates, znadditive_codes):
    _, node = run_get_node(build(candidates, znadditive_codes, max_concurrent=0))
    assert node.exit_status == 240 and 'max_concurrent' in node.exit_message
    with pytest.raises(ValueError, match='Unknown override key'):
        build(candidates, znadditive_codes, top_n=3)
    with pytest.raises(ValueError, match='not a promoted candidate'):
        run_get_node(build({'c0': orm.Dict({'smiles': 'CO'})}, znadditive_codes))
