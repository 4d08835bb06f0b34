"""Calibrated ensemble uncertainty: one scale factor per target, fitted on held-out error, so that the ensemble's
spread means what a normal error bar means.

A deep ensemble's spread is not a calibrated error bar (see :mod:`.ensemble`): on our GFN2 labels the raw spread of
the shipped model covers 35-70 % of test errors with its nominal 95 % interval. σ-scaling (Levi et al., Sensors
2022, 22, 5540; Kuleshov et al., ICML 2018 for recalibration) fits one factor s per target on the validation split.
The errors are heavy-tailed (a few molecules far off), so the maximum-likelihood normal factor, sqrt(mean((err/σ)²)),
is set by the outliers and overshoots (a 68 % interval covering 99 % of test errors); s is fitted instead so that the
95 % interval covers 95 % of the validation errors: s = q95(|err|/σ) / 1.96. The 95 % interval is the one that
matters here: a screener's gate acts in the tail (the chance of lying outside a window). The test split, which
neither training nor this fit saw, reports the coverage of the nominal 68 % and 95 % intervals (|err| ≤ z s σ, z = 1
and 1.96) before and after; with heavy tails the 68 % interval then covers more than 68 %.

The result is written beside the checkpoint as ``uncertainty.json`` (derived, like ``evaluation.json``; it names the
checkpoint hash it belongs to) and :meth:`.ensemble.Ensemble.load` reads it into ``uncertainty_scale``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

UNCERTAINTY_FILE = 'uncertainty.json'
# Two-sided normal quantiles of the intervals whose coverage is reported.
INTERVALS = {'68%': 1.0, '95%': 1.959964}


def coverage(errors: np.ndarray, sigma: np.ndarray) -> dict[str, float]:
    """Fraction of |error| inside each nominal interval of :data:`INTERVALS` (NaN rows left out)."""
    keep = np.isfinite(errors) & np.isfinite(sigma)
    errors, sigma = np.abs(errors[keep]), sigma[keep]
    return {name: float(np.mean(errors <= z * sigma)) if len(errors) else float('nan') for name, z in INTERVALS.items()}


def fit_scale(errors: np.ndarray, sigma: np.ndarray) -> float:
    """The σ scale that makes the 95 % interval cover 95 % of (errors, sigma): q95(|err|/σ) / 1.96, rows with σ > 0
    only (module docstring)."""
    keep = np.isfinite(errors) & np.isfinite(sigma) & (sigma > 0)
    if not keep.any():
        return 1.0
    return float(np.quantile(np.abs(errors[keep]) / sigma[keep], 0.95) / INTERVALS['95%'])


def calibrate_checkpoint(directory: str | os.PathLike) -> dict:
    """Fit the per-target scales of the checkpoint in ``directory`` on its validation split, report the coverage on
    its test split before and after, and write ``uncertainty.json`` there. Returns what it wrote."""
    from .evaluate import checkpoint_data, predict_subset

    ensemble, data = checkpoint_data(directory)
    result = {'checkpoint_hash': ensemble.checkpoint_hash, 'method': 'sigma scaling, q95 on the validation split'}
    predictions = {}
    for split in ('val', 'test'):
        index = getattr(ensemble.split, split)
        mean, std = predict_subset(ensemble, data, index)
        predictions[split] = (data.targets[index] - mean, std)
        result[f'n_{split}'] = len(index)
    targets = {}
    for column, name in enumerate(ensemble.target_names):
        errors, sigma = (array[:, column] for array in predictions['val'])
        scale = fit_scale(errors, sigma)
        test_errors, test_sigma = (array[:, column] for array in predictions['test'])
        targets[name] = {
            'scale': scale,
            'test_coverage_raw': coverage(test_errors, test_sigma),
            'test_coverage_calibrated': coverage(test_errors, scale * test_sigma),
        }
    result['targets'] = targets
    (Path(directory) / UNCERTAINTY_FILE).write_text(json.dumps(result, indent=1) + '\n')
    return result


def read_scales(directory: str | os.PathLike, checkpoint_hash: str | None) -> dict[str, float]:
    """The per-target scales of ``directory``'s ``uncertainty.json`` when it belongs to ``checkpoint_hash``; {} else
    (no calibration, or one of another model left behind by a retraining)."""
    path = Path(directory) / UNCERTAINTY_FILE
    if not path.is_file():
        return {}
    try:
        content = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if content.get('checkpoint_hash') != checkpoint_hash:
        return {}
    return {name: float(entry['scale']) for name, entry in content.get('targets', {}).items()}
