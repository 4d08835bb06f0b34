"""Calibration of computed Zn2+ exchange free energies against measured stability constants.

A measured first stability constant K1 = [ZnL]/([Zn][L]) (25 °C, I = 0) gives ΔG_exp = -RT ln K1 = -0.05916 eV ×
log K1; the computed ΔG of :mod:`aiida_znadditive.ml.labels.zn_binding` (or of the complexation WorkChain) is the
same quantity for the same reaction. A cluster-continuum ΔG carries errors that grow with the charge of the species
(implicit solvent treats the first shell's waters and the ion's own solvation unequally) and with the method's
overbinding of anions; a linear model, fitted on the curated table ``data/calibration/zn_stability_constants.csv``
and validated out of sample, removes the systematic part.

Models (:data:`MODELS`), each ΔG_cal = f(ΔG, q) with q the ligand's net charge:

- ``raw``: ΔG itself (no fit), the figure of merit of the method alone;
- ``linear``: a ΔG + b;
- ``linear_charge``: a ΔG + b + c q, for a charge-dependent solvation error.

:func:`leave_one_out` predicts each ligand from a model fitted to all the others, so its MAE is an honest estimate of
the error on a new molecule. Pure numpy (and scipy's Spearman).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

#: eV per unit of log10 K at 298.15 K: RT ln 10 / e.
EV_PER_LOG_K = 8.314462618 * 298.15 * math.log(10) / 96485.33212
MODELS = ('raw', 'linear', 'linear_charge')


def delta_g_from_log_k(log_k):
    """ΔG = -RT ln K in eV at 298.15 K (a number or an array)."""
    return -EV_PER_LOG_K * np.asarray(log_k, dtype=float)


def _design(model: str, computed: np.ndarray, charges: np.ndarray) -> np.ndarray:
    if model == 'linear':
        return np.column_stack([computed, np.ones_like(computed)])
    if model == 'linear_charge':
        return np.column_stack([computed, np.ones_like(computed), charges])
    raise ValueError(f'unknown calibration model {model!r}; one of {MODELS}')


@dataclass(frozen=True)
class Calibration:
    """A fitted model: ΔG_cal = slope ΔG + intercept + charge_coefficient q (eV); ``n`` ligands fitted."""

    model: str
    slope: float = 1.0
    intercept: float = 0.0
    charge_coefficient: float = 0.0
    n: int = 0

    def apply(self, computed: float, charge: int) -> float:
        return self.slope * computed + self.intercept + self.charge_coefficient * charge

    def as_dict(self) -> dict:
        return asdict(self)


def fit(model: str, computed: Sequence[float], measured: Sequence[float], charges: Sequence[int]) -> Calibration:
    """Least-squares fit of ``model`` to measured ΔG (eV)."""
    computed, measured = np.asarray(computed, dtype=float), np.asarray(measured, dtype=float)
    if model == 'raw':
        return Calibration('raw', n=len(computed))
    coefficients, *_ = np.linalg.lstsq(_design(model, computed, np.asarray(charges, dtype=float)), measured, rcond=None)
    charge = float(coefficients[2]) if model == 'linear_charge' else 0.0
    return Calibration(model, float(coefficients[0]), float(coefficients[1]), charge, len(computed))


def leave_one_out(model: str, computed, measured, charges) -> np.ndarray:
    """Each ligand's calibrated ΔG from the model fitted to all the other ligands."""
    computed, measured, charges = (np.asarray(values, dtype=float) for values in (computed, measured, charges))
    predictions = np.empty_like(computed)
    for i in range(len(computed)):
        keep = np.arange(len(computed)) != i
        predictions[i] = fit(model, computed[keep], measured[keep], charges[keep]).apply(computed[i], charges[i])
    return predictions


def spearman(a, b) -> float:
    """Spearman's rank correlation (average ranks for ties)."""
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def metrics(predicted, measured) -> dict:
    """MAE, RMSE (eV), Spearman ρ, and the slope of a least-squares line measured = slope × predicted + b."""
    predicted, measured = np.asarray(predicted, dtype=float), np.asarray(measured, dtype=float)
    errors = predicted - measured
    slope = float(np.polyfit(predicted, measured, 1)[0]) if len(predicted) > 1 else math.nan
    return {
        'n': len(predicted),
        'mae': float(np.mean(np.abs(errors))),
        'rmse': float(np.sqrt(np.mean(errors**2))),
        'spearman': spearman(predicted, measured),
        'slope': slope,
        'max_error': float(np.max(np.abs(errors))),
    }
