"""``aiida-znadditive screen``: a library through the funnel in worker processes, as a user runs it.

The verdicts are those of the screeners run in this process in their given order (rules, then the gnn on the shipped
zib_xtb model): the command's deferred costly rules and its workers change the speed, not which molecules pass.
"""

from __future__ import annotations

import csv
import gzip
import pathlib
import subprocess
import sys

import pytest
from click.testing import CliRunner

from aiida_znadditive.cli import cmd_root
from aiida_znadditive.ml.database.importers.moses import moses_files
from aiida_znadditive.ml.screeners.cascade import Cascade
from aiida_znadditive.ml.screeners.gnn import GnnScreener
from aiida_znadditive.ml.screeners.library import Library, LibraryError
from aiida_znadditive.ml.screeners.rules import RulesScreener
from aiida_znadditive.ml.shipped import shipped_model

CLI = str(pathlib.Path(sys.executable).parent / 'aiida-znadditive')
BROKEN = {4: 'C1CC', 40: 'not_a_smiles'}  # line number -> a malformed line put there


@pytest.fixture(scope='module')
def library(tmp_path_factory) -> tuple[pathlib.Path, list[str]]:
    """200 MOSES test-set molecules as a gzipped CSV with a `smiles` column, two malformed lines among them."""
    with gzip.open(moses_files()['test'], 'rt') as handle:
        reader = csv.reader(handle)
        next(reader)
        smiles = [row[0] for _, row in zip(range(200), reader, strict=False)]
    for line, text in sorted(BROKEN.items()):
        smiles.insert(line - 2, text)  # line 1 is the header
    path = tmp_path_factory.mktemp('library') / 'library.csv.gz'
    with gzip.open(path, 'wt') as handle:
        handle.write('id,SMILES\n' + ''.join(f'm{index},{item}\n' for index, item in enumerate(smiles)))
    return path, smiles


def test_screen_passes_what_the_screeners_pass_and_names_the_malformed_lines(library, tmp_path):
    path, smiles = library
    out = tmp_path / 'passed.csv'
    result = subprocess.run(
        [
            CLI,
            'screen',
            str(path),
            '--screeners',
            'rules,gnn',
            '--out',
            str(out),
            '--processes',
            '2',
            '--progress',
            '0.01',
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    output = result.stdout + result.stderr
    assert 'rules.cheap -> gnn -> rules.costly' in output and '2 worker process(es)' in output
    assert 'mol/s' in output and 'ETA' in output and 'passed' in output  # the progress line
    for line, text in BROKEN.items():
        assert f'line {line}: {text!r}: unparseable SMILES' in output
    assert '2 malformed line(s)' in output and 'valid mol/s' in output

    with open(out, newline='') as handle:
        rows = list(csv.DictReader(handle))
    expected = Cascade([RulesScreener(), GnnScreener(checkpoint=str(shipped_model('zib_xtb')))]).screen(smiles)
    assert [row['smiles'] for row in rows] == [result.smiles for result in expected if result.passed]
    assert 0 < len(rows) < len(smiles)
    # each row names its line in the file (header = line 1)
    assert all(smiles[int(row['line']) - 2] == row['smiles'] for row in rows)
    assert all(row['passed'] == 'True' and 'gnn.gap_ev' in row['predictions'] for row in rows)


def test_every_molecule_with_all(library, tmp_path):
    path, smiles = library
    out = tmp_path / 'all.csv'
    result = CliRunner().invoke(
        cmd_root, ['screen', str(path), '-s', 'rules', '--out', str(out), '--all', '--processes', '1', '--limit', '50']
    )
    assert result.exit_code == 0, result.output
    with open(out, newline='') as handle:
        rows = list(csv.DictReader(handle))
    assert [row['smiles'] for row in rows] == smiles[:50]
    assert rows[2]['failed_at'] == 'rules' and 'unparseable SMILES' in rows[2]['reasons']  # line 4


@pytest.mark.parametrize(
    ('arguments', 'message'),
    [
        (['--screeners', 'rules,nosuch'], 'no screener nosuch'),
        (['--set', 'gnn.checkpoint=/nowhere'], 'gnn: Cannot load the gnn checkpoint /nowhere'),
        (['--set', 'rules.max_heavy_atoms'], 'write SCREENER.KEY=VALUE'),
        (['--set', 'xtb.method=gfn1'], 'for one of the chosen screeners (rules, gnn)'),
    ],
)
def test_bad_screeners_are_named_before_anything_runs(library, tmp_path, arguments, message):
    path, _ = library
    out = tmp_path / 'out.csv'
    result = CliRunner().invoke(cmd_root, ['screen', str(path), '--out', str(out), *arguments])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not out.exists()


def test_a_missing_library_or_smiles_column_is_named(tmp_path):
    missing = CliRunner().invoke(cmd_root, ['screen', str(tmp_path / 'none.smi'), '--out', str(tmp_path / 'a.csv')])
    assert missing.exit_code == 2 and 'no library file' in missing.output
    table = tmp_path / 'table.csv'
    table.write_text('name,formula\nwater,H2O\n')
    result = CliRunner().invoke(cmd_root, ['screen', str(table), '-s', 'rules', '--out', str(tmp_path / 'b.csv')])
    assert result.exit_code == 2 and 'needs a `smiles` column' in result.output
    with pytest.raises(LibraryError, match='no MOSES split nosuch'):
        Library.parse('moses:train,nosuch')


def test_smi_files_take_the_first_token_and_skip_comments(tmp_path):
    path = tmp_path / 'lib.smi'
    path.write_text('# additives\nCS(C)=O dmso\n\nOCCO ethylene glycol\n')
    assert list(Library.parse(str(path)).smiles()) == [(2, 'CS(C)=O'), (4, 'OCCO')]
