"""``aiida-znadditive campaign run|submit|status``: generate additives, record and promote the best, and compute and
rank their Zn2+ complexation in a ``CampaignWorkChain`` (in this process, or submitted to the daemon)."""

from __future__ import annotations

from pathlib import Path

import click
from aiida.cmdline.utils import echo

from .codes import code_option
from .params import COUNT, POSITIVE, SEED
from .root import (
    PROFILE_OPTION,
    SCHEDULER_OPTION_NAMES,
    SCHEDULER_OPTIONS,
    check_submit_possible,
    cmd_root,
    load_profile_or_fail,
    protocol_option,
    scheduler_options,
)


@cmd_root.group('campaign')
def cmd_campaign() -> None:
    """Discovery campaigns: generate, promote, compute and rank candidates."""


def campaign_options(function):
    """The options `run` and `submit` share: what to generate, promote and compute, and where (the scheduler flags
    of every launch command, for every calculation of every child)."""
    for option in reversed((*CAMPAIGN_OPTIONS, *SCHEDULER_OPTIONS)):
        function = option(function)
    return function


def _option_type(param: click.Option) -> type:
    from .params import FiniteFloat, Integer

    # The project's checked number types (params.py) first: a campaign file's `budget: 300` is an int, not a str.
    if isinstance(param.type, (click.types.IntParamType, Integer)):
        return int
    if isinstance(param.type, (click.types.FloatParamType, FiniteFloat)):
        return float
    if isinstance(param.type, click.types.BoolParamType):
        return bool
    if param.multiple:
        return list
    return str


def load_config(ctx: click.Context, param: click.Parameter, value: Path | None):
    """Read the campaign file into the command's defaults (explicit options still win); errors name line and key."""
    if value is None:
        return None
    from ..orchestration.campaign_file import CampaignFileError, read_campaign_file

    types = {
        option.name: _option_type(option)
        for option in ctx.command.params
        if isinstance(option, click.Option) and option.name not in ('config', 'profile_name')
    }
    try:
        values = read_campaign_file(value, types)
    except CampaignFileError as error:
        raise click.BadParameter(str(error), ctx=ctx, param=param) from None
    ctx.default_map = {**(ctx.default_map or {}), **values}
    return value


CAMPAIGN_OPTIONS = [
    PROFILE_OPTION,
    click.option(
        '--config',
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        is_eager=True,
        expose_value=False,
        callback=load_config,
        help='Campaign file (YAML, keys are these options; `campaign example` prints one). Options given here win.',
    ),
    click.option('--generator', default='ga', show_default=True, help='Generator entry point (ga, reinvent, random).'),
    click.option('--budget', type=COUNT, default=300, show_default=True, help='Scorer calls.'),
    click.option('--seed', type=SEED, default=0, show_default=True, help='Random seed of the generator.'),
    click.option('--promote', type=COUNT, default=10, show_default=True, help='Best molecules promoted.'),
    click.option('--top-k', type=COUNT, default=2, show_default=True, help='Candidates computed.'),
    protocol_option('complexation', ', for the complexation WorkChains'),
    click.option(
        '--max-heavy-atoms',
        type=POSITIVE,
        default=40,
        show_default=True,
        help='Largest generated molecule (DFT time grows steeply with size).',
    ),
    click.option(
        '--library', help='Starting molecules of the GA: moses, moses:test, qm9 or a SMILES file (default: moses).'
    ),
    click.option(
        '--checkpoint',
        type=click.Path(file_okay=False, exists=True, path_type=Path),
        help='gnn model of the objective (default: the shipped zib_xtb).',
    ),
    click.option('--label', default='campaign', show_default=True, help='Group znadditive/candidates/LABEL.'),
    code_option(
        '--prerank-code',
        calculator='xtb',
        default='xtb@localhost',
        show_default=True,
        help='xtb code for the cheap level (label@computer, PK or UUID).',
    ),
    code_option(
        '--dft-code',
        calculator='pyscf',
        default='pyscf@localhost',
        show_default=True,
        help='PySCF code for the DFT level (label@computer, PK or UUID).',
    ),
    click.option(
        '--out',
        type=click.Path(file_okay=False, path_type=Path),
        default='campaign',
        show_default=True,
        help='Folder for generated.csv, its provenance JSON and campaign.png.',
    ),
]


