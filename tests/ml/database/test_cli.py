"""``aiida-znadditive db``: import, query, stats and verify as a user runs them, bad input included."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from aiida_znadditive.cli import cmd_root
from aiida_znadditive.cli.database import SOURCES
from aiida_znadditive.ml.database import MetaDatabase
from aiida_znadditive.ml.database.importers import IMPORTERS

DATA = Path(__file__).parent.parent / 'data'
CLI = str(Path(sys.executable).parent / 'aiida-znadditive')


def run(*args: str):
    return CliRunner().invoke(cmd_root, ['db', *map(str, args)], catch_exceptions=False)


@pytest.fixture(scope='module')
def database(tmp_path_factory):
    """QM9's first 100 molecules and the additives file, imported through the command line."""
    directory = tmp_path_factory.mktemp('db') / 'molecules'
    result = run('import', 'qm9', '--out', directory, '--limit', 100)
    assert result.exit_code == 0, result.output
    assert 'qm9 (installed): 100 of 100 molecules imported' in result.output
    result = run('import', 'smiles', DATA / 'additives.smi', '--out', directory)
    assert result.exit_code == 0, result.output
    return directory, result.output


def test_cli_sources_match_the_registry():
    assert set(SOURCES) == set(IMPORTERS)


def test_import_reports_skips_per_reason(database):
    _, output = database
    assert f'{DATA / "additives.smi"}: 4 of 7 molecules imported' in output
    assert '1 skipped: unparseable SMILES   e.g. broken_ring: unparseable SMILES (C1CC()' in output
    assert '1 skipped: element Se not allowed' in output
    assert '1 skipped: too large   e.g. long_alkane: too large: 120 heavy atoms' in output
    assert '3 skipped in all' in output
    # Every skipped record, not only the first examples per reason, is in a file with its id and reason.
    listed = output.split('every skipped record, with its id and reason: ')[1].split()[0]
    rows = [line.split('\t') for line in Path(listed).read_text().splitlines()]
    assert rows[0] == ['kind', 'source_id', 'reason_key', 'reason', 'text']
    assert sorted(row[2] for row in rows[1:]) == ['element Se not allowed', 'too large', 'unparseable SMILES']


def test_query_prints_a_table(database):
    directory, _ = database
    result = run('query', directory, 'SELECT source, count(*) AS n FROM molecules GROUP BY source ORDER BY source')
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.splitlines()]
    assert ['qm9', '100'] in lines
    assert ['smiles', '4'] in lines


def test_query_output_file(database, tmp_path):
    directory, _ = database
    target = tmp_path / 'gaps.parquet'
    result = run('query', directory, 'SELECT inchikey, gap_ev FROM unique_molecules', '--output', target)
    assert result.exit_code == 0, result.output
    assert pq.read_table(target).num_rows == int(result.output.split()[1].replace(',', ''))


def test_query_errors_are_explained(database):
    directory, _ = database
    result = run('query', directory, 'SELECT * FROM unique')
    assert result.exit_code != 0
    assert 'quote it, or use unique_molecules' in result.output


def test_stats(database):
    directory, _ = database
    result = run('stats', directory)
    assert result.exit_code == 0, result.output
    assert 'rows: 104' in result.output
    assert 'homo_ev 100' in result.output


def test_verify(database):
    directory, _ = database
    result = run('verify', directory)
    assert result.exit_code == 0, result.output
    assert 'shard(s) read whole, checksums match' in result.output


def test_missing_file_named_and_other_files_still_imported(tmp_path):
    missing = tmp_path / 'missing.smi'
    result = run('import', 'smiles', missing, DATA / 'additives.csv', '--out', tmp_path / 'db')
    assert result.exit_code != 0
    assert f'{missing}: no such file' in result.output
    assert f'{DATA / "additives.csv"}: 3 of 4 molecules imported' in result.output


def test_empty_file_message(tmp_path):
    empty = tmp_path / 'empty.sdf'
    empty.touch()
    result = run('import', 'sdf', empty, '--out', tmp_path / 'db')
    assert result.exit_code == 0, result.output
    assert f'{empty}: empty file, no molecules' in result.output
    assert '0 of 0 molecules imported' in result.output


def test_source_needing_a_path(tmp_path):
    result = run('import', 'sdf', '--out', tmp_path / 'db')
    assert result.exit_code != 0
    assert 'sdf reads a file: give its PATH' in result.output


