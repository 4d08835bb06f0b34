"""Screening funnels: screeners in a row over a whole library, streamed through worker processes.

A cascade runs its screeners in order, each on the molecules every earlier one passed, as a screening funnel does:
the cheap ``rules`` first, a model only on what is left. Each molecule gets a :class:`CascadeResult`: whether it
passed every stage, the stage that failed it, and the :class:`~.base.Screening` of every stage it reached.

:func:`screen_library` streams an iterable of SMILES (millions) through the cascade in ``processes`` worker
processes, ``chunk_size`` molecules at a time, and yields the results in input order. At most ``in_flight`` chunks
per worker are queued or being screened, so memory stays bounded whatever the library's length. Each worker builds
its screeners once (``type(screener)(**screener.settings)``: the ``gnn`` screener loads its checkpoint once per
worker) and runs torch with one thread (``torch_threads``): processes, not threads, use the cores.

Screeners hand on the RDKit molecules they parsed (:meth:`~.base.Screener.screen_parsed`): the ``rules`` screener
parses each SMILES once and reads its atoms and bonds once (the atom table it leaves on the molecule,
:func:`~.descriptors.atom_table`), and the ``gnn`` screener featurises its molecules from that table, without parsing
or reading them again.

The ``rules`` screener's costly criteria (SA score, PAINS, Brenk/NIH: about half its time on a molecule that
passes the cheap ones) can run after the model instead, on the few molecules the model passes:
:func:`defer_costly_rules` turns ``[rules, gnn]`` into ``[rules.cheap, gnn, rules.costly]``. A molecule passes that
funnel exactly when it passes ``[rules, gnn]`` (each stage judges the molecule alone), and a passed molecule's
``rules.costly`` screening is its ``rules`` screening of the other order (same predictions, reasons, score). What
differs: a molecule failing both the model and a costly rule fails at the model (``failed_at='gnn'``), not at
``rules``; and :attr:`CascadeResult.score` (the last stage's) of a passed molecule is then the rules score, the
model's being ``screenings['gnn'].score``.

With ``brief=True`` a failed molecule's result keeps only what a funnel over millions reports of its failures: the
stage that failed it and that stage's reasons and score (:meth:`CascadeResult.brief`), without predictions or the
screenings of earlier stages; a passed molecule keeps everything. The workers then send back a fraction of the
objects, and the parent unpickles a fraction (on MOSES ~97% of the molecules fail).

Nothing about one molecule stops the others: an unparseable SMILES is a failed screening with its reason, and a
screener that raises on a chunk is run again molecule by molecule, so that only the molecule that breaks it fails,
with the error as its reason.
"""

from __future__ import annotations

import collections
import dataclasses
import gc
import multiprocessing
import sys
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

from .base import Screener, ScreenerError, Screening

__all__ = ('Cascade', 'CascadeResult', 'defer_costly_rules', 'screen_library', 'stage_labels')


@dataclasses.dataclass
class CascadeResult:
    """What a cascade says of one molecule.

    :param smiles: the molecule as given.
    :param passed: whether it passed every stage.
    :param failed_at: the label of the stage that failed it (None when it passed).
    :param screenings: stage label -> :class:`~.base.Screening`, for the stages it reached, in cascade order.
    """

    smiles: str
    passed: bool = True
    failed_at: str | None = None
    screenings: dict[str, Screening] = dataclasses.field(default_factory=dict)

    @property
    def reasons(self) -> list[str]:
        """Why it failed: the reasons of the stage that failed it (empty when it passed)."""
        return list(self.screenings[self.failed_at].reasons) if self.failed_at is not None else []

    @property
    def score(self) -> float | None:
        """The score of the last stage it reached (behind :func:`defer_costly_rules`, a passed molecule's is the
        ``rules.costly`` score)."""
        return next(reversed(self.screenings.values())).score if self.screenings else None

    def brief(self) -> CascadeResult:
        """This result, or for a failed molecule one holding only the failing stage's reasons and score (every
        stage before it passed the molecule; see :func:`screen_library`'s ``brief``)."""
        if self.passed:
            return self
        failing = self.screenings[self.failed_at]
        kept = Screening(smiles=failing.smiles, passed=False, score=failing.score, reasons=failing.reasons)
        return CascadeResult(self.smiles, False, self.failed_at, {self.failed_at: kept})

    def as_dict(self) -> dict:
        return {
            'smiles': self.smiles,
            'passed': self.passed,
            'failed_at': self.failed_at,
            'screenings': {label: screening.as_dict() for label, screening in self.screenings.items()},
        }


