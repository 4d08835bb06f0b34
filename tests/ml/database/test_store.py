"""The store: shards written atomically in batches, DuckDB views, deduplication, damaged shards, statistics."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from aiida_znadditive.ml.database import COLUMNS, MetaDatabase
from aiida_znadditive.ml.database.schema import HARTREE_TO_EV, SOURCE_PREFERENCE
from aiida_znadditive.ml.database.standardise import standardise

DATA = Path(__file__).parent.parent / 'data'
WATER = 'XLYOFNOQVPJJNP-UHFFFAOYSA-N'


@pytest.fixture(scope='module')
def qm9_database(tmp_path_factory):
    """The first 2000 real QM9 molecules in shards of at most 800 rows, row groups of 300."""
    database = MetaDatabase(tmp_path_factory.mktemp('qm9'))
    report = database.import_source('qm9', limit=2000, batch_size=300, shard_rows=800, progress=False)
    return database, report


def test_qm9_import_report_and_shards(qm9_database):
    database, report = qm9_database
    assert report.rows_read == 2000
    assert report.rows_written == 2000 - report.rows_skipped
    assert report.shards == ['part-00000.parquet', 'part-00001.parquet', 'part-00002.parquet']
    assert [pq.ParquetFile(database.directory / name).metadata.num_rows for name in report.shards] == [900, 900, 200]
    assert pq.ParquetFile(database.directory / report.shards[0]).num_row_groups == 3  # one per batch of 300
    assert pq.ParquetFile(database.directory / report.shards[0]).metadata.row_group(0).column(0).compression == 'ZSTD'
    assert not list(database.directory.glob('.*.tmp'))  # nothing half-written left behind
    manifest = database.manifest()
    assert manifest['columns'] == list(COLUMNS)
    assert manifest['shards']['part-00000.parquet']['sources'] == {'qm9': 900}
    assert manifest['imports'][-1]['rows_written'] == report.rows_written


def test_query_real_values(qm9_database):
    database, _ = qm9_database
    table = database.query(
        'SELECT smiles, homo_ev, dipole_debye, polarizability_a3, atomic_numbers, len(positions) AS n_xyz '
        'FROM molecules WHERE source_id = $id',
        {'id': '1'},
    )
    (methane,) = table.to_pylist()
    assert methane['smiles'] == 'C'
    assert methane['homo_ev'] == pytest.approx(-0.3877 * HARTREE_TO_EV) == pytest.approx(-10.550, abs=5e-4)
    assert methane['dipole_debye'] == 0.0
    assert methane['polarizability_a3'] == pytest.approx(1.9575, abs=1e-4)
    assert (methane['atomic_numbers'], methane['n_xyz']) == ([6, 1, 1, 1, 1], 15)
    water = database.query(f"SELECT inchikey, elements FROM molecules WHERE inchikey = '{WATER}'").to_pylist()
    assert water == [{'inchikey': WATER, 'elements': ['H', 'O']}]


def test_iter_batches_streams(qm9_database):
    database, _ = qm9_database
    sizes = [batch.num_rows for batch in database.iter_batches('SELECT inchikey FROM molecules', batch_size=512)]
    assert sum(sizes) == 2000
    assert max(sizes) <= 512


def test_stats(qm9_database):
    database, _ = qm9_database
    stats = database.stats()
    assert stats['shards'] == 3
    assert stats['rows'] == 2000
    assert stats['sources'] == [
        {'source': 'qm9', 'source_version': stats['sources'][0]['source_version'], 'rows': 2000}
    ]
    assert stats['properties']['homo_ev'] == stats['properties']['geometry'] == 2000
    assert stats['properties']['ip_ev'] == 0
    assert stats['unique_molecules'] <= 2000
    assert stats['problems'] == {}


def test_dedup_merges_sources_with_preference(tmp_path):
    database = MetaDatabase(tmp_path / 'db')
    database.import_source('qm9', limit=10, progress=False)
    csv = tmp_path / 'mine.csv'
    csv.write_text('name,smiles,gap_ev,ip_ev\nmy-water,O,99.0,12.6\nmy-ethanol,CCO,5.0,\n')
    database.import_source('smiles', csv, progress=False)
    (water,) = database.query(f"SELECT * FROM unique_molecules WHERE inchikey = '{WATER}'").to_pylist()
    assert water['sources'] == ['qm9', 'smiles']
    assert water['n_records'] == 2
    assert [(entry['source'], entry['source_id']) for entry in water['provenance']] == [
        ('qm9', '3'),
        ('smiles', 'my-water'),
    ]
    assert water['gap_ev'] == pytest.approx(0.3615 * HARTREE_TO_EV)  # qm9 ranks above a user's file
    assert water['ip_ev'] == 12.6  # only the user's file has it
    assert water['property_sources']['gap_ev'] == 'qm9'
    assert water['property_sources']['ip_ev'] == 'smiles'
    assert water['property_sources']['geometry'] == 'qm9'
    assert water['atomic_numbers'] == [8, 1, 1]
    counts = database.query('SELECT count(*) AS rows, count(DISTINCT inchikey) AS keys FROM molecules').to_pylist()[0]
    unique = database.query('SELECT count(*) AS n FROM "unique"').to_pylist()[0]['n']
    assert unique == counts['keys'] == counts['rows'] - 1
    assert SOURCE_PREFERENCE.index('qm9') < SOURCE_PREFERENCE.index('smiles')


def test_damaged_pages_found_by_reading_are_left_out(tmp_path):
    """A manifest without checksums (nothing to compare on read): the damage shows when a query reads the pages; the
    shard is left out, the query run again, and the damage remembered for the next reader."""
    database = MetaDatabase(tmp_path)
    report = database.import_source('qm9', limit=600, batch_size=100, shard_rows=200, progress=False)
    assert len(report.shards) == 3
    manifest = json.loads((tmp_path / 'manifest.json').read_text())
    del manifest['shards']['part-00001.parquet']['sha256']
    (tmp_path / 'manifest.json').write_text(json.dumps(manifest))
    shard = tmp_path / 'part-00001.parquet'
    size = shard.stat().st_size
    with open(shard, 'r+b') as handle:  # the pages overwritten, the footer intact: opening it still works
        handle.seek(4)
        handle.write(b'\xff' * int(size * 0.8))
    reopened = MetaDatabase(tmp_path)
    result = reopened.query('SELECT count(*) AS n, avg(homo_ev) AS homo FROM molecules').to_pylist()[0]
    assert result['n'] == 400
    assert result['homo'] < 0
    assert reopened.problems['part-00001.parquet'].startswith('unreadable Parquet')
    # Remembered for the next reader, which leaves it out before any query reads it.
    assert MetaDatabase(tmp_path).query('SELECT count(*) AS n FROM molecules').to_pylist() == [{'n': 400}]
    assert 'part-00001.parquet' in MetaDatabase(tmp_path).stats()['problems']


def test_truncated_shard_detected_on_open(tmp_path):
    database = MetaDatabase(tmp_path)
    database.import_source('qm9', limit=300, batch_size=100, shard_rows=100, progress=False)
    shard = tmp_path / 'part-00002.parquet'
    os.truncate(shard, shard.stat().st_size - 50)
    reopened = MetaDatabase(tmp_path)
    assert [path.name for path in reopened.shards()] == ['part-00000.parquet', 'part-00001.parquet']
    assert 'the manifest says' in reopened.problems['part-00002.parquet']
    assert reopened.query('SELECT count(*) AS n FROM molecules').to_pylist() == [{'n': 200}]


def test_verify_compares_checksums(tmp_path):
    database = MetaDatabase(tmp_path)
    database.import_source('smiles', DATA / 'additives.smi', progress=False)
    assert database.verify() == {}
    manifest = json.loads((tmp_path / 'manifest.json').read_text())
    manifest['shards']['part-00000.parquet']['sha256'] = '0' * 64
    (tmp_path / 'manifest.json').write_text(json.dumps(manifest))
    assert 'content differs from its sha256' in MetaDatabase(tmp_path).verify()['part-00000.parquet']


def test_new_shards_carry_page_checksums(tmp_path):
    """A byte changed inside a page that still decodes as Parquet: the page checksum names it on ``verify``."""
    database = MetaDatabase(tmp_path)
    database.import_source('qm9', limit=200, progress=False)
    shard = tmp_path / 'part-00000.parquet'
    metadata = pq.ParquetFile(shard).metadata
    column = metadata.row_group(0).column(COLUMNS.index('positions'))
    with open(shard, 'r+b') as handle:  # a byte in the middle of the positions' data page, past its header
        handle.seek(column.data_page_offset + column.total_compressed_size // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0xFF]))
    manifest = json.loads((tmp_path / 'manifest.json').read_text())
    del manifest['shards']['part-00000.parquet']['sha256']  # only the page checksum is left to notice
    (tmp_path / 'manifest.json').write_text(json.dumps(manifest))
    problems = MetaDatabase(tmp_path).verify()
    assert 'CRC checksum verification failed' in problems['part-00000.parquet'], problems


def test_empty_database_answers_queries(tmp_path):
    database = MetaDatabase(tmp_path / 'nothing-yet')
    assert database.query('SELECT count(*) AS n FROM molecules').to_pylist() == [{'n': 0}]
    assert database.query('SELECT * FROM unique_molecules').num_rows == 0
    assert database.stats()['rows'] == 0


def test_empty_file_writes_nothing(tmp_path):
    empty = tmp_path / 'empty.smi'
    empty.touch()
    database = MetaDatabase(tmp_path / 'db')
    report = database.import_source('smiles', empty, progress=False)
    assert (report.rows_read, report.rows_written, report.shards) == (0, 0, [])
    assert report.messages == [f'{empty}: empty file, no molecules']


def test_rows_before_an_error_are_kept(tmp_path):
    def records():
        for smiles in ('O', 'CCO', 'c1ccccc1'):
            yield {**standardise(smiles), 'source': 'test', 'source_version': '1', 'source_id': smiles}
        raise OSError('disk went away')

    database = MetaDatabase(tmp_path)
    with pytest.raises(OSError, match='disk went away'):
        database.import_records(records(), batch_size=2, progress=False)
    assert database.query('SELECT count(*) AS n FROM molecules').to_pylist() == [{'n': 3}]
    assert not list(tmp_path.glob('.*.tmp'))


def test_incomplete_records_dropped(tmp_path, caplog):
    database = MetaDatabase(tmp_path)
    good = {**standardise('O'), 'source': 'test', 'source_version': '1', 'source_id': 'a'}
    written = database.import_records([good, {**good, 'inchikey': None}], progress=False)
    assert written == 1
    assert 'records without inchikey dropped' in caplog.text


def test_sql_errors_pass_through(tmp_path):
    database = MetaDatabase(tmp_path)
    with pytest.raises(Exception, match='Catalog Error'):
        database.query('SELECT * FROM no_such_table')


def test_parallel_workers_give_the_same_rows(tmp_path):
    one, two = MetaDatabase(tmp_path / 'one'), MetaDatabase(tmp_path / 'two')
    one.import_source('moses', limit=1500, progress=False)
    two.import_source('moses', limit=1500, workers=2, progress=False)
    sql = 'SELECT source_id, inchikey, smiles FROM molecules ORDER BY source_id'
    assert one.query(sql).to_pylist() == two.query(sql).to_pylist()


def _import_qm9(directory: str, limit: int, ready, go) -> None:
    """One writer process: import ``limit`` QM9 molecules in small shards, starting when ``go`` is set."""
    database = MetaDatabase(directory)
    ready.set()
    go.wait(30)
    database.import_source('qm9', limit=limit, batch_size=50, shard_rows=100, progress=False)


def test_two_imports_at_once_lose_nothing(tmp_path):
    """Two processes import the same molecules into one folder at the same moment (real processes, real files): the
    second waits for the first's writer lock instead of taking its shard numbers and deleting its temporary shards,
    then finds every row present and adds none; every row is there exactly once and both imports are in the
    manifest."""
    import multiprocessing

    from aiida_znadditive.ml.database.lock import DatabaseBusy, WriterLock

    context = multiprocessing.get_context('spawn')
    go = context.Event()
    ready = [context.Event(), context.Event()]
    workers = [context.Process(target=_import_qm9, args=(str(tmp_path / 'db'), 400, ready[i], go)) for i in range(2)]
    for worker in workers:
        worker.start()
    assert all(event.wait(120) for event in ready)
    go.set()
    for worker in workers:
        worker.join(300)
    assert [worker.exitcode for worker in workers] == [0, 0]
    database = MetaDatabase(tmp_path / 'db')
    counts = database.query(
        'SELECT sum(n) AS rows, count(*) AS ids, max(n) AS most, min(n) AS least FROM '
        '(SELECT source_id, count(*) AS n FROM molecules GROUP BY source_id)'
    ).to_pylist()[0]
    imports = database.manifest()['imports']
    assert len(imports) == 2
    first, second = sorted(imports, key=lambda entry: -entry['rows_written'])
    assert first['rows_written'] > 350 and first['rows_present'] == 0
    assert (second['rows_written'], second['rows_present']) == (0, first['rows_written'])
    assert counts == {'rows': first['rows_written'], 'ids': first['rows_written'], 'most': 1, 'least': 1}
    assert database.stats()['problems'] == {}
    # A writer that will not wait is told who holds the folder.
    busy = pytest.raises(DatabaseBusy, match=r'another import into .* is running \(pid')
    with WriterLock(tmp_path / 'db'), busy, WriterLock(tmp_path / 'db', wait=False):
        pass
