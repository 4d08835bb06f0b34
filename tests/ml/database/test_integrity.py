"""Shards checked on every read: a shard changed after it was written is left out of queries and stats, named with
what to do, and none of its rows is returned; checksums are cached by (size, mtime_ns, inode)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from aiida_znadditive.cli import cmd_root
from aiida_znadditive.ml.database import MetaDatabase

CLI = str(Path(sys.executable).parent / 'aiida-znadditive')
DAMAGED = 'part-00001.parquet'


def overwrite_middle(path: Path, count: int = 400) -> None:
    """Overwrite ``count`` bytes in the middle of a file in place: same size, same inode."""
    size = path.stat().st_size
    with open(path, 'r+b') as handle:
        handle.seek(size // 2 - count // 2)
        handle.write(bytes(range(256)) + bytes(count - 256))
    assert path.stat().st_size == size


@pytest.fixture
def damaged(tmp_path, moses_file):
    """600 MOSES molecules in three shards of 200; the middle shard then overwritten in place (400 bytes, same
    size). Returns the folder and the source_ids the damaged shard held."""
    database = MetaDatabase(tmp_path / 'db')
    report = database.import_source('smiles', moses_file(600), batch_size=100, shard_rows=200, progress=False)
    assert report.shards == ['part-00000.parquet', DAMAGED, 'part-00002.parquet']
    assert database.query('SELECT count(*) AS n FROM molecules').to_pylist() == [{'n': 600}]
    lost = set(pq.read_table(tmp_path / 'db' / DAMAGED, columns=['source_id']).column('source_id').to_pylist())
    assert len(lost) == 200
    overwrite_middle(tmp_path / 'db' / DAMAGED)
    return tmp_path / 'db', lost


def test_query_and_stats_leave_a_changed_shard_out(damaged):
    directory, lost = damaged
    database = MetaDatabase(directory)
    ids = set(database.query('SELECT source_id FROM molecules').column('source_id').to_pylist())
    assert len(ids) == 400 and not ids & lost
    unique = database.query('SELECT provenance FROM unique_molecules').column('provenance').to_pylist()
    assert not {entry['source_id'] for entries in unique for entry in entries} & lost
    reason = database.problems[DAMAGED]
    assert reason.startswith('content differs from its sha256 in the manifest')
    assert f'aiida-znadditive db repair-manifest {directory}' in reason and 'smiles: 200 rows' in reason
    stats = MetaDatabase(directory).stats()
    assert (stats['rows'], stats['shards']) == (400, 2)
    assert stats['problems'] == {DAMAGED: reason}
    # The damage is remembered with the file's identity: the next reader does not hash it again to leave it out.
    known = json.loads((directory / 'problems.json').read_text())
    stat = (directory / DAMAGED).stat()
    assert known[DAMAGED]['stat'] == [stat.st_size, stat.st_mtime_ns, stat.st_ino]
    assert database.verify() == {DAMAGED: reason}


def test_cli_query_warns_on_stderr_and_returns_none_of_its_rows(damaged, tmp_path):
    directory, lost = damaged
    result = CliRunner().invoke(
        cmd_root, ['db', 'query', str(directory), 'SELECT source_id FROM molecules', '--max-rows', '1000']
    )
    assert result.exit_code == 0, result.output
    assert f'shard {DAMAGED} left out: content differs from its sha256' in result.stderr
    assert 'restore it from a backup' in result.stderr
    printed = {line.strip() for line in result.stdout.splitlines()[1:]}
    assert len(printed) == 400 and not printed & lost
    target = tmp_path / 'all.parquet'
    result = CliRunner().invoke(
        cmd_root, ['db', 'query', str(directory), 'SELECT * FROM molecules', '--output', str(target)]
    )
    assert result.exit_code == 0, result.output
    assert DAMAGED in result.stderr
    assert not set(pq.read_table(target).column('source_id').to_pylist()) & lost


def test_cli_in_its_own_process(damaged):
    """As a user's shell runs it: the warning on stderr, the count on stdout, and stats listing the shard."""
    directory, _ = damaged
    query = subprocess.run(
        [CLI, 'db', 'query', str(directory), 'SELECT count(*) AS n FROM molecules'],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert query.returncode == 0, query.stderr
    assert query.stdout.split() == ['n', '400']
    assert f'shard {DAMAGED} left out: content differs' in query.stderr
    assert query.stderr.count(DAMAGED) == 1  # printed once, not also as a log line
    stats = subprocess.run(
        [CLI, 'db', 'stats', str(directory)], capture_output=True, text=True, check=False, timeout=300
    )
    assert stats.returncode == 0, stats.stderr
    assert 'rows: 400' in stats.stdout
    assert f'shard {DAMAGED} left out: content differs' in stats.stdout


def test_checksums_cached_by_size_mtime_and_inode(tmp_path, moses_file):
    """Repeated reads do not hash a shard again while its (size, mtime_ns, inode) stay: a change that keeps all three
    is found by ``verify``, which hashes every shard whatever the cache says; any change of the three is rehashed."""
    directory = tmp_path / 'db'
    MetaDatabase(directory).import_source('smiles', moses_file(600), batch_size=100, shard_rows=200, progress=False)
    assert MetaDatabase(directory).shards()  # the first read hashes every shard and caches what matched
    verified = json.loads((directory / 'verified.json').read_text())
    shard = directory / 'part-00000.parquet'
    stat = shard.stat()
    assert set(verified) == {'part-00000.parquet', DAMAGED, 'part-00002.parquet'}
    assert verified['part-00000.parquet']['stat'] == [stat.st_size, stat.st_mtime_ns, stat.st_ino]

    os.utime(shard, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # touched, content the same: rehashed, fine
    assert len(MetaDatabase(directory).shards()) == 3
    assert json.loads((directory / 'verified.json').read_text())['part-00000.parquet']['stat'][1] == (
        stat.st_mtime_ns + 1_000_000
    )

    stat = shard.stat()
    overwrite_middle(shard)
    os.utime(shard, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the change hidden from the cache key
    assert len(MetaDatabase(directory).shards()) == 3  # trusted from the cache: not hashed again
    problems = MetaDatabase(directory).verify()
    assert problems['part-00000.parquet'].startswith('content differs from its sha256')
    assert 'part-00000.parquet' not in json.loads((directory / 'verified.json').read_text())
    assert MetaDatabase(directory).query('SELECT count(*) AS n FROM molecules').to_pylist() == [{'n': 400}]


def test_unrecorded_shard_is_left_out_until_a_writer_records_it(tmp_path, moses_file):
    """A writer killed between renaming a finished shard and recording it in the manifest leaves a complete shard
    the manifest does not list: readers leave it out; the next import records it (rows, checksum) and, finding its
    rows present, adds none of them again."""
    directory = tmp_path / 'db'
    smiles = moses_file(600)
    MetaDatabase(directory).import_source('smiles', smiles, batch_size=100, shard_rows=200, progress=False)
    manifest = json.loads((directory / 'manifest.json').read_text())
    recorded = manifest['shards'].pop('part-00002.parquet')
    (directory / 'manifest.json').write_text(json.dumps(manifest))
    database = MetaDatabase(directory)
    assert database.query('SELECT count(*) AS n FROM molecules').to_pylist() == [{'n': 400}]
    assert database.problems['part-00002.parquet'].startswith('not in the manifest')
    report = MetaDatabase(directory).import_source('smiles', smiles, progress=False)
    assert (report.rows_written, report.rows_present) == (0, 600)
    entry = MetaDatabase(directory).manifest()['shards']['part-00002.parquet']
    assert {key: entry[key] for key in ('rows', 'bytes', 'sha256', 'sources')} == {
        key: recorded[key] for key in ('rows', 'bytes', 'sha256', 'sources')
    }
    counts = MetaDatabase(directory).query('SELECT count(*) AS n, count(DISTINCT source_id) AS ids FROM molecules')
    assert counts.to_pylist() == [{'n': 600, 'ids': 600}]
