"""Metrics and parity plots of an ensemble on a split of its training data.

Per target: ``n``, MAE, RMSE, R², the MAE of the mean predictor (the training-set mean for every molecule: a model
must beat it to have learnt anything), and the mean ensemble std next to the MAE (for a well-spread ensemble the
two are of the same order; a std far below the MAE means an over-confident ensemble).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .data import MoleculeSet, load_dataset
from .ensemble import CheckpointError, Ensemble, load_checkpoint
from .featurize import encode_many

__all__ = ('evaluate_checkpoint', 'format_metrics', 'parity_plot', 'predict_subset', 'regression_metrics')


def regression_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    target_names: Sequence[str],
    y_std: np.ndarray | None = None,
    baseline: np.ndarray | None = None,
) -> dict[str, dict]:
    """MAE, RMSE, R² (and mean std, mean-predictor MAE when given) per target, over molecules with a true value."""
    metrics = {}
    for column, name in enumerate(target_names):
        keep = np.isfinite(y_true[:, column]) & np.isfinite(y_pred[:, column])
        truth, predicted = y_true[keep, column], y_pred[keep, column]
        entry: dict = {'n': int(keep.sum())}
        if keep.any():
            error = predicted - truth
            variance = float(np.sum((truth - truth.mean()) ** 2))
            entry['mae'] = float(np.abs(error).mean())
            entry['rmse'] = float(np.sqrt(np.mean(error**2)))
            entry['r2'] = float(1 - np.sum(error**2) / variance) if variance > 0 else None
            if baseline is not None:
                entry['baseline_mae'] = float(np.abs(truth - baseline[column]).mean())
            if y_std is not None and np.isfinite(y_std[keep, column]).any():
                entry['mean_std'] = float(np.nanmean(y_std[keep, column]))
        metrics[name] = entry
    return metrics


def format_metrics(metrics: dict[str, dict], units: dict[str, str]) -> str:
    """A text table: one line per target."""

    def number(value) -> str:
        return f'{value:>9.4f}' if isinstance(value, (int, float)) else f'{"-":>9}'

    lines = [f'{"target":<26}{"unit":<7}{"n":>7}{"MAE":>9}{"RMSE":>9}{"R2":>9}{"mean-MAE":>9}{"mean std":>9}']
    for name, entry in metrics.items():
        values = [entry.get(key) for key in ('mae', 'rmse', 'r2', 'baseline_mae', 'mean_std')]
        lines.append(f'{name:<26}{units.get(name, ""):<7}{entry["n"]:>7}' + ''.join(number(value) for value in values))
    return '\n'.join(lines)


def parity_plot(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    target_names: Sequence[str],
    units: dict[str, str],
    path: str | os.PathLike,
    *,
    y_std: np.ndarray | None = None,
    title: str = '',
) -> Path:
    """A PNG with one predicted-against-true panel per target (colour: ensemble std), MAE and R² in each title."""
    import matplotlib

    matplotlib.use('Agg')  # no display: files only
    import matplotlib.pyplot as plt

    n = len(target_names)
    figure, axes = plt.subplots(1, n, figsize=(4.2 * n, 4.0), squeeze=False)
    for column, (name, axis) in enumerate(zip(target_names, axes[0], strict=True)):
        keep = np.isfinite(y_true[:, column]) & np.isfinite(y_pred[:, column])
        truth, predicted = y_true[keep, column], y_pred[keep, column]
        colour = y_std[keep, column] if y_std is not None and np.isfinite(y_std[keep, column]).all() else None
        points = axis.scatter(truth, predicted, c=colour, s=6, alpha=0.6, cmap='viridis', linewidths=0)
        if colour is not None and len(truth):
            figure.colorbar(points, ax=axis, label=f'ensemble std ({units.get(name, "")})')
        if len(truth):
            low = float(min(truth.min(), predicted.min()))
            high = float(max(truth.max(), predicted.max()))
            axis.plot([low, high], [low, high], color='black', linewidth=0.8)
            error = predicted - truth
            variance = np.sum((truth - truth.mean()) ** 2)
            r2 = 1 - np.sum(error**2) / variance if variance > 0 else float('nan')
            axis.set_title(f'{name}: MAE {np.abs(error).mean():.3f} {units.get(name, "")}, R² {r2:.3f}', fontsize=9)
        unit = units.get(name, '')
        axis.set_xlabel(f'reference ({unit})')
        axis.set_ylabel(f'predicted ({unit})')
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def predict_subset(ensemble: Ensemble, data: MoleculeSet, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ensemble mean and std for the molecules ``index`` of ``data`` (NaN rows where one cannot be featurised)."""
    n_targets = len(ensemble.target_names)
    mean = np.full((len(index), n_targets), np.nan)
    std = np.full((len(index), n_targets), np.nan)
    if ensemble.kind == '2d':
        encoded = encode_many([data.smiles[i] for i in index], ensemble.max_heavy_atoms)
        items = [(row, item) for row, item in enumerate(encoded) if not isinstance(item, str)]
    else:
        geometries = data.geometries or [None] * len(data)
        items = [(row, geometries[i]) for row, i in enumerate(index) if geometries[i] is not None]
    if items:
        rows = [row for row, _ in items]
        mean[rows], std[rows] = ensemble.predict_items([item for _, item in items])
    return mean, std


def checkpoint_data(directory: str | os.PathLike) -> tuple[Ensemble, MoleculeSet]:
    """The checkpoint in ``directory`` and its training data reloaded, which must be unchanged (same fingerprint)."""
    ensemble = load_checkpoint(directory)
    config = ensemble.config
    if ensemble.split is None:
        raise CheckpointError(f'{directory}: the checkpoint has no split to evaluate on')
    source = config['data']
    data = load_dataset(
        source['kind'],
        source.get('path'),
        ensemble.target_names,
        source.get('limit'),
        with_geometry=ensemble.kind == '3d',
    )
    if data.source['fingerprint'] != source.get('fingerprint'):
        raise CheckpointError(
            f'The training data changed since {directory} was trained (fingerprint {data.source["fingerprint"]}, '
            f'recorded {source.get("fingerprint")}): the split indices no longer name the same molecules'
        )
    return ensemble, data


def evaluate_checkpoint(
    directory: str | os.PathLike, split: str = 'test', plot: str | os.PathLike | None = None
) -> dict:
    """Metrics of the checkpoint in ``directory`` on its ``split`` (reloading its training data, which must be
    unchanged: same fingerprint), a parity plot (``plot``, default ``<directory>/parity_<split>.png``), and the
    metrics also written to ``<directory>/evaluation.json``. Returns ``{'metrics', 'plot', 'n', ...}``."""
    ensemble, data = checkpoint_data(directory)
    config = ensemble.config
    index = getattr(ensemble.split, split)
    mean, std = predict_subset(ensemble, data, index)
    baseline = np.asarray(config['normalisation']['mean'])
    metrics = regression_metrics(data.targets[index], mean, ensemble.target_names, std, baseline)
    plot = Path(plot) if plot is not None else Path(directory) / f'parity_{split}.png'
    title = (
        f'{config["model"]["architecture"]} ensemble of {len(ensemble)}, {split} split ({config["split"]["method"]})'
    )
    parity_plot(data.targets[index], mean, ensemble.target_names, ensemble.units, plot, y_std=std, title=title)
    result = {
        'checkpoint_hash': ensemble.checkpoint_hash,
        'split': split,
        'n': len(index),
        'metrics': metrics,
        'plot': str(plot),
    }
    (Path(directory) / 'evaluation.json').write_text(json.dumps(result, indent=1) + '\n')
    return result
