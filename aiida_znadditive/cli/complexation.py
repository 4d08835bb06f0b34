"""``aiida-znadditive complexation``: exchange energies of additives against the waters of [Zn(H2O)6]2+."""

from __future__ import annotations

import time

import click
from aiida.cmdline.utils import echo

from .codes import calculator_option, code_option
from .molecule_input import smiles_argument_callback
from .params import FiniteFloat
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


@cmd_root.command('complexation')
@PROFILE_OPTION
@click.argument('smiles', nargs=-1, required=True, callback=smiles_argument_callback)
@protocol_option('complexation')
@calculator_option('--prerank', 'prerank_calculator', default='xtb', show_default=True, help='Cheap calculator.')
@code_option(
    '--prerank-code',
    calculator_param='prerank_calculator',
    default='xtb@localhost',
    show_default=True,
    help='Code of the cheap calculator (label@computer, PK or UUID; not read for a calculator without a code).',
)
@calculator_option('--dft', 'dft_calculator', default='pyscf', show_default=True, help='DFT calculator.')
@code_option(
    '--dft-code',
    calculator_param='dft_calculator',
    default='pyscf@localhost',
    show_default=True,
    help='Code of the DFT calculator (label@computer, PK or UUID; not read for a calculator without a code).',
)
@click.option(
    '--ph',
    type=FiniteFloat(0, 14),
    default=4.5,
    show_default=True,
    help='Electrolyte pH: each additive is computed as its dominant species there.',
)
@GROUP_OPTION
@scheduler_options_flags
@click.option('--submit', is_flag=True, help='Submit to the daemon instead of running here, one after another.')
def cmd_complexation(
    profile_name,
    smiles,
    protocol,
    prerank_calculator,
    prerank_code,
    dft_calculator,
    dft_code,
    ph,
    group_label,
    submit,
    options,
) -> None:
    """Run ZnComplexationWorkChain for each SMILES; a failing molecule is reported and the others go on.

    The exit status is 1 when any molecule failed (or could not be submitted); the last line lists them.
    The scheduler flags (machines, ranks, walltime, account, queue) apply to every calculation and change nothing
    computed: references computed on another queue are reused.
    """
    profile = load_profile_or_fail(profile_name, processes=True)
    from ..workchains.complexation import ZnComplexationWorkChain

    if submit:
        check_submit_possible(profile)
    file_in_group = result_group(group_label)
    rows = []
    failed: list[tuple[str, str]] = []  # (SMILES, why), for the last line and the exit status
    for index, molecule in enumerate(smiles, start=1):
        builder = ZnComplexationWorkChain.get_builder_from_protocol(
            prerank_code,  # None for a calculator that runs without a code
            dft_code,
            molecule,
            protocol=protocol,
            prerank_calculator=prerank_calculator,
            dft_calculator=dft_calculator,
            ph=ph,
            options=options,
        )
        builder.metadata.label = node_label(builder.metadata.label)  # the full SMILES stays in the `smiles` input
        if submit:
            node = submit_or_report(builder, molecule)
            if node is None:
                failed.append((molecule, 'not submitted'))
                continue
            file_in_group(node)
            echo.echo_report(f'[{index}/{len(smiles)}] {molecule}: submitted ZnComplexationWorkChain<{node.pk}>')
            continue
        echo.echo_report(f'[{index}/{len(smiles)}] {molecule}: running ({protocol}, pH {ph})')
        _run_one(builder, molecule, rows, failed, file_in_group)
    if rows:
        echo.echo('')
        echo.echo(
            f'{"SMILES":<24} {"PK":>6} {"ΔE gas/eV":>10} {"ΔE water/eV":>12} {"ΔG/eV":>8} {"wall/s":>7}  '
            'binding mode / status'
        )
        for molecule, pk, gas, water, free, wall, status in rows:
            gas_text, water_text, free_text = (f'{v:+.3f}' if v is not None else '-' for v in (gas, water, free))
            energies = f'{gas_text:>10} {water_text:>12} {free_text:>8}'
            echo.echo(f'{molecule:<24} {pk or "-":>6} {energies} {wall or "-":>7}  {status}')
    if failed:
        # Any failure is a non-zero exit: a script or a scheduler must see it, and which molecules to look at.
        count = f'all {len(failed)}' if len(failed) == len(smiles) else f'{len(failed)} of {len(smiles)}'
        listed = ', '.join(f'{shorten(molecule)} ({why})' for molecule, why in failed)
        echo.echo_critical(f'{count} molecule(s) failed: {listed}')


def shorten(smiles: str, width: int = 60) -> str:
    return smiles if len(smiles) <= width else smiles[: width - 3] + '...'


def _run_one(builder, molecule: str, rows: list, failed: list, file_in_group) -> None:
    """Run one molecule's WorkChain here; append its table row, and to ``failed`` when it did not finish."""
    from aiida.engine import run_get_node

    start = time.perf_counter()
    try:
        results, node = run_get_node(builder)
    except Exception as exception:  # one molecule's crash must not end the batch
        echo.echo_error(f'{molecule}: crashed: {exception}')
        rows.append((molecule, None, None, None, None, None, 'crashed'))
        failed.append((molecule, 'crashed'))
        return
    elapsed = time.perf_counter() - start
    file_in_group(node)  # failed ones too: the group holds what this launch ran
    if node.is_finished_ok:
        solvated = results.get('exchange_energy_solvated')
        free = results.get('exchange_free_energy_calibrated') or results.get('exchange_free_energy')
        rows.append(
            (
                molecule,
                node.pk,
                results['exchange_energy'].value,
                solvated.value if solvated else None,
                free.value if free else None,
                f'{elapsed:.0f}',
                results['binding_mode']['label'],
            )
        )
        echo.echo_success(
            f'{molecule}: ΔE = {results["exchange_energy"].value:+.3f} eV (gas)'
            + (f', {solvated.value:+.3f} eV (water)' if solvated else '')
            + (f'; ΔG = {free.value:+.3f} eV' if free else '')
            + (' (calibrated)' if 'exchange_free_energy_calibrated' in results else '')
            + f', {results["binding_mode"]["label"]}, PK {node.pk}'
        )
    else:
        rows.append(
            (molecule, node.pk, None, None, None, f'{elapsed:.0f}', f'exit {node.exit_status}: {node.exit_message}')
        )
        echo.echo_error(f'{molecule}: exit {node.exit_status}: {node.exit_message} (PK {node.pk})')
        failed.append((molecule, f'exit {node.exit_status}, PK {node.pk}'))
