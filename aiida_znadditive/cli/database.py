"""``aiida-znadditive db``: build the meta-database of molecules from public sources and query it with SQL."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click
from aiida.cmdline.utils import echo

from .root import cmd_root

# Named here, not imported from the registry, so that ``--help`` of every command stays free of RDKit and pyarrow;
# a test keeps the two lists equal.
SOURCES = ('qm9', 'moses', 'pcqm4mv2', 'mp-molecules', 'sdf', 'smiles', 'generated', 'parquet')
DATABASE_DIR = click.argument('directory', type=click.Path(file_okay=False, path_type=Path))


@cmd_root.group('db')
def cmd_db() -> None:
    """The meta-database: molecules of many sources in one schema, as Parquet shards queried with DuckDB."""


@cmd_db.command('import')
@click.argument('source', type=click.Choice(SOURCES))
@click.argument('paths', nargs=-1, type=click.Path(path_type=Path))
@click.option('--out', 'out', required=True, type=click.Path(file_okay=False, path_type=Path), help='Database folder.')
@click.option('--limit', type=click.IntRange(min=1), help='Read at most N input records (per PATH).')
@click.option('--workers', type=click.IntRange(min=1), default=1, show_default=True, help='Standardising processes.')
@click.option('--batch-size', type=click.IntRange(min=1), default=50_000, show_default=True, help='Rows per row group.')
@click.option(
    '--max-heavy-atoms',
    type=click.IntRange(min=1, max=10_000),
    default=100,
    show_default=True,
    help='Skip molecules with more heavy atoms than this.',
)
@click.option(
    '--fragments',
    type=click.Choice(['largest_organic', 'largest', 'keep']),
    default='largest_organic',
    show_default=True,
    help='Which component of a salt or mixture is the molecule.',
)
@click.option('--elements', help='Allowed elements, comma-separated (default: H,B,C,N,O,F,Si,P,S,Cl,Br,I).')
@click.option('--sdf', type=click.Path(dir_okay=False, path_type=Path), help='pcqm4mv2: the training-set SDF.')
@click.option('--id-field', help='sdf: the SD field holding the molecule ID.')
def cmd_import(
    source, paths, out, limit, workers, batch_size, max_heavy_atoms, fragments, elements, sdf, id_field
) -> None:
    """Import SOURCE (from PATH, for qm9 and moses the installed data when none) into the database --out.

    SOURCE is one of qm9, moses, pcqm4mv2, mp-molecules, sdf, smiles, parquet. Molecules that cannot enter are
    skipped and counted by reason; a file that cannot be read is named, and the other files still go in.
    """
    from ..ml.database import MetaDatabase, SourceError
    from ..ml.database.importers import get_importer
    from ..ml.database.standardise import DEFAULT_ELEMENTS, StandardiseSettings

    _log_to_terminal()
    importer = get_importer(source)
    if importer.path_required and not paths:
        echo.echo_critical(f'{source} reads a file: give its PATH')
    allowed = {symbol.strip() for symbol in elements.split(',') if symbol.strip()} if elements else DEFAULT_ELEMENTS
    settings = StandardiseSettings(allowed_elements=allowed, max_heavy_atoms=max_heavy_atoms, fragments=fragments)
    options = {key: value for key, value in (('sdf', sdf), ('id_field', id_field)) if value is not None}
    database = MetaDatabase(out)
    failed, totals = [], {'read': 0, 'written': 0, 'skipped': 0}
    for path in paths or (None,):
        name = str(path) if path is not None else f'{source} (installed)'
        try:
            report = database.import_source(
                source, path, limit=limit, settings=settings, workers=workers, batch_size=batch_size, **options
            )
        except (SourceError, TypeError) as error:  # TypeError: an option the source does not take
            echo.echo_error(f'{name}: {error}')
            failed.append(name)
            continue
        _echo_report(report)
        totals['read'] += report.rows_read
        totals['written'] += report.rows_written
        totals['skipped'] += report.rows_skipped
    if len(paths) > 1:
        echo.echo_report(
            f'all files: read {totals["read"]:,}, wrote {totals["written"]:,}, skipped {totals["skipped"]:,}'
        )
    if failed:
        echo.echo_critical(f'{len(failed)} file(s) not imported: {", ".join(failed)}')


@cmd_db.command('query')
@DATABASE_DIR
@click.argument('sql')
@click.option('--max-rows', type=click.IntRange(min=1), default=50, show_default=True, help='Rows to print.')
@click.option(
    '--output',
    type=click.Path(dir_okay=False, path_type=Path),
    help='Write the whole result to this .parquet or .csv file (streamed) instead of printing it.',
)
def cmd_query(directory, sql, max_rows, output) -> None:
    """Run SQL over the views `molecules` (every row) and `unique_molecules` (one per InChIKey) of DIRECTORY.

    Example: aiida-znadditive db query DB "SELECT source, count(*) FROM molecules GROUP BY source"
    """
    _require_database(directory)
    from ..ml.database import MetaDatabase

    _log_to_terminal()
    database = MetaDatabase(directory)
    try:
        if output is not None:
            rows = _write_result(database, sql, output)
            echo.echo_success(f'{rows:,} rows written to {output}')
            return
        table = database.query(sql)
    except Exception as error:  # DuckDB's errors (syntax, unknown column) are the user's to read
        hint = ' ("unique" is an SQL keyword: quote it, or use unique_molecules)' if 'unique' in sql.lower() else ''
        echo.echo_critical(f'{str(error).splitlines()[0]}{hint}')
    _echo_table(table, max_rows)
    _echo_problems(database.problems)


@cmd_db.command('stats')
@DATABASE_DIR
@click.option('--json', 'as_json', is_flag=True, help='Print the statistics as JSON.')
def cmd_stats(directory, as_json) -> None:
    """Rows, unique molecules, rows per source, property coverage and damaged shards of DIRECTORY."""
    _require_database(directory)
    from ..ml.database import MetaDatabase

    _log_to_terminal()
    stats = MetaDatabase(directory).stats()
    if as_json:
        click.echo(json.dumps(stats, indent=1))
        return
    echo.echo(f'{stats["directory"]}: {stats["shards"]} shard(s), {stats["bytes"] / 1e6:.1f} MB')
    echo.echo(f'  rows: {stats["rows"]:,}   unique molecules (InChIKey): {stats["unique_molecules"]:,}')
    for entry in stats['sources']:
        echo.echo(f'  {entry["source"]:<16} {entry["source_version"]:<22} {entry["rows"]:>12,} rows')
    covered = ', '.join(f'{name} {count:,}' for name, count in stats['properties'].items() if count)
    echo.echo(f'  values: {covered or "none"}')
    _echo_problems(stats['problems'])


@cmd_db.command('verify')
@DATABASE_DIR
def cmd_verify(directory) -> None:
    """Read every shard of DIRECTORY whole and compare checksums; damaged shards are named and left out."""
    _require_database(directory)
    from ..ml.database import MetaDatabase

    _log_to_terminal()
    database = MetaDatabase(directory)
    problems = database.verify()
    if problems:
        _echo_problems(problems)
        sys.exit(1)
    echo.echo_success(f'{len(database.shards())} shard(s) read whole, checksums match')


def _require_database(directory: Path) -> None:
    if not directory.is_dir():
        echo.echo_critical(f'{directory}: no such database folder (create one with: aiida-znadditive db import)')


def _log_to_terminal() -> None:
    """Progress lines and the first skips of each reason on stderr, as ``Warning: ...`` lines."""
    logger = logging.getLogger('aiida_znadditive.ml.database')
    if not any(getattr(handler, '_znadditive', False) for handler in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter('%(levelname)s: %(message)s'))
        handler._znadditive = True
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def _echo_report(report) -> None:
    written = f'{report.rows_written:,} of {report.rows_read:,} molecules'
    target = report.path or f'{report.source} (installed)'
    echo.echo_success(
        f'{target}: {written} imported in {report.seconds:.1f} s ({report.rows_per_second:,.0f} rows/s), '
        f'{len(report.shards)} shard(s)'
    )
    for message in report.messages:
        echo.echo_warning(message)
    for key, count in sorted(report.skipped.items(), key=lambda item: -item[1]):
        example = report.examples.get(key, [''])[0]
        echo.echo(f'  {count:>9,} skipped: {key}' + (f'   e.g. {example}' if example else ''))
    for key, count in sorted(report.warnings.items(), key=lambda item: -item[1]):
        echo.echo(f'  {count:>9,} warning: {key}')
    if report.skipped:
        echo.echo(f'  {report.rows_skipped:>9,} skipped in all')


def _echo_table(table, max_rows: int, width: int = 60) -> None:
    import pandas as pd

    frame = table.slice(0, max_rows).to_pandas()
    for name in frame.columns:  # lists and structs (positions, provenance) would print every element
        if frame[name].dtype == object:
            frame[name] = [_shorten(value, width) for value in frame[name]]
    with pd.option_context('display.max_columns', None, 'display.width', 200, 'display.max_colwidth', width):
        echo.echo(frame.to_string(index=False) if len(frame) else '(no rows)')
    if table.num_rows > max_rows:
        echo.echo(f'... {table.num_rows:,} rows in all (--max-rows, or --output FILE for all of them)')


def _shorten(value, width: int):
    if isinstance(value, str) or value is None:
        return value
    text = str(value.tolist() if hasattr(value, 'tolist') else value)
    return text if len(text) <= width else text[: width - 3] + '...'


def _echo_problems(problems: dict) -> None:
    for name, reason in problems.items():
        echo.echo_warning(f'shard {name} left out: {reason}')


def _write_result(database, sql: str, output: Path) -> int:
    """Stream the result into a Parquet or CSV file, batch by batch; the number of rows."""
    import pyarrow.parquet as pq

    suffix = output.suffix.lower()
    if suffix not in ('.parquet', '.csv'):
        echo.echo_critical(f'{output}: --output must end in .parquet or .csv')
    rows, writer = 0, None
    try:
        for batch in database.iter_batches(sql):
            if suffix == '.parquet':
                writer = writer or pq.ParquetWriter(output, batch.schema, compression='zstd')
                writer.write_batch(batch)
            else:  # pandas writes list columns as their text, which pyarrow's CSV writer refuses to do
                batch.to_pandas().to_csv(output, mode='a' if rows else 'w', header=not rows, index=False)
            rows += batch.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows
