"""Calibration of computed Zn2+ exchange free energies against measured stability constants.

A measured first stability constant K1 = [ZnL]/([Zn][L]) (25 °C, I = 0) gives ΔG_exp = -RT ln K1 = -0.05916 eV ×
log K1; the computed ΔG of :mod:`aiida_znadditive.ml.labels.zn_binding` (or of the complexation WorkChain) is the
same quantity for the same reaction. A cluster-continuum ΔG carries errors that grow with the charge of the species
(implicit solvent treats the first shell's waters and the ion's own solvation unequally) and with the method's
overbinding of anions; a linear model, fitted on the curated table ``data/calibration/zn_stability_constants.csv``
and validated out of sample, removes the systematic part.

Models (:data:`MODELS`), each ΔG_cal = f(ΔG, q, n) with q the ligand's net charge and n the number of its donors on
Zn (the waters it releases):

- ``raw``: ΔG itself (no fit), the figure of merit of the method alone;
- ``linear``: a ΔG + b;
- ``linear_charge``: a ΔG + b + c q, for a charge-dependent solvation error;
- ``linear_waters``: a ΔG + b + d n. Each released water enters ΔG with its ideal-gas translational and rotational
  entropy, corrected to the liquid only by the standard-state terms; the entropy of a molecule in a liquid is well
  below its gas-phase value at the same concentration (Wertz, J. Am. Chem. Soc. 1980, 102, 5316; Mammen et al.,
  J. Org. Chem. 1998, 63, 3821), so the cluster-continuum ΔG overrates the chelate effect by a roughly constant
  amount per released water, which d absorbs;
- ``linear_waters_charge``: both corrections;
- ``water_anchored``: a ΔG + d (n - 1), ``linear_waters`` with the intercept fixed at -d, so that water replacing
  water (ΔG = 0, n = 1) stays exactly 0 and a monodentate ligand that the method finds as good as water stays at 0:
  the definition of the scale is kept, not fitted. The default calibration of the package.

:func:`leave_one_out` predicts each ligand from a model fitted to all the others, so its MAE is an honest estimate of
the error on a new molecule. Pure numpy (and scipy's Spearman).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from importlib import resources

import numpy as np

#: eV per unit of log10 K at 298.15 K: RT ln 10 / e.
EV_PER_LOG_K = 8.314462618 * 298.15 * math.log(10) / 96485.33212
MODELS = ('raw', 'linear', 'linear_charge', 'linear_waters', 'linear_waters_charge', 'water_anchored')
DEFAULT_MODEL = 'water_anchored'


def delta_g_from_log_k(log_k):
    """ΔG = -RT ln K in eV at 298.15 K (a number or an array)."""
    return -EV_PER_LOG_K * np.asarray(log_k, dtype=float)


# The fitted coefficients of each model, in the order of its design matrix's columns; 'raw' fits nothing.
_TERMS = {
    'linear': ('slope', 'intercept'),
    'linear_charge': ('slope', 'charge_coefficient', 'intercept'),
    'linear_waters': ('slope', 'water_coefficient', 'intercept'),
    'linear_waters_charge': ('slope', 'charge_coefficient', 'water_coefficient', 'intercept'),
    'water_anchored': ('slope', 'water_coefficient'),
}


def _design(model: str, computed: np.ndarray, charges: np.ndarray, waters: np.ndarray) -> np.ndarray:
    """One column per term of ``model``; the anchored model's water column is n - 1, so that n = 1 adds nothing."""
    columns = {
        'slope': computed,
        'charge_coefficient': charges,
        'water_coefficient': waters - 1.0 if model == 'water_anchored' else waters,
        'intercept': np.ones_like(computed),
    }
    return np.column_stack([columns[term] for term in _TERMS[model]])


@dataclass(frozen=True)
class Calibration:
    """A fitted model: ΔG_cal = slope ΔG + intercept + charge_coefficient q + water_coefficient n (eV); ``n_fitted``
    ligands."""

    model: str
    slope: float = 1.0
    intercept: float = 0.0
    charge_coefficient: float = 0.0
    water_coefficient: float = 0.0
    n_fitted: int = 0

    def apply(self, computed: float, charge: int, waters: int) -> float:
        return (
            self.slope * computed + self.intercept + self.charge_coefficient * charge + self.water_coefficient * waters
        )

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> Calibration:
        """The calibration in ``values`` (e.g. the shipped JSON file), other keys (figures, provenance) ignored."""
        return cls(**{field.name: values[field.name] for field in fields(cls) if field.name in values})


def fit(model: str, computed, measured, charges, waters) -> Calibration:
    """Least-squares fit of ``model`` to measured ΔG (eV); ``waters``: the donors of each ligand's mode."""
    computed, measured, charges, waters = (np.asarray(v, dtype=float) for v in (computed, measured, charges, waters))
    if model == 'raw':
        return Calibration('raw', n_fitted=len(computed))
    if model not in _TERMS:
        raise ValueError(f'unknown calibration model {model!r}; one of {MODELS}')
    solution = np.linalg.lstsq(_design(model, computed, charges, waters), measured, rcond=None)[0]
    coefficients = dict(zip(_TERMS[model], solution, strict=True))
    if model == 'water_anchored':
        coefficients['intercept'] = -coefficients['water_coefficient']
    return Calibration(model, n_fitted=len(computed), **{key: float(value) for key, value in coefficients.items()})


def leave_one_out(model: str, computed, measured, charges, waters) -> np.ndarray:
    """Each ligand's calibrated ΔG from the model fitted to all the other ligands."""
    computed, measured, charges, waters = (np.asarray(v, dtype=float) for v in (computed, measured, charges, waters))
    predictions = np.empty_like(computed)
    for i in range(len(computed)):
        keep = np.arange(len(computed)) != i
        fitted = fit(model, computed[keep], measured[keep], charges[keep], waters[keep])
        predictions[i] = fitted.apply(computed[i], charges[i], waters[i])
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


def shipped_calibration_names() -> list[str]:
    """Names of the calibrations that ship in ``aiida_znadditive/ml/shipped/zn_calibration/`` (one per level)."""
    folder = resources.files('aiida_znadditive.ml.shipped').joinpath('zn_calibration')
    return sorted(entry.name.removesuffix('.json') for entry in folder.iterdir() if entry.name.endswith('.json'))


def shipped_calibration(name: str) -> dict:
    """The shipped calibration ``name`` (``gfn2_xtb``: the cheap level's), with its level, fit and figures."""
    names = shipped_calibration_names()
    if name not in names:
        raise ValueError(f'no shipped calibration {name!r}; there are {", ".join(names) or "none"}')
    path = resources.files('aiida_znadditive.ml.shipped').joinpath('zn_calibration', f'{name}.json')
    return json.loads(path.read_text())
