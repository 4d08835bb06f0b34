"""From the graph to a paper: complexation tables whose every number traces to its node, figures that carry the UUIDs
they show, methods text from the engine processes, results of two levels never mixed.

Real ZnComplexationWorkChains at the GFN2-xTB level (both stages): methanol and acetic acid (computed as acetate at
pH 7), and methanol again with the `moderate` protocol, a second level of theory.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from aiida import orm
from aiida.engine import run_get_node
from click.testing import CliRunner
from PIL import Image

from aiida_znadditive.cli import cmd_root
from aiida_znadditive.environment.codes import ensure_codes
from aiida_znadditive.provenance import ReportError, complexation_table, inchikey, result_nodes
from aiida_znadditive.provenance.graph import SharedLinks
from aiida_znadditive.workchains.complexation import ZnComplexationWorkChain
from aiida_znadditive.workchains.references import GROUP as REFERENCE_GROUP

pytestmark = pytest.mark.integration


@pytest.fixture(scope='module')
def results(aiida_profile, codes_file_content, python_environments):
    """Run once for the module (three cheap WorkChains); the codes as the `znadditive_codes` fixture makes them. The
    storage is reset first: the queries below count every methanol result of the profile, and another module on the
    same worker may have computed methanol before."""
    aiida_profile.reset_storage()
    ensure_codes(codes_file_content, build_environments=False)
    xtb = orm.load_code(f'xtb@{codes_file_content["computer"]["label"]}')
    group = orm.Group(label='report-test').store()
    nodes = {}
    # The `moderate` run only has to be a second level of theory: its free-energy steps (xtb Hessians of every
    # species) are switched off, which saves a minute of the module's three.
    for key, smiles, protocol, overrides in (
        ('methanol', 'CO', 'fast', None),
        ('acetate', 'CC(=O)O', 'fast', None),
        ('moderate', 'CO', 'moderate', {'thermochemistry': None}),
    ):
        builder = ZnComplexationWorkChain.get_builder_from_protocol(
            xtb, xtb, smiles, dft_calculator='xtb', protocol=protocol, ph=7.0, overrides=overrides
        )
        _, node = run_get_node(builder)
        assert node.is_finished_ok, node.exit_message
        nodes[key] = node
    group.add_nodes([nodes['methanol'], nodes['acetate']])
    return group, nodes


def test_every_number_traces_to_its_node(results):
    group, nodes = results
    found = result_nodes('complexation', group=group.label)
    assert [node.uuid for node in found] == [nodes['methanol'].uuid, nodes['acetate'].uuid]
    table = complexation_table(found)
    # the batched link reading ends with the table: the caller's nodes read their own links again
    assert not any(isinstance(node.base.links, SharedLinks) for node in found)
    acetate = table.set_index('molecule').loc['CC(=O)O']
    assert acetate['species'] == 'CC(=O)[O-]' and acetate['species_charge'] == -1  # the species at pH 7
    for column in ('dE_gas', 'dE_water', 'dG', 'zn_o_stretch_shift'):
        node = orm.load_node(acetate[f'{column}_uuid'])
        assert node.value == acetate[column]
        assert node.creator is not None  # made by a calcfunction of the WorkChain, not stored by hand
    assert acetate['cheap_method'] == 'GFN2-xTB' and acetate['cheap_solvent_model'] == 'ALPB (water)'
    assert acetate['engine_versions']  # the xtb version parsed from its own output
    # The Zn-O stretch (cm⁻¹) of the complex and of [Zn(H2O)6]2+ from the cheap level's Hessians, and their shift.
    assert acetate['zn_o_stretch_shift'] == pytest.approx(
        acetate['zn_o_stretch_complex'] - acetate['zn_o_stretch_hexaaqua']
    )
    assert 290 < acetate['zn_o_stretch_hexaaqua'] < 350
    # Acetate binds Zn2+ more strongly than methanol (measured log K1 1.6 against ~0), at any level.
    assert acetate['dG'] < table.set_index('molecule').loc['CO', 'dG']
    assert [n.uuid for n in result_nodes('complexation', molecule=inchikey('CO'))] == [
        nodes['methanol'].uuid,
        nodes['moderate'].uuid,
    ]


def test_report_command_writes_tables_figure_methods_and_bibtex(results, tmp_path):
    group, nodes = results
    out = tmp_path / 'paper'
    result = CliRunner().invoke(cmd_root, ['report', '--group', group.label, '--out', str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / 'complexation.csv')
    assert list(table['workchain_uuid']) == [nodes['methanol'].uuid, nodes['acetate'].uuid]
    assert table['dG'].tolist() == pytest.approx(
        [nodes[k].outputs.exchange_free_energy.value for k in ('methanol', 'acetate')], abs=1e-6
    )
    assert '\\toprule' in (out / 'complexation.tex').read_text()
    assert 'CC(=O)[O-]' in (out / 'complexation.md').read_text()
    sidecar = json.loads((out / 'complexation.png.json').read_text())
    assert [row['workchain_uuid'] for row in sidecar['rows']] == list(table['workchain_uuid'])
    assert json.loads(Image.open(out / 'complexation.png').text['aiida_uuids']) == list(table['workchain_uuid'])
    methods = (out / 'methods.md').read_text()
    assert 'GFN2-xTB' in methods and 'ALPB' in methods and 'pH 7' in methods
    # CPU core hours: each calculation's wall time times the cores it asked for (one rank, OMP_NUM_THREADS threads)
    cost = re.search(r'([\d.]+) h of wall time in all, ([\d.]+) CPU core hours', methods)
    wall, core = float(cost[1]), float(cost[2])
    calculations = [
        n for k in ('methanol', 'acetate') for n in nodes[k].called_descendants if isinstance(n, orm.CalcJobNode)
    ]
    threads = {int(n.get_option('environment_variables').get('OMP_NUM_THREADS', 1)) for n in calculations}
    assert len(threads) == 1 and core == pytest.approx(wall * threads.pop(), abs=0.011)
    bib = (out / 'software.bib').read_text()
    assert 'bannwarth2019gfn2' in bib and 'huber2020aiida' in bib and 'sun2020pyscf' not in bib


def test_two_levels_are_reported_apart(results, tmp_path):
    """Methanol at `fast` and at `moderate` (tighter xtb thresholds): two levels, two tables, no average."""
    out = tmp_path / 'levels'
    result = CliRunner().invoke(cmd_root, ['report', '--molecule', 'CO', '--out', str(out), '--format', 'csv,md'])
    assert result.exit_code == 0, result.output
    assert '2 levels of theory' in result.output
    first, second = (pd.read_csv(out / f'complexation_level{i}.csv') for i in (1, 2))
    assert len(first) == len(second) == 1 and first['level'][0] != second['level'][0]
    only = CliRunner().invoke(cmd_root, ['report', '-m', 'CO', '--protocol', 'moderate', '--out', str(tmp_path / 'm')])
    assert only.exit_code == 0, only.output
    assert pd.read_csv(tmp_path / 'm' / 'complexation.csv')['dft_protocol'].tolist() == ['moderate']
    # the same molecule across the two levels, side by side with its nodes and the difference (never a mean)
    comparison = pd.read_csv(out / 'complexation_levels.csv')
    assert list(comparison['species']) == ['CO']
    row = comparison.iloc[0]
    stored = [orm.load_node(row[f'dE_water_L{i}_uuid']).value for i in (1, 2)]
    assert stored == pytest.approx([row['dE_water_L1'], row['dE_water_L2']], abs=1e-6)  # the CSV keeps 6 decimals
    assert row['dE_water_L2-L1'] == pytest.approx(stored[1] - stored[0], abs=1e-6)
    header = (out / 'complexation_levels.md').read_text().splitlines()[0]
    assert f'L1 = {first["level"][0]}' in header and f'L2 = {second["level"][0]}' in header


def test_bad_requests_are_named(results, tmp_path):
    runner = CliRunner()
    missing = runner.invoke(cmd_root, ['report', '--group', 'no-such-group', '--out', str(tmp_path / 'a')])
    assert missing.exit_code != 0 and 'no group `no-such-group`' in missing.output and 'report-test' in missing.output
    empty = orm.Group(label='report-empty').store()
    nothing = runner.invoke(cmd_root, ['report', '--group', empty.label, '--out', str(tmp_path / 'b')])
    assert nothing.exit_code != 0 and 'no finished complexation results in group report-empty' in nothing.output
    (tmp_path / 'c').mkdir()
    (tmp_path / 'c' / 'keep.txt').write_text('earlier work')
    busy = runner.invoke(cmd_root, ['report', '--out', str(tmp_path / 'c')])
    assert busy.exit_code == 2 and '--force' in busy.output
    assert (tmp_path / 'c' / 'keep.txt').read_text() == 'earlier work'
    assert runner.invoke(cmd_root, ['report', '--format', 'docx', '--out', str(tmp_path / 'd')]).exit_code == 2
    with pytest.raises(ReportError, match='neither a SMILES'):
        inchikey('not a smiles ((')


def _run(args, env):
    result = subprocess.run(args, capture_output=True, text=True, env=env, check=False, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_export_holds_exactly_the_nodes_behind_the_rows_and_reimports_to_the_same_report(results, tmp_path):
    """Acetate reused methanol's references: its archive holds those reference calculations but not methanol's
    WorkChain; the archive of the group, imported into a fresh profile, gives byte-identical tables there."""
    from aiida.tools.archive.abstract import get_format

    group, nodes = results
    runner = CliRunner()
    acetate = tmp_path / 'acetate.aiida'
    result = runner.invoke(cmd_root, ['export', '--molecule', 'CC(=O)O', '--out', str(acetate)])
    assert result.exit_code == 0, result.output
    with get_format().open(acetate, 'r') as reader:
        uuids = set(reader.querybuilder().append(orm.Node, project='uuid').all(flat=True))
    assert nodes['acetate'].uuid in uuids
    assert nodes['methanol'].uuid not in uuids and nodes['moderate'].uuid not in uuids
    references = [n for n in orm.load_group(REFERENCE_GROUP).nodes if n.uuid in uuids]
    assert {n.inputs.structure.get_formula() for n in references} >= {'H2O', 'H12O6Zn'}  # water and hexaaqua
    assert runner.invoke(cmd_root, ['export', '-m', 'CC(=O)O', '--out', str(acetate)]).exit_code == 2  # exists

    archive, original = tmp_path / 'group.aiida', tmp_path / 'original'
    assert runner.invoke(cmd_root, ['export', '--group', group.label, '--out', str(archive)]).exit_code == 0
    assert runner.invoke(cmd_root, ['report', '--group', group.label, '--out', str(original)]).exit_code == 0
    env = {**os.environ, 'AIIDA_PATH': str(tmp_path / 'fresh')}
    bin_dir = Path(sys.executable).parent
    _run(
        [str(bin_dir / 'verdi'), 'profile', 'setup', 'core.sqlite_dos', '-n', '--profile-name', 'fresh',
         '--email', 'referee@example.org', '--first-name', 'A', '--last-name', 'Referee', '--institution', 'Journal',
         '--broker', 'none', '--filepath', str(tmp_path / 'fresh' / 'storage')],
        env,
    )  # fmt: skip
    _run([str(bin_dir / 'verdi'), '-p', 'fresh', 'archive', 'import', str(archive)], env)
    again = tmp_path / 'again'
    _run([str(bin_dir / 'aiida-znadditive'), 'report', '-p', 'fresh', '--group', group.label, '--out', str(again)], env)
    for name in ('complexation.csv', 'complexation.md', 'complexation.tex', 'complexation.png.json', 'software.bib'):
        assert (again / name).read_bytes() == (original / name).read_bytes(), name


def _chromium() -> str | None:
    import shutil

    return shutil.which('chromium') or shutil.which('chromium-browser') or shutil.which('google-chrome')


def test_html_page_renders_in_a_real_browser_with_every_image(results, tmp_path):
    """index.html, opened by headless Chromium: the screenshot is not blank and shows the figure's bars (their colour,
    #4c72b0, appears only in the PNG), and every <img> names a file of the report folder by a relative path."""
    import re

    import numpy as np

    browser = _chromium()
    if browser is None:
        pytest.skip('no chromium: `apt-get install -y chromium` (Debian) to render the HTML page in a real browser')
    group, _ = results
    out = tmp_path / 'page'
    result = CliRunner().invoke(cmd_root, ['report', '--group', group.label, '--out', str(out)])
    assert result.exit_code == 0, result.output
    page = (out / 'index.html').read_text()
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert sources == ['complexation.png']
    for source in sources:
        assert not source.startswith(('/', 'http:', 'https:', 'file:')), source
        assert (out / source).is_file(), source
    assert 'CC(=O)[O-]' in page and 'GFN2-xTB' in page and 'complexation.csv' in page
    shot = tmp_path / 'shot.png'
    run = subprocess.run(
        [browser, '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', f'--screenshot={shot}',
         '--window-size=1200,1800', (out / 'index.html').as_uri()],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert('RGB'), dtype=float)
    assert pixels.std() > 10.0  # not a blank page
    bars = np.all(np.abs(pixels - np.array([0x4C, 0x72, 0xB0])) < 12, axis=-1)
    assert bars.sum() > 500, 'the figure did not load in the browser'


