"""``aiida-znadditive setup``: profile, services, computer and codes, idempotently."""

from __future__ import annotations

import os
import pathlib
import re
import shlex
import sys

import click
from aiida.cmdline.utils import echo

from ..environment import services
from .root import cmd_root

PROFILE_NAME = re.compile(r'[A-Za-z][A-Za-z0-9_-]{0,50}')
_ENVIRONMENT = pathlib.Path(__file__).parents[1] / 'environment'
#: ``setup --template NAME``: files a user copies and edits for a cluster
TEMPLATES = {
    'slurm-cluster': _ENVIRONMENT / 'templates' / 'slurm-cluster.yaml',
    'pyscf-requirements': _ENVIRONMENT / 'pyscf-code-requirements.txt',
}


def _check_profile_name(value: str) -> str:
    """The profile name, or a usage error naming it: it becomes a folder name and, with hyphens as underscores, a
    PostgreSQL database name, so nothing but letters, digits, ``_`` and ``-`` may pass."""
    if not PROFILE_NAME.fullmatch(value):
        raise click.BadParameter(
            f'{value!r}: use letters, digits, _ and - only, a letter first, at most 51 characters',
            param_hint="'--profile-name'",
        )
    return value


@cmd_root.command('setup')
@click.option(
    '--profile-name',
    default='znadditive',
    show_default=True,
    callback=lambda _ctx, _param, value: _check_profile_name(value),
    help='Name of the profile to create or reuse: letters, digits, _ and - (it names a folder and a database).',
)
@click.option('--production', is_flag=True, help='PostgreSQL + RabbitMQ profile and a running daemon, not embedded.')
@click.option(
    '--storage-dir',
    type=click.Path(file_okay=False, path_type=pathlib.Path),
    default=None,
    help='Where the file repository (and SQLite database) go. Default: <AiiDA config dir>/znadditive.',
)
@click.option(
    '--codes',
    'codes_file',
    type=click.Path(dir_okay=False),
    default=None,
    help='YAML file with the computer and codes (default: the packaged codes.yaml for this machine).',
)
@click.option('--email', default='znadditive@localhost', show_default=True, help='Email of the default AiiDA user.')
@click.option('--database-host', default='localhost', show_default=True, help='PostgreSQL host (--production).')
@click.option('--database-port', default=5432, show_default=True, help='PostgreSQL port (--production).')
@click.option('--broker-host', default='127.0.0.1', show_default=True, help='RabbitMQ host (--production).')
@click.option('--broker-port', default=5672, show_default=True, help='RabbitMQ port (--production).')
@click.option('--daemon-workers', default=2, show_default=True, help='Daemon workers to start (--production).')
@click.option(
    '--template',
    type=click.Choice(sorted(TEMPLATES)),
    default=None,
    help='Print a shipped template (a SLURM cluster codes file; the PySCF environment to create on a cluster) and '
    'do nothing else.',
)
def cmd_setup(template: str | None, **options) -> None:
    """Create (or check) a profile, its services, the computer and the codes. Running it twice changes nothing."""
    from aiida.manage.configuration import get_config, reset_config

    if template is not None:
        click.echo(TEMPLATES[template].read_text(), nl=False)
        return

    from ..environment.locking import ExclusiveLock

    # One setup at a time per AiiDA folder: two at once created the same code twice (every command then failed with
    # MultipleObjectsError) or raced through the storage migration of a new profile. The second one waits.
    lock = ExclusiveLock(pathlib.Path(get_config(create=True).dirpath) / '.znadditive-setup.lock', 'setup')
    with lock:
        # The configuration as the previous holder left it, not as it was read before the wait.
        reset_config()
        _setup(**options)
    echo.echo_report(f'Ready. Check it with: aiida-znadditive doctor -p {shlex.quote(options["profile_name"])}')


def _setup(
    *,
    profile_name,
    production,
    storage_dir,
    codes_file,
    email,
    database_host,
    database_port,
    broker_host,
    broker_port,
    daemon_workers,
) -> None:
    """The work of `setup`, under its lock."""
    from aiida import load_profile

    from ..environment import codes, profiles, services

    try:
        content = codes.load_codes_file(codes_file)  # every bad field named, before anything is created
        profiles.check_kind(profile_name, production)
        if production:
            settings = profiles.production_settings(
                profile_name, database_host, database_port, broker_host, broker_port
            )
            echo.echo_success(
                services.ensure_postgres(services.Endpoint(settings.database_host, settings.database_port))
            )
            if settings.stored and settings.has_legacy_password:
                echo.echo_success(profiles.give_own_role(profile_name, settings))
            echo.echo_success(
                services.ensure_database(
                    settings.database_name,
                    settings.database_user,
                    settings.database_password,
                    settings.database_port,
                    settings.database_host,
                    adopt=settings.stored,
                )
            )
            echo.echo_success(services.ensure_rabbitmq(services.Endpoint(settings.broker_host, settings.broker_port)))
            echo.echo_success(profiles.ensure_production_profile(profile_name, settings, storage_dir, email))
        else:
            echo.echo_success(profiles.ensure_embedded_profile(profile_name, storage_dir, email))
        load_profile(profile_name, allow_switch=True)
        if repaired := profiles.ensure_storage(profile_name):
            echo.echo_warning(repaired)
        for message in codes.ensure_codes(content):
            echo.echo_success(message)
        if production:
            echo.echo_success(_ensure_daemon(profile_name, daemon_workers))
    except (services.ServiceError, profiles.ProfileError, codes.CodeSetupError) as exception:
        echo.echo_critical(str(exception))
    except OSError as exception:  # a folder that cannot be made or written: the path and the reason, not a traceback
        echo.echo_critical(f'{exception.strerror or exception}: {exception.filename or ""}'.rstrip(': '))


def _ensure_daemon(profile_name: str, workers: int) -> str:
    from aiida.engine.daemon import client as daemon_client

    client = daemon_client.get_daemon_client(profile_name)
    if client.is_daemon_running:
        return 'daemon running (unchanged)'
    # aiida looks for `verdi` on PATH once, at import. Called by its full path from a venv that is not activated,
    # PATH lacks it although it sits beside this interpreter; the daemon and its workers need it.
    if daemon_client.VERDI_BIN is None:
        daemon_client.VERDI_BIN = str(pathlib.Path(sys.executable).parent / 'verdi')
    os.environ['PATH'] = f'{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ.get("PATH", "")}'
    try:
        client.start_daemon(number_workers=workers)
    except daemon_client.DaemonException as exception:
        raise services.ServiceError(f'The daemon did not start: {exception}. Log: {client.daemon_log_file}') from None
    return f'started the daemon with {workers} workers'
