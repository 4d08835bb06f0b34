"""Benchmark: K-fold cross-validated accuracy of the 2D D-MPNN on our GFN2-xTB labels, by element (S, P, Cl).

Usage (from the repository root)::

    .venv/bin/python benchmarks/gnn_xtb_labels.py                                   # 5 folds x 150 s, ~13 min
    .venv/bin/python benchmarks/gnn_xtb_labels.py --out runs/xtb_cv                 # kept results
    .venv/bin/python benchmarks/gnn_xtb_labels.py --targets gap,homo,lumo           # other targets
    .venv/bin/python benchmarks/gnn_xtb_labels.py --folds 2 --time-budget 20        # mechanics only

Answers "what is the MAE against our xTB labels on the elements QM9 lacks (S, P, Cl)?". Reads
``data/labels/xtb_gfn2.parquet`` (``--data``) with ``load_dataset('parquet', ...)``, and its ``elements``,
``source_id`` and ``charge`` columns beside it. The molecules are cut into ``--folds`` folds, stratified (seeded with
``--seed``) by which of P, S and Cl they contain, by origin (QM9 or not) and by charge, so the rare-element
molecules, the non-QM9 controls and the few ions are spread evenly over the folds. For each fold a 2D D-MPNN ensemble
(``train_ensemble``, the default model of ``train.py``, ``--ensemble`` members sharing the budget) is trained
multitask on ``--targets`` with the other folds, within ``--time-budget`` seconds of wall clock (featurisation
included); ``--val-fraction`` of the training folds (random) is held back for early stopping. Every molecule thus
gets exactly one out-of-fold prediction, and one from the mean predictor: the mean of its training folds, the
trivial baseline a model must beat.

Printed, per target: MAE, RMSE and R² of the out-of-fold predictions, overall and on the subsets "contains S",
"contains P", "contains Cl" and "C/H/N/O/F only", each with its size, the MAE of the mean predictor on the same
molecules and the ratio of the two (below 1: the model beats the baseline). Then controls that separate the element
from what comes with it in this data set: every S/P/Cl molecule comes from MOSES or the curated list (larger than
the QM9 ones), most S molecules also hold Cl, and most of the ions (sulfonates, triflate, TFSI, phosphate, sulfate)
hold S or P; hence "S without Cl", "Cl without S", "S, neutral", "ions (charge != 0)" and "C/H/N/O/F, not QM9". A
subset smaller than ``--min-n`` (P has 4 molecules) is printed but flagged as too small to judge. Also printed: how
the featuriser encodes S, P and Cl (whether each has its own element column, the hybridisations seen, atoms falling
into a catch-all "other" column), and per fold the epochs run, why training stopped and the CPU seconds used (a busy
machine buys fewer epochs per wall-clock budget; a warning says so).

Saved to ``--out`` (default: a temporary folder, printed): ``parity_xtb_cv.png`` (one panel per target; S, Cl,
S+Cl and P molecules coloured, ions circled), ``summary.json`` (settings, folds, metrics per subset and target,
featuriser check) and ``predictions.csv`` (per molecule: fold, elements, origin, charge, and per target the truth,
the out-of-fold prediction, the ensemble std and the mean-predictor value).

Cost: at most ``--folds`` x ``--time-budget`` seconds plus a few seconds per fold (featurising, predicting), about
13 minutes with the defaults; less when members reach ``--epochs`` or stop early. Measured: one epoch over a 5-fold
training part (1,710 molecules, 5 targets) takes about 0.35 CPU seconds on one core, so a member needs ~70 s for
200 epochs: with two members per fold the 150 s budget is about what 200 epochs take. The budget is wall clock: run
it on an idle machine.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from aiida_znadditive.ml.models.data import load_dataset, resolve_targets
from aiida_znadditive.ml.models.evaluate import predict_subset, regression_metrics
from aiida_znadditive.ml.models.featurize import ATOM_FEATURES, ELEMENTS, collate_2d, encode_many
from aiida_znadditive.ml.models.train import TrainSettings, train_ensemble

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / 'data' / 'labels' / 'xtb_gfn2.parquet'
DEFAULT_TARGETS = 'gap_ev,homo_ev,lumo_ev,zn_exchange_energy_ev,solvation_free_energy_ev'
RARE = ('S', 'P', 'Cl')
COMMON = frozenset({'C', 'H', 'N', 'O', 'F'})


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f'{seconds // 60}m{seconds % 60:02d}s'


@dataclasses.dataclass
class MoleculeInfo:
    """Per molecule: its element set, origin (``qm9``, ``moses``, ``curated``: ``source_id``'s prefix) and charge."""

    elements: list[frozenset[str]]
    origins: list[str]
    charges: np.ndarray


def _molecule_info(path: Path, smiles: list[str]) -> MoleculeInfo:
    """:class:`MoleculeInfo` of ``smiles``, read from the Parquet file beside :func:`load_dataset`, by SMILES."""
    import pyarrow.parquet as pq

    files = sorted(path.glob('*.parquet')) if path.is_dir() else [path]
    by_smiles: dict[str, tuple[frozenset[str], str, int]] = {}
    for file in files:
        names = pq.ParquetFile(file).schema_arrow.names
        columns = ['smiles', 'elements'] + [name for name in ('source_id', 'charge') if name in names]
        for row in pq.read_table(file, columns=columns).to_pylist():
            origin = (row.get('source_id') or 'unknown').split(':', 1)[0]
            entry = (frozenset(row['elements'] or ()), origin, int(row.get('charge') or 0))
            by_smiles.setdefault(row['smiles'], entry)
    missing = [item for item in smiles if item not in by_smiles]
    if missing:
        raise SystemExit(f'{len(missing)} molecule(s) without an `elements` row in {path}, e.g. {missing[0]}')
    rows = [by_smiles[item] for item in smiles]
    return MoleculeInfo(
        [row[0] for row in rows], [row[1] for row in rows], np.array([row[2] for row in rows], dtype=np.int64)
    )


def _subsets(info: MoleculeInfo) -> dict[str, np.ndarray]:
    """Boolean masks of the reported subsets, in print order: the four asked for, then controls."""
    elements = info.elements
    has = {symbol: np.array([symbol in item for item in elements]) for symbol in RARE}
    common = np.array([item <= COMMON for item in elements])
    non_qm9 = np.array([origin != 'qm9' for origin in info.origins])
    charged = info.charges != 0
    subsets = {
        'all': np.ones(len(elements), dtype=bool),
        'contains S': has['S'],
        'contains P': has['P'],
        'contains Cl': has['Cl'],
        'C/H/N/O/F only': common,
        'S without Cl': has['S'] & ~has['Cl'],
        'Cl without S': has['Cl'] & ~has['S'],
        'S, neutral': has['S'] & ~charged,
        'ions (charge != 0)': charged,
        'C/H/N/O/F, not QM9': common & non_qm9,
    }
    other = ~(common | has['S'] | has['P'] | has['Cl'])
    if other.any():
        subsets['other elements'] = other
    return subsets


def _category(item: frozenset[str]) -> str:
    """Colour class of a molecule in the parity plot."""
    if 'P' in item:
        return 'P'
    if 'S' in item and 'Cl' in item:
        return 'S and Cl'
    if 'S' in item:
        return 'S (no Cl)'
    if 'Cl' in item:
        return 'Cl (no S)'
    return 'C/H/N/O/F only' if item <= COMMON else 'other'


def stratified_folds(strata: list[tuple], n_folds: int, seed: int) -> np.ndarray:
    """Fold number per molecule: each stratum (molecules with equal keys) shuffled with ``seed`` and dealt round
    the folds, continuing where the previous stratum stopped, so every stratum is spread evenly and the fold sizes
    differ by at most one."""
    rng = np.random.default_rng(seed)
    groups: dict[tuple, list[int]] = {}
    for index, key in enumerate(strata):
        groups.setdefault(key, []).append(index)
    fold = np.empty(len(strata), dtype=np.int64)
    offset = 0
    for key in sorted(groups):  # sorted: the seed alone decides the folds, not the order of the data
        members = np.asarray(groups[key])[rng.permutation(len(groups[key]))]
        fold[members] = (offset + np.arange(len(members))) % n_folds
        offset += len(members)
    return fold


def featuriser_check(smiles: list[str]) -> dict:
    """How the 2D featuriser encodes S, P and Cl in these molecules: its own element column or not, atoms and
    molecules seen, and atoms of each element that land in a catch-all ("other") column of a one-hot block."""
    encoded = encode_many(smiles)
    failed = {smiles[i]: item for i, item in enumerate(encoded) if isinstance(item, str)}
    molecules = [item for item in encoded if not isinstance(item, str)]
    x = collate_2d(molecules).x.numpy() if molecules else np.zeros((0, len(ATOM_FEATURES)))
    numbers = np.concatenate([item.atomic_numbers for item in molecules]) if molecules else np.zeros(0)
    from rdkit import Chem

    table = Chem.GetPeriodicTable()
    catch_all = [name for name in ATOM_FEATURES if name.endswith(('=other', '>=6'))]
    columns = {name: ATOM_FEATURES.index(name) for name in catch_all}
    report: dict = {'unfeaturisable': failed, 'elements': {}}
    for symbol in RARE:
        rows = x[numbers == table.GetAtomicNumber(symbol)]
        column = f'element={symbol}'
        report['elements'][symbol] = {
            'own_column': column in ATOM_FEATURES,
            'atoms': len(rows),
            'atoms_in_own_column': int(rows[:, ATOM_FEATURES.index(column)].sum()) if column in ATOM_FEATURES else 0,
            'catch_all': {name: int(rows[:, col].sum()) for name, col in columns.items() if rows[:, col].any()},
            'hybridisations': {
                name.split('=', 1)[1]: int(rows[:, col].sum())
                for col, name in enumerate(ATOM_FEATURES)
                if name.startswith('hybridisation=') and rows[:, col].any()
            },
        }
    symbols = {table.GetElementSymbol(int(z)) for z in np.unique(numbers)}
    report['unknown_elements'] = sorted(symbols - set(ELEMENTS))
    return report


def _metrics(truth, predicted, std, baseline, *, names, mask) -> dict[str, dict]:
    model = regression_metrics(truth[mask], predicted[mask], names, std[mask])
    trivial = regression_metrics(truth[mask], baseline[mask], names)
    result = {}
    for name in names:
        entry = dict(model[name])
        if 'mae' in trivial[name]:
            entry['baseline_mae'] = trivial[name]['mae']
            entry['baseline_rmse'] = trivial[name]['rmse']
            entry['mae_ratio'] = entry['mae'] / trivial[name]['mae'] if trivial[name]['mae'] > 0 else None
        result[name] = entry
    return result


def _parity(truth, predicted, *, names, units, categories, ions, metrics, path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use('Agg')  # no display: files only
    import matplotlib.pyplot as plt

    styles = {  # drawn in this order: the common molecules underneath, the rare ones on top
        'C/H/N/O/F only': ('#b0b0b0', 6, 0.5),
        'other': ('#8c564b', 14, 0.8),
        'Cl (no S)': ('#2ca02c', 14, 0.8),
        'S (no Cl)': ('#ff7f0e', 16, 0.9),
        'S and Cl': ('#9467bd', 14, 0.8),
        'P': ('#d62728', 40, 1.0),
    }
    categories = np.asarray(categories)
    ncols = min(len(names), 3)
    nrows = math.ceil(len(names) / ncols)
    figure, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 4.4 * nrows), squeeze=False)
    for column, name in enumerate(names):
        axis = axes.flat[column]
        keep = np.isfinite(truth[:, column]) & np.isfinite(predicted[:, column])
        for category, (colour, size, alpha) in styles.items():
            chosen = keep & (categories == category)
            if chosen.any():
                axis.scatter(
                    truth[chosen, column],
                    predicted[chosen, column],
                    s=size,
                    c=colour,
                    alpha=alpha,
                    linewidths=0,
                    label=f'{category} ({int(chosen.sum())})',
                )
        circled = keep & ions
        if circled.any():
            axis.scatter(
                truth[circled, column],
                predicted[circled, column],
                s=70,
                facecolors='none',
                edgecolors='black',
                linewidths=0.7,
                label=f'ion, circled ({int(circled.sum())})',
            )
        if keep.any():
            low = float(min(truth[keep, column].min(), predicted[keep, column].min()))
            high = float(max(truth[keep, column].max(), predicted[keep, column].max()))
            axis.plot([low, high], [low, high], color='black', linewidth=0.8)
        overall = metrics['all'][name]
        rare = ', '.join(
            f'{label.split()[-1]} {metrics[label][name]["mae"]:.3f} (n {metrics[label][name]["n"]})'
            for label in ('contains S', 'contains Cl', 'contains P')
            if 'mae' in metrics[label][name]
        )
        unit = units.get(name, '')
        r2 = overall['r2'] if overall.get('r2') is not None else float('nan')
        axis.set_title(
            f'{name}: MAE {overall["mae"]:.3f} {unit} (mean predictor {overall["baseline_mae"]:.3f}), R² {r2:.3f}\n'
            f'MAE {rare}',
            fontsize=8,
        )
        axis.set_xlabel(f'GFN2-xTB ({unit})')
        axis.set_ylabel(f'predicted, out of fold ({unit})')
        axis.legend(fontsize=6, loc='upper left', markerscale=1.0)
    for axis in list(axes.flat)[len(names) :]:
        axis.set_visible(False)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def _print_table(metrics: dict, names: list[str], units: dict[str, str], min_n: int) -> None:
    header = f'  {"subset":<22}{"n":>6}{"MAE":>9}{"RMSE":>9}{"R2":>9}{"mean-MAE":>10}{"MAE/mean":>10}'
    for name in names:
        print(f'\n== {name} ({units.get(name, "")}), out-of-fold')
        print(header)
        print('  ' + '-' * (len(header) - 2))
        for label, entry in metrics.items():
            value = entry[name]
            n = value['n']
            if n == 0:
                print(f'  {label:<22}{n:>6}   (no molecule with a value)')
                continue
            r2 = f'{value["r2"]:>9.3f}' if value.get('r2') is not None else f'{"-":>9}'
            ratio = f'{value["mae_ratio"]:>10.2f}' if value.get('mae_ratio') is not None else f'{"-":>10}'
            flag = f'  <- n < {min_n}: too few to judge' if n < min_n else ''
            print(
                f'  {label:<22}{n:>6}{value["mae"]:>9.4f}{value["rmse"]:>9.4f}{r2}{value["baseline_mae"]:>10.4f}'
                f'{ratio}{flag}'
            )
    print(
        '\n(mean-MAE: the mean predictor, each molecule predicted by the mean of its training folds; MAE/mean < 1: '
        "the model beats it. R2 of a subset is against the subset's own mean.)"
    )


