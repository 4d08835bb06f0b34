"""Root command group of ``aiida-znadditive``."""

from __future__ import annotations

import click
from aiida.cmdline.groups import VerdiCommandGroup

from .. import __version__


@click.group('aiida-znadditive', cls=VerdiCommandGroup, context_settings={'help_option_names': ['-h', '--help']})
@click.version_option(__version__, package_name='aiida-znadditive', message='aiida-znadditive %(version)s')
def cmd_root() -> None:
    """Find and design electrolyte additives for aqueous zinc-ion batteries, with AiiDA provenance."""


def load_profile_or_fail(name: str | None):
    """Load the named (or default) profile, or stop with the command that creates one."""
    from aiida import load_profile
    from aiida.cmdline.utils import echo
    from aiida.common.exceptions import ConfigurationError, ProfileConfigurationError

    try:
        return load_profile(name, allow_switch=True)
    except (ProfileConfigurationError, ConfigurationError) as exception:
        echo.echo_critical(f'{str(exception).splitlines()[0]}\nCreate a profile with: aiida-znadditive setup')


def load_code_or_fail(label: str, profile, calculator: str | None = None):
    """The code labelled ``label``, checked against the ``calculator`` that will run it (a code of another engine
    stops here, before anything is launched), or stop with the command that sets codes up."""
    from aiida import orm
    from aiida.cmdline.utils import echo
    from aiida.common.exceptions import NotExistent

    from ..calculators.base import CalculatorError, load_calculator

    try:
        code = orm.load_code(label)
    except NotExistent:
        echo.echo_critical(f'Code `{label}` not found in profile `{profile.name}`. Fix: aiida-znadditive setup')
    if calculator is not None:
        try:
            load_calculator(calculator).check_code(code)
        except CalculatorError as error:
            echo.echo_critical(str(error))
    return code


def check_submit_possible(profile) -> None:
    """Stop when ``--submit`` asks for a daemon that a broker-less profile cannot have."""
    from aiida.cmdline.utils import echo

    if profile.process_control_backend is None:
        echo.echo_critical(
            f'Profile `{profile.name}` has no broker, so no daemon: drop --submit, or use a '
            'production profile (aiida-znadditive setup --production).'
        )


#: torch's thread pool; the default is sized by environment.cores.usable_cores (affinity, cgroup quota, SLURM)
THREADS_OPTION = click.option(
    '--threads', type=click.IntRange(min=1), help='Torch CPU threads (default: the cores this process may use).'
)

PROFILE_OPTION = click.option(
    '-p', '--profile', 'profile_name', default=None, help='Profile to use (default: the default AiiDA profile).'
)


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
