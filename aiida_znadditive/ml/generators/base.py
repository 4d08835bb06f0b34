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
import dataclasses
import random
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import ClassVar

import numpy as np
from rdkit import Chem

from .constraints import Constraints
from .desirability import Objective
from .errors import GeneratorError
from .pareto import Scalarisation, pareto_ranks
from .scoring import GenerationResult, ScoredMolecule, ScorerBudget

GROUP = 'znadditive.generators'

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
