"""The generator interface: every plugin in the ``znadditive.generators`` entry point group implements
:class:`Generator`.

A generator proposes molecules, has them scored by **objectives** under **constraints** and a **budget** of scorer
calls, and returns a :class:`GenerationResult`: every molecule it had scored, in the order it was scored, with its
raw values, desirabilities, scalarised fitness and Pareto rank, the number of scorer calls spent and why it stopped.

- :class:`Objective`: a scorer (an entry point of ``znadditive.screeners``, a :class:`~..screeners.base.Screener`
  or a plain function of a SMILES) and the value read from its :class:`~..screeners.base.Screening` (its ``score``,
  a prediction, or a function of the screening), turned into a desirability in [0, 1] by a
  :class:`Desirability` (``larger``, ``smaller`` or ``window``), with a weight.
- :class:`Constraints`: hard limits (elements, net charge, heavy atoms, Crippen logP window, SA-score ceiling).
  A molecule that breaks one is discarded **before** any scorer call; :meth:`Constraints.contradictions` finds
  limits no molecule can satisfy before a run starts.
- :class:`Scalarisation`: weighted arithmetic or geometric mean of the desirabilities (the fitness), or Pareto
  ranking (:func:`pareto_ranks`: non-dominated sorting; :func:`crowding_distances`, as in NSGA-II).
- :class:`ScorerBudget`: the only way a generator scores molecules. One call is one molecule scored (by every
  objective's scorer); a molecule scored before costs nothing (cache by canonical SMILES); a scorer that raises on a
  molecule makes that molecule a failed record (with the reason) and the run goes on; at the budget it stops and
  what was scored is kept.

Bad input: a negative budget, no objective, an unknown scorer or contradictory constraints raise
:class:`GeneratorError` before anything is scored. A budget of 0 is not an error: the result is empty and its
``stop_reason`` says that nothing could be scored (the command line turns that into an error message). An exception
inside a generator's search stops the run with ``stopped_by='error'`` and the molecules scored so far kept.
"""

from __future__ import annotations

import abc
import csv
import dataclasses
import math
import random
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import ClassVar

import numpy as np
from rdkit import Chem
from rdkit.rdBase import BlockLogs

from ..screeners.base import Screener, ScreenerError, Screening, load_screener

GROUP = 'znadditive.generators'

#: What the ``rules`` screener (and the complexation WorkChain) accepts: the default allowed elements.
DEFAULT_ELEMENTS = ('H', 'B', 'C', 'N', 'O', 'F', 'Si', 'P', 'S', 'Cl', 'Br', 'I')
#: Stop a run once its first this many scorer calls all failed (the batch in flight is still recorded): the scorer is
#: broken, not the molecules.
BROKEN_SCORER_CALLS = 20


class GeneratorError(ValueError):
    """A run that cannot start (bad objective, contradictory constraints, negative budget, unknown generator)."""


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


# -- scalarisation and Pareto ranking ------------------------------------------------------------------------------

SCALARISATIONS = ('geometric', 'sum')


@dataclasses.dataclass(frozen=True)
class Scalarisation:
    """The fitness of a molecule from its desirabilities ``d_i`` and the objectives' weights ``w_i``:

    - ``geometric`` (default): ``(Π d_i^w_i)^(1/Σw)``, with ``d_i`` clipped to [0, 1]; one desirability of 0 makes
      the fitness 0 (Derringer: every objective must be met somewhat);
    - ``sum``: ``Σ w_i d_i / Σ w_i`` (good objectives can make up for a bad one).
    """

    kind: str = 'geometric'

    def __post_init__(self) -> None:
        if self.kind not in SCALARISATIONS:
            raise GeneratorError(f'scalarisation {self.kind!r} unknown; use one of {", ".join(SCALARISATIONS)}')

    def __call__(self, desirabilities: Sequence[float], weights: Sequence[float]) -> float:
        total = float(sum(weights))
        if self.kind == 'sum':
            return float(sum(w * d for w, d in zip(weights, desirabilities, strict=True)) / total)
        clipped = [min(1.0, max(0.0, d)) for d in desirabilities]
        if any(d == 0.0 for d in clipped):
            return 0.0
        return float(math.exp(sum(w * math.log(d) for w, d in zip(weights, clipped, strict=True)) / total))


