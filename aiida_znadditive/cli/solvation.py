"""``aiida-znadditive solvation``: AIMD of the Zn2+ solvation shell, in pure water or with an additive."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from aiida.cmdline.utils import echo

from .codes import CP2K_CODE_OPTION
from .molecule_input import smiles_argument_callback
from .outputs import FORCE_OPTION, check_output_paths
from .params import POSITIVE, FiniteFloat
from .root import (
    GROUP_OPTION,
    PROFILE_OPTION,
    check_submit_possible,
    cmd_root,
    load_profile_or_fail,
    node_label,
    protocol_option,
    result_group,
    scheduler_options_flags,
    submit_or_report,
)


@cmd_root.command('solvation')
@PROFILE_OPTION
@click.argument('additive', required=False, callback=smiles_argument_callback)
@protocol_option('solvation')
@click.option(
    '--start',
    type=click.Choice(['hydrated', 'bound']),
    default='hydrated',
    show_default=True,
    help='Start from the hexaaqua ion (hydrated) or with the additive bound to Zn2+ (bound).',
)
@click.option('--waters', type=POSITIVE, help='Number of waters (protocol default otherwise).')
@click.option('--additives', type=POSITIVE, help='Number of additive molecules.')
@click.option(
    '--counter-ion',
    callback=smiles_argument_callback,
    help='sulfate, chloride, triflate, perchlorate, acetate, none, or an anion SMILES.',
)
@click.option('--ps', 'total_ps', type=FiniteFloat(min=0, min_open=True), help='Total MD time in ps.')
@click.option('--equilibration', type=FiniteFloat(min=0), help='Equilibration to discard, in ps.')
@click.option('--segment', 'segment_ps', type=FiniteFloat(min=0, min_open=True), help='Segment length, ps.')
@CP2K_CODE_OPTION
@click.option('--figure', type=click.Path(dir_okay=False, path_type=Path), help='Write the RDF/CN figure here.')
@GROUP_OPTION
@scheduler_options_flags
@click.option('--submit', is_flag=True, help='Submit to the daemon instead of running here.')
@FORCE_OPTION
def cmd_solvation(
    profile_name,
    additive,
    protocol,
    start,
    waters,
    additives,
    counter_ion,
    total_ps,
    equilibration,
    segment_ps,
    code,
    figure,
    group_label,
    submit,
    force,
    options,
) -> None:
    """Run SolvationShellWorkChain for ADDITIVE (a SMILES; none: Zn2+ in pure water) and print the first shell."""
    profile = load_profile_or_fail(profile_name, processes=True)
    from aiida.engine import run_get_node

    from ..workchains.solvation import SolvationShellWorkChain

    if figure is not None:
        check_output_paths([figure], force=force, option='--figure')  # before the MD, not after it
    if submit:
        check_submit_possible(profile)
    file_in_group = result_group(group_label)
    overrides: dict = {'box': {}, 'md': {}}
    for section, key, value in (
        ('box', 'n_waters', waters),
        ('box', 'n_additives', additives),
        ('box', 'counter_ion', counter_ion),
        ('md', 'total_ps', total_ps),
        ('md', 'equilibration_ps', equilibration),
        ('md', 'segment_ps', segment_ps),
    ):
        if value is not None:
            overrides[section][key] = value
    if start == 'bound' and not additive:
        echo.echo_critical('--start bound needs an ADDITIVE to put in the first shell.')
    try:
        builder = SolvationShellWorkChain.get_builder_from_protocol(
            code, additive, protocol=protocol, start=start, overrides=overrides, options=options
        )
    except ValueError as error:
        echo.echo_critical(str(error))
    builder.metadata.label = node_label(builder.metadata.label)  # the full SMILES stays in the `additive` input
    settings = builder.settings.get_dict()
    name = additive or 'pure water'
    if submit:
        node = submit_or_report(builder, name)
        if node is None:
            sys.exit(1)
        file_in_group(node)
        echo.echo_report(f'{name}: submitted SolvationShellWorkChain<{node.pk}>')
        return
    md = settings['md']
    echo.echo_report(
        f'{name}: {settings["box"]["n_waters"]} waters, {protocol} ({settings["calculator"]["settings"]["method"]}), '
        f'{md["total_ps"]} ps in segments of {md["segment_ps"]} ps, {md["equilibration_ps"]} ps equilibration'
    )
    started = time.perf_counter()
    results, node = run_get_node(builder)
    elapsed = time.perf_counter() - started
    file_in_group(node)  # failed ones too: the group holds what this launch ran
    if not node.is_finished_ok:
        echo.echo_critical(f'{name}: exit {node.exit_status}: {node.exit_message} (PK {node.pk})')
    echo.echo_success(f'{name}: SolvationShellWorkChain<{node.pk}> finished in {elapsed:.0f} s')
    summary = results['results'].get_dict()
    statistics = results['md_statistics'].get_dict()
    echo.echo(
        f'  analysed {summary["time_analysed_ps"]:.2f} ps ({summary["n_frames"]} frames), '
        f'T = {statistics["temperature_mean"]:.0f} ± {statistics["temperature_std"]:.0f} K'
    )
    echo.echo(f'  {"group":<12} {"1st peak/Å":>10} {"1st min/Å":>10} {"CN":>6} {"in shell":>9} {"residence/ps":>13}')
    for group, values in summary['groups'].items():
        peak = f'{values["first_peak"]:.2f}' if values['first_peak'] is not None else '-'
        minimum = f'{values["first_minimum"]:.2f}' if values['first_minimum'] is not None else '-'
        residence = values['residence_time_ps']
        residence_text = '-' if residence is None else f'{">" if values["residence_censored"] else ""}{residence:.2f}'
        echo.echo(
            f'  {group:<12} {peak:>10} {minimum:>10} {values["coordination"]:>6.2f} '
            f'{values["shell_fraction"]:>9.2f} {residence_text:>13}'
        )
    echo.echo(f'  total first-shell coordination number: {summary["total_coordination"]:.2f}')
    target = figure or Path(f'solvation_{node.pk}.png')
    target.write_bytes(results['figure'].get_content(mode='rb'))
    echo.echo_report(f'figure: {target} (node {results["figure"].pk}); trajectory: node {results["trajectory"].pk}')
