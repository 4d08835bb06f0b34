"""Calibration models: each recovers the line it is fitted to, leave-one-out is out of sample, water stays 0."""

from __future__ import annotations

import json

import numpy as np
import pytest

from aiida_znadditive.analysis.calibration import (
    EV_PER_LOG_K,
    MODELS,
    delta_g_from_log_k,
    fit,
    leave_one_out,
    metrics,
)
from aiida_znadditive.ml.shipped import SHIPPED


def synthetic(noise: float = 0.0, seed: int = 3):
    rng = np.random.default_rng(seed)
    computed = rng.uniform(-1.5, 0.3, 30)
    charges = rng.integers(-4, 1, 30)
    waters = rng.integers(1, 7, 30)
    measured = 0.3 * computed - 0.12 * (waters - 1) + noise * rng.normal(size=30)
    return computed, measured, charges, waters


def test_units():
    assert pytest.approx(0.05916, abs=1e-5) == EV_PER_LOG_K  # RT ln 10 at 298.15 K
    assert float(delta_g_from_log_k(16.5)) == pytest.approx(-0.976, abs=1e-3)  # EDTA4-


def test_each_model_recovers_its_line():
    computed, measured, charges, waters = synthetic()
    for model in ('linear_waters', 'linear_waters_charge', 'water_anchored'):
        fitted = fit(model, computed, measured, charges, waters)
        assert fitted.slope == pytest.approx(0.3) and fitted.water_coefficient == pytest.approx(-0.12)
        assert fitted.intercept == pytest.approx(0.12, abs=1e-9)
        assert fitted.apply(0.0, 0, 1) == pytest.approx(0.0, abs=1e-9)  # water replacing water stays 0
    raw = fit('raw', computed, measured, charges, waters)
    assert raw.apply(-0.4, -1, 2) == -0.4
    with pytest.raises(ValueError, match='unknown calibration model'):
        fit('cubic', computed, measured, charges, waters)


def test_leave_one_out_is_out_of_sample():
    """A ligand's leave-one-out prediction does not see its own measured value (moving it moves only the other
    ligands' predictions), so its error exceeds the in-sample fit's."""
    computed, measured, charges, waters = synthetic(noise=0.05)
    base = leave_one_out('linear_waters', computed, measured, charges, waters)
    moved = measured.copy()
    moved[0] += 1.0
    shifted = leave_one_out('linear_waters', computed, moved, charges, waters)
    assert shifted[0] == pytest.approx(base[0])
    assert not np.allclose(shifted[1:], base[1:])
    fitted = fit('linear_waters', computed, measured, charges, waters)
    in_sample = metrics([fitted.apply(*v) for v in zip(computed, charges, waters, strict=True)], measured)
    assert metrics(base, measured)['mae'] > in_sample['mae']


def test_shipped_calibration_meets_the_targets():
    """The shipped fit (benchmarks/zn_calibration.py): out-of-sample MAE at most 0.15 eV and Spearman rho at least
    0.8 against measured stability constants, water anchored at 0."""
    calibration = json.loads((SHIPPED / 'zn_calibration' / 'gfn2_xtb.json').read_text())
    assert calibration['model'] in MODELS and calibration['n_fitted'] >= 30
    assert calibration['leave_one_out']['mae'] <= 0.15
    assert calibration['leave_one_out']['spearman'] >= 0.8
    assert calibration['intercept'] + calibration['water_coefficient'] == pytest.approx(0.0)