def pareto_ranks(points: Sequence[Sequence[float]]) -> list[int]:
    """The non-dominated sorting rank of each point (0: the Pareto front), every coordinate to be maximised.

    A point's rank is the length of the longest chain of points dominating it, which is the front it lands in when
    fronts are peeled off one after another (Deb et al. 2002, NSGA-II). In descending lexicographic order a point
    comes after all its dominators, so one pass with a vectorised dominance test gives every rank: O(n² m).
    """
    values = np.asarray(points, dtype=float)
    if values.size == 0:
        return []
    if values.ndim != 2:
        raise ValueError('points must be a sequence of equal-length sequences')
    order = np.lexsort(tuple(-values[:, column] for column in reversed(range(values.shape[1]))))
    ordered = values[order]
    ranks_ordered = np.zeros(len(order), dtype=int)
    for position in range(1, len(order)):
        before = ordered[:position]
        point = ordered[position]
        dominators = np.all(before >= point, axis=1) & np.any(before > point, axis=1)
        if dominators.any():
            ranks_ordered[position] = ranks_ordered[:position][dominators].max() + 1
    ranks = np.empty(len(order), dtype=int)
    ranks[order] = ranks_ordered
    return ranks.tolist()


def crowding_distances(points: Sequence[Sequence[float]], ranks: Sequence[int] | None = None) -> list[float]:
    """NSGA-II crowding distance of each point within its front (``ranks``; computed when not given): the sum over
    objectives of the normalised gap between its two neighbours; the extremes of a front get infinity."""
    values = np.asarray(points, dtype=float)
    if values.size == 0:
        return []
    ranks = np.asarray(pareto_ranks(values) if ranks is None else ranks)
    distance = np.zeros(len(values))
    for rank in np.unique(ranks):
        members = np.flatnonzero(ranks == rank)
        if len(members) <= 2:
            distance[members] = math.inf
            continue
        for column in range(values.shape[1]):
            column_values = values[members, column]
            order = members[np.argsort(column_values, kind='stable')]
            low, high = values[order[0], column], values[order[-1], column]
            distance[order[0]] = distance[order[-1]] = math.inf
            if high == low:
                continue
            gaps = (values[order[2:], column] - values[order[:-2], column]) / (high - low)
            distance[order[1:-1]] += gaps
    return distance.tolist()


def pareto_order(points: Sequence[Sequence[float]]) -> list[int]:
    """Indices of ``points`` best first: by Pareto rank, then by crowding distance (larger first), then by index."""
    ranks = pareto_ranks(points)
    crowding = crowding_distances(points, ranks)
    return sorted(range(len(ranks)), key=lambda index: (ranks[index], -crowding[index], index))


# -- constraints ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Violation:
    """A constraint a molecule breaks: ``kind`` (to count by) and a message with the values."""

    kind: str
    message: str


