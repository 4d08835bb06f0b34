"""``aiida-znadditive experiments``: measured cell results into the provenance graph."""

from __future__ import annotations

from pathlib import Path

import click
from aiida.cmdline.utils import echo

from .root import PROFILE_OPTION, cmd_root, load_profile_or_fail


@cmd_root.group('experiments')
def cmd_experiments() -> None:
    """Measured results of additives in cells, stored as nodes and found by the additive's InChIKey."""


@cmd_experiments.command('import')
@PROFILE_OPTION
@click.argument('path', type=click.Path(exists=True, dir_okay=False, path_type=Path))
def cmd_import(profile_name, path) -> None:
    """Import the experiments of the CSV PATH (columns: docs, "Experiments in the loop"). Every row is checked
    first: when any is bad, each bad line is named and nothing is imported. Importing a row again adds nothing."""
    from ..orchestration.experiments import GROUP, ExperimentFileError, import_experiments

    load_profile_or_fail(profile_name)
    try:
        stored, present = import_experiments(path)
    except ExperimentFileError as error:
        for problem in error.problems:
            echo.echo_error(problem)
        echo.echo_critical(f'{path}: {len(error.problems)} problem(s); nothing imported')
    echo.echo_success(f'{path}: {len(stored)} experiment(s) imported into group {GROUP}, {present} already there')
