"""Idempotent imports: a row's key is (source, source_version, source_id), and a key enters the database once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from click.testing import CliRunner

from aiida_znadditive.cli import cmd_root
from aiida_znadditive.ml.database import MetaDatabase
from aiida_znadditive.ml.database.standardise import standardise

KEY_COUNTS = 'SELECT count(*) AS n, count(DISTINCT (source, source_version, source_id)) AS keys FROM molecules'


def test_same_file_twice_adds_nothing(tmp_path, moses_file):
    smiles = moses_file(600)
    database = MetaDatabase(tmp_path / 'db')
    first = database.import_source('smiles', smiles, batch_size=100, shard_rows=200, progress=False)
    assert first.rows_written == 600 - first.rows_skipped and first.rows_present == 0
    second = database.import_source('smiles', smiles, batch_size=100, shard_rows=200, progress=False)
    assert (second.rows_read, second.rows_written, second.rows_present) == (600, 0, first.rows_written)
    assert second.already_imported and second.shards == []
    assert database.query(KEY_COUNTS).to_pylist() == [{'n': first.rows_written, 'keys': first.rows_written}]
    assert [entry['rows_written'] for entry in database.manifest()['imports']] == [first.rows_written, 0]


def test_cli_says_already_imported(tmp_path, moses_file):
    smiles = moses_file(600)
    directory = tmp_path / 'db'

    def run(*args):
        return CliRunner().invoke(cmd_root, ['db', *map(str, args)], catch_exceptions=False)

    assert run('import', 'smiles', smiles, '--out', directory).exit_code == 0
    result = run('import', 'smiles', smiles, '--out', directory)
    assert result.exit_code == 0, result.output
    written = MetaDatabase(directory).stats()['rows']
    assert f'{smiles}: already imported: {written:,} rows, 0 added' in result.output
    # A longer file that starts with the same lines is another file: another source_version, all its rows enter.
    longer = moses_file(700)
    result = run('import', 'smiles', longer, '--out', directory)
    assert result.exit_code == 0, result.output
    assert 'already' not in result.output
    assert MetaDatabase(directory).query(KEY_COUNTS).to_pylist()[0]['keys'] == MetaDatabase(directory).stats()['rows']


def test_overlapping_inputs_of_one_version(tmp_path):
    """Packaged data has one version for all of it: importing its first 300, then its first 500 molecules, writes
    300 then the other 200."""
    database = MetaDatabase(tmp_path / 'db')
    assert database.import_source('qm9', limit=300, progress=False).rows_written == 300
    report = database.import_source('qm9', limit=500, progress=False)
    assert (report.rows_written, report.rows_present) == (200, 300)
    assert database.query(KEY_COUNTS).to_pylist() == [{'n': 500, 'keys': 500}]


def test_import_records_writes_no_key_twice(tmp_path):
    """The campaign's record step and other callers of ``import_records``: rows present are not written again, and
    a key repeated within one call keeps its first row."""

    def record(smiles, source_id, version='1'):
        return {**standardise(smiles), 'source': 'generated:test', 'source_version': version, 'source_id': source_id}

    database = MetaDatabase(tmp_path)
    assert database.import_records([record('O', 'a'), record('CCO', 'b')], progress=False) == 2
    again = [record('O', 'a'), record('CCO', 'b'), record('CCN', 'c'), record('CCC', 'c'), record('O', 'a', '2')]
    assert database.import_records(again, batch_size=2, progress=False) == 2  # c (its first row) and a of version 2
    rows = database.query('SELECT source_version, source_id, smiles FROM molecules ORDER BY ALL').to_pylist()
    assert [tuple(row.values()) for row in rows] == [
        ('1', 'a', 'O'),
        ('1', 'b', 'CCO'),
        ('1', 'c', 'CCN'),
        ('2', 'a', 'O'),
    ]


def test_repeated_id_in_a_file_is_a_counted_skip(tmp_path):
    smiles = tmp_path / 'names.smi'
    smiles.write_text('O water\nCCO ethanol\nCCN ethanol\n')
    report = MetaDatabase(tmp_path / 'db').import_source('smiles', smiles, progress=False)
    assert (report.rows_read, report.rows_written) == (3, 2)
    assert report.skipped == {'source_id repeated in the input': 1}
    assert report.examples['source_id repeated in the input'] == ['ethanol: source_id repeated in the input']


KILLED_IMPORT = """
import sys
from aiida_znadditive.ml.database import MetaDatabase
MetaDatabase(sys.argv[1]).import_source('smiles', sys.argv[2], batch_size=100, shard_rows=200, progress=False)
"""


def test_killed_import_run_again_adds_only_the_rest(tmp_path, moses_file):
    """An import killed part-way (SIGKILL, a real process): the shards it finished stay, its open shard is dropped;
    run again, it adds only the rows that are missing, and every row is there exactly once."""
    smiles = moses_file(3000)
    directory = tmp_path / 'db'
    process = subprocess.Popen([sys.executable, '-c', KILLED_IMPORT, str(directory), str(smiles)])
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                shards = json.loads((directory / 'manifest.json').read_text()).get('shards', {})
            except (OSError, ValueError):
                shards = {}
            if len(shards) >= 3:
                break
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(60)
    assert process.returncode == -signal.SIGKILL, 'the import ended before it could be killed part-way'
    manifest = json.loads((directory / 'manifest.json').read_text())
    before = sum(entry['rows'] for entry in manifest['shards'].values())
    assert 'imports' not in manifest  # the killed import never finished
    assert 600 <= before < 3000

    report = MetaDatabase(directory).import_source('smiles', smiles, batch_size=100, shard_rows=200, progress=False)
    database = MetaDatabase(directory)
    assert report.rows_present >= before  # plus a shard renamed but not yet recorded when the kill came, if any
    assert report.rows_written == 3000 - report.rows_skipped - report.rows_present
    assert database.query(KEY_COUNTS).to_pylist() == [
        {'n': 3000 - report.rows_skipped, 'keys': 3000 - report.rows_skipped}
    ]
    assert database.stats()['problems'] == {}
    assert not list(directory.glob('.part-*.tmp'))


def test_key_filter_keeps_first_of_each_key():
    """The key filter alone, batch by batch: what one batch keeps, the next one drops."""
    import pyarrow as pa

    from aiida_znadditive.ml.database.keys import KeyFilter

    def table(ids):
        return pa.table({'source': ['s'] * len(ids), 'source_version': ['1'] * len(ids), 'source_id': ids})

    keys = KeyFilter(lambda source: [])
    first = keys.filter(table(['a', 'b', 'a']))
    assert (first.table.column('source_id').to_pylist(), first.present, first.repeated) == (['a', 'b'], 0, ['a'])
    second = keys.filter(table(['b', 'c']))
    assert (second.table.column('source_id').to_pylist(), second.present, second.repeated) == (['c'], 1, [])
    keys.close()