@dataclasses.dataclass
class Constraints:
    """Hard limits on generated molecules; a molecule that breaks one is never scored.

    Defaults are the ``rules`` screener's domain: its elements, net charge −2..+1, 2-40 heavy atoms, Crippen
    logP ≤ 3 (water-soluble), SA score ≤ 4.5. None switches a limit off. Every molecule must also be one connected
    fragment without radicals.
    """

    elements: tuple[str, ...] = DEFAULT_ELEMENTS
    min_charge: int | None = -2
    max_charge: int | None = 1
    min_heavy_atoms: int | None = 2
    max_heavy_atoms: int | None = 40
    logp_min: float | None = None
    logp_max: float | None = 3.0
    sa_max: float | None = 4.5

    def __post_init__(self) -> None:
        self.elements = tuple(self.elements)

    def contradictions(self) -> list[str]:
        """Why no molecule can satisfy these constraints, as far as that is known without a search (empty: none
        found). A contradiction the limits do not show (logP window no molecule of the allowed elements reaches)
        shows up during a run instead: every candidate is discarded, and the stop reason counts why."""
        found = []
        table = Chem.GetPeriodicTable()
        unknown = []
        for symbol in self.elements:
            try:
                ok = (
                    table.GetAtomicNumber(symbol) > 0
                    and table.GetElementSymbol(table.GetAtomicNumber(symbol)) == symbol
                )
            except (RuntimeError, ValueError):
                ok = False
            if not ok:
                unknown.append(symbol)
        if unknown:
            found.append(f'unknown element symbol(s) {", ".join(map(repr, unknown))}')
        heavy_elements = [symbol for symbol in self.elements if symbol not in unknown and symbol != 'H']
        if not self.elements:
            found.append('the set of allowed elements is empty')
        elif not heavy_elements:
            found.append('no heavy element allowed (hydrogen alone makes no additive)')
        for low, high, what in (
            (self.min_charge, self.max_charge, 'net charge'),
            (self.min_heavy_atoms, self.max_heavy_atoms, 'heavy atoms'),
            (self.logp_min, self.logp_max, 'logP'),
        ):
            if low is not None and high is not None and low > high:
                found.append(f'{what}: minimum {low} above maximum {high}')
        if self.max_heavy_atoms is not None and self.max_heavy_atoms < 1:
            found.append(f'at most {self.max_heavy_atoms} heavy atoms: no molecule has fewer than 1')
        if self.sa_max is not None and self.sa_max < 1.0:
            found.append(f'SA score ceiling {self.sa_max} below 1, the lowest SA score there is')
        return found

    def validate(self) -> None:
        """Raise :class:`GeneratorError` listing every contradiction found."""
        found = self.contradictions()
        if found:
            raise GeneratorError('contradictory constraints, no molecule can satisfy them: ' + '; '.join(found))

    def violations(self, mol: Chem.Mol | None) -> list[Violation]:
        """Every constraint ``mol`` breaks (cheap ones first; logP and SA only for a molecule that passed those)."""
        if mol is None or mol.GetNumAtoms() == 0:
            return [Violation('invalid', 'not a valid molecule')]
        found = self._structure_violations(mol)
        return found or self._property_violations(mol)

    def _structure_violations(self, mol: Chem.Mol) -> list[Violation]:
        found = []
        if len(Chem.GetMolFrags(mol)) > 1:
            found.append(Violation('fragments', 'more than one fragment'))
        allowed = set(self.elements)
        foreign = sorted({atom.GetSymbol() for atom in mol.GetAtoms()} - allowed)
        if 'H' not in allowed and any(atom.GetTotalNumHs() for atom in mol.GetAtoms()):
            foreign = sorted({*foreign, 'H'})
        if foreign:
            found.append(Violation('elements', f'element(s) {", ".join(foreign)} not allowed'))
        if any(atom.GetNumRadicalElectrons() for atom in mol.GetAtoms()):
            found.append(Violation('radical', 'radical (open shell)'))
        charge = Chem.GetFormalCharge(mol)
        if self.min_charge is not None and charge < self.min_charge:
            found.append(Violation('charge', f'net charge {charge:+d} below {self.min_charge:+d}'))
        if self.max_charge is not None and charge > self.max_charge:
            found.append(Violation('charge', f'net charge {charge:+d} above {self.max_charge:+d}'))
        heavy = mol.GetNumHeavyAtoms()
        if self.min_heavy_atoms is not None and heavy < self.min_heavy_atoms:
            found.append(Violation('heavy atoms', f'{heavy} heavy atoms below {self.min_heavy_atoms}'))
        if self.max_heavy_atoms is not None and heavy > self.max_heavy_atoms:
            found.append(Violation('heavy atoms', f'{heavy} heavy atoms above {self.max_heavy_atoms}'))
        return found

    def _property_violations(self, mol: Chem.Mol) -> list[Violation]:
        found = []
        if self.logp_min is not None or self.logp_max is not None:
            logp = _logp(mol)
            if self.logp_min is not None and logp < self.logp_min:
                found.append(Violation('logP', f'logP {logp:.2f} below {self.logp_min:.2f}'))
            if self.logp_max is not None and logp > self.logp_max:
                found.append(Violation('logP', f'logP {logp:.2f} above {self.logp_max:.2f}'))
        if self.sa_max is not None:
            sa = _sa(mol)
            if sa > self.sa_max:
                found.append(Violation('SA score', f'SA score {sa:.2f} above {self.sa_max:.2f}'))
        return found

    def check(self, mol: Chem.Mol | str | None) -> list[str]:
        """The reasons ``mol`` (a molecule or a SMILES) breaks these constraints; empty when it satisfies them."""
        if isinstance(mol, str):
            mol = parse(mol)
        return [violation.message for violation in self.violations(mol)]

    def as_dict(self) -> dict:
        return {**dataclasses.asdict(self), 'elements': list(self.elements)}


