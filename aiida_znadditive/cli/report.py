"""``aiida-znadditive report`` and ``export``: from the provenance graph to the tables, figures and methods text of a
paper, and the archive a referee can re-open."""

from __future__ import annotations

from pathlib import Path

import click
from aiida.cmdline.utils import echo

from .root import PROFILE_OPTION, cmd_root, load_profile_or_fail


def selection_options(function):
    """The options that choose the results (shared by `report` and `export`)."""
    for option in reversed(
        (
            PROFILE_OPTION,
            click.option('--group', '-G', 'group', help='Only the results in this group (label).'),
            click.option('--campaign', help='Only the results of this CampaignWorkChain (PK or UUID).'),
            click.option(
                '--molecule', '-m', 'molecules', multiple=True, help='Only this molecule (SMILES or InChIKey); repeat.'
            ),
            click.option('--protocol', help='Only results whose DFT stage ran this calculator protocol (e.g. `fast`).'),
        )
    ):
        function = option(function)
    return function


#: how messages name the results of the kinds that are not WorkChains: (an empty choice: "no ...", "... have none")
NOUNS = {'screening': ('promoted candidates', 'candidates'), 'experiments': ('experiments', 'experiments')}


def selected_results(group, campaign, molecules, protocol=None, kind: str = 'complexation') -> list:
    """The ``kind`` results the options choose, oldest first: finished WorkChains, or for ``screening`` the promoted
    candidate nodes and for ``experiments`` the experiment nodes; a ReportError names an empty choice."""
    from ..provenance import ReportError, complexation_table, result_nodes
    from ..provenance.experiments import experiment_nodes
    from ..provenance.screening import candidate_nodes

    noun, subject = NOUNS.get(kind, (f'finished {kind} results', f'{kind} results'))
    if protocol is not None and kind != 'complexation':
        raise ReportError(f'--protocol selects complexation results by their DFT stage; {subject} have none')
    finders = {'screening': candidate_nodes, 'experiments': experiment_nodes}
    nodes = []
    for molecule in molecules or (None,):
        if kind in finders:
            nodes += finders[kind](group=group, campaign=campaign, molecule=molecule)
        else:
            nodes += result_nodes(kind, group=group, campaign=campaign, molecule=molecule)
    nodes = list({node.uuid: node for node in nodes}.values())  # once each (a Dict node is not hashable)
    if protocol is not None and nodes:
        table = complexation_table(nodes)
        keep = set(table.loc[table['dft_protocol'] == protocol, 'workchain_uuid'])
        nodes = [node for node in nodes if node.uuid in keep]
    if not nodes:
        where = ' '.join(f'{k} {v}' for k, v in (('in group', group), ('of campaign', campaign)) if v)
        if protocol:
            where = f'{where} with DFT protocol `{protocol}`'.strip()
        hint = ' (aiida-znadditive experiments import)' if kind == 'experiments' else ''
        raise ReportError(f'no {noun}' + (f' {where}' if where else '') + hint)
    return nodes


@cmd_root.command('report')
@selection_options
@click.option(
    '--format',
    'formats',
    default='csv,md,tex,html',
    show_default=True,
    help='Comma-separated formats: csv, md, tex (tables), html (index.html: tables, figures and methods on one page).',
)
@click.option(
    '--kind',
    type=click.Choice(['complexation', 'solvation', 'adsorption', 'redox', 'campaign', 'screening', 'experiments']),
    default='complexation',
    show_default=True,
    help='Which results: Zn2+ complexation (tables, figure, methods, HTML), or the solvation-shell, Zn(002) '
    'adsorption, redox-potential or campaign-ranking tables (CSV, Markdown, LaTeX) with their figures (a campaign: '
    'scores, predicted against computed exchange, the Pareto front of binding and adsorption), or the screening '
    'table of the promoted candidates (score, predictions, screener or generator, model hash, seed), or the '
    'experiments beside the computed exchange of the same molecule (with the measured-against-computed figure).',
)
@click.option('--out', 'out', type=click.Path(file_okay=False, path_type=Path), required=True, help='Output folder.')
@click.option('--force', is_flag=True, help='Write into an output folder that already holds files.')
def cmd_report(profile_name, group, campaign, molecules, protocol, formats, kind, out, force) -> None:
    """Tables (CSV, Markdown, LaTeX) of the complexation results, a figure with a JSON sidecar of the UUIDs it
    shows, a methods paragraph written from the engine processes' own inputs, the BibTeX of the software, and an
    HTML page (index.html) that shows them all.

    Results computed at different levels of theory go in separate tables, never averaged together.
    """
    from ..provenance import ReportError, write_report
    from ..provenance.report import FORMATS, write_tables

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
        nodes = selected_results(group, campaign, molecules, protocol, kind)
        if kind == 'complexation':
            written = write_report(nodes, out, formats=chosen, protocol=protocol)
        else:
            written = write_tables(kind, nodes, out, formats=chosen)
    except ReportError as error:
        echo.echo_critical(str(error))
    if len(written['levels']) > 1:
        echo.echo_warning(f'{len(written["levels"])} levels of theory: one table each, not averaged')
    echo.echo_success(f'{written["rows"]} result(s) -> {out}: {", ".join(written["files"])}')


@cmd_root.command('export')
@selection_options
@click.option('--out', 'out', type=click.Path(dir_okay=False, path_type=Path), required=True, help='Archive file.')
@click.option('--force', is_flag=True, help='Overwrite an existing archive file.')
def cmd_export(profile_name, group, campaign, molecules, protocol, out, force) -> None:
    """An AiiDA archive of exactly the nodes behind the chosen results: each result's own subgraph and the reference
    calculations it used, nothing that only shares a reference with it. `verdi archive import` it into any profile
    and `report` gives the same tables there."""
    from aiida import orm

    from ..provenance import ReportError
    from ..provenance.archive import export_results

    if out.exists() and not force:
        raise click.BadParameter(f'{out} exists (use --force to overwrite it)', param_hint='--out')
    if not out.parent.is_dir():
        raise click.BadParameter(f'folder {out.parent} does not exist', param_hint='--out')
    load_profile_or_fail(profile_name)
    try:
        nodes = selected_results(group, campaign, molecules, protocol)
    except ReportError as error:
        echo.echo_critical(str(error))
    # The group goes along only when it holds exactly what was chosen: its membership must not add results.
    whole_group = group is not None and not molecules and campaign is None and protocol is None
    groups = [orm.load_group(group)] if whole_group else []
    written = export_results(nodes, out, groups=groups, overwrite=force)
    echo.echo_success(
        f'{written["results"]} result(s) and the {written["references"]} reference calculation(s) they used -> {out}'
    )