def campaign_settings(options: dict):
    from ..orchestration.campaign import CampaignSettings

    return CampaignSettings(
        generator=options['generator'],
        budget=options['budget'],
        seed=options['seed'],
        promote=options['promote'],
        top_k=options['top_k'],
        protocol=options['protocol'],
        max_heavy_atoms=options['max_heavy_atoms'],
        checkpoint=str(options['checkpoint']) if options['checkpoint'] else 'shipped',
        label=options['label'],
        generator_settings={} if options['library'] is None else {'library': options['library']},
        options=scheduler_options(**{name: options[name] for name in SCHEDULER_OPTION_NAMES}),
    )


def start_campaign(options: dict, submit: bool):
    profile = load_profile_or_fail(options['profile_name'])
    from ..ml.generators import GeneratorError
    from ..orchestration.campaign import run_campaign

    if submit:
        check_submit_possible(profile)
    # the campaign's WorkChains use the complexation defaults: xtb to pre-rank, PySCF for DFT (checked by the options)
    codes = [options['prerank_code'], options['dft_code']]
    try:
        return run_campaign(campaign_settings(options), options['out'], *codes, log=echo.echo_report, submit=submit)
    except GeneratorError as error:
        echo.echo_critical(str(error))


def print_funnel(result) -> None:
    echo.echo('')
    for stage, count in result.funnel():
        echo.echo(f'{count:>8}  {stage}')


@cmd_campaign.command('run')
@campaign_options
def cmd_campaign_run(**options) -> None:
    """Generate additives on the ZIB objective, record them in the meta-database, promote the best to candidate
    nodes and run a CampaignWorkChain for the top-k in this process; print the funnel and the ranking and write
    OUT/campaign.png."""
    from ..orchestration.campaign import plot_campaign

    result = start_campaign(options, submit=False)
    print_funnel(result)
    if result.computed:
        echo.echo(f'\n{"rank":>4} {"smiles":<28} {"fitness":>7} {"GNN dG":>7} {"DFT dE":>7} {"DFT+PCM":>8}  WorkChain')
        for rank, item in enumerate(result.computed, start=1):
            predicted = 'n/a' if item.predicted_exchange is None else f'{item.predicted_exchange:+.2f}'
            gas = 'n/a' if item.exchange_energy is None else f'{item.exchange_energy:+.2f}'
            water = 'n/a' if item.exchange_energy_solvated is None else f'{item.exchange_energy_solvated:+.2f}'
            where = f'<{item.workchain_pk}>' if item.workchain_pk else ''
            echo.echo(
                f'{rank:>4} {item.smiles:<28} {item.fitness:>7.3f} {predicted:>7} {gas:>7} {water:>8}  {where} '
                f'{item.error or ""} ({item.seconds:.0f} s)'
            )
    figure = plot_campaign(result, Path(options['out']) / 'campaign.png')
    echo.echo_success(f'funnel and exchange energies: {figure}; molecules: {Path(options["out"]) / "generated.csv"}')


@cmd_campaign.command('submit')
@campaign_options
def cmd_campaign_submit(**options) -> None:
    """As `run`, but the CampaignWorkChain is submitted to the daemon (generation and promotion run here, in
    seconds to minutes); follow it with `campaign status PK`."""
    result = start_campaign(options, submit=True)
    print_funnel(result)
    if result.workchain is not None:
        echo.echo_success(f'submitted CampaignWorkChain<{result.workchain.pk}>')


@cmd_campaign.command('example')
def cmd_campaign_example() -> None:
    """Print a commented campaign file for `campaign run|submit --config`."""
    from ..orchestration.campaign_file import example_text

    click.echo(example_text(), nl=False)


@cmd_campaign.command('status')
@PROFILE_OPTION
@click.argument('pk', type=POSITIVE)
def cmd_campaign_status(profile_name, pk) -> None:
    """Per stage of the CampaignWorkChain PK: its children waiting, running, finished and failed; the ranking so far."""
    load_profile_or_fail(profile_name)
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    from ..orchestration.campaign_status import campaign_status
    from ..workchains.campaign import CampaignWorkChain

    try:
        node = orm.load_node(pk)
    except NotExistent:
        echo.echo_critical(f'No node with PK {pk}')
    if not isinstance(node, orm.WorkflowNode) or node.process_class is not CampaignWorkChain:
        kind = getattr(node, 'process_label', None) or type(node).__name__
        echo.echo_critical(f'Node {pk} is a {kind}, not a CampaignWorkChain')
    status = campaign_status(node)
    echo.echo(f'CampaignWorkChain<{pk}>: {status["state"]}')
    for stage, counts in status['stages'].items():
        echo.echo(f'  {stage:<13} ' + ', '.join(f'{count} {state}' for state, count in counts.items()))
    for row in status['ranking']:
        echo.echo(f'  {row}')
