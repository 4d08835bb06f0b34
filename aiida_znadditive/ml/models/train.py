"""Training of a deep ensemble: featurise, split, standardise, train M members, evaluate, save a checkpoint.

Each member:

- targets standardised with the training split's mean and std (stored in the checkpoint; predictions are scaled
  back), so that targets in eV and Debye weigh alike in one multitask loss;
- loss: for each target the mean squared error over the molecules that have its value, averaged over the targets
  present in the batch: a missing label is masked out, not imputed, so data sets that label different properties can
  be trained together, and a sparsely labelled target weighs as much as a dense one (with every label present this
  is the plain mean over all pairs);
- AdamW; learning rate with a short linear warm-up, then ``cosine`` decay to 1 % (progress is the larger of the
  fraction of steps and the fraction of the time budget spent, so a budget-limited run still anneals) or
  ``plateau`` (halved after 3 epochs without improvement of the validation score);
- early stopping on the validation score (the mean over targets of MAE / std, i.e. MAE in standardised units),
  ``patience`` epochs; the best epoch's weights are kept;
- a wall-clock ``time_budget_s`` for the whole call, shared equally among the members still to train, checked after
  every batch: training stops cleanly (the best weights so far, validated) when it runs out.

Members differ in their seed (``seed + member``: initialisation and data order) and share one split (made with
``seed``). Progress goes to ``log`` one line per epoch: member, epoch, training loss, validation MAE per target,
molecules per second, learning rate, elapsed time.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .data import MoleculeSet
from .ensemble import FORMAT, FORMAT_VERSION, Ensemble, build_model
from .evaluate import parity_plot, regression_metrics
from .featurize import ATOM_FEATURES, BOND_FEATURES, DEFAULT_MAX_HEAVY_ATOMS, collate_2d, collate_3d, encode_many
from .splits import SPLITS, Split, make_split

__all__ = ('TrainResult', 'TrainSettings', 'train_ensemble')

LOGGER = logging.getLogger('aiida_znadditive.ml.models')
ARCHITECTURES = {'2d': 'D-MPNN', '3d': 'SchNet'}


@dataclasses.dataclass
class TrainSettings:
    """How to train; ``hidden`` and ``depth`` default per model (2D: 128, 3 steps; 3D: 64, 4 interactions).

    Both are below the published sizes on purpose (chemprop: 300 wide; PyG's SchNet: 128 wide, 6 interactions): the cost
    grows with the square of the width, and these predict about five (2D) and three (3D) times faster on a CPU
    core, which is what screening a library needs; a one-hour CPU budget also trains them for more epochs.
    """

    model: str = '2d'
    hidden: int | None = None
    depth: int | None = None
    ffn_layers: int = 2
    dropout: float = 0.0
    cutoff: float = 5.0
    ensemble: int = 3
    split: str = 'scaffold'
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    epochs: int = 100
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-2
    schedule: str = 'cosine'
    patience: int = 15
    time_budget_s: float | None = None
    eval_batch_size: int = 256
    max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS

    def __post_init__(self) -> None:
        if self.model not in ARCHITECTURES:
            raise ValueError(f'model must be one of {", ".join(ARCHITECTURES)}, got {self.model!r}')
        if self.split not in SPLITS:
            raise ValueError(f'split must be one of {", ".join(SPLITS)}, got {self.split!r}')
        if self.schedule not in ('cosine', 'plateau'):
            raise ValueError(f"schedule must be 'cosine' or 'plateau', got {self.schedule!r}")
        if self.ensemble < 1 or self.epochs < 1 or self.batch_size < 1:
            raise ValueError('ensemble, epochs and batch_size must be at least 1')
        self.fractions = tuple(self.fractions)

    def model_config(self) -> dict:
        """``{'kind', 'architecture', 'hyperparameters'}`` as :func:`~.ensemble.build_model` takes it."""
        if self.model == '2d':
            hyperparameters = {
                'hidden': self.hidden or 128,
                'depth': self.depth or 3,
                'ffn_layers': self.ffn_layers,
                'dropout': self.dropout,
            }
        else:
            hidden = self.hidden or 64
            hyperparameters = {
                'hidden': hidden,
                'num_filters': hidden,
                'num_interactions': self.depth or 4,
                'cutoff': self.cutoff,
            }
        return {'kind': self.model, 'architecture': ARCHITECTURES[self.model], 'hyperparameters': hyperparameters}


@dataclasses.dataclass
class TrainResult:
    """The trained ensemble, its test (and validation) metrics, and where it was saved."""

    ensemble: Ensemble
    metrics: dict
    directory: Path | None
    checkpoint_hash: str | None
    plot: Path | None


class _Clock:
    """Wall-clock budget of the whole training call."""

    def __init__(self, budget: float | None) -> None:
        self.start = time.monotonic()
        self.budget = budget

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def remaining(self) -> float:
        return math.inf if self.budget is None else self.budget - self.elapsed()


def _featurise(data: MoleculeSet, settings: TrainSettings, log: Callable[[str], None]) -> tuple[list, np.ndarray]:
    """Featurised molecules (2D: encoded graphs, 3D: geometries) and their indices in ``data``; failures logged."""
    reasons: dict[str, int] = {}
    if settings.model == '2d':
        encoded = encode_many(data.smiles, settings.max_heavy_atoms)
        items, valid = [], []
        for index, item in enumerate(encoded):
            if isinstance(item, str):
                reasons[item] = reasons.get(item, 0) + 1
            else:
                items.append(item)
                valid.append(index)
    else:
        if data.geometries is None:
            raise ValueError('the 3D model needs geometries: load the data with with_geometry=True')
        items, valid = [], []
        for index, geometry in enumerate(data.geometries):
            if geometry is None or len(geometry[0]) == 0:
                reasons['no geometry'] = reasons.get('no geometry', 0) + 1
            else:
                items.append(geometry)
                valid.append(index)
    for reason, count in sorted(reasons.items(), key=lambda item: -item[1])[:5]:
        log(f'skipped {count:,} molecule(s): {reason}')
    if not items:
        raise ValueError('no molecule of the data could be featurised')
    return items, np.asarray(valid, dtype=np.int64)


def _normalisation(targets: np.ndarray, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(all='ignore'):
        mean, std = np.nanmean(targets, axis=0), np.nanstd(targets, axis=0)
    missing = [name for name, value in zip(names, mean, strict=True) if not np.isfinite(value)]
    if missing:
        raise ValueError(f'no training value for target(s) {", ".join(missing)}')
    std = np.where(np.isfinite(std) & (std > 0), std, 1.0)  # a constant target: predicted as its mean
    return mean, std


def _learning_rate(settings: TrainSettings, step: int, total_steps: int, time_fraction: float) -> float:
    warmup = min(100, max(1, total_steps // 50))
    if step < warmup:
        return settings.lr * (step + 1) / warmup
    progress = min(1.0, max((step - warmup) / max(1, total_steps - warmup), time_fraction))
    floor = settings.lr / 100
    return floor + 0.5 * (settings.lr - floor) * (1 + math.cos(math.pi * progress))


@dataclasses.dataclass
class _Fold:
    """Featurised molecules of one split and their targets (``[molecules, targets]``, NaN where missing)."""

    items: list
    targets: np.ndarray


def _validation_score(
    member: nn.Module, fold: _Fold, normalisation: tuple[np.ndarray, np.ndarray], settings: TrainSettings
) -> tuple[float, np.ndarray]:
    """Mean standardised MAE over targets (the early-stopping score) and the MAE per target in units."""
    items, targets = fold.items, fold.targets
    mean, std = normalisation
    collate = collate_2d if settings.model == '2d' else collate_3d
    member.eval()
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(items), settings.eval_batch_size):
            outputs.append(member(collate(items[start : start + settings.eval_batch_size])).double().numpy())
    member.train()
    predicted = np.concatenate(outputs) * std + mean
    with np.errstate(all='ignore'):
        mae = np.nanmean(np.abs(predicted - targets), axis=0)
    score = float(np.nanmean(mae / std))
    return score, mae


def _train_member(  # noqa: PLR0915 - one training loop, read top to bottom
    number: int,
    settings: TrainSettings,
    train: _Fold,
    val: _Fold,
    *,
    model_config: dict,
    normalisation: tuple[np.ndarray, np.ndarray],
    target_names: list[str],
    budget_s: float,
    log: Callable[[str], None],
) -> tuple[nn.Module, dict]:
    """Member ``number`` trained on ``train``, early-stopped on ``val``, within ``budget_s``; and its report."""
    train_items, train_targets, val_items = train.items, train.targets, val.items
    seed = settings.seed + number
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    member = build_model(model_config, len(target_names))
    member.train()
    optimizer = torch.optim.AdamW(member.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    plateau = (
        torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=3)
        if settings.schedule == 'plateau'
        else None
    )
    collate = collate_2d if settings.model == '2d' else collate_3d
    mean, std = normalisation
    standardised = (train_targets - mean) / std
    mask_all = np.isfinite(standardised)
    standardised = np.where(mask_all, standardised, 0.0)
    steps_per_epoch = math.ceil(len(train_items) / settings.batch_size)
    total_steps = steps_per_epoch * settings.epochs
    start = time.monotonic()
    best = {'score': math.inf, 'epoch': 0, 'state': copy.deepcopy(member.state_dict()), 'val_mae': None}
    step, stopped, epoch = 0, 'max epochs', 0
    units = {name: _unit(name) for name in target_names}
    while epoch < settings.epochs:
        epoch += 1
        epoch_start, seen, loss_sum = time.monotonic(), 0, 0.0
        order = rng.permutation(len(train_items))
        out_of_time = False
        for begin in range(0, len(order), settings.batch_size):
            index = order[begin : begin + settings.batch_size]
            data = collate([train_items[i] for i in index])
            target = torch.from_numpy(standardised[index]).float()
            mask = torch.from_numpy(mask_all[index]).float()
            if plateau is None:
                lr = _learning_rate(settings, step, total_steps, (time.monotonic() - start) / budget_s)
                for group in optimizer.param_groups:
                    group['lr'] = lr
            predicted = member(data)
            # Each target's mean over its labelled molecules, then the mean over targets: a target that labels a
            # tenth of the molecules (the relabelled free energies) weighs as much as one that labels them all.
            squared = ((predicted - target) ** 2 * mask).sum(dim=0)
            counts = mask.sum(dim=0)
            present = counts > 0
            loss = (squared[present] / counts[present]).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(member.parameters(), 10.0)  # one bad batch must not blow the weights up
            optimizer.step()
            step += 1
            seen += len(index)
            loss_sum += float(loss.detach()) * len(index)
            if time.monotonic() - start > budget_s:
                out_of_time = True
                break
        rate = seen / max(time.monotonic() - epoch_start, 1e-9)
        score, val_mae = _validation_score(member, val, normalisation, settings) if val_items else (math.inf, None)
        if plateau is not None:
            plateau.step(score)
        improved = score < best['score'] or not val_items
        if improved:
            best = {'score': score, 'epoch': epoch, 'state': copy.deepcopy(member.state_dict()), 'val_mae': val_mae}
        val_text = (
            '  '.join(f'{name} {value:.3f} {units[name]}' for name, value in zip(target_names, val_mae, strict=True))
            if val_mae is not None
            else 'no validation set'
        )
        log(
            f'member {number + 1}/{settings.ensemble}  epoch {epoch:>3}/{settings.epochs}  '
            f'loss {loss_sum / max(seen, 1):.4f}  val MAE {val_text}  {rate:,.0f} mol/s  '
            f'lr {optimizer.param_groups[0]["lr"]:.1e}  {time.monotonic() - start:.1f} s' + ('  *' if improved else '')
        )
        if out_of_time:
            stopped = 'time budget'
            break
        if val_items and epoch - best['epoch'] >= settings.patience:
            stopped = 'early stopping'
            break
    member.load_state_dict(best['state'])
    member.eval()
    report = {
        'seed': seed,
        'epochs': epoch,
        'best_epoch': best['epoch'],
        'stopped': stopped,
        'seconds': round(time.monotonic() - start, 2),
        'val_score': best['score'] if math.isfinite(best['score']) else None,
    }
    return member, report


def train_ensemble(
    data: MoleculeSet,
    settings: TrainSettings | None = None,
    out: str | Path | None = None,
    log: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train an ensemble on ``data`` (see the module docstring); save it to ``out`` (with a test parity plot)."""
    settings = settings or TrainSettings()
    log = log or LOGGER.info
    clock = _Clock(settings.time_budget_s)
    items, valid = _featurise(data, settings, log)
    featurised_s = clock.elapsed()
    local = make_split(settings.split, [data.smiles[i] for i in valid], settings.seed, settings.fractions)
    split = Split(valid[local.train], valid[local.val], valid[local.test], local.method, local.seed, local.fractions)
    position = {int(index): offset for offset, index in enumerate(valid)}  # data index -> featurised item

    def pick(index: np.ndarray) -> list:
        return [items[position[int(i)]] for i in index]

    train_items, val_items, test_items = pick(split.train), pick(split.val), pick(split.test)
    log(
        f'{len(items):,} molecules featurised in {featurised_s:.1f} s; {settings.split} split '
        f'{len(train_items):,} / {len(val_items):,} / {len(test_items):,} (train / val / test) '
        f'in {clock.elapsed() - featurised_s:.1f} s'
    )
    names = list(data.target_names)
    mean, std = _normalisation(data.targets[split.train], names)
    model_config = settings.model_config()
    members, reports = [], []
    for number in range(settings.ensemble):
        budget = clock.remaining() / (settings.ensemble - number)
        member, report = _train_member(
            number,
            settings,
            _Fold(train_items, data.targets[split.train]),
            _Fold(val_items, data.targets[split.val]),
            model_config=model_config,
            normalisation=(mean, std),
            target_names=names,
            budget_s=max(budget, 1e-3),
            log=log,
        )
        members.append(member)
        reports.append(report)
        log(
            f'member {number + 1}/{settings.ensemble}: best epoch {report["best_epoch"]} of {report["epochs"]} '
            f'({report["stopped"]}), {report["seconds"]:.1f} s'
        )
    family, level = data.level
    numbers = sorted({int(z) for item in items for z in (item.atomic_numbers if settings.model == '2d' else item[0])})
    from rdkit import Chem

    table = Chem.GetPeriodicTable()
    config = {
        'format': FORMAT,
        'format_version': FORMAT_VERSION,
        'created': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'versions': _versions(),
        'model': model_config,
        'featurizer': {
            'atom_features': list(ATOM_FEATURES) if settings.model == '2d' else ['atomic_number'],
            'bond_features': list(BOND_FEATURES) if settings.model == '2d' else ['distance'],
            'max_heavy_atoms': settings.max_heavy_atoms,
        },
        'targets': names,
        'units': {name: _unit(name) for name in names},
        'normalisation': {'mean': mean.tolist(), 'std': std.tolist()},
        'ensemble': {'members': settings.ensemble, 'seeds': [report['seed'] for report in reports]},
        'seed': settings.seed,
        'split': {'method': split.method, 'seed': split.seed, 'fractions': list(split.fractions), **split.sizes()},
        'data': {**data.source, 'n_featurised': len(items)},
        'level_of_theory': {'family': family, 'description': level},
        'training_elements': [table.GetElementSymbol(z) for z in numbers if settings.model == '2d' or z != 1],
        'training': {
            **{key: value for key, value in dataclasses.asdict(settings).items() if key != 'fractions'},
            'members': reports,
            'seconds': round(clock.elapsed(), 2),
        },
    }
    ensemble = Ensemble(config, members, split)
    metrics = {}
    predictions = {}
    for name, subset, index in (('val', val_items, split.val), ('test', test_items, split.test)):
        if subset:
            predicted, spread = ensemble.predict_items(subset, settings.eval_batch_size)
            predictions[name] = (data.targets[index], predicted, spread)
            metrics[name] = regression_metrics(data.targets[index], predicted, names, spread, mean)
    config['metrics'] = metrics
    for name, entry in metrics.get('test', {}).items():
        if 'mae' in entry:
            log(
                f'test {name}: MAE {entry["mae"]:.4f} {_unit(name)} (mean predictor {entry["baseline_mae"]:.4f}), '
                f'R2 {entry["r2"] if entry["r2"] is not None else float("nan"):.3f}, n {entry["n"]}'
            )
    digest, plot, directory = None, None, None
    if out is not None:
        directory = Path(out)
        digest = ensemble.save(directory)
        if 'test' in predictions:
            truth, predicted, spread = predictions['test']
            title = f'{ARCHITECTURES[settings.model]} ensemble of {settings.ensemble}, test ({split.method} split)'
            plot = parity_plot(
                truth, predicted, names, ensemble.units, directory / 'parity_test.png', y_std=spread, title=title
            )
        log(f'checkpoint {directory} (hash {digest[:16]})')
    return TrainResult(ensemble, metrics, directory, digest, plot)


def _unit(name: str) -> str:
    from ..database.schema import PROPERTIES

    return PROPERTIES.get(name, ('', ''))[0]


def _versions() -> dict[str, str]:
    import rdkit
    import torch_geometric

    from ... import __version__

    return {
        'aiida-znadditive': __version__,
        'torch': torch.__version__,
        'torch_geometric': torch_geometric.__version__,
        'rdkit': rdkit.__version__,
    }
