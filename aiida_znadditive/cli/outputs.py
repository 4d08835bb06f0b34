"""Where a command may write: checked before the work starts, so a mistake costs a second, not the whole run.

Rules of every output path of the CLI: never inside the installed package (a shipped model or data file), never one
of the command's inputs, never an existing file unless ``--force`` says so, and its folder created (or found not
writable) up front: a run of an hour must not end in ``FileNotFoundError`` and lose its results.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import click

import aiida_znadditive

#: The installed package: its files are the shipped models and data, never an output.
PACKAGE_DIR = Path(aiida_znadditive.__file__).resolve().parent

FORCE_OPTION = click.option('--force', is_flag=True, help='Overwrite output files that exist already.')


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output_paths(
    paths: Iterable[Path], inputs: Iterable[Path | str | None] = (), force: bool = False, option: str = '--out'
) -> None:
    """Refuse (usage error naming ``option``) any of ``paths`` that is inside the package, is or holds an input, is a
    folder, or exists without ``force``; create the folder of each. Checks are on resolved paths (links followed)."""
    resolved_inputs = [Path(item).resolve() for item in inputs if item is not None and str(item)]
    for path in paths:
        target = Path(path).expanduser().resolve()
        if _inside(target, PACKAGE_DIR):
            raise click.BadParameter(
                f'{path} is inside the installed package ({PACKAGE_DIR}), whose files are shipped models and data: '
                'write to a folder of your own',
                param_hint=f"'{option}'",
            )
        for source in resolved_inputs:
            if target == source or _inside(source, target):
                raise click.BadParameter(f'{path} is an input of this command', param_hint=f"'{option}'")
        if target.is_dir():
            raise click.BadParameter(f'{path} is a folder; give a file name', param_hint=f"'{option}'")
        if target.exists() and not force:
            raise click.BadParameter(f'{path} exists; add --force to overwrite it', param_hint=f"'{option}'")
        ensure_folder(target.parent, option)


def check_output_folder(
    folder: Path, inputs: Iterable[Path | str | None] = (), force: bool = False, option: str = '--out'
) -> None:
    """Like :func:`check_output_paths` for an output folder: refused when inside the package or an input, or
    holding files already (without ``force``); created."""
    target = Path(folder).expanduser().resolve()
    if _inside(target, PACKAGE_DIR):
        raise click.BadParameter(
            f'{folder} is inside the installed package ({PACKAGE_DIR}): write to a folder of your own',
            param_hint=f"'{option}'",
        )
    for item in inputs:
        if item is None:
            continue
        source = Path(item).resolve()
        if _inside(target, source) or _inside(source, target):
            message = f'{folder} is, holds or lies in an input of this command'
            raise click.BadParameter(message, param_hint=f"'{option}'")
    if target.exists() and not target.is_dir():
        raise click.BadParameter(f'{folder} is a file, not a folder', param_hint=f"'{option}'")
    if target.is_dir() and any(target.iterdir()) and not force:
        message = f'{folder} holds files already; add --force to overwrite them'
        raise click.BadParameter(message, param_hint=f"'{option}'")
    ensure_folder(target, option)


def ensure_folder(folder: Path, option: str = '--out') -> None:
    """Create ``folder`` (and its parents), or a usage error saying why it cannot be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise click.BadParameter(
            f'cannot create the folder {folder}: {error.strerror or error}', param_hint=f"'{option}'"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise click.BadParameter(f'the folder {folder} is not writable', param_hint=f"'{option}'")