def _logp(mol: Chem.Mol) -> float:
    from ..screeners.descriptors import CrippenLogP

    global _CRIPPEN  # noqa: PLW0603 - one cached calculator per process
    if _CRIPPEN is None:
        _CRIPPEN = CrippenLogP()
    return _CRIPPEN(mol)


_CRIPPEN = None


def _sa(mol: Chem.Mol) -> float:
    from ..screeners.descriptors import sa_score

    return sa_score(Chem.Mol(mol))  # sa_score perceives stereo on the molecule it is given: a copy


def parse(smiles: str) -> Chem.Mol | None:
    """``Chem.MolFromSmiles`` without RDKit's log lines; None for an unreadable or empty SMILES."""
    if not isinstance(smiles, str) or not smiles.strip():
        return None
    with BlockLogs():
        try:
            mol = Chem.MolFromSmiles(smiles)
        except Exception:  # RDKit raises for some malformed input
            return None
    return mol if mol is not None and mol.GetNumAtoms() else None


def canonical(smiles_or_mol: str | Chem.Mol) -> str | None:
    """RDKit canonical SMILES (None when it cannot be read): the identity molecules are cached and deduplicated by."""
    mol = parse(smiles_or_mol) if isinstance(smiles_or_mol, str) else smiles_or_mol
    if mol is None:
        return None
    return Chem.MolToSmiles(mol)


# -- scored molecules, the budget, the result -------------------------------------------------------------------------


@dataclasses.dataclass
class ScoredMolecule:
    """One molecule a generator had scored (one scorer call).

    :param smiles: canonical SMILES.
    :param call: which scorer call scored it (1-based).
    :param values: raw value of each objective (None where it failed).
    :param desirabilities: desirability of each objective in [0, 1] (None where it failed).
    :param fitness: the scalarised desirability (None for a failed molecule).
    :param error: why it failed (a scorer raised, or gave no value); None when scored.
    :param passed: whether each scorer passed it, by scorer label.
    :param predictions: the scorers' predictions, ``label.name``.
    :param pareto_rank: its Pareto rank among the run's scored molecules (0: non-dominated), set at the end.
    :param origin: how the generator made it (``seed``, ``crossover``, ``crossover+mutation``, ``library``).
    :param parents: canonical SMILES of its parents, where it has any.
    :param generation: the generator's iteration it was made in (0: initial).
    """

    smiles: str
    call: int
    values: dict[str, float | None]
    desirabilities: dict[str, float | None]
    fitness: float | None
    error: str | None = None
    passed: dict[str, bool] = dataclasses.field(default_factory=dict)
    predictions: dict[str, float] = dataclasses.field(default_factory=dict)
    pareto_rank: int | None = None
    origin: str = ''
    parents: tuple[str, ...] = ()
    generation: int = 0

    @property
    def failed(self) -> bool:
        return self.error is not None

    def point(self, names: Sequence[str]) -> list[float]:
        return [float(self.desirabilities[name]) for name in names]


