"""``aiida-znadditive db``: build the meta-database of molecules from public sources and query it with SQL."""

from __future__ import annotations

import json
import logging
import os
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
    from ..ml.database import ManifestError, MetaDatabase, SourceError
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
    failed, totals = [], {'read': 0, 'written': 0, 'present': 0, 'skipped': 0}
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
        except ManifestError as error:  # every file would meet it: stop here
            echo.echo_critical(str(error))
        _echo_report(report)
        totals['read'] += report.rows_read
        totals['written'] += report.rows_written
        totals['present'] += report.rows_present
        totals['skipped'] += report.rows_skipped
    if len(paths) > 1:
        echo.echo_report(
            f'all files: read {totals["read"]:,}, wrote {totals["written"]:,}, already present '
            f'{totals["present"]:,}, skipped {totals["skipped"]:,}'
        )
    if failed:
        echo.echo_critical(f'{len(failed)} file(s) not imported: {", ".join(failed)}')


@cmd_db.command('import-results')
@click.argument('directory', type=click.Path(file_okay=False, path_type=Path))
@click.option('--group', help='Only the WorkChains of this group (as `complexation --group` files them).')
@click.option('-p', '--profile', 'profile_name', default=None, help='Profile to read (default: the default profile).')
def cmd_import_results(directory, group, profile_name) -> None:
    """Write the finished complexation WorkChains of a profile into the meta-database DIRECTORY.

    One row per WorkChain, for the species it computed, as source `znadditive-aiida` with the level of theory as its
    version and the WorkChain's UUID as its id: importing again adds nothing.
    """
    from ..ml.database import ManifestError
    from ..orchestration.results import finished_complexations, import_results
    from .root import load_profile_or_fail

    load_profile_or_fail(profile_name)
    nodes = finished_complexations(group)
    if not nodes:
        where = f'group `{group}`' if group else 'this profile'
        echo.echo_critical(f'no finished complexation WorkChain in {where}: nothing to import')
    try:
        written = import_results(directory, nodes)
    except ManifestError as error:
        echo.echo_critical(str(error))
    echo.echo_success(
        f'{len(nodes)} finished complexation WorkChains: {written} rows written, {len(nodes) - written} already there'
    )


@cmd_db.command('query')
@DATABASE_DIR
@click.argument('sql')
@click.option('--max-rows', type=click.IntRange(min=1), default=50, show_default=True, help='Rows to print.')
@click.option(
    '--output',
    type=click.Path(dir_okay=False, path_type=Path),
    help='Write the whole result to this .parquet or .csv file (streamed) instead of printing it; never inside '
    'the database folder.',
)
@click.option('--force', is_flag=True, help='Replace the --output file if it exists.')
def cmd_query(directory, sql, max_rows, output, force) -> None:
    """Run SQL over the views `molecules` (every row) and `unique_molecules` (one per InChIKey) of DIRECTORY.

    Every shard is checked against the manifest before it is read (its sha256 when the file changed since the last
    check); a damaged one is left out, named on stderr, and none of its rows is returned.

    Example: aiida-znadditive db query DB "SELECT source, count(*) FROM molecules GROUP BY source"
    """
    _require_database(directory)
    if output is not None:
        _check_output(output, directory, force)
    from ..ml.database import ManifestError, MetaDatabase

    _log_to_terminal()
    database = MetaDatabase(directory)
    try:
        if output is not None:
            rows = _write_result(database, sql, output)
            _echo_problems(database.problems, err=True)
            echo.echo_success(f'{rows:,} rows written to {output}')
            return
        table = database.query(sql)
    except ManifestError as error:
        echo.echo_critical(str(error))
    except Exception as error:  # DuckDB's errors (syntax, unknown column) are the user's to read
        hint = ' ("unique" is an SQL keyword: quote it, or use unique_molecules)' if 'unique' in sql.lower() else ''
        echo.echo_critical(f'{str(error).splitlines()[0]}{hint}')
    _echo_problems(database.problems, err=True)
    _echo_table(table, max_rows)


@cmd_db.command('stats')
@DATABASE_DIR
@click.option('--json', 'as_json', is_flag=True, help='Print the statistics as JSON.')
def cmd_stats(directory, as_json) -> None:
    """Rows, unique molecules, rows per source, property coverage and damaged shards of DIRECTORY."""
    _require_database(directory)
    from ..ml.database import ManifestError, MetaDatabase

    _log_to_terminal()
    try:
        stats = MetaDatabase(directory).stats()
    except ManifestError as error:
        echo.echo_critical(str(error))
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
    """Read every page of every shard of DIRECTORY and hash each again; damaged shards are named and left out."""
    _require_database(directory)
    from ..ml.database import ManifestError, MetaDatabase

    _log_to_terminal()
    database = MetaDatabase(directory)
    try:
        problems = database.verify()
        healthy = len(database.shards())
    except ManifestError as error:
        echo.echo_critical(str(error))
    if problems:
        _echo_problems(problems)
        sys.exit(1)
    echo.echo_success(f'{healthy} shard(s) read whole, checksums match')


