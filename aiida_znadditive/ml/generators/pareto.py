"""Scalarisation of desirabilities into a fitness, and Pareto ranking (non-dominated sorting, NSGA-II crowding)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from .errors import GeneratorError

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