class ScorerBudget:
    """Scores molecules for a generator, counting calls against ``budget`` (see the module docstring).

    :meth:`score` takes a batch of SMILES and returns, in order, the :class:`ScoredMolecule` of each (a cached one
    for a molecule scored before, at no cost), or None for those beyond the budget. ``records`` holds every molecule
    scored, in call order. ``on_scored`` is called with each newly scored molecule (e.g. to stream it to a file).
    """

    def __init__(
        self,
        objectives: Sequence[Objective],
        budget: int,
        scalarisation: Scalarisation | None = None,
        on_scored: Callable[[ScoredMolecule], None] | None = None,
    ) -> None:
        self.objectives = list(objectives)
        self.budget = budget
        self.scalarisation = scalarisation or Scalarisation()
        self.on_scored = on_scored
        self.calls = 0
        self.records: list[ScoredMolecule] = []
        self.cache: dict[str, ScoredMolecule] = {}
        self.cache_hits = 0
        self.exhausted = False
        self.broken: str | None = None
        self._all_failed = True
        self._weights = [objective.weight for objective in self.objectives]
        # One scorer per distinct scorer key; objectives refer to it by position.
        self._scorers: list[Screener] = []
        self._scorer_of: list[int] = []
        keys: dict[tuple, int] = {}
        for objective in self.objectives:
            key = objective.scorer_key
            if key not in keys:
                keys[key] = len(self._scorers)
                self._scorers.append(objective.build_scorer())
            self._scorer_of.append(keys[key])

    @property
    def remaining(self) -> int:
        return max(0, self.budget - self.calls)

    @property
    def should_stop(self) -> bool:
        return self.exhausted or self.remaining == 0 or self.broken is not None

    def seen(self, smiles: str) -> bool:
        return smiles in self.cache

    def score(
        self,
        smiles: Iterable[str],
        *,
        origin: str = '',
        generation: int = 0,
        parents: Sequence[tuple[str, ...]] | None = None,
    ) -> list[ScoredMolecule | None]:
        """Score ``smiles`` (canonicalised here); see the class docstring."""
        smiles = list(smiles)
        keys = [canonical(item) or item for item in smiles]
        results: list[ScoredMolecule | None] = [None] * len(keys)
        new: dict[str, list[int]] = {}
        for index, key in enumerate(keys):
            if key in self.cache:
                self.cache_hits += 1
                results[index] = self.cache[key]
            elif key in new:  # a repeat within the batch: scored once, free
                self.cache_hits += 1
                new[key].append(index)
            elif self.broken is None and self.calls + len(new) < self.budget:
                new[key] = [index]
            else:
                self.exhausted = True
        if not new:
            return results
        batch = list(new)
        screenings = [self._screen(scorer, batch) for scorer in self._scorers]
        for position, key in enumerate(batch):
            first = new[key][0]
            record = self._record(
                key,
                [screenings[which][position] for which in range(len(self._scorers))],
                origin=origin,
                generation=generation,
                parents=tuple(parents[first]) if parents is not None else (),
            )
            for index in new[key]:
                results[index] = record
        if self.calls >= self.budget:
            self.exhausted = True
        return results

    def _screen(self, scorer: Screener, batch: list[str]) -> list[Screening | str]:
        """The scorer's screenings of ``batch``; where it raises, the batch is screened one by one and a molecule
        that makes it raise gets the error message instead of a screening."""
        try:
            screenings = scorer.screen(batch)
            if len(screenings) != len(batch):
                raise ScreenerError(f'{len(screenings)} screenings for {len(batch)} molecules')
            return list(screenings)
        except Exception:
            if len(batch) == 1:
                return [_error_text(scorer)]
        out: list[Screening | str] = []
        for item in batch:
            try:
                (screening,) = scorer.screen([item])
                out.append(screening)
            except Exception:
                out.append(_error_text(scorer))
        return out

    def _record(self, smiles, screenings, *, origin, generation, parents) -> ScoredMolecule:
        self.calls += 1
        values: dict[str, float | None] = {}
        desirabilities: dict[str, float | None] = {}
        errors = []
        # A must-pass objective whose screener failed the molecule is a verdict: the fitness is 0 whatever else is
        # missing (e.g. a model that fails an unknown element without predicting gives the other objectives no value).
        vetoed = any(
            objective.must_pass and isinstance(screenings[which], Screening) and not screenings[which].passed
            for objective, which in zip(self.objectives, self._scorer_of, strict=True)
        )
        for objective, which in zip(self.objectives, self._scorer_of, strict=True):
            screening = screenings[which]
            if isinstance(screening, str):
                errors.append(screening)
                values[objective.name] = desirabilities[objective.name] = None
                continue
            try:
                value = objective.value(screening)
            except Exception:
                value = None
                errors.append(f'{objective.name}: reading the value raised {traceback.format_exc(limit=0).strip()}')
            values[objective.name] = value
            if value is None and vetoed:
                desirabilities[objective.name] = 0.0
            elif value is None:
                desirabilities[objective.name] = None
                why = '; '.join(screening.reasons) or 'no value'
                errors.append(f'{objective.name}: {why}')
            else:
                desirabilities[objective.name] = objective.desirable(value, screening.passed)
        passed, predictions = {}, {}
        for scorer, screening in zip(self._scorers, screenings, strict=True):
            if isinstance(screening, Screening):
                passed[scorer.label] = bool(screening.passed)
                for name, value in screening.predictions.items():
                    predictions[f'{scorer.label}.{name}'] = value
        error = '; '.join(dict.fromkeys(errors)) if errors else None
        fitness = None
        if error is None:
            fitness = self.scalarisation([desirabilities[o.name] for o in self.objectives], self._weights)
        record = ScoredMolecule(
            smiles=smiles,
            call=self.calls,
            values=values,
            desirabilities=desirabilities,
            fitness=fitness,
            error=error,
            passed=passed,
            predictions=predictions,
            origin=origin,
            parents=parents,
            generation=generation,
        )
        self.records.append(record)
        self.cache[smiles] = record
        self._all_failed = self._all_failed and record.failed
        if self.broken is None and self._all_failed and self.calls >= BROKEN_SCORER_CALLS:
            self.broken = (
                f'the first {self.calls} molecules all failed to score (first: {self.records[0].error}); '
                'the scorer is broken, not the molecules'
            )
        if self.on_scored is not None:
            self.on_scored(record)
        return record