@cmd_db.command('repair-manifest')
@DATABASE_DIR
def cmd_repair_manifest(directory) -> None:
    """Rebuild manifest.json of DIRECTORY from its shards: rows, bytes, sha256 and sources from the data.

    The import history, and the checksums recorded when the shards were written, come from the previous manifest
    when it is readable, else from manifest.json.bak; an unreadable manifest.json is kept as manifest.json.corrupt.
    A shard whose content differs from its recorded checksum keeps that checksum, so it stays left out of queries.
    """
    _require_database(directory)
    from ..ml.database import ManifestError, MetaDatabase

    _log_to_terminal()
    try:
        report = MetaDatabase(directory).repair_manifest()
    except ManifestError as error:
        echo.echo_critical(str(error))
    for note in report['notes']:
        echo.echo_warning(note)
    history = f'{report["imports"]} import(s) from {report["history_from"]}' if report['history_from'] else 'none'
    echo.echo_success(
        f'{directory / "manifest.json"} rebuilt: {report["shards"]} shard(s), {report["rows"]:,} rows; '
        f'import history: {history}'
    )


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
        # The commands print the shards left out themselves, with the other problems.
        handler.addFilter(lambda record: not getattr(record, 'shard_problem', False))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def _echo_report(report) -> None:
    written = f'{report.rows_written:,} of {report.rows_read:,} molecules'
    target = report.path or f'{report.source} (installed)'
    if report.already_imported:
        echo.echo_report(f'{target}: already imported: {report.rows_present:,} rows, 0 added')
    else:
        echo.echo_success(
            f'{target}: {written} imported in {report.seconds:.1f} s ({report.rows_per_second:,.0f} rows/s), '
            f'{len(report.shards)} shard(s)'
        )
        if report.rows_present:
            echo.echo(f'  {report.rows_present:>9,} already in the database, not added again')
    for message in report.messages:
        echo.echo_warning(message)
    for key, count in sorted(report.skipped.items(), key=lambda item: -item[1]):
        example = report.examples.get(key, [''])[0]
        echo.echo(f'  {count:>9,} skipped: {key}' + (f'   e.g. {example}' if example else ''))
    for key, count in sorted(report.warnings.items(), key=lambda item: -item[1]):
        echo.echo(f'  {count:>9,} warning: {key}')
    if report.skipped:
        echo.echo(f'  {report.rows_skipped:>9,} skipped in all')
    if report.skipped_file:
        echo.echo(f'  every skipped record, with its id and reason: {report.skipped_file}')


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


def _echo_problems(problems: dict, err: bool = False) -> None:
    for name, reason in problems.items():
        echo.echo_warning(f'shard {name} left out: {reason}', err=err)


def _check_output(output: Path, directory: Path, force: bool) -> None:
    """Refuse an --output that is not a .parquet or .csv file in a writable folder outside the database, or that
    exists (without --force), before the query runs."""
    hint = "'--output'"
    if output.suffix.lower() not in ('.parquet', '.csv'):
        raise click.BadParameter(f'{output} must end in .parquet or .csv', param_hint=hint)
    target, database = output.resolve(), directory.resolve()
    if target == database or database in target.parents:
        raise click.BadParameter(
            f'{output} is inside the database folder {directory}: write the result outside it', param_hint=hint
        )
    if (output.exists() or output.is_symlink()) and not force:
        raise click.BadParameter(f'{output} exists: give --force to replace it', param_hint=hint)
    if not target.parent.is_dir():
        raise click.BadParameter(f'{output}: no such folder {output.parent}', param_hint=hint)
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise click.BadParameter(f'{output}: the folder {output.parent} is not writable', param_hint=hint)


def _write_result(database, sql: str, output: Path) -> int:
    """Stream the result into a Parquet or CSV file, batch by batch; the number of rows.

    Written under a temporary name beside ``output`` and renamed at the end, so that a failed query leaves an
    existing file as it was; an empty result still gives a file with the result's columns.
    """
    import pandas as pd
    import pyarrow.parquet as pq

    suffix = output.suffix.lower()
    temporary = output.with_name(f'.{output.name}.{os.getpid()}.tmp')
    rows, writer = 0, None
    connection = database.connect()
    try:
        reader = connection.sql(sql).to_arrow_reader(50_000)
        if suffix == '.parquet':
            writer = pq.ParquetWriter(temporary, reader.schema, compression='zstd')
        else:
            pd.DataFrame(columns=reader.schema.names).to_csv(temporary, index=False)
        for batch in reader:
            if writer is not None:
                writer.write_batch(batch)
            else:  # pandas writes list columns as their text, which pyarrow's CSV writer refuses to do
                batch.to_pandas().to_csv(temporary, mode='a', header=False, index=False)
            rows += batch.num_rows
        if writer is not None:
            writer.close()
            writer = None
        os.replace(temporary, output)
    finally:
        connection.close()
        if writer is not None:
            writer.close()
        temporary.unlink(missing_ok=True)
    return rows
