"""``aiida-znadditive doctor``: what is missing, and the command that fixes it."""

from __future__ import annotations

import sys

import click
from aiida.cmdline.utils import echo

from .root import PROFILE_OPTION, cmd_root, root_profile_name


@cmd_root.command('doctor')
@PROFILE_OPTION
@click.option(
    '--codes',
    'codes_file',
    type=click.Path(dir_okay=False),
    default=None,
    help='The codes YAML the profile was set up with (default: the packaged one).',
)
def cmd_doctor(profile_name, codes_file) -> None:
    """Check profile, storage, broker, daemon, computer, codes and their data files."""
    from ..environment.checks import run_checks

    checks = run_checks(profile_name or root_profile_name(), codes_file)
    for check in checks:
        line = f'{check.name}: {check.detail}'
        if check.ok:
            echo.echo_success(line)
        else:
            echo.echo_error(f'{line}\n    fix: {check.fix}' if check.fix else line)
    failed = [check.name for check in checks if not check.ok]
    if failed:
        echo.echo_error(f'{len(failed)} problem(s): {", ".join(failed)}')
        sys.exit(1)
    echo.echo_report('All checks passed.')
