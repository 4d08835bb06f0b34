"""Benchmark: train GNN ensembles on the QM9 HOMO-LUMO gap within a wall-clock budget; test MAE and a parity plot.

Usage (from the repository root)::

    .venv/bin/python benchmarks/gnn_qm9.py                                  # 2D D-MPNN, 1 h, scaffold split
    .venv/bin/python benchmarks/gnn_qm9.py --model both --split random      # 2D and 3D (SchNet), half the budget each
    .venv/bin/python benchmarks/gnn_qm9.py --time-budget 120 --limit 10000  # a quick look

Reads QM9 from the installed ``qm9pack`` (standardised as ``db import qm9`` does; the reading time is printed apart
and not counted in the budget), trains an ensemble of ``--ensemble`` members per model within ``--time-budget``
seconds (for ``--model both``, half each), and prints per model the test MAE of the gap in eV with the MAE of the
mean predictor beside it, RMSE, R², the mean ensemble std, the number of epochs each member ran and why it stopped,
and the prediction throughput on the test molecules (molecules/s, featurisation from SMILES included for the 2D
model). The checkpoint and its parity plot go to ``--out/<model>``: ``parity_test.png`` there.

For scale: chemprop's D-MPNN reaches about 0.12 eV on the QM9 gap with a random split after hours on a GPU; a one-hour
CPU budget stops far earlier, and a scaffold split is harder than a random one.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from aiida_znadditive.ml.models.data import load_dataset
from aiida_znadditive.ml.models.evaluate import format_metrics
from aiida_znadditive.ml.models.train import TrainSettings, train_ensemble


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--time-budget', type=float, default=3600.0, help='Seconds of training, all models together.')
    parser.add_argument('--model', choices=['2d', '3d', 'both'], default='2d')
    parser.add_argument('--split', choices=['random', 'scaffold'], default='scaffold')
    parser.add_argument('--ensemble', type=int, default=3, help='Members per ensemble.')
    parser.add_argument('--targets', default='gap', help='Comma-separated targets (the gap is reported first).')
    parser.add_argument('--limit', type=int, default=None, help='Use the first N QM9 molecules (default: all).')
    parser.add_argument('--epochs', type=int, default=200, help='Most epochs per member.')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--hidden', type=int, default=None, help='Width (default 128 for 2d, 64 for 3d).')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=None, help='Torch threads (default: torch decides).')
    parser.add_argument('--out', type=Path, default=None, help='Checkpoint folder (default: a temporary one).')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    out = args.out or Path(tempfile.mkdtemp(prefix='gnn_qm9_'))
    models = ['2d', '3d'] if args.model == 'both' else [args.model]

    start = time.perf_counter()
    data = load_dataset('qm9', targets=args.targets, limit=args.limit, with_geometry='3d' in models)
    print(f'QM9: {len(data):,} molecules read in {time.perf_counter() - start:.0f} s', flush=True)

    results = {}
    for model in models:
        settings = TrainSettings(
            model=model,
            hidden=args.hidden,
            ensemble=args.ensemble,
            split=args.split,
            seed=args.seed,
            epochs=args.epochs,
            batch_size=args.batch_size,
            time_budget_s=args.time_budget / len(models),
        )
        result = train_ensemble(data, settings, out / model, log=lambda line: print(line, flush=True))
        ensemble = result.ensemble
        test = ensemble.split.test
        start = time.perf_counter()
        if model == '2d':
            predicted = list(ensemble.predict_smiles([data.smiles[i] for i in test]))
        else:
            predicted = ensemble.predict_items([data.geometries[i] for i in test])[0]
        rate = len(predicted) / (time.perf_counter() - start)
        results[model] = (result, rate)

    print()
    for model, (result, rate) in results.items():
        config = result.ensemble.config
        gap = result.metrics['test'][result.ensemble.target_names[0]]
        print(
            f'== {config["model"]["architecture"]} ({model}), ensemble of {len(result.ensemble)}, {args.split} split, '
            f'budget {args.time_budget / len(models):.0f} s'
        )
        print(
            f'test MAE {result.ensemble.target_names[0]}: {gap["mae"]:.4f} eV '
            f'(mean predictor {gap["baseline_mae"]:.4f} eV), R2 {gap["r2"]:.4f}, n {gap["n"]:,}'
        )
        print(format_metrics(result.metrics['test'], result.ensemble.units))
        for number, member in enumerate(config['training']['members'], start=1):
            print(
                f'  member {number}: {member["epochs"]} epochs (best {member["best_epoch"]}), {member["stopped"]}, '
                f'{member["seconds"]:.0f} s'
            )
        print(f'  prediction: {rate:,.0f} molecules/s on the test set' + (' (from SMILES)' if model == '2d' else ''))
        print(f'  checkpoint {result.directory} (hash {result.checkpoint_hash[:16]}), parity plot {result.plot}')


if __name__ == '__main__':
    main()
