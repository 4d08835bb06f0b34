"""``aiida-znadditive report``: from the provenance graph to the tables, figures and methods text of a paper."""

from __future__ import annotations

from pathlib import Path

import click
from aiida.cmdline.utils import echo

from .root import PROFILE_OPTION, cmd_root, load_profile_or_fail


@cmd_root.command('report')
@PROFILE_OPTION
@click.option('--group', '-G', 'group', help='Only the results in this group (label).')
@click.option('--campaign', help='Only the results of this CampaignWorkChain (PK or UUID).')
@click.option('--molecule', '-m', 'molecules', multiple=True, help='Only this molecule (SMILES or InChIKey); repeat.')
@click.option('--protocol', help='Only results whose DFT stage ran this calculator protocol (e.g. `fast`).')
@click.option(
    '--format',
    'formats',
    default='csv,md,tex',
    show_default=True,
    help='Comma-separated table formats: csv, md, tex.',
)
@click.option('--out', 'out', type=click.Path(file_okay=False, path_type=Path), required=True, help='Output folder.')
@click.option('--force', is_flag=True, help='Write into an output folder that already holds files.')
def cmd_report(profile_name, group, campaign, molecules, protocol, formats, out, force) -> None:
    """Tables (CSV, Markdown, LaTeX) of the complexation results, a figure with a JSON sidecar of the UUIDs it
    shows, a methods paragraph written from the engine processes' own inputs, and the BibTeX of the software.

    Results computed at different levels of theory go in separate tables, never averaged together.
    """
    from ..provenance import ReportError, result_nodes, write_report
    from ..provenance.report import FORMATS

    chosen = tuple(part.strip() for part in formats.split(',') if part.strip())
    unknown = sorted(set(chosen) - set(FORMATS))
    if unknown or not chosen:
        raise click.BadParameter(
            f'{", ".join(unknown) or "none"}; choose from {", ".join(FORMATS)}', param_hint='--format'
        )
    # The folder is checked before any query runs: a report never overwrites earlier results unasked.
    if out.exists() and any(out.iterdir()) and not force:
        raise click.BadParameter(f'{out} exists and is not empty (use --force to write into it)', param_hint='--out')
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise click.BadParameter(f'cannot create {out}: {error.strerror}', param_hint='--out') from None
    load_profile_or_fail(profile_name)
    try:
        nodes = []
        for molecule in molecules or (None,):
            nodes += result_nodes('complexation', group=group, campaign=campaign, molecule=molecule)
        if not nodes:
            where = ' '.join(f'{k} {v}' for k, v in (('in group', group), ('of campaign', campaign)) if v)
            raise ReportError(f'no finished complexation results{" " + where if where else ""}')
        written = write_report(list(dict.fromkeys(nodes)), out, formats=chosen, protocol=protocol)
    except ReportError as error:
        echo.echo_critical(str(error))
    if len(written['levels']) > 1:
        echo.echo_warning(f'{len(written["levels"])} levels of theory: one table each, not averaged')
    echo.echo_success(f'{written["rows"]} result(s) -> {out}: {", ".join(written["files"])}')