def _error_text(scorer: Screener) -> str:
    return f'{scorer.label} raised {traceback.format_exc(limit=0).strip().splitlines()[-1]}'


STOP_CODES = (
    'budget',
    'zero-budget',
    'generations',
    'stalled',
    'library',
    'no-seeds',
    'scorer',
    'error',
    'interrupted',
)


@dataclasses.dataclass
class GenerationResult:
    """What a run produced: every scored molecule (``molecules``, in call order; failed ones included), the calls
    spent, why it stopped (``stopped_by``: one of :data:`STOP_CODES`; ``stop_reason``: a sentence) and its settings.

    Generated molecules enter the meta-database with ``source`` = the generator's name and ``source_version`` = its
    version (:meth:`provenance`).
    """

    generator: str
    version: str
    seed: int
    budget: int
    objectives: list[dict]
    constraints: dict
    scalarisation: str
    selection: str
    settings: dict
    molecules: list[ScoredMolecule] = dataclasses.field(default_factory=list)
    calls: int = 0
    cache_hits: int = 0
    stopped_by: str = ''
    stop_reason: str = ''
    discarded: dict[str, int] = dataclasses.field(default_factory=dict)
    seconds: float = 0.0

    @property
    def objective_names(self) -> list[str]:
        return [objective['name'] for objective in self.objectives]

    @property
    def scored(self) -> list[ScoredMolecule]:
        return [molecule for molecule in self.molecules if not molecule.failed]

    @property
    def failed(self) -> list[ScoredMolecule]:
        return [molecule for molecule in self.molecules if molecule.failed]

    def best(self, n: int | None = None, by: str | None = None) -> list[ScoredMolecule]:
        """Scored molecules best first: by fitness (``by='fitness'``) or Pareto rank and crowding (``'pareto'``);
        default: the run's selection."""
        by = by or ('pareto' if self.selection == 'pareto' else 'fitness')
        scored = self.scored
        if by == 'fitness':
            ordered = sorted(scored, key=lambda molecule: (-molecule.fitness, molecule.call))
        elif by == 'pareto':
            names = self.objective_names
            ordered = [scored[index] for index in pareto_order([molecule.point(names) for molecule in scored])]
        else:
            raise ValueError(f'best(by={by!r}): use fitness or pareto')
        return ordered if n is None else ordered[:n]

    def provenance(self) -> dict:
        return {
            'generator': self.generator,
            'version': self.version,
            'seed': self.seed,
            'budget': self.budget,
            'calls': self.calls,
            'stopped_by': self.stopped_by,
            'stop_reason': self.stop_reason,
            'objectives': self.objectives,
            'constraints': self.constraints,
            'scalarisation': self.scalarisation,
            'selection': self.selection,
            'settings': self.settings,
            'discarded': self.discarded,
        }

    def rows(self) -> list[dict]:
        """One flat row per molecule, in call order: what :meth:`write_csv` writes."""
        rows = []
        for molecule in self.molecules:
            row = {
                'call': molecule.call,
                'smiles': molecule.smiles,
                'status': 'failed' if molecule.failed else 'scored',
                'fitness': molecule.fitness,
                'pareto_rank': molecule.pareto_rank,
            }
            for name in self.objective_names:
                row[name] = molecule.values.get(name)
                row[f'{name}:desirability'] = molecule.desirabilities.get(name)
            row.update(
                origin=molecule.origin,
                generation=molecule.generation,
                parents=' '.join(molecule.parents),
                error=molecule.error or '',
            )
            rows.append(row)
        return rows

    def write_csv(self, path: str | Path) -> Path:
        path = Path(path)
        rows = self.rows()
        fields = ['call', 'smiles', 'status', 'fitness', 'pareto_rank']
        for name in self.objective_names:
            fields += [name, f'{name}:desirability']
        fields += ['origin', 'generation', 'parents', 'error']
        with path.open('w', newline='') as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            for row in rows:
                writer.writerow({key: '' if value is None else value for key, value in row.items()})
        return path


