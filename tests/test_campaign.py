"""The campaign: a generator's molecules recorded in the meta-database and promoted with the generator's provenance.

The complexation step runs real PySCF for minutes per candidate: the README's first command runs it; here the
steps before it and the command's bad input are checked (``top_k=0``).
"""

from __future__ import annotations

import json

import click
import pandas as pd
import pytest
from aiida import orm
from click.testing import CliRunner
from rdkit import Chem

from aiida_znadditive.cli import cmd_root
from aiida_znadditive.ml.database.store import MetaDatabase
from aiida_znadditive.ml.generators import GeneratorError
from aiida_znadditive.orchestration.campaign import CampaignSettings, plot_campaign, run_campaign
from aiida_znadditive.orchestration.promotion import GROUP_PREFIX, candidate_smiles

SEEDS = ['OCCO', 'OCC(O)CO', 'CC(=O)O', 'CS(C)=O', 'NCC(=O)O', 'OC(=O)CC(O)(CC(=O)O)C(=O)O', 'CCOC(=O)C', 'C1COCCO1']


def test_generated_molecules_are_recorded_and_the_best_promoted(aiida_profile, tmp_path):
    settings = CampaignSettings(
        budget=40,
        seed=1,
        promote=5,
        top_k=0,
        checkpoint=None,
        label='campaign-test',
        max_heavy_atoms=12,
        generator_settings={'seed_smiles': SEEDS, 'population_size': 8, 'offspring_size': 8},
    )
    lines = []
    result = run_campaign(settings, tmp_path, None, None, log=lines.append)
    generation = result.generation
    assert generation.calls == 40 and generation.stopped_by == 'budget'

    rows = MetaDatabase(tmp_path / 'molecules').query('SELECT smiles, source, source_version FROM molecules')
    assert result.database_rows == rows.num_rows == len(generation.scored)
    assert set(rows.column('source').to_pylist()) == {'generated:ga'}
    assert set(rows.column('source_version').to_pylist()) == {f'{generation.version} seed 1'}

    best = [m for m in generation.best(5, by='fitness') if m.fitness > 0]
    assert [node['smiles'] for node in result.promoted] == [m.smiles for m in best]
    assert [node['score'] for node in result.promoted] == pytest.approx([m.fitness for m in best])
    group = orm.load_group(f'{GROUP_PREFIX}campaign-test')
    assert {node.uuid for node in group.nodes} == {node.uuid for node in result.promoted}
    # The graph names the generator as what picked each candidate, with its seed and objectives.
    screener = result.promoted[0].creator.inputs['screener']
    assert screener['entry_point'] == 'znadditive.generators:ga'
    assert screener['version'] == generation.version and screener['settings']['seed'] == 1
    assert screener['settings']['constraints']['max_heavy_atoms'] == 12
    assert max(Chem.MolFromSmiles(m.smiles).GetNumHeavyAtoms() for m in generation.scored) <= 12
    assert [objective['name'] for objective in screener['settings']['objectives']] == ['zib']
    assert candidate_smiles(result.promoted[0]).value == result.promoted[0]['smiles']
    # The paper layer's screening table: one row per promoted candidate, with the generator, its seed and the nodes.
    out = tmp_path / 'screening'
    report = CliRunner().invoke(
        cmd_root, ['report', '--kind', 'screening', '--group', group.label, '--out', str(out), '--format', 'csv,md']
    )
    assert report.exit_code == 0, report.output
    table = pd.read_csv(out / 'screening.csv')
    assert list(table['candidate_uuid']) == [node.uuid for node in sorted(result.promoted, key=lambda n: n.ctime)]
    assert set(table['screener']) == {'ga'} and set(table['seed']) == {1} and set(table['budget']) == {40}
    assert list(table['score']) == pytest.approx([orm.load_node(uuid)['score'] for uuid in table['candidate_uuid']])
    assert set(table['screener_uuid']) == {screener.uuid}
    sidecar = json.loads((out / 'screening.png.json').read_text())
    assert [row['value_uuid'] for row in sidecar['rows']] == list(table['candidate_uuid'])
    assert [row['promotion_uuid'] for row in sidecar['rows']] == list(table['promotion_uuid'])
    one = CliRunner().invoke(
        cmd_root, ['report', '--kind', 'screening', '-m', best[0].smiles, '--out', str(tmp_path / 'one')]
    )
    assert one.exit_code == 0 and len(pd.read_csv(tmp_path / 'one' / 'screening.csv')) == 1, one.output
    for args, message in (
        (['--protocol', 'fast'], 'candidates have none'),
        (['--group', 'no-such-group'], 'no group `no-such-group`'),
        (['-m', 'CCCCCCCCCCCCCCCC'], 'no promoted candidates'),
    ):
        refused = CliRunner().invoke(cmd_root, ['report', '--kind', 'screening', *args, '--out', str(tmp_path / 'x')])
        assert refused.exit_code != 0 and message in refused.output, refused.output

    funnel = dict(result.funnel())
    assert funnel['scored by the generator'] == 40
    # the first steps of the funnel are in the graph, for the report's funnel figure
    assert screener['run'] == {
        'scored': 40,
        'fitness_above_zero': funnel['fitness > 0 (passed rules and gnn window)'],
    }
    assert funnel['promoted to candidate nodes'] == len(best) and funnel['candidates sent to complexation'] == 0
    assert plot_campaign(result, tmp_path / 'campaign.png').stat().st_size > 10_000
    assert any('promoted' in line for line in lines)

    # The same campaign again (same generator, version and seed): nothing is recorded or promoted twice.
    again = run_campaign(settings, tmp_path, None, None, log=lines.append)
    total = MetaDatabase(tmp_path / 'molecules').query('SELECT count(*) AS n FROM molecules').column('n')[0].as_py()
    assert again.database_rows == total == len(generation.scored)
    assert {node.uuid for node in orm.load_group(f'{GROUP_PREFIX}campaign-test').nodes} == {
        node.uuid for node in result.promoted
    }