def main() -> None:  # noqa: PLR0915 - one benchmark, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--data', type=Path, default=DEFAULT_DATA, help='Labelled Parquet file (or folder).')
    parser.add_argument('--targets', default=DEFAULT_TARGETS, help='Comma-separated targets, trained multitask.')
    parser.add_argument('--folds', type=int, default=5, help='Number of cross-validation folds.')
    parser.add_argument('--time-budget', type=float, default=150.0, help='Seconds of training per fold (wall clock).')
    parser.add_argument('--ensemble', type=int, default=2, help='Members per fold ensemble (share the fold budget).')
    parser.add_argument('--val-fraction', type=float, default=0.1, help='Part of the training folds for validation.')
    parser.add_argument('--epochs', type=int, default=200, help='Most epochs per member.')
    parser.add_argument('--patience', type=int, default=15, help='Early-stopping patience in epochs.')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--hidden', type=int, default=None, help='Width (default 128).')
    parser.add_argument('--seed', type=int, default=0, help='Seed of the folds; fold k trains with seed + 100 k.')
    parser.add_argument('--min-n', type=int, default=10, help='Subsets smaller than this are flagged.')
    parser.add_argument('--threads', type=int, default=None, help='Torch threads (default: torch decides).')
    parser.add_argument('--progress-every', type=float, default=30.0, help='Seconds between progress lines.')
    parser.add_argument('--verbose', action='store_true', help='Print every epoch line of the trainer.')
    parser.add_argument('--out', type=Path, default=None, help='Results folder (default: a temporary one).')
    args = parser.parse_args()
    if args.folds < 2:
        parser.error('--folds must be at least 2')
    if not 0 < args.val_fraction < 1:
        parser.error('--val-fraction must lie between 0 and 1')
    if args.threads:
        torch.set_num_threads(args.threads)
    out = args.out or Path(tempfile.mkdtemp(prefix='gnn_xtb_labels_'))
    out.mkdir(parents=True, exist_ok=True)
    print(f'results go to {out}', flush=True)

    start = time.perf_counter()
    names = resolve_targets(args.targets)
    data = load_dataset('parquet', args.data, targets=names)
    info = _molecule_info(args.data, data.smiles)
    elements, origins = info.elements, info.origins
    units = {name: _unit(name) for name in names}
    subsets = _subsets(info)
    print(
        f'{args.data.name}: {len(data):,} molecules, targets {", ".join(names)}; '
        + ', '.join(f'{label} {int(mask.sum())}' for label, mask in subsets.items() if label != 'all')
        + f' (read in {time.perf_counter() - start:.1f} s)',
        flush=True,
    )

    check = featuriser_check(data.smiles)
    for symbol, entry in check['elements'].items():
        state = 'own element column' if entry['own_column'] else 'NO element column of its own (element=other)'
        extra = f', in catch-all columns: {entry["catch_all"]}' if entry['catch_all'] else ''
        hybrid = ', '.join(f'{key} {value}' for key, value in entry['hybridisations'].items())
        print(f'featuriser: {symbol}: {state}; {entry["atoms"]:,} atoms ({hybrid}){extra}')
    if check['unknown_elements']:
        print(f'featuriser: elements without a column of their own: {", ".join(check["unknown_elements"])}')
    if check['unfeaturisable']:
        print(
            f'featuriser: {len(check["unfeaturisable"])} molecule(s) cannot be featurised (no prediction): '
            + '; '.join(f'{k}: {v}' for k, v in list(check['unfeaturisable'].items())[:5])
        )

    strata = [
        (*(symbol in item for symbol in RARE), origin == 'qm9', bool(charge))
        for item, origin, charge in zip(elements, origins, info.charges, strict=True)
    ]
    fold_of = stratified_folds(strata, args.folds, args.seed)
    n_targets = len(names)
    predicted = np.full((len(data), n_targets), np.nan)
    spread = np.full((len(data), n_targets), np.nan)
    baseline = np.full((len(data), n_targets), np.nan)
    fold_reports = []
    durations: list[float] = []
    run_start = time.monotonic()
    overhead_guess = 10.0
    print(
        f'\n{args.folds}-fold CV, stratified by P/S/Cl, origin and charge (seed {args.seed}); 2D D-MPNN ensemble of '
        f'{args.ensemble} per fold, {args.time_budget:.0f} s per fold: expect about '
        f'{_clock(args.folds * (args.time_budget + overhead_guess))}',
        flush=True,
    )

    for fold in range(args.folds):
        test = np.flatnonzero(fold_of == fold)
        train = np.flatnonzero(fold_of != fold)
        fold_start, cpu_start = time.monotonic(), time.process_time()
        last_print = [0.0]

        def eta(fold=fold, fold_start=fold_start) -> float:
            per_fold = float(np.mean(durations)) if durations else args.time_budget + overhead_guess
            current = max(args.time_budget - (time.monotonic() - fold_start), 0.0) + overhead_guess
            return current + (args.folds - fold - 1) * per_fold

        def log(line: str, fold=fold, eta=eta, last_print=last_print) -> None:
            now = time.monotonic()
            is_epoch = line.startswith('member') and ' epoch ' in line
            if is_epoch and not args.verbose and now - last_print[0] < args.progress_every:
                return
            last_print[0] = now
            print(
                f'[fold {fold + 1}/{args.folds} | {_clock(now - run_start)} elapsed | ETA {_clock(eta())}] {line}',
                flush=True,
            )

        settings = TrainSettings(
            model='2d',
            hidden=args.hidden,
            ensemble=args.ensemble,
            split='random',
            fractions=(1 - args.val_fraction, args.val_fraction, 0.0),
            seed=args.seed + 100 * fold,
            epochs=args.epochs,
            batch_size=args.batch_size,
            patience=args.patience,
            time_budget_s=args.time_budget,
        )
        print(
            f'[fold {fold + 1}/{args.folds} | {_clock(time.monotonic() - run_start)} elapsed | ETA {_clock(eta())}] '
            f'training on {len(train):,}, predicting {len(test):,} '
            f'(S {int(subsets["contains S"][test].sum())}, P {int(subsets["contains P"][test].sum())}, '
            f'Cl {int(subsets["contains Cl"][test].sum())})',
            flush=True,
        )
        result = train_ensemble(data.subset(train), settings, out=None, log=log)
        training_s = result.ensemble.config['training']['seconds']
        cpu_s = time.process_time() - cpu_start
        mean, std = predict_subset(result.ensemble, data, test)
        predicted[test], spread[test] = mean, std
        with np.errstate(all='ignore'):
            baseline[test] = np.nanmean(data.targets[train], axis=0)
        durations.append(time.monotonic() - fold_start)
        members = result.ensemble.config['training']['members']
        fold_metrics = regression_metrics(data.targets[test], mean, names)
        report = {
            'fold': fold,
            'n_train': len(train),
            'n_test': len(test),
            'n_test_by_subset': {label: int(mask[test].sum()) for label, mask in subsets.items()},
            'members': members,
            'training_s': training_s,
            'cpu_s': round(cpu_s, 1),
            'fold_s': round(durations[-1], 1),
            'mae': {name: fold_metrics[name].get('mae') for name in names},
        }
        fold_reports.append(report)
        stops = '; '.join(f'{m["epochs"]} epochs (best {m["best_epoch"]}, {m["stopped"]})' for m in members)
        print(
            f'[fold {fold + 1}/{args.folds} | {_clock(time.monotonic() - run_start)} elapsed | '
            f'ETA {_clock(float(np.mean(durations)) * (args.folds - fold - 1))}] done in {durations[-1]:.0f} s '
            f'(CPU {cpu_s:.0f} s): {stops}; fold MAE '
            + ', '.join(f'{name} {report["mae"][name]:.3f}' for name in names if report['mae'][name] is not None),
            flush=True,
        )

    total_s = time.monotonic() - run_start
    missing = int((~np.isfinite(predicted).all(axis=1)).sum())
    metrics = {
        label: _metrics(data.targets, predicted, spread, baseline, names=names, mask=mask)
        for label, mask in subsets.items()
    }
    print(f'\n{args.folds}-fold cross-validation done in {_clock(total_s)}; {len(data):,} molecules', end='')
    print(f', {missing} without a prediction (not featurisable)' if missing else '')
    _print_table(metrics, names, units, args.min_n)
    cpu_total = sum(report['cpu_s'] for report in fold_reports)
    wall_total = sum(report['fold_s'] for report in fold_reports)
    if cpu_total < 0.5 * wall_total:
        print(
            f'WARNING: {cpu_total:.0f} CPU s in {wall_total:.0f} s of folds: less than half a core on average. '
            'The machine was busy and the wall-clock budget bought few epochs; rerun on an idle machine.'
        )
    small = [label for label, mask in subsets.items() if 0 < mask.sum() < args.min_n]
    if small:
        print(f'Too few molecules to judge (n < {args.min_n}): {", ".join(small)}.')

    with (out / 'predictions.csv').open('w', newline='') as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ['smiles', 'fold', 'elements', 'origin', 'charge']
            + [f'{name}_{kind}' for name in names for kind in ('true', 'pred', 'std', 'mean_predictor')]
        )
        for i, item in enumerate(data.smiles):
            values = []
            for column in range(n_targets):
                values += [data.targets[i, column], predicted[i, column], spread[i, column], baseline[i, column]]
            writer.writerow(
                [item, int(fold_of[i]), ' '.join(sorted(elements[i])), origins[i], int(info.charges[i])]
                + ['' if not np.isfinite(value) else repr(float(value)) for value in values]
            )
    summary = {
        'data': {**data.source, 'path': str(args.data)},
        'targets': names,
        'units': units,
        'settings': {key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()},
        'subset_sizes': {label: int(mask.sum()) for label, mask in subsets.items()},
        'featuriser': check,
        'folds': fold_reports,
        'total_s': round(total_s, 1),
        'metrics': metrics,
        'too_small': small,
    }
    (out / 'summary.json').write_text(json.dumps(summary, indent=1) + '\n')
    # the numbers are on disk before the figure is drawn: a plotting failure loses nothing
    categories = [_category(item) for item in elements]
    plot = _parity(
        data.targets,
        predicted,
        names=names,
        units=units,
        categories=categories,
        ions=info.charges != 0,
        metrics=metrics,
        path=out / 'parity_xtb_cv.png',
        title=f'2D D-MPNN (ensemble of {args.ensemble}), {args.folds}-fold CV on GFN2-xTB labels, '
        f'{args.time_budget:.0f} s per fold',
    )
    print(f'parity plot {plot}; summary {out / "summary.json"}; predictions {out / "predictions.csv"}')


def _unit(name: str) -> str:
    from aiida_znadditive.ml.database.schema import PROPERTIES

    return PROPERTIES.get(name, ('', ''))[0]


if __name__ == '__main__':
    main()
