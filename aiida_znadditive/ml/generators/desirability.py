"""Objectives: a scorer, the value read from its screening, and the desirability in [0, 1] it becomes."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

from ..screeners.base import Screener, ScreenerError, Screening, load_screener
from .errors import GeneratorError

# -- desirability and objectives -----------------------------------------------------------------------------------

DESIRABILITY_KINDS = ('larger', 'smaller', 'window')


@dataclasses.dataclass(frozen=True)
class Desirability:
    """A Derringer-type desirability: maps a raw value to [0, 1] (1 is ideal).

    - ``larger``: 0 at or below ``low``, 1 at or above ``high``, linear between;
    - ``smaller``: 1 at or below ``low``, 0 at or above ``high``, linear between;
    - ``window``: 1 inside [``low``, ``high``] (an open end: None), falling linearly to 0 over ``tolerance``
      outside it (default: half the window's width, or 1 for a half-open window); ``tolerance=0`` is a hard window.
    """

    kind: str
    low: float | None = None
    high: float | None = None
    tolerance: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in DESIRABILITY_KINDS:
            raise GeneratorError(f'desirability kind {self.kind!r} unknown; use one of {", ".join(DESIRABILITY_KINDS)}')
        if self.kind != 'window' and (self.low is None or self.high is None):
            raise GeneratorError(f'a `{self.kind}` desirability needs both low and high')
        if self.kind == 'window' and self.low is None and self.high is None:
            raise GeneratorError('a `window` desirability needs low, high or both')
        if self.low is not None and self.high is not None and self.low > self.high:
            raise GeneratorError(f'desirability low {self.low} above high {self.high}')
        if self.kind != 'window' and self.low == self.high:
            raise GeneratorError(f'a `{self.kind}` desirability needs low < high (both {self.low})')
        if self.tolerance is not None and self.tolerance < 0:
            raise GeneratorError(f'desirability tolerance {self.tolerance} is negative')

    @classmethod
    def of(cls, spec: Desirability | dict | None) -> Desirability | None:
        if spec is None or isinstance(spec, Desirability):
            return spec
        if not isinstance(spec, dict):
            raise GeneratorError(f'a desirability is a dict with kind, low, high (tolerance), not {spec!r}')
        unknown = sorted(set(spec) - {'kind', 'low', 'high', 'tolerance'})
        if unknown:
            raise GeneratorError(f'unknown desirability field(s) {", ".join(unknown)}')
        return cls(
            **{key: (float(value) if key != 'kind' and value is not None else value) for key, value in spec.items()}
        )

    def __call__(self, value: float) -> float:
        low, high = self.low, self.high
        if self.kind == 'larger':
            return float(min(1.0, max(0.0, (value - low) / (high - low))))
        if self.kind == 'smaller':
            return float(min(1.0, max(0.0, (high - value) / (high - low))))
        tolerance = self.tolerance
        if tolerance is None:
            tolerance = (high - low) / 2 if low is not None and high is not None and high > low else 1.0
        distance = max(0.0, (low - value) if low is not None else 0.0, (value - high) if high is not None else 0.0)
        if distance == 0.0:
            return 1.0
        return 0.0 if tolerance == 0 else float(max(0.0, 1.0 - distance / tolerance))

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


class FunctionScorer(Screener):
    """A plain function ``f(smiles) -> float`` as a scorer: the value is the screening's ``score``. The function may
    raise for a molecule; :class:`ScorerBudget` then records that molecule as failed."""

    name = 'function'
    version = '1'

    def __init__(self, function: Callable[[str], float], label: str | None = None) -> None:
        super().__init__(function=getattr(function, '__qualname__', repr(function)))
        self.function = function
        self._label = label or getattr(function, '__name__', 'function')

    @property
    def label(self) -> str:
        return self._label

    def screen(self, smiles: Sequence[str], rows: Sequence[dict] | None = None) -> list[Screening]:
        results = []
        for item in smiles:
            value = self.function(item)
            score = None if value is None else float(value)
            results.append(Screening(smiles=item, passed=score is not None, score=score))
        return results


@dataclasses.dataclass
class Objective:
    """One objective: what to score with, which value to read, how desirable it is, and its weight.

    :param name: its column in the results (default: ``scorer`` or ``scorer.key``).
    :param scorer: a ``znadditive.screeners`` entry point name (set up with ``settings``), a :class:`Screener`, or a
        function ``f(smiles) -> float``. Objectives with the same entry point name and settings share one scoring.
    :param key: ``'score'`` (the screening's score), ``'passed'`` (1 or 0), a prediction name (``'logp'``,
        ``'gap_ev'``), or a function of the :class:`~..screeners.base.Screening`.
    :param weight: its weight in a scalarisation (ignored by Pareto ranking); positive.
    :param desirability: a :class:`Desirability` or its dict; None uses the value itself (the geometric mean clips
        it to [0, 1]).
    :param must_pass: a molecule the scorer fails (``passed`` False) gets desirability 0 for this objective.
    """

    scorer: str | Screener | Callable[[str], float]
    key: str | Callable[[Screening], float | None] = 'score'
    weight: float = 1.0
    desirability: Desirability | dict | None = None
    must_pass: bool = False
    name: str = ''
    settings: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.desirability = Desirability.of(self.desirability)
        if not (isinstance(self.weight, int | float) and math.isfinite(self.weight) and self.weight > 0):
            raise GeneratorError(f'objective weight must be a positive number, got {self.weight!r}')
        if not self.name:
            if isinstance(self.scorer, str):
                scorer = self.scorer
            elif isinstance(self.scorer, Screener):
                scorer = self.scorer.label or self.scorer.name
            else:
                scorer = getattr(self.scorer, '__name__', 'function')
            key = self.key if isinstance(self.key, str) else getattr(self.key, '__name__', 'value')
            self.name = scorer if key == 'score' else f'{scorer}.{key}'

    @property
    def scorer_key(self) -> tuple:
        """Objectives with equal keys share one scorer (and one screening per molecule)."""
        if isinstance(self.scorer, str):
            return ('entry point', self.scorer, repr(sorted(self.settings.items())))
        return ('object', id(self.scorer))

    def build_scorer(self) -> Screener:
        if isinstance(self.scorer, Screener):
            return self.scorer
        if isinstance(self.scorer, str):
            try:
                return load_screener(self.scorer, **self.settings)
            except ScreenerError as error:
                raise GeneratorError(f'objective `{self.name}`: {error}') from None
        if callable(self.scorer):
            return FunctionScorer(self.scorer, label=self.name)
        raise GeneratorError(f'objective `{self.name}`: scorer must be an entry point name, a Screener or a function')

    def value(self, screening: Screening) -> float | None:
        """The raw value of this objective in ``screening`` (None: not available, the molecule failed)."""
        key = self.key
        if callable(key):
            value = key(screening)
        elif key == 'score':
            value = screening.score
        elif key == 'passed':
            value = 1.0 if screening.passed else 0.0
        else:
            value = screening.predictions.get(key)
        if value is None:
            return None
        value = float(value)
        return value if math.isfinite(value) else None

    def desirable(self, value: float, passed: bool) -> float:
        if self.must_pass and not passed:
            return 0.0
        return self.desirability(value) if self.desirability is not None else value

    def describe(self) -> dict:
        if isinstance(self.scorer, str):
            scorer = self.scorer
        elif isinstance(self.scorer, Screener):
            scorer = self.scorer.name
        else:
            scorer = getattr(self.scorer, '__name__', 'function')
        key = self.key if isinstance(self.key, str) else getattr(self.key, '__name__', 'function')
        return {
            'name': self.name,
            'scorer': scorer,
            'key': key,
            'weight': self.weight,
            'desirability': None if self.desirability is None else self.desirability.as_dict(),
            'must_pass': self.must_pass,
            'settings': dict(self.settings),
        }
