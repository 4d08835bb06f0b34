"""A progress line for a generator's run: scorer calls, rate, best so far, time left.

:class:`GenerationProgress` is an ``on_scored`` callback of :meth:`~.base.Generator.generate`: it sees every newly
scored molecule and, at most every ``interval`` seconds, hands a line to ``report`` (the CLI's ``echo_report``, a
logger), e.g. ``ga: 2,400/10,000 scorer calls (24%), 38 calls/s, best fitness 0.912 (OCCN1CCOCC1), ETA 3 min 20 s``.
A run of 10,000 calls takes minutes, and printed nothing until it ended.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .scoring import ScoredMolecule


def duration(seconds: float) -> str:
    """``3 min 20 s`` or ``45 s``."""
    seconds = max(0, round(seconds))
    return f'{seconds // 60} min {seconds % 60:02d} s' if seconds >= 60 else f'{seconds} s'


class GenerationProgress:
    """Count scored molecules and report a line every ``interval`` seconds (see the module docstring)."""

    def __init__(
        self, label: str, budget: int, report: Callable[[str], None], interval: float = 10.0, clock=time.perf_counter
    ) -> None:
        self.label, self.budget, self.report, self.interval, self.clock = label, budget, report, interval, clock
        self.calls = self.failed = 0
        self.best: ScoredMolecule | None = None
        self.started = self.last = clock()

    def __call__(self, molecule: ScoredMolecule) -> None:
        self.calls += 1
        if molecule.fitness is None:
            self.failed += 1
        elif self.best is None or molecule.fitness > self.best.fitness:
            self.best = molecule
        now = self.clock()
        if now - self.last >= self.interval:
            self.last = now
            self.report(self.line(now - self.started))

    def line(self, elapsed: float) -> str:
        rate = self.calls / elapsed if elapsed > 0 else 0.0
        left = duration((self.budget - self.calls) / rate) if rate > 0 else '?'
        best = f'best fitness {self.best.fitness:.3f} ({self.best.smiles})' if self.best is not None else 'none scored'
        failed = f', {self.failed:,} failed' if self.failed else ''
        return (
            f'{self.label}: {self.calls:,}/{self.budget:,} scorer calls ({self.calls / max(self.budget, 1):.0%}), '
            f'{rate:,.1f} calls/s{failed}, {best}, ETA {left}'
        )
