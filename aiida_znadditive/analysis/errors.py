"""The error the array layer of an analysis raises for input it cannot use, carrying the exit status its
calcfunction returns (``analysis.hbonds``, ``analysis.transport``, ``analysis.vibrations``)."""

from __future__ import annotations


class AnalysisInputError(ValueError):
    """Input an analysis cannot use; ``code`` is its calcfunction's exit status."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def minimum_image(vectors, cell):
    """``vectors`` (..., 3, Å) reduced to their minimum image in ``cell`` (rows are cell vectors), through
    fractional coordinates: exact when the vectors are shorter than half the cell's width."""
    import numpy as np

    fractional = vectors @ np.linalg.inv(cell)
    return (fractional - np.round(fractional)) @ cell