def test_campaign_without_a_budget_stops_with_the_reason(aiida_profile, tmp_path):
    with pytest.raises(GeneratorError, match='no molecule scored: the budget is 0 scorer calls'):
        run_campaign(CampaignSettings(budget=0, checkpoint=None), tmp_path, None, None, log=lambda line: None)


def test_campaign_command_names_a_missing_code(aiida_profile, tmp_path):
    result = CliRunner().invoke(
        cmd_root, ['campaign', 'run', '--prerank-code', 'nothing@nowhere', '--out', str(tmp_path / 'run')]
    )
    assert result.exit_code != 0
    assert 'nothing@nowhere' in result.output


def test_campaign_submit_needs_a_daemon(aiida_profile, aiida_localhost, tmp_path):
    """The test profile has no broker: `campaign submit` says so and what to do, before generating anything."""
    # the code options are read first (a missing code is a usage error): codes of the right engines, never run here;
    # made only where the worker's profile lacks them (another module may have set the real ones up: a second code
    # of one label would be ambiguous)
    for label, plugin in (('xtb', 'znadditive.xtb'), ('pyscf', 'znadditive.pyscf')):
        if not orm.QueryBuilder().append(orm.AbstractCode, filters={'label': label}).count():
            orm.InstalledCode(
                label=label, computer=aiida_localhost, filepath_executable='/bin/true', default_calc_job_plugin=plugin
            ).store()
    result = CliRunner().invoke(cmd_root, ['campaign', 'submit', '--out', str(tmp_path / 'run')])
    assert result.exit_code != 0
    assert 'no broker' in result.output and 'production profile' in result.output
    assert not (tmp_path / 'run').exists()


def test_campaign_status_names_a_node_that_is_no_campaign(aiida_profile):
    node = orm.Int(1).store()
    result = CliRunner().invoke(cmd_root, ['campaign', 'status', str(node.pk)])
    assert result.exit_code != 0 and 'not a CampaignWorkChain' in result.output


