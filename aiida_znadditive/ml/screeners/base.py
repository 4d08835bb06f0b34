"""The screener interface: every plugin in the ``znadditive.screeners`` entry point group implements :class:`Screener`.

A screener takes candidates (SMILES, optionally with their meta-database row) and returns one :class:`Screening` per
candidate, in order: a score (higher is better, for ranking), named predictions with their uncertainty (one standard
deviation, same units; None where the screener has no uncertainty), and pass/fail with every reason it failed.
A candidate the screener cannot treat (unparseable SMILES, an element it does not know) is a failed
:class:`Screening` with the reason, never an exception: one broken molecule must not stop a batch.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Iterable, Sequence
from importlib.metadata import entry_points

GROUP = 'znadditive.screeners'


class ScreenerError(ValueError):
    """A screener that cannot be set up (missing model checkpoint, bad settings): raised, unlike per-molecule errors."""


@dataclasses.dataclass
class Screening:
    """What a screener says of one candidate.

    :param smiles: the candidate as given.
    :param passed: whether it passes this screener's criteria.
    :param score: ranking score, higher is better (None when the candidate could not be scored).
    :param predictions: named values in the meta-database's units (eV, Debye, Å^3), e.g. ``{'gap_ev': 6.1}``.
    :param uncertainty: one standard deviation per prediction (same keys), None where unknown.
    :param reasons: why it failed (empty when passed); each names the criterion and the value.
    :param species: the molecule as judged, where the screener judged another form of it (its dominant species at
        the electrolyte's pH, see :mod:`~aiida_znadditive.structures.speciation`); None when it judged ``smiles``.
    """

    smiles: str
    passed: bool
    score: float | None = None
    predictions: dict[str, float] = dataclasses.field(default_factory=dict)
    uncertainty: dict[str, float | None] = dataclasses.field(default_factory=dict)
    reasons: list[str] = dataclasses.field(default_factory=list)
    species: str | None = None

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


class Screener(abc.ABC):
    """One screening method. Subclasses set ``name`` (their entry point) and ``version``; ``settings`` configure it.

    ``provenance()`` returns what a promoted candidate records about the screener (entry point, version, settings
    and, for a model, the checkpoint's hash), so the provenance graph tells which model picked which molecule.
    """

    name: str = ''
    version: str = ''

    def __init__(self, **settings) -> None:
        self.settings = settings

    @property
    def label(self) -> str:
        """Its stage label in a cascade: ``name``, unless a setting makes it part of a screener (``rules.cheap``)."""
        return self.name

    @abc.abstractmethod
    def screen(self, smiles: Sequence[str], rows: Sequence[dict] | None = None) -> list[Screening]:
        """One :class:`Screening` per SMILES, in order; ``rows`` are the matching meta-database rows, if known."""

    def screen_parsed(
        self, smiles: Sequence[str], mols: Sequence | None = None, rows: Sequence[dict] | None = None
    ) -> tuple[list[Screening], list]:
        """:meth:`screen`, handed the RDKit molecules an earlier screener of a cascade parsed, and handing on its own.

        ``mols[i]`` is None or the molecule of ``smiles[i]`` as the ``rules`` screener judges it: parsed and
        sanitised as ``Chem.MolFromSmiles`` does (hydrogens implicit), of a salt the largest fragment. A screener that
        reads SMILES may use it instead of parsing again, and must then give the screenings it gives for the SMILES.
        Returns the screenings and the molecules for the next screener (those given, or its own where it parsed).
        This default ignores ``mols`` and hands them on.
        """
        handed_on = list(mols) if mols is not None else [None] * len(smiles)
        return self.screen(smiles, rows), handed_on

    def provenance(self) -> dict:
        return {'screener': self.name, 'version': self.version, 'settings': dict(self.settings)}


def load_screener(name: str, **settings) -> Screener:
    """The screener registered as ``name`` in ``znadditive.screeners``, set up with ``settings``."""
    found = [entry for entry in entry_points(group=GROUP) if entry.name == name]
    if not found:
        known = ', '.join(sorted(entry.name for entry in entry_points(group=GROUP)))
        raise ScreenerError(f'No screener `{name}` in {GROUP}; registered: {known}')
    return found[0].load()(**settings)


def screener_names() -> list[str]:
    return sorted(entry.name for entry in entry_points(group=GROUP))


def passed_only(screenings: Iterable[Screening]) -> list[Screening]:
    return [screening for screening in screenings if screening.passed]
