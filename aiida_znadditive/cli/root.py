"""Root command group of ``aiida-znadditive``."""

from __future__ import annotations

import functools
import re

import click
from aiida.cmdline.groups import VerdiCommandGroup
from aiida.cmdline.params.types import ProfileParamType

from .. import __version__
from .params import THREADS_MAX, Integer

#: Longest node label AiiDA stores (a VARCHAR(255) on PostgreSQL; SQLite does not check, so the limit bit in
#: production only, after the batch's first molecules were submitted).
LABEL_LIMIT = 255
#: What to run when a service of the profile is not there.
SERVICE_FIX = 'check with `aiida-znadditive doctor`; start the services with `aiida-znadditive setup --production`'


@click.group('aiida-znadditive', cls=VerdiCommandGroup, context_settings={'help_option_names': ['-h', '--help']})
@click.version_option(__version__, package_name='aiida-znadditive', message='aiida-znadditive %(version)s')
@click.option(
    '-p',
    '--profile',
    'root_profile',
    type=ProfileParamType(),
    default=None,
    expose_value=False,
    is_eager=True,
    help="Profile for every subcommand, as `verdi -p` (a subcommand's own -p wins; default: the default profile).",
)
def cmd_root() -> None:
    """Find and design electrolyte additives for aqueous zinc-ion batteries, with AiiDA provenance."""


def root_profile_name() -> str | None:
    """The profile named by the root ``aiida-znadditive -p NAME`` (AiiDA's profile type checked that it exists and
    put it on the context object, as for ``verdi -p``), or None."""
    context = click.get_current_context(silent=True)
    profile = getattr(context.obj, 'profile', None) if context is not None and context.obj is not None else None
    return profile.name if profile is not None else None


def load_profile_or_fail(name: str | None, processes: bool = False):
    """Load the named (or default) profile, or stop with the command that creates one; its storage must open, and
    with ``processes`` (the command runs or submits processes) its broker, if it has one, must answer."""
    from aiida import load_profile
    from aiida.cmdline.utils import echo
    from aiida.common.exceptions import ConfigurationError, ProfileConfigurationError

    name = name or root_profile_name()
    try:
        profile = load_profile(name, allow_switch=True)
    except (ProfileConfigurationError, ConfigurationError) as exception:
        echo.echo_critical(f'{str(exception).splitlines()[0]}\nCreate a profile with: aiida-znadditive setup')
    check_storage(profile)
    if processes:
        check_broker(profile)  # the runner connects to the broker even to run in-process
    return profile


def _first_line(exception: BaseException) -> str:
    text = str(exception).strip()
    return text.splitlines()[0] if text else type(exception).__name__


def check_storage(profile) -> None:
    """Stop with one line and the fix when the profile's database cannot be opened (PostgreSQL down, a storage to
    migrate), instead of the traceback of the first query."""
    from aiida.cmdline.utils import echo
    from aiida.manage import get_manager

    try:
        get_manager().get_profile_storage()
    except Exception as exception:  # sqlalchemy's OperationalError, aiida's migration errors, ...: all stop here
        echo.echo_critical(
            f'Storage of profile `{profile.name}` cannot be opened: {_first_line(exception)}; {SERVICE_FIX}'
        )


def check_broker(profile) -> None:
    """Stop with one line and the fix when the profile has a RabbitMQ broker that does not answer (the runner and
    ``submit`` both connect to it; without this the user met an AMQP traceback)."""
    from aiida.cmdline.utils import echo

    from ..environment.services import Endpoint

    if profile.process_control_backend is None:
        return
    config = profile.process_control_config
    endpoint = Endpoint(config.get('broker_host', '127.0.0.1'), int(config.get('broker_port', 5672)))
    if not endpoint.is_open():
        echo.echo_critical(
            f'RabbitMQ of profile `{profile.name}` is not reachable at {endpoint.host}:{endpoint.port}; {SERVICE_FIX}'
        )


def node_label(label: str) -> str:
    """``label`` cut to :data:`LABEL_LIMIT` characters with an ellipsis (the full SMILES stays in the ``smiles``,
    ``additive`` or ``molecule`` input of the WorkChain)."""
    return label if len(label) <= LABEL_LIMIT else label[: LABEL_LIMIT - 1] + '…'


