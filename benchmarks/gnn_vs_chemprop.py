"""Benchmark: our 2D D-MPNN ensemble against chemprop 2.x on one QM9 split, the same CPU budget for each.

Usage (from the repository root; chemprop lives in its own environment)::

    bash scripts/install_chemprop.sh                                             # once: .venv-chemprop
    .venv/bin/python benchmarks/gnn_vs_chemprop.py                               # 1 h each, scaffold split
    .venv/bin/python benchmarks/gnn_vs_chemprop.py --split random --out runs/vs  # random split, kept results
    .venv/bin/python benchmarks/gnn_vs_chemprop.py --limit 3000 --time-budget 20 # mechanics only

Reads QM9 as ``benchmarks/gnn_qm9.py`` does (the reading time is printed and not counted), trains our 2D D-MPNN
ensemble (``train_ensemble``) on a ``--split`` split made by our splits module with ``--seed``, then writes that
very split as ``train.csv``, ``val.csv`` and ``test.csv`` (``smiles,gap_ev``) to ``--out/chemprop`` and trains
chemprop there with ``benchmarks/_chemprop_runner.py`` under ``.venv-chemprop``'s python (chemprop's default D-MPNN
and training settings through its Python API; see that file). Both are scored here, with the same code, on the
identical test molecules: MAE, RMSE and R² of the HOMO-LUMO gap in eV (QM9's gap as our data set holds it,
``gap_ev``; chemprop is trained on the same column and its predictions are scaled back to it), beside the MAE of
the mean predictor (the training-set mean). Printed: a side-by-side table (model, budget, epochs each member ran,
featurisation, wall-clock and CPU seconds, test MAE, RMSE, R²); saved: ``--out/parity_vs_chemprop.png`` (ours |
chemprop) and ``--out/summary.json``.

How the comparison is kept fair:

- one split: the one our trainer made (``make_split(--split, smiles, --seed)`` over the molecules our featuriser
  accepts, which is all of QM9) is handed to chemprop index for index, so training, validation (early stopping /
  best-epoch selection for both) and test molecules are the same;
- one budget: each side gets ``--time-budget`` seconds of wall clock, measured the same way. Our trainer starts its
  clock before featurising the SMILES (and making the split), the runner before parsing them; so featurisation
  counts for both (it is printed apart: seconds out of an hour), reading QM9, writing the CSVs, starting the
  chemprop process and predicting the test set count for neither. The budget is shared equally among each side's
  ``--ensemble`` members and checked after every training batch; a member out of time validates once more and
  keeps its best-validated weights (our trainer by MAE, chemprop by its default ``val_loss``);
- one CPU share: the two run one after the other, never together, each with ``--threads`` torch threads
  (``torch.set_num_threads`` here, and ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` plus ``torch.set_num_threads`` in the
  chemprop process), no data-loader workers on either side, CPU only. The budget is wall clock, so the machine
  must be otherwise idle: each side's CPU seconds over its budgeted part are printed beside its wall-clock seconds,
  and a side that got less than half a core on average is flagged;
- the same ensemble size (``--ensemble``, default 3; chemprop's CLI averages its ``--ensemble-size`` members the
  same way) and batch size (64, chemprop's default). Everything else is each side's default: ours 128 wide with a
  cosine schedule annealed over the budget, chemprop 300 wide with its Noam-like schedule over ``--chemprop-epochs``
  (default 50, as ``chemprop train``); within a one-hour CPU budget chemprop may stop well before its schedule ends.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from aiida_znadditive.ml.models.data import load_dataset
from aiida_znadditive.ml.models.evaluate import predict_subset, regression_metrics
from aiida_znadditive.ml.models.train import TrainSettings, train_ensemble

ROOT = Path(__file__).resolve().parents[1]
RUNNER = Path(__file__).resolve().with_name('_chemprop_runner.py')
TARGET = 'gap_ev'


def _write_csv(path: Path, smiles: list[str], values: np.ndarray) -> None:
    with path.open('w', newline='') as handle:
        writer = csv.writer(handle)
        writer.writerow(['smiles', TARGET])
        writer.writerows((item, repr(float(value))) for item, value in zip(smiles, values, strict=True))


def _run_chemprop(args: argparse.Namespace, work: Path) -> dict:
    """Train and predict with chemprop in its own environment; its report, with the test predictions added."""
    env = {**os.environ, 'OMP_NUM_THREADS': str(args.threads), 'MKL_NUM_THREADS': str(args.threads)}
    env.pop('PYTHONPATH', None)  # nothing of .venv may leak into .venv-chemprop
    command = [
        str(args.chemprop_python),
        str(RUNNER),
        str(work),
        f'--budget={args.time_budget}',
        f'--ensemble={args.ensemble}',
        f'--epochs={args.chemprop_epochs}',
        f'--batch-size={args.batch_size}',
        f'--seed={args.seed}',
        f'--threads={args.threads}',
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, cwd=ROOT)
    report = json.loads((work / 'report.json').read_text())
    report['process_s'] = time.perf_counter() - start
    with (work / 'test_predictions.csv').open(newline='') as handle:
        rows = list(csv.DictReader(handle))
    report['smiles'] = [row['smiles'] for row in rows]
    report['predicted'] = np.array([float(row[TARGET]) for row in rows])
    return report


def _parity(truth: np.ndarray, panels: list[tuple[str, np.ndarray, dict]], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use('Agg')  # no display: files only
    import matplotlib.pyplot as plt

    low = float(min(truth.min(), *(predicted.min() for _, predicted, _ in panels)))
    high = float(max(truth.max(), *(predicted.max() for _, predicted, _ in panels)))
    figure, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels), 4.3), squeeze=False)
    for axis, (name, predicted, metrics) in zip(axes[0], panels, strict=True):
        axis.scatter(truth, predicted, s=5, alpha=0.5, linewidths=0)
        axis.plot([low, high], [low, high], color='black', linewidth=0.8)
        axis.set_xlim(low, high)
        axis.set_ylim(low, high)
        axis.set_aspect('equal')
        axis.set_title(f'{name}\nMAE {metrics["mae"]:.3f} eV, R² {metrics["r2"]:.3f}', fontsize=9)
        axis.set_xlabel('QM9 HOMO-LUMO gap (eV)')
        axis.set_ylabel('predicted (eV)')
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def main() -> None:  # noqa: PLR0915 - one benchmark, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--time-budget', type=float, default=3600.0, help='Seconds of training for EACH side.')
    parser.add_argument('--split', choices=['random', 'scaffold'], default='scaffold')
    parser.add_argument('--seed', type=int, default=0, help='Seed of the split; member i of each side uses seed + i.')
    parser.add_argument('--ensemble', type=int, default=3, help='Members per ensemble, both sides.')
    parser.add_argument('--limit', type=int, default=None, help='Use the first N QM9 molecules (default: all).')
    parser.add_argument('--epochs', type=int, default=200, help='Most epochs per member of ours.')
    parser.add_argument('--chemprop-epochs', type=int, default=50, help="chemprop's --epochs (its default 50).")
    parser.add_argument('--batch-size', type=int, default=64, help='Both sides (chemprop default 64).')
    parser.add_argument('--hidden', type=int, default=None, help='Width of ours (default 128).')
    parser.add_argument('--threads', type=int, default=os.cpu_count(), help='Torch threads, both sides (all cores).')
    parser.add_argument('--chemprop-python', type=Path, default=ROOT / '.venv-chemprop' / 'bin' / 'python')
    parser.add_argument('--out', type=Path, default=None, help='Results folder (default: a temporary one).')
    args = parser.parse_args()
    if not args.chemprop_python.exists():
        sys.exit(f'{args.chemprop_python} not found: run `bash scripts/install_chemprop.sh` first')
    torch.set_num_threads(args.threads)
    out = args.out or Path(tempfile.mkdtemp(prefix='gnn_vs_chemprop_'))
    out.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    data = load_dataset('qm9', targets=TARGET, limit=args.limit)
    print(f'QM9: {len(data):,} molecules read in {time.perf_counter() - start:.0f} s (not in the budget)', flush=True)

    # -- ours --------------------------------------------------------------------------------------------------
    settings = TrainSettings(
        model='2d',
        hidden=args.hidden,
        ensemble=args.ensemble,
        split=args.split,
        seed=args.seed,
        epochs=args.epochs,
        batch_size=args.batch_size,
        time_budget_s=args.time_budget,
    )
    start, cpu = time.monotonic(), time.process_time()
    marks: dict[str, float] = {}
    last_member = f'member {args.ensemble}/{args.ensemble}:'

    def log(line: str) -> None:
        if 'featurised in' in line and 'prepared' not in marks:  # the first line: featurisation and split done
            marks['prepared'] = time.monotonic() - start
        if line.startswith(last_member):  # the last member is trained: the budgeted part is over
            marks['cpu'] = time.process_time() - cpu
        print(line, flush=True)

    print(f'== ours: 2D D-MPNN ensemble of {args.ensemble}, {args.time_budget:.0f} s, {args.threads} threads')
    result = train_ensemble(data, settings, out / 'ours', log=log)
    ensemble, split = result.ensemble, result.ensemble.split
    ours_config = ensemble.config['training']
    truth = data.targets[split.test, 0]
    baseline = np.asarray(ensemble.config['normalisation']['mean'])  # the training-set mean, also chemprop's
    ours_predicted = predict_subset(ensemble, data, split.test)[0][:, 0]

    # -- chemprop on the same split ----------------------------------------------------------------------------
    work = out / 'chemprop'
    work.mkdir(exist_ok=True)
    for name in ('train', 'val', 'test'):
        index = getattr(split, name)
        _write_csv(work / f'{name}.csv', [data.smiles[i] for i in index], data.targets[index, 0])
    print(
        f'== chemprop: same split ({len(split.train):,} / {len(split.val):,} / {len(split.test):,}) in {work}',
        flush=True,
    )
    chemprop = _run_chemprop(args, work)
    test_smiles = [data.smiles[i] for i in split.test]
    if chemprop['smiles'] != test_smiles:
        sys.exit('chemprop predicted other test molecules than ours: not comparable')

    # -- side by side ------------------------------------------------------------------------------------------
    def score(predicted: np.ndarray) -> dict:
        return regression_metrics(truth[:, None], predicted[:, None], [TARGET], baseline=baseline)[TARGET]

    ours_metrics, chemprop_metrics = score(ours_predicted), score(chemprop['predicted'])
    mean_metrics = score(np.full_like(truth, baseline[0]))
    rows = [
        (
            f'ours (D-MPNN {ensemble.config["model"]["hyperparameters"]["hidden"]})',
            [member['epochs'] for member in ours_config['members']],
            marks.get('prepared', float('nan')),
            ours_config['seconds'],
            marks.get('cpu', float('nan')),
            ours_metrics,
        ),
        (
            f'chemprop {chemprop["versions"]["chemprop"]} (D-MPNN 300)',
            [member['epochs'] for member in chemprop['members']],
            chemprop['featurised_s'],
            chemprop['training_s'],
            chemprop['cpu_s'],
            chemprop_metrics,
        ),
    ]
    print()
    print(
        f'QM9 HOMO-LUMO gap (eV), {args.split} split (seed {args.seed}): {len(split.train):,} train / '
        f'{len(split.val):,} val / {len(split.test):,} test; ensembles of {args.ensemble}, {args.threads} threads'
    )
    header = (
        f'{"model":<28}{"budget s":>9}{"epochs run":>14}{"feat. s":>8}{"used s":>8}{"CPU s":>8}'
        f'{"MAE eV":>8}{"RMSE":>8}{"R2":>8}'
    )
    print(header)
    print('-' * len(header))
    busy = []
    for name, epochs, featurised, used, cpu_s, metrics in rows:
        print(
            f'{name:<28}{args.time_budget:>9.0f}{"/".join(map(str, epochs)):>14}{featurised:>8.1f}{used:>8.1f}'
            f'{cpu_s:>8.1f}{metrics["mae"]:>8.4f}{metrics["rmse"]:>8.4f}{metrics["r2"]:>8.4f}'
        )
        if cpu_s < 0.5 * used:
            busy.append(name.split()[0])
    print(
        f'{"mean predictor":<28}{"-":>9}{"-":>14}{"-":>8}{"-":>8}{"-":>8}'
        f'{mean_metrics["mae"]:>8.4f}{mean_metrics["rmse"]:>8.4f}{0.0:>8.4f}'
    )
    print(
        '(feat. s: featurisation, ours with the split, inside the budget; used s: wall clock of featurisation and '
        'training; CPU s: CPU time of all threads over it)'
    )
    if busy:
        print(
            f'WARNING: {" and ".join(busy)} got less than half a core on average: the machine was busy, '
            'so the two wall-clock budgets bought different amounts of compute. Rerun on a quiet machine.'
        )
    for name, members in (('ours', ours_config['members']), ('chemprop', chemprop['members'])):
        stops = ', '.join(f'{m["epochs"]} epochs (best {m["best_epoch"]}, {m["stopped"]})' for m in members)
        print(f'  {name}: {stops}')

    plot = _parity(
        truth,
        [
            ('ours: D-MPNN ensemble', ours_predicted, ours_metrics),
            (f'chemprop {chemprop["versions"]["chemprop"]}: D-MPNN ensemble', chemprop['predicted'], chemprop_metrics),
        ],
        out / 'parity_vs_chemprop.png',
        f'QM9 gap, {args.split} split, {len(truth):,} test molecules, {args.time_budget:.0f} s each',
    )
    summary = {
        'split': {'method': args.split, 'seed': args.seed, **split.sizes()},
        'budget_s': args.time_budget,
        'threads': args.threads,
        'ensemble': args.ensemble,
        'limit': args.limit,
        'mean_predictor': mean_metrics,
        'ours': {
            'metrics': ours_metrics,
            'members': ours_config['members'],
            'featurised_s': marks.get('prepared'),
            'training_s': ours_config['seconds'],
            'cpu_s': marks.get('cpu'),
        },
        'chemprop': {
            'metrics': chemprop_metrics,
            **{key: value for key, value in chemprop.items() if key not in ('smiles', 'predicted')},
        },
    }
    (out / 'summary.json').write_text(json.dumps(summary, indent=1) + '\n')
    print(f'parity plot {plot}; summary {out / "summary.json"}; our checkpoint {result.directory}')


if __name__ == '__main__':
    main()
