"""Calculators and codes as click parameter types, as ``verdi``'s ``CodeParamType``: a bad value stops the command
with click's usage error naming the option (exit status 2) before anything is launched.

A code is looked up in the profile the command runs on, so the command's ``-p`` is read first: ``PROFILE_OPTION``
and the calculator options are eager (click converts eager parameters before the others, whatever their order on
the command line). A code is then checked against the calculator that will run it: a fixed one (``cp2k`` for the
adsorption command) or the one another option chose (``--dft``); a calculator that runs without a code takes none,
and its code option is not looked up at all.
"""

from __future__ import annotations

import click
from aiida.cmdline.params.types import CodeParamType


class CalculatorParamType(click.ParamType):
    """The name of a calculator registered in ``znadditive.calculators`` (this package's or a third party's)."""

    name = 'calculator'

    def convert(self, value, param, ctx):
        from ..calculators.base import CalculatorError, load_calculator

        try:
            load_calculator(value)
        except CalculatorError as error:
            self.fail(str(error), param, ctx)
        return value

    def shell_complete(self, ctx, param, incomplete):
        from click.shell_completion import CompletionItem

        from ..calculators.base import calculator_names

        return [CompletionItem(name) for name in calculator_names() if name.startswith(incomplete)]


class CalculatorCodeParamType(CodeParamType):
    """An AiiDA code (label@computer, PK or UUID) of the profile the command runs on, that the calculator named by
    ``calculator`` (or chosen by the option whose parameter name is ``calculator_param``) can run. Converts to the
    code node, or to None for a calculator that needs no code."""

    def __init__(self, calculator: str | None = None, calculator_param: str | None = None) -> None:
        super().__init__()
        self._calculator, self._calculator_param = calculator, calculator_param

    def _adapter(self, ctx):
        from ..calculators.base import load_calculator

        name = self._calculator
        if name is None and ctx is not None:
            name = ctx.params.get(self._calculator_param)
        # An unknown calculator name was already refused by its own (eager) option
        return load_calculator(name) if name is not None else None

    def convert(self, value, param, ctx):
        from ..calculators.base import CalculatorError

        adapter = self._adapter(ctx)
        if adapter is not None and not adapter.requires_code:
            return None
        profile = _load_command_profile(ctx)
        try:
            code = super().convert(value, param, ctx)
        except click.BadParameter as error:
            self.fail(
                f'{error.message} in profile `{profile.name}`; the shipped codes are made by `aiida-znadditive setup`, '
                'others by `verdi code create`',
                param,
                ctx,
            )
        if adapter is not None:
            try:
                adapter.check_code(code)
            except CalculatorError as error:
                self.fail(str(error), param, ctx)
        return code


def _load_command_profile(ctx):
    """Load the profile of the command's ``-p`` (else the root ``-p``, else the default) before a code is looked up:
    click converts the code before the command's body would load it."""
    from .root import load_profile_or_fail

    return load_profile_or_fail(ctx.params.get('profile_name') if ctx is not None else None)


def code_option(*names: str, calculator: str | None = None, calculator_param: str | None = None, **kwargs):
    """A ``--code``-like option whose value is checked against its calculator as the command line is read."""
    return click.option(
        *names, type=CalculatorCodeParamType(calculator=calculator, calculator_param=calculator_param), **kwargs
    )


def calculator_option(*names: str, **kwargs):
    """A calculator choice, converted before the code options that depend on it."""
    return click.option(*names, type=CalculatorParamType(), is_eager=True, **kwargs)


#: the CP2K code of the commands that run CP2K only (adsorption, solvation)
CP2K_CODE_OPTION = code_option(
    '--code',
    calculator='cp2k',
    default='cp2k@localhost',
    show_default=True,
    help='CP2K code (label@computer, PK or UUID).',
)
