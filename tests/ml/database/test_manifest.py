"""The manifest: written with a backup, refused when corrupt (never silently replaced), rebuilt by
``db repair-manifest`` from the shards and the backup."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from aiida_znadditive.cli import cmd_root
from aiida_znadditive.ml.database import ManifestError, MetaDatabase


def run(*args):
    return CliRunner().invoke(cmd_root, ['db', *map(str, args)])


@pytest.fixture
def database(tmp_path, moses_file):
    """Two imports (600 and 100 MOSES molecules) in shards of 200 rows."""
    directory = tmp_path / 'db'
    database = MetaDatabase(directory)
    database.import_source('smiles', moses_file(600), batch_size=100, shard_rows=200, progress=False)
    database.import_source('smiles', moses_file(100, start=600), batch_size=100, shard_rows=200, progress=False)
    return directory


def test_previous_version_kept_as_backup(database):
    manifest = json.loads((database / 'manifest.json').read_text())
    backup = json.loads((database / 'manifest.json.bak').read_text())
    assert len(manifest['imports']) == 2 and len(backup['imports']) == 1  # the backup is one write behind
    assert set(backup['shards']) == set(manifest['shards'])
    assert not list(database.glob('.manifest.json.*'))  # no temporary file left


def test_corrupt_manifest_is_refused_and_left_alone(database, moses_file):
    corrupt = (database / 'manifest.json').read_bytes()[:-200]  # cut short, as by a full disk
    (database / 'manifest.json').write_bytes(corrupt)
    with pytest.raises(ManifestError, match=r'unreadable manifest .*db repair-manifest'):
        MetaDatabase(database).query('SELECT count(*) FROM molecules')
    with pytest.raises(ManifestError, match='unreadable manifest'):
        MetaDatabase(database).import_source('smiles', moses_file(100, start=700), progress=False)
    assert (database / 'manifest.json').read_bytes() == corrupt  # nothing replaced it
    for command in (
        ['query', database, 'SELECT 1'],
        ['stats', database],
        ['verify', database],
        ['import', 'smiles', moses_file(100, start=700), '--out', database],
    ):
        result = run(*command)
        assert result.exit_code != 0, command
        assert f'Critical: {database / "manifest.json"}: unreadable manifest' in result.output, command
        assert f'aiida-znadditive db repair-manifest {database}' in result.output
        assert result.exc_info[0] is SystemExit  # a message, not a traceback


def test_missing_manifest_beside_shards_is_refused(database):
    (database / 'manifest.json').unlink()
    result = run('stats', database)
    assert result.exit_code != 0
    assert 'missing, but the folder has 4 shard(s)' in result.output
    assert f'aiida-znadditive db repair-manifest {database}' in result.output


def test_repair_rebuilds_from_shards_and_backup(database):
    original = json.loads((database / 'manifest.json').read_text())
    (database / 'manifest.json').write_text('{"shards": {"part-00000.parq')
    result = run('repair-manifest', database)
    assert result.exit_code == 0, result.output
    assert 'the unreadable manifest.json is kept as manifest.json.corrupt' in result.output
    assert (
        f'{database / "manifest.json"} rebuilt: 4 shard(s), 700 rows; import history: 1 import(s) from '
        'manifest.json.bak' in result.output
    )
    repaired = json.loads((database / 'manifest.json').read_text())
    assert repaired['shards'] == original['shards']  # rows, bytes, sha256, sources and the time written
    assert repaired['imports'] == original['imports'][:1]  # the backup's history: the last import is lost with it
    assert (database / 'manifest.json.corrupt').read_text() == '{"shards": {"part-00000.parq'
    database_now = MetaDatabase(database)
    assert database_now.stats()['rows'] == 700 and database_now.problems == {}


def test_repair_without_backup_and_of_a_damaged_shard(database):
    """No readable manifest nor backup: entries from the data alone, history empty. With a readable one, a shard
    whose content differs from its recorded checksum keeps the recorded entry, so it stays left out."""
    shard = database / 'part-00001.parquet'
    with open(shard, 'r+b') as handle:
        handle.seek(shard.stat().st_size // 2)
        handle.write(b'\0' * 400)
    result = run('repair-manifest', database)
    assert result.exit_code == 0, result.output
    assert (
        'part-00001.parquet: its content differs from the checksum recorded when it was written; its recorded '
        'entry is kept' in result.output
    )
    assert 'shards' in MetaDatabase(database).manifest()
    assert 'part-00001.parquet' in MetaDatabase(database).stats()['problems']

    (database / 'manifest.json').unlink()
    (database / 'manifest.json.bak').unlink()
    shard.unlink()  # the damaged shard deleted, as its message says
    result = run('repair-manifest', database)
    assert result.exit_code == 0, result.output
    assert 'no readable manifest.json or manifest.json.bak: the import history starts empty' in result.output
    manifest = MetaDatabase(database).manifest()
    assert sorted(manifest['shards']) == ['part-00000.parquet', 'part-00002.parquet', 'part-00003.parquet']
    assert manifest['shards']['part-00000.parquet']['sources'] == {'smiles': 200}
    assert manifest['imports'] == []
    assert MetaDatabase(database).stats()['rows'] == 500


def test_repair_drops_a_deleted_shard(database):
    (database / 'part-00003.parquet').unlink()
    stats = MetaDatabase(database).stats()
    assert stats['problems']['part-00003.parquet'].startswith('listed in the manifest but missing')
    result = run('repair-manifest', database)
    assert result.exit_code == 0, result.output
    assert 'part-00003.parquet was listed but is missing: dropped' in result.output
    assert MetaDatabase(database).stats()['problems'] == {}


def test_repair_of_a_folder_that_is_not_there(tmp_path):
    result = run('repair-manifest', tmp_path / 'nowhere')
    assert result.exit_code != 0
    assert 'no such database folder' in result.output