def stage_labels(screeners: Sequence[Screener]) -> list[str]:
    """A label per stage: the screener's :attr:`~.base.Screener.label` (its name, or ``rules.cheap`` for a half),
    with ``#2``, ``#3``... for a label that occurs again."""
    seen: collections.Counter = collections.Counter()
    labels = []
    for screener in screeners:
        label = screener.label
        seen[label] += 1
        labels.append(label if seen[label] == 1 else f'{label}#{seen[label]}')
    return labels


def defer_costly_rules(screeners: Sequence[Screener]) -> list[Screener]:
    """The stages with each whole ``rules`` screener split (:meth:`.rules.RulesScreener.split`): its cheap half
    where it was, its costly half right after the screener that follows it, e.g. ``[rules, gnn, xtb]`` ->
    ``[rules.cheap, gnn, rules.costly, xtb]``. A ``rules`` screener last, or already a half, stays as it is.

    The same molecules pass (see the module docstring); a model that rejects most of what passes the cheap rules
    saves the costly ones their time.
    """
    from .rules import RulesScreener

    stages: list[Screener] = []
    deferred: Screener | None = None
    for index, screener in enumerate(screeners):
        split = (
            isinstance(screener, RulesScreener) and screener.settings['stages'] == 'all' and index + 1 < len(screeners)
        )
        if split:
            cheap, costly = screener.split()
            stages.append(cheap)
        else:
            stages.append(screener)
        if deferred is not None:
            stages.append(deferred)
        deferred = costly if split else None
    return stages


class Cascade:
    """Screeners in a row, in this process: :meth:`screen` gives one :class:`CascadeResult` per SMILES, in order."""

    def __init__(self, screeners: Sequence[Screener]) -> None:
        if not screeners:
            raise ScreenerError('A cascade needs at least one screener.')
        self.screeners = list(screeners)
        self.labels = stage_labels(self.screeners)

    def screen(self, smiles: Sequence[str], rows: Sequence[dict | None] | None = None) -> list[CascadeResult]:
        if rows is not None and len(rows) != len(smiles):
            raise ScreenerError(f'{len(rows)} rows given for {len(smiles)} SMILES')
        results = [CascadeResult(item) for item in smiles]
        mols: list = [None] * len(smiles)
        active = list(range(len(smiles)))
        for screener, label in zip(self.screeners, self.labels, strict=True):
            if not active:
                break
            stage_rows = [rows[i] for i in active] if rows is not None else None
            screenings, stage_mols = _run_stage(
                screener, label, [smiles[i] for i in active], [mols[i] for i in active], stage_rows
            )
            passed = []
            for index, screening, mol in zip(active, screenings, stage_mols, strict=True):
                result = results[index]
                result.screenings[label] = screening
                if screening.passed:
                    mols[index] = mol
                    passed.append(index)
                else:
                    result.passed, result.failed_at = False, label
                    mols[index] = None  # no later stage sees it: let the molecule go
            active = passed
        return results


def _run_stage(
    screener: Screener, label: str, smiles: list[str], mols: list, rows: list | None
) -> tuple[list[Screening], list]:
    """One stage on a chunk; if the screener raises, the chunk again molecule by molecule, so that a molecule that
    breaks it fails alone (the error is its reason) and the others are screened."""
    try:
        return _stage_call(screener, smiles, mols, rows)
    except Exception:  # isolate the molecule that breaks the screener, below
        pass
    screenings, handed_on = [], []
    for index, item in enumerate(smiles):
        try:
            one, mol = _stage_call(screener, [item], [mols[index]], None if rows is None else [rows[index]])
        except Exception as error:  # the molecule fails with the error, the others go on
            reason = f'{label} failed on this molecule ({type(error).__name__}: {error})'
            one, mol = [Screening(smiles=item, passed=False, reasons=[reason])], [None]
        screenings += one
        handed_on += mol
    return screenings, handed_on