# -- the generator interface ---------------------------------------------------------------------------------------

SELECTIONS = ('scalar', 'pareto')


class StopRun(Exception):
    """Raised by a generator's search to stop with a code of :data:`STOP_CODES` and a reason."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclasses.dataclass
class RunContext:
    """What a generator's :meth:`Generator.run` gets: the scorer budget, the constraints, a seeded random number
    generator, the selection mode, and a counter of discarded candidates by reason."""

    budget: ScorerBudget
    constraints: Constraints
    rng: object
    seed: int
    selection: str
    objective_names: list[str]
    discarded: Counter = dataclasses.field(default_factory=Counter)

    def admissible(self, mol: Chem.Mol | None) -> bool:
        """Whether ``mol`` satisfies the constraints; a violation is counted in ``discarded`` (no scorer call)."""
        violations = self.constraints.violations(mol)
        for kind in dict.fromkeys(violation.kind for violation in violations):
            self.discarded[kind] += 1
        return not violations

    def discard_summary(self, limit: int = 4) -> str:
        if not self.discarded:
            return 'none discarded'
        return ', '.join(f'{count} {kind}' for kind, count in self.discarded.most_common(limit))


class Generator(abc.ABC):
    """One generation method. Subclasses set ``name`` (their entry point), ``version`` and :data:`DEFAULTS` (their
    settings), and implement :meth:`run`. :meth:`generate` is the same for all: it checks the input, runs the
    search under a :class:`ScorerBudget` and collects the :class:`GenerationResult`."""

    name: str = ''
    version: str = ''
    DEFAULTS: ClassVar[dict] = {}

    def __init__(self, **settings) -> None:
        unknown = sorted(set(settings) - set(self.DEFAULTS))
        if unknown:
            known = ', '.join(self.DEFAULTS) or 'none'
            raise GeneratorError(f'unknown `{self.name}` setting(s) {", ".join(unknown)}; known: {known}')
        self.settings = {**self.DEFAULTS, **settings}

    def generate(
        self,
        objectives: Objective | Sequence[Objective],
        constraints: Constraints | None = None,
        budget: int = 100,
        seed: int = 0,
        *,
        scalarisation: str | Scalarisation = 'geometric',
        selection: str = 'scalar',
        on_scored: Callable[[ScoredMolecule], None] | None = None,
    ) -> GenerationResult:
        """Generate molecules, scoring at most ``budget`` of them; reproducible for a given ``seed``.

        ``selection``: ``'scalar'`` (by the scalarised fitness) or ``'pareto'`` (non-dominated sorting of the
        desirabilities, then crowding distance) decides which molecules a search keeps and how
        :meth:`GenerationResult.best` orders them.
        """
        objectives = [objectives] if isinstance(objectives, Objective) else list(objectives)
        if not objectives:
            raise GeneratorError('no objective given: a generator needs at least one objective to score molecules')
        names = [objective.name for objective in objectives]
        duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
        if duplicates:
            raise GeneratorError(f'objective names must differ; repeated: {", ".join(duplicates)}')
        if isinstance(budget, bool) or not isinstance(budget, int | np.integer) or budget < 0:
            raise GeneratorError(f'budget must be a whole number of scorer calls, 0 or more; got {budget!r}')
        budget = int(budget)
        if selection not in SELECTIONS:
            raise GeneratorError(f'selection {selection!r} unknown; use one of {", ".join(SELECTIONS)}')
        scalarisation = scalarisation if isinstance(scalarisation, Scalarisation) else Scalarisation(scalarisation)
        constraints = constraints or Constraints()
        constraints.validate()

        result = GenerationResult(
            generator=self.name,
            version=self.version,
            seed=seed,
            budget=budget,
            objectives=[objective.describe() for objective in objectives],
            constraints=constraints.as_dict(),
            scalarisation=scalarisation.kind,
            selection=selection,
            settings=_plain(self.settings),
        )
        if budget == 0:
            result.stopped_by = 'zero-budget'
            result.stop_reason = 'the budget is 0 scorer calls: nothing was generated or scored'
            return result
        started = time.perf_counter()
        scorer_budget = ScorerBudget(objectives, budget, scalarisation, on_scored=on_scored)
        context = RunContext(
            budget=scorer_budget,
            constraints=constraints,
            rng=random.Random(seed),
            seed=seed,
            selection=selection,
            objective_names=names,
        )
        try:
            code, reason = self.run(context)
        except StopRun as stop:
            code, reason = stop.code, stop.reason
        except KeyboardInterrupt:
            code, reason = 'interrupted', 'interrupted by the user; the molecules scored so far are kept'
        except Exception as error:
            lines = traceback.format_exc(limit=-1).strip().splitlines()
            where = f' ({lines[1].strip()})' if len(lines) > 1 else ''
            code = 'error'
            reason = f'{type(error).__name__}: {error}{where}; the molecules scored so far are kept'
        if scorer_budget.broken is not None:
            code, reason = 'scorer', scorer_budget.broken
        elif code not in {'error', 'interrupted'} and scorer_budget.calls >= budget:
            code, reason = 'budget', f'budget of {budget} scorer calls spent'
        result.molecules = list(scorer_budget.records)
        result.calls = scorer_budget.calls
        result.cache_hits = scorer_budget.cache_hits
        result.stopped_by, result.stop_reason = code, reason
        result.discarded = dict(context.discarded.most_common())
        scored = result.scored
        if scored:
            for molecule, rank in zip(scored, pareto_ranks([m.point(names) for m in scored]), strict=True):
                molecule.pareto_rank = rank
        result.seconds = time.perf_counter() - started
        return result

    @abc.abstractmethod
    def run(self, context: RunContext) -> tuple[str, str]:
        """The search: score molecules through ``context.budget`` until it stops (``context.budget.should_stop``)
        or the search ends; return the stop code and reason (or raise :class:`StopRun`)."""

    def provenance(self) -> dict:
        return {'generator': self.name, 'version': self.version, 'settings': _plain(self.settings)}


def _plain(settings: dict) -> dict:
    """Settings as recordable values (a long SMILES list is summarised)."""
    out = {}
    for key, value in settings.items():
        if isinstance(value, list | tuple) and len(value) > 20:
            out[key] = f'{len(value)} items'
        elif isinstance(value, str | int | float | bool | type(None) | list | tuple | dict):
            out[key] = value
        else:
            out[key] = repr(value)
    return out


def load_generator(name: str, **settings) -> Generator:
    """The generator registered as ``name`` in ``znadditive.generators``, set up with ``settings``."""
    found = [entry for entry in entry_points(group=GROUP) if entry.name == name]
    if not found:
        raise GeneratorError(f'No generator `{name}` in {GROUP}; registered: {", ".join(generator_names()) or "none"}')
    return found[0].load()(**settings)


def generator_names() -> list[str]:
    return sorted(entry.name for entry in entry_points(group=GROUP))
