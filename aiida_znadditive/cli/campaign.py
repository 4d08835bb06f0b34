"""``aiida-znadditive campaign``: generate additives, record and promote the best, compute their Zn2+ complexation."""

from __future__ import annotations

from pathlib import Path

import click
from aiida.cmdline.utils import echo

from .root import PROFILE_OPTION, cmd_root, load_code_or_fail, load_profile_or_fail, protocol_option


@cmd_root.command('campaign')
@PROFILE_OPTION
@click.option('--generator', default='ga', show_default=True, help='Generator entry point (ga, reinvent, random).')
@click.option('--budget', type=click.IntRange(min=0), default=300, show_default=True, help='Scorer calls.')
@click.option('--seed', type=int, default=0, show_default=True, help='Random seed of the generator.')
@click.option('--promote', type=click.IntRange(min=0), default=10, show_default=True, help='Best molecules promoted.')
@click.option('--top-k', type=click.IntRange(min=0), default=2, show_default=True, help='Candidates computed.')
@protocol_option('complexation', ', for the complexation WorkChains')
@click.option(
    '--max-heavy-atoms',
    type=click.IntRange(min=1),
    default=40,
    show_default=True,
    help='Largest generated molecule (DFT time grows steeply with size).',
)
@click.option(
    '--library', help='Starting molecules of the GA: moses, moses:test, qm9 or a SMILES file (default: moses).'
)
@click.option(
    '--checkpoint',
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help='gnn model of the objective (default: the shipped zib_xtb).',
)
@click.option('--label', default='campaign', show_default=True, help='Group znadditive/candidates/LABEL.')
@click.option(
    '--prerank-code', default='xtb@localhost', show_default=True, help='xtb code for the cheap level (label@computer).'
)
@click.option(
    '--dft-code', default='pyscf@localhost', show_default=True, help='PySCF code for the DFT level (label@computer).'
)
@click.option(
    '--out',
    type=click.Path(file_okay=False, path_type=Path),
    default='campaign',
    show_default=True,
    help='Folder for generated.csv, its provenance JSON and campaign.png.',
)
def cmd_campaign(
    profile_name,
    generator,
    budget,
    seed,
    promote,
    top_k,
    protocol,
    max_heavy_atoms,
    library,
    checkpoint,
    label,
    prerank_code,
    dft_code,
    out,
) -> None:
    """Generate additives on the ZIB objective, record them in the meta-database, promote the best to candidate
    nodes and run ZnComplexationWorkChain for the top-k; print the funnel and write OUT/campaign.png."""
    profile = load_profile_or_fail(profile_name)
    from ..ml.generators import GeneratorError
    from ..orchestration.campaign import CampaignSettings, plot_campaign, run_campaign

    # the campaign's WorkChains use the complexation defaults: xtb to pre-rank, PySCF for DFT
    codes = [load_code_or_fail(prerank_code, profile, 'xtb'), load_code_or_fail(dft_code, profile, 'pyscf')]
    settings = CampaignSettings(
        generator=generator,
        budget=budget,
        seed=seed,
        promote=promote,
        top_k=top_k,
        protocol=protocol,
        max_heavy_atoms=max_heavy_atoms,
        checkpoint=str(checkpoint) if checkpoint else 'shipped',
        label=label,
        generator_settings={} if library is None else {'library': library},
    )
    try:
        result = run_campaign(settings, out, *codes, log=echo.echo_report)
    except GeneratorError as error:
        echo.echo_critical(str(error))
    echo.echo('')
    for stage, count in result.funnel():
        echo.echo(f'{count:>8}  {stage}')
    if result.computed:
        echo.echo(f'\n{"smiles":<28} {"fitness":>7} {"GNN dE":>7} {"DFT dE":>7} {"DFT+PCM":>8}  WorkChain')
        for item in result.computed:
            predicted = 'n/a' if item.predicted_exchange is None else f'{item.predicted_exchange:+.2f}'
            gas = 'n/a' if item.exchange_energy is None else f'{item.exchange_energy:+.2f}'
            water = 'n/a' if item.exchange_energy_solvated is None else f'{item.exchange_energy_solvated:+.2f}'
            where = f'<{item.workchain_pk}>' if item.workchain_pk else ''
            echo.echo(
                f'{item.smiles:<28} {item.fitness:>7.3f} {predicted:>7} {gas:>7} {water:>8}  {where} '
                f'{item.error or ""} ({item.seconds:.0f} s)'
            )
    figure = plot_campaign(result, Path(out) / 'campaign.png')
    echo.echo_success(f'funnel and exchange energies: {figure}; molecules: {Path(out) / "generated.csv"}')