def _stage_call(screener: Screener, smiles: list[str], mols: list, rows: list | None) -> tuple[list, list]:
    screenings, handed_on = screener.screen_parsed(smiles, mols, rows)
    if len(screenings) != len(smiles) or len(handed_on) != len(smiles):
        raise ScreenerError(f'{screener.name} returned {len(screenings)} screenings for {len(smiles)} SMILES')
    return list(screenings), list(handed_on)


# -- streaming through worker processes ----------------------------------------------------------------------------

_WORKER_CASCADE: Cascade | None = None


def _init_worker(specs: list[tuple[type, dict]], torch_threads: int | None) -> None:
    """Pool initializer: one cascade per worker process, its screeners built once from their settings."""
    global _WORKER_CASCADE  # noqa: PLW0603 - the worker's cascade, built once by the pool's initializer
    if torch_threads and 'torch' in sys.modules:  # a forked worker of a parent that loaded torch: set it first
        sys.modules['torch'].set_num_threads(torch_threads)
    _WORKER_CASCADE = Cascade([cls(**settings) for cls, settings in specs])
    if torch_threads and 'torch' in sys.modules:  # a screener loaded torch just now
        sys.modules['torch'].set_num_threads(torch_threads)
    # The hundreds of thousands of objects loaded so far (torch, RDKit catalogs, the model) live as long as the worker:
    # out of the garbage collector's sight, its full collections only walk what screening makes (measured in one
    # process on MOSES: 52 -> 16 us of collection per molecule).
    gc.freeze()


def _screen_in_worker(chunk: list[tuple[str, dict | None]], brief: bool = False) -> list[CascadeResult]:
    assert _WORKER_CASCADE is not None, 'worker not initialised'
    smiles = [item for item, _ in chunk]
    rows = [row for _, row in chunk] if any(row is not None for _, row in chunk) else None
    results = _WORKER_CASCADE.screen(smiles, rows)
    return [result.brief() for result in results] if brief else results


def screen_library(
    smiles: Iterable[str],
    screeners: Sequence[Screener],
    *,
    rows: Iterable[dict | None] | None = None,
    processes: int = 2,
    chunk_size: int = 1000,
    in_flight: int = 2,
    torch_threads: int | None = 1,
    by_chunk: bool = False,
    brief: bool = False,
    mp_context: str | None = None,
) -> Iterator[CascadeResult] | Iterator[list[CascadeResult]]:
    """Stream ``smiles`` through ``screeners`` in a row; one :class:`CascadeResult` per SMILES, in input order.

    :param rows: meta-database rows aligned with ``smiles`` (for screeners that read columns), or None.
    :param processes: worker processes; 1 screens in this process with the given screener instances.
    :param chunk_size: molecules a worker screens at a time (a stage sees the survivors of the chunk).
    :param in_flight: chunks per worker queued or being screened at most: memory is bounded by about
        ``processes * in_flight * chunk_size`` molecules and their results.
    :param torch_threads: torch threads in each worker (None: leave torch's default).
    :param by_chunk: yield the results a chunk at a time (lists), not one by one.
    :param brief: a failed molecule's result holds only the failing stage's reasons and score
        (:meth:`CascadeResult.brief`).
    :param mp_context: multiprocessing start method (default: the platform's).
    """
    cascade = Cascade(screeners)
    pairs = zip(smiles, rows, strict=True) if rows is not None else ((item, None) for item in smiles)
    chunks = iter(lambda: list(islice(pairs, chunk_size)), [])

    def results() -> Iterator[list[CascadeResult]]:
        if processes <= 1:
            for chunk in chunks:
                chunk_rows = [row for _, row in chunk]
                results = cascade.screen(
                    [item for item, _ in chunk], chunk_rows if any(row is not None for row in chunk_rows) else None
                )
                yield [result.brief() for result in results] if brief else results
            return
        specs = [(type(screener), dict(screener.settings)) for screener in cascade.screeners]
        context = multiprocessing.get_context(mp_context)
        with context.Pool(processes, _init_worker, (specs, torch_threads)) as pool:
            pending: collections.deque = collections.deque()
            for chunk in chunks:
                pending.append(pool.apply_async(_screen_in_worker, (chunk, brief)))
                if len(pending) >= max(1, in_flight) * processes:
                    yield pending.popleft().get()
            while pending:
                yield pending.popleft().get()

    if by_chunk:
        return results()
    return (result for chunk in results() for result in chunk)