def submit_or_report(builder, name: str):
    """Submit ``builder`` (its label made safe) and return the node, or report why not and return None; a broker
    that went away stops the command with the fix (every later submission would fail alike)."""
    from aiida.cmdline.utils import echo
    from aiida.engine import submit
    from aiida.manage import get_manager

    builder.metadata.label = node_label(builder.metadata.label or '')
    try:
        return submit(builder)
    except Exception as exception:  # one molecule's failed submission must not lose the rest of the batch
        profile = get_manager().get_profile()
        check_broker(profile)
        echo.echo_error(f'{name}: not submitted: {type(exception).__name__}: {_first_line(exception)}')
        return None


def check_submit_possible(profile) -> None:
    """Stop when ``--submit`` asks for a daemon that a broker-less profile cannot have."""
    from aiida.cmdline.utils import echo

    if profile.process_control_backend is None:
        echo.echo_critical(
            f'Profile `{profile.name}` has no broker, so no daemon: drop --submit, or use a '
            'production profile (aiida-znadditive setup --production).'
        )
    check_broker(profile)


#: torch's thread pool; the default is sized by environment.cores.usable_cores (affinity, cgroup quota, SLURM)
THREADS_OPTION = click.option(
    '--threads',
    type=Integer(min=1, max=THREADS_MAX),
    help='Torch CPU threads (default: the cores this process may use).',
)

#: eager, so that the code options (cli/codes.py) look their codes up in this profile
PROFILE_OPTION = click.option(
    '-p',
    '--profile',
    'profile_name',
    default=None,
    is_eager=True,
    help='Profile to use (default: the default AiiDA profile).',
)


GROUP_OPTION = click.option(
    '--group',
    '-G',
    'group_label',
    default=None,
    help='Put every launched WorkChain in this group (made when missing): the result set has a name from the start '
    '(`aiida-znadditive report --group`).',
)


def result_group(label: str | None):
    """``--group``: the group is made (when missing) before anything runs; returns the function that files each
    launched WorkChain in it (doing nothing without ``--group``)."""
    if label is None:
        return lambda node: None
    from aiida import orm
    from aiida.cmdline.utils import echo

    if not label.strip() or any(not character.isprintable() for character in label):
        echo.echo_critical(f'--group {label!r}: a group label must be printable text')
    group, created = orm.Group.collection.get_or_create(label=label)
    if created:
        echo.echo_report(f'new group `{label}`')
    return group.add_nodes


def protocol_option(workchain: str, what: str = ''):
    """``--protocol``: the choices and the default of ``protocols/<workchain>.yaml`` (a protocol added there is
    offered here; the file's ``default_protocol`` is the default)."""
    from ..protocols import available_protocols, load_protocol_file

    content = load_protocol_file(workchain)  # once: every command's option is built at start-up
    choices = available_protocols(workchain, content)
    described = '; '.join(f'{name}: {text}' for name, text in choices.items())
    return click.option(
        '--protocol',
        type=click.Choice(list(choices)),
        default=content['default_protocol'],
        show_default=True,
        help=f'Protocol of {workchain}.yaml{what} ({described}).',
    )


# -- scheduler options (aiida-common-workflows' and aiida-quantumespresso's launch flags) -----------------------------

_WALLTIME = re.compile(r'(?:(?:(?P<days>\d+)-)?(?P<hours>\d+):)?(?P<minutes>\d+):(?P<seconds>\d+)')


class Walltime(click.ParamType):
    """A wall-clock limit in seconds, written as seconds (``3600``) or as SLURM writes it (``MM:SS``, ``HH:MM:SS``,
    ``D-HH:MM:SS``); at least one second."""

    name = 'walltime'

    def convert(self, value, param, ctx):
        if isinstance(value, int) and not isinstance(value, bool):
            seconds = value
        else:
            text = str(value).strip()
            if (match := _WALLTIME.fullmatch(text)) is not None:
                parts = {key: int(number or 0) for key, number in match.groupdict().items()}
                # MM:SS alone may count more than 59 minutes, as SLURM's --time does
                if parts['seconds'] > 59 or (match['hours'] is not None and parts['minutes'] > 59):
                    self.fail(f'{value!r}: minutes and seconds run from 0 to 59', param, ctx)
                seconds = ((parts['days'] * 24 + parts['hours']) * 60 + parts['minutes']) * 60 + parts['seconds']
            else:
                seconds = Integer(min=1).convert(text, param, ctx) if text.lstrip('+').isdigit() else None
                if seconds is None:
                    self.fail(f'{value!r} is neither seconds nor [[D-]HH:]MM:SS', param, ctx)
        if seconds < 1:
            self.fail(f'{value!r}: a walltime must be at least one second', param, ctx)
        return seconds


