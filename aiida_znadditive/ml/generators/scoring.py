"""Scored molecules, the scorer budget (the only way a generator scores molecules) and the result of a run."""

from __future__ import annotations

import csv
import dataclasses
import traceback
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from ..screeners.base import Screener, ScreenerError, Screening
from .constraints import canonical
from .desirability import Objective
from .pareto import Scalarisation, pareto_order

#: Stop a run once its first this many scorer calls all failed (the batch in flight is still recorded): the scorer is
#: broken, not the molecules.
BROKEN_SCORER_CALLS = 20

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
