"""The numeric parameter types of every command: finite numbers only, whole numbers written as whole numbers.

click's own ``float``/``FloatRange`` accept ``nan`` and ``inf`` (a NaN limit compares false with everything, so
``--logp-max nan`` switched the limit off and was written as bare ``NaN`` into the provenance JSON; ``--ps inf`` asked
for an endless MD), and ``int`` options fed from YAML or Python could receive ``inf``. These types refuse such values
with click's usage error, which names the option (exit status 2), before any work starts.
"""

from __future__ import annotations

import math
import re

import click

#: A whole number as a user writes it: digits with an optional sign (no ``1.5``, ``1e3``, ``inf``, ``0x10``).
_WHOLE = re.compile(r'[+-]?\d+')
#: Longer numbers are refused before ``int()`` reads them (Python refuses over 4300 digits with a ValueError of its
#: own, and no option of this CLI means anything with 20 digits).
_MAX_DIGITS = 19
#: The largest seed accepted: numpy's and torch's seeders take unsigned 32/64-bit integers; 32 bits fits both.
SEED_MAX = 2**32 - 1
#: Torch threads: more than this is a typo, and torch.set_num_threads overflows a C int long before 10**19.
THREADS_MAX = 1024
NONE_WORDS = frozenset({'none', 'off'})


class FiniteFloat(click.ParamType):
    """A finite float, optionally within ``[min, max]`` (open ends with ``min_open``/``max_open``)."""

    name = 'number'
    #: What is said of a value that is not one (the ``none`` types add their word).
    expected = 'is not a number'

    def __init__(self, min=None, max=None, min_open=False, max_open=False) -> None:
        self.min, self.max, self.min_open, self.max_open = min, max, min_open, max_open

    def _range(self) -> str:
        low = '' if self.min is None else f'{self.min} {"<" if self.min_open else "<="} '
        high = '' if self.max is None else f' {"<" if self.max_open else "<="} {self.max}'
        return f'{low}x{high}'

    def convert(self, value, param, ctx):
        if isinstance(value, bool):
            self.fail(f'{value!r} {self.expected}', param, ctx)
        if isinstance(value, int | float):
            number = float(value)
        else:
            text = str(value).strip()
            try:
                number = float(text)
            except ValueError:
                self.fail(f'{value!r} {self.expected}', param, ctx)
        if not math.isfinite(number):
            self.fail(f'{value!r} is not a finite number', param, ctx)
        too_low = self.min is not None and (number <= self.min if self.min_open else number < self.min)
        too_high = self.max is not None and (number >= self.max if self.max_open else number > self.max)
        if too_low or too_high:
            self.fail(f'{number:g} is not in the range {self._range()}', param, ctx)
        return number


class Integer(click.ParamType):
    """A whole number written as one (``3``, ``-2``; not ``1.5``, ``3.0``, ``1e3``, ``inf``), optionally in
    ``[min, max]``."""

    name = 'integer'
    expected = 'is not a whole number'

    def __init__(self, min=None, max=None) -> None:
        self.min, self.max = min, max

    def convert(self, value, param, ctx):
        if isinstance(value, bool):
            self.fail(f'{value!r} {self.expected}', param, ctx)
        if isinstance(value, int):
            number = value
        elif isinstance(value, float):
            if not value.is_integer():
                self.fail(f'{value!r} {self.expected}', param, ctx)
            number = int(value)
        else:
            text = str(value).strip()
            if not _WHOLE.fullmatch(text):
                self.fail(f'{value!r} {self.expected}', param, ctx)
            if len(text.lstrip('+-')) > _MAX_DIGITS:
                self.fail(f'{value!r} has more than {_MAX_DIGITS} digits', param, ctx)
            number = int(text)
        if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
            low = '' if self.min is None else f'{self.min} <= '
            high = '' if self.max is None else f' <= {self.max}'
            self.fail(f'{number} is not in the range {low}x{high}', param, ctx)
        return number


class OptionalFloat(FiniteFloat):
    """A finite number, or ``none`` (``off``) to switch a limit off."""

    name = 'number|none'
    expected = 'is neither a number nor `none`'

    def convert(self, value, param, ctx):
        if value is None or str(value).strip().lower() in NONE_WORDS:
            return None
        return super().convert(value, param, ctx)


class OptionalInt(Integer):
    """A whole number, or ``none`` (``off``) to switch a limit off."""

    name = 'integer|none'
    expected = 'is neither a whole number nor `none`'

    def convert(self, value, param, ctx):
        if value is None or str(value).strip().lower() in NONE_WORDS:
            return None
        return super().convert(value, param, ctx)


#: A seed of random number generators (Python's, numpy's, torch's).
SEED = Integer(min=0, max=SEED_MAX)
#: A count of at least one (members, epochs, batch size, ...).
POSITIVE = Integer(min=1)
#: A count that may be zero (a budget, a number of rows to print).
COUNT = Integer(min=0)
#: A duration or rate that must be above zero (seconds, ps, a learning rate).
POSITIVE_FLOAT = FiniteFloat(min=0, min_open=True)