#: Ranks, nodes and cores: far beyond any cluster is a typo, and the scheduler would only refuse it later.
RESOURCES_MAX = 100_000


def _directive_text(key: str):
    """Callback of a text flag that goes into the job script's header: what would not stay a directive is refused
    as the command line is read (before the code options look up their codes)."""

    def check(ctx, param, value):
        from ..workchains.options import check_scheduler_text

        text = '\n'.join(value) if isinstance(value, tuple) else value
        if text and (problem := check_scheduler_text({key: text})):
            raise click.BadParameter(problem, ctx=ctx, param=param)
        return value

    return check


SCHEDULER_OPTIONS = (
    click.option('-m', '--num-machines', type=Integer(min=1, max=RESOURCES_MAX),
                 help='Machines (nodes) per calculation (default: each calculator protocol\'s, 1).'),
    click.option('--num-mpiprocs-per-machine', type=Integer(min=1, max=RESOURCES_MAX),
                 help='MPI ranks per machine (default: the protocol\'s, else the computer\'s default).'),
    click.option('--num-cores-per-mpiproc', type=Integer(min=1, max=RESOURCES_MAX),
                 help='Cores (OpenMP threads) per MPI rank, as the scheduler reserves them.'),
    click.option('-w', '--walltime', type=Walltime(),
                 help='Wall-clock limit per calculation: seconds or [[D-]HH:MM:]SS, e.g. 3600 or 01:00:00.'),
    click.option('--account', callback=_directive_text('account'), help='Scheduler account (project) to charge.'),
    click.option('--queue', 'queue_name', callback=_directive_text('queue_name'),
                 help='Scheduler queue (SLURM partition).'),
    click.option('--scheduler-line', 'scheduler_lines', multiple=True,
                 callback=_directive_text('custom_scheduler_commands'),
                 help='An extra line for the job script\'s header (e.g. "#SBATCH --constraint=cpu"); repeatable.'),
)  # fmt: skip


def scheduler_options(**values) -> dict | None:
    """The CalcJob ``options`` of the flags given (None when none was): what a flag leaves out keeps each calculator
    protocol's value. They never enter a reference key, so a new queue or walltime reuses the references."""
    resources = {key: values[key] for key in ('num_machines', 'num_mpiprocs_per_machine', 'num_cores_per_mpiproc')
                 if values.get(key) is not None}  # fmt: skip
    options: dict = {'resources': resources} if resources else {}
    if values.get('walltime') is not None:
        options['max_wallclock_seconds'] = values['walltime']
    for key in ('account', 'queue_name'):
        if values.get(key):
            options[key] = values[key]
    if values.get('scheduler_lines'):
        options['custom_scheduler_commands'] = '\n'.join(values['scheduler_lines'])
    from ..workchains.options import check_scheduler_text

    # what would not stay a directive in the job script is refused here, naming the flag
    for key, flag in (
        ('account', '--account'),
        ('queue_name', '--queue'),
        ('custom_scheduler_commands', '--scheduler-line'),
    ):
        if key in options and (problem := check_scheduler_text({key: options[key]})):
            raise click.BadParameter(problem, param_hint=flag)
    return options or None


#: the parameter names of :data:`SCHEDULER_OPTIONS`, the keyword arguments of :func:`scheduler_options`
SCHEDULER_OPTION_NAMES = ('num_machines', 'num_mpiprocs_per_machine', 'num_cores_per_mpiproc', 'walltime', 'account',
                          'queue_name', 'scheduler_lines')  # fmt: skip


def scheduler_options_flags(function):
    """Add the flags of :data:`SCHEDULER_OPTIONS` to a command, which receives them as one ``options`` argument."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        values = {name: kwargs.pop(name) for name in SCHEDULER_OPTION_NAMES}
        return function(*args, options=scheduler_options(**values), **kwargs)

    for option in reversed(SCHEDULER_OPTIONS):
        wrapper = option(wrapper)
    return wrapper
