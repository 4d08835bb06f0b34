"""The one error of the generator half: a run that cannot start."""

from __future__ import annotations


class GeneratorError(ValueError):
    """A run that cannot start (bad objective, contradictory constraints, negative budget, unknown generator)."""
