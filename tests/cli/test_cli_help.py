"""Every option of every command says what it does (``--help`` is the CLI's documentation)."""

from __future__ import annotations

import click

from aiida_znadditive.cli import cmd_root


def commands(command: click.Command, path: tuple[str, ...] = ()):
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from commands(sub, (*path, name))
    else:
        yield ' '.join(path), command


def test_every_option_has_help():
    found = list(commands(cmd_root))
    assert len(found) > 10
    missing = [
        f'{name} {param.opts[0]}'
        for name, command in found
        for param in command.params
        if isinstance(param, click.Option) and not param.help and param.name not in ('help', 'version')
    ]
    assert not missing, missing
    assert all(command.help for _, command in found), [name for name, command in found if not command.help]