def test_experiments_are_reported_beside_the_computed_exchange(results, tmp_path):
    """Measured cells of methanol and acetic acid (illustrative values) beside the complexations of the module, one
    table per level of theory; a molecule never computed (DMSO) gets its own table, `not computed`, and no figure."""
    from aiida_znadditive.orchestration.experiments import import_experiments

    _, nodes = results
    cells = tmp_path / 'cells.csv'
    cells.write_text(
        'smiles,name,concentration_M,electrolyte,cell_type,current_density_mA_cm2,cycle_life_h,'
        'coulombic_efficiency_percent,reference\n'
        'CO,methanol,0.5,2 M ZnSO4,Zn||Zn,1,120,,lab book 1\n'
        'CC(=O)O,acetic acid,0.1,2 M ZnSO4,Zn||Zn,1,300,99.1,lab book 2\n'
        'CS(C)=O,DMSO,1.0,2 M ZnSO4,Zn||Cu,1,,99.5,lab book 3\n'
    )
    import_experiments(cells)
    out = tmp_path / 'measured'
    result = CliRunner().invoke(cmd_root, ['report', '--kind', 'experiments', '--out', str(out), '--format', 'csv'])
    assert result.exit_code == 0, result.output
    # one table per level: methanol's newest result is at `moderate`, acetic acid's at `fast`, DMSO not computed
    tables = {path.stem: pd.read_csv(path) for path in sorted(out.glob('experiments_level*.csv'))}
    assert [list(table['name']) for table in tables.values()] == [['methanol'], ['acetic acid'], ['DMSO']]
    assert list(tables['experiments_level3']['level']) == ['not computed']
    computed = pd.concat([tables['experiments_level1'], tables['experiments_level2']])
    # the newest finished complexation of each molecule: methanol's is the `moderate` run, acetic acid's the `fast`
    newest = {'methanol': nodes['moderate'], 'acetic acid': nodes['acetate']}
    for _, row in computed.iterrows():
        workchain = newest[row['name']]
        assert row['complexation_uuid'] == workchain.uuid
        quantity = 'exchange_free_energy' if row['computed_quantity'] == 'dG' else 'exchange_energy_solvated'
        assert row['computed_dG'] == pytest.approx(workchain.outputs[quantity].value, abs=1e-6)
        assert orm.load_node(row['computed_dG_uuid']).value == pytest.approx(row['computed_dG'], abs=1e-6)
    sidecar = json.loads((out / 'experiments_level2_measured.png.json').read_text())
    assert [row['experiment_uuid'] for row in sidecar['rows']] == list(tables['experiments_level2']['experiment_uuid'])
    assert 'cycle_life_h' in sidecar['quantity'] and 'coulombic_efficiency_percent' in sidecar['quantity']
    assert not (out / 'experiments_level3_measured.png').exists()  # nothing computed to draw against