def test_query_without_database(tmp_path):
    result = run('query', tmp_path / 'nowhere', 'SELECT 1')
    assert result.exit_code != 0
    assert 'no such database folder' in result.output


def test_query_output_never_inside_the_database(database, tmp_path):
    directory, _ = database
    shard = directory / 'part-00000.parquet'
    before = {path.name: path.read_bytes() for path in directory.iterdir() if path.is_file()}
    link = tmp_path / 'link.parquet'
    link.symlink_to(shard)
    for target in (shard, directory / 'result.csv', link):
        result = CliRunner().invoke(
            cmd_root, ['db', 'query', str(directory), 'SELECT 1 AS x', '--output', str(target), '--force']
        )
        assert result.exit_code == 2, result.output
        assert f"Invalid value for '--output': {target} is inside the database folder {directory}" in result.output
    result = run('query', directory, 'SELECT 1 AS x', '--output', directory / 'manifest.json')
    assert result.exit_code == 2 and 'must end in .parquet or .csv' in result.output
    after = {path.name: path.read_bytes() for path in directory.iterdir() if path.is_file()}
    assert {name: after.get(name) for name in before} == before


def test_query_output_refuses_an_existing_file_without_force(database, tmp_path):
    directory, _ = database
    target = tmp_path / 'result.csv'
    target.write_text('mine\n')
    result = CliRunner().invoke(cmd_root, ['db', 'query', str(directory), 'SELECT 1 AS x', '--output', str(target)])
    assert result.exit_code == 2
    assert f'{target} exists: give --force to replace it' in result.output
    assert target.read_text() == 'mine\n'
    bad = CliRunner().invoke(
        cmd_root, ['db', 'query', str(directory), 'SELECT nope', '--output', str(target), '--force']
    )
    assert bad.exit_code != 0 and 'nope' in bad.output
    assert target.read_text() == 'mine\n'  # a failed query leaves the file as it was
    result = run(
        'query',
        directory,
        'SELECT source, count(*) AS n FROM molecules GROUP BY 1 ORDER BY 1',
        '--output',
        target,
        '--force',
    )
    assert result.exit_code == 0, result.output
    assert target.read_text() == 'source,n\nqm9,100\nsmiles,4\n'
    assert not list(tmp_path.glob('.result.csv.*'))
    empty = tmp_path / 'empty.csv'
    assert run('query', directory, 'SELECT inchikey FROM molecules WHERE false', '--output', empty).exit_code == 0
    assert empty.read_text() == 'inchikey\n'


def test_query_output_folder_checked_before_the_query(database, tmp_path):
    directory, _ = database
    missing = tmp_path / 'no' / 'such' / 'out.parquet'
    result = CliRunner().invoke(cmd_root, ['db', 'query', str(directory), 'SELECT 1', '--output', str(missing)])
    assert result.exit_code == 2
    assert f'{missing}: no such folder {missing.parent}' in result.output


@pytest.mark.skipif(os.geteuid() == 0, reason='root writes into read-only folders')
def test_query_output_folder_not_writable(database, tmp_path):
    directory, _ = database
    locked = tmp_path / 'locked'
    locked.mkdir(mode=0o500)
    result = CliRunner().invoke(
        cmd_root, ['db', 'query', str(directory), 'SELECT 1', '--output', str(locked / 'x.csv')]
    )
    assert result.exit_code == 2
    assert f'the folder {locked} is not writable' in result.output


def test_two_import_processes_at_once(tmp_path, moses_file):
    """Two ``db import`` processes of one file into one new folder, started together: the second waits for the
    writer lock, then finds every row present; each row is there exactly once."""
    smiles, directory = moses_file(600), tmp_path / 'db'
    command = [CLI, 'db', 'import', 'smiles', str(smiles), '--out', str(directory), '--batch-size', '100']
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in '12']
    outputs = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    database = MetaDatabase(directory)
    counts = database.query('SELECT count(*) AS n, count(DISTINCT source_id) AS ids FROM molecules').to_pylist()[0]
    written = [entry['rows_written'] for entry in database.manifest()['imports']]
    assert sorted(written) == [0, counts['n']] and counts['n'] == counts['ids'] > 550
    assert sum(f'already imported: {counts["n"]:,} rows, 0 added' in stdout for stdout, _ in outputs) == 1
    assert database.stats()['problems'] == {}