def test_campaign_file_gives_defaults_and_names_bad_lines(aiida_profile, tmp_path):
    """The shipped example is valid; a mistyped key and a wrong type are named with their line; options win."""
    runner = CliRunner()
    example = runner.invoke(cmd_root, ['campaign', 'example'])
    assert example.exit_code == 0 and 'top_k: 1' in example.output
    good = tmp_path / 'good.yaml'
    good.write_text(example.output)
    # the file says xtb@localhost; the explicit option wins, and its missing code stops the command before any work
    result = runner.invoke(cmd_root, ['campaign', 'run', '--config', str(good), '--prerank-code', 'xtb@nowhere'])
    assert result.exit_code != 0 and 'xtb@nowhere' in result.output  # the explicit option won over the file's

    bad = tmp_path / 'bad.yaml'
    bad.write_text('budget: 10\ntopk: 2\n')
    result = runner.invoke(cmd_root, ['campaign', 'run', '--config', str(bad)])
    assert result.exit_code == 2 and 'line 2: unknown key `topk`' in result.output and 'top_k' in result.output
    bad.write_text('budget: ten\n')
    result = runner.invoke(cmd_root, ['campaign', 'run', '--config', str(bad)])
    assert result.exit_code == 2 and "line 1: `budget` must be int, got 'ten'" in result.output
    bad.write_text('budget: [1\n')
    result = runner.invoke(cmd_root, ['campaign', 'run', '--config', str(bad)])
    assert result.exit_code == 2 and 'not valid YAML' in result.output


def test_campaign_file_gives_the_scheduler_flags_repeatable_lines_included(aiida_profile, tmp_path):
    """The scheduler flags from a campaign file: a walltime as seconds or text, and `scheduler_lines` as a YAML list
    (the repeatable --scheduler-line); an unquoted `#SBATCH` (a YAML comment) is named with its line."""
    from aiida_znadditive.cli.campaign import cmd_campaign_run, load_config
    from aiida_znadditive.cli.root import Walltime, scheduler_options

    path = tmp_path / 'cluster.yaml'
    path.write_text("walltime: 3600\nqueue_name: cpu\nscheduler_lines:\n  - '#SBATCH --constraint=cpu'\n"
                    "  - '#SBATCH --exclusive'\n")  # fmt: skip
    context = click.Context(cmd_campaign_run)
    load_config(context, None, path)
    values = context.default_map
    assert values == {'walltime': '3600', 'queue_name': 'cpu',
                      'scheduler_lines': ['#SBATCH --constraint=cpu', '#SBATCH --exclusive']}  # fmt: skip
    options = scheduler_options(walltime=Walltime().convert(values['walltime'], None, None),
                                queue_name=values['queue_name'], scheduler_lines=values['scheduler_lines'])  # fmt: skip
    assert options == {'max_wallclock_seconds': 3600, 'queue_name': 'cpu',
                       'custom_scheduler_commands': '#SBATCH --constraint=cpu\n#SBATCH --exclusive'}  # fmt: skip

    runner = CliRunner()
    path.write_text('scheduler_lines:\n  - #SBATCH --exclusive\n')
    result = runner.invoke(cmd_root, ['campaign', 'run', '--config', str(path)])
    assert result.exit_code == 2 and 'line 2: `scheduler_lines` takes a list of strings' in result.output, result.output
    path.write_text("scheduler_lines: '#SBATCH --exclusive'\nwalltime: 01:00:00\n")
    context = click.Context(cmd_campaign_run)
    load_config(context, None, path)
    assert context.default_map == {'scheduler_lines': ['#SBATCH --exclusive'], 'walltime': '01:00:00'}


def test_the_predicted_exchange_is_read_from_whichever_screener_carried_it():
    """The shipped model predicts the calibrated exchange free energy, carried by the mechanisms screener; the
    campaign's table and figure showed `n/a` while they looked for `gnn.zn_exchange_energy_ev` only."""
    from aiida_znadditive.analysis.ranking import predicted_exchange

    shipped = {'mechanisms.gap_ev': 9.1, 'mechanisms.zn_exchange_free_energy_calibrated_ev': -0.12}
    assert predicted_exchange(shipped) == -0.12
    assert predicted_exchange({'gnn.zn_exchange_energy_ev': -0.3, 'gnn.gap_ev': 8.0}) == -0.3
    both = {'gnn.zn_exchange_energy_ev': -0.3, 'gnn.zn_exchange_free_energy_calibrated_ev': -0.1}
    assert predicted_exchange(both) == -0.1  # the calibrated free energy first
    assert predicted_exchange({'gnn.gap_ev': 8.0, 'gnn.zn_exchange_energy_ev': None}) is None
