"""Train a chemprop 2.x D-MPNN ensemble within a wall-clock budget; predict a test set. Run by .venv-chemprop's python.

Called by ``benchmarks/gnn_vs_chemprop.py`` (it imports nothing of aiida-znadditive, whose environment it does not
share)::

    .venv-chemprop/bin/python benchmarks/_chemprop_runner.py WORK --budget 3600 --ensemble 3 --threads 2

``WORK`` holds ``train.csv``, ``val.csv`` and ``test.csv`` (columns ``smiles`` and the target, e.g. ``gap_ev``).
Written there: ``test_predictions.csv`` (``smiles``, the ensemble mean, one column per member) and ``report.json``
(per member: epochs, batches, best epoch, why it stopped, seconds; featurisation, wall-clock and CPU seconds
of the budgeted part; versions).

What ``chemprop train`` would do with its defaults, through its Python API: the CLI's own dataset builder
(``make_dataset``: V2 multi-hot atom and bond featurisers, molecular graphs cached before training), targets
standardised with the training set's mean and std (the validation set scaled alike, predictions scaled back),
``BondMessagePassing`` (300 wide, depth 3, no bias, ReLU, dropout 0), ``NormAggregation`` (sum / 100), a
``RegressionFFN`` (one hidden layer of 300), MSE loss, Adam with the Noam-like schedule (2 warm-up epochs, 1e-4 ->
1e-3 -> 1e-4 over ``--epochs``, default 50), batch size 64, no workers, the checkpoint of the lowest ``val_loss``
kept (as the CLI's ModelCheckpoint does). Its ``--ensemble-size`` averages the members' predictions; so does this.

The budget (which ``chemprop train`` has no option for) is enforced like our trainer's: one clock starts before the
SMILES are parsed, so parsing and featurisation count; each member gets the time left divided by the members still
to train, and a callback stops training after the first batch past that member's deadline (the validation of that
last partial epoch still runs, as in our trainer). Test predictions are made after the clock stops.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import logging
import math
import time
import warnings
from pathlib import Path

import numpy as np
import torch


def _read(path: Path) -> tuple[list[str], np.ndarray, str]:
    with path.open(newline='') as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    return [row[0] for row in rows], np.array([[float(row[1])] for row in rows], dtype=np.float64), header[1]


def main() -> None:  # noqa: PLR0915 - one script, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('work', type=Path, help='Folder with train.csv, val.csv, test.csv; results go there.')
    parser.add_argument('--budget', type=float, required=True, help='Seconds for featurisation and training.')
    parser.add_argument('--ensemble', type=int, default=1, help='Members (chemprop train --ensemble-size).')
    parser.add_argument('--epochs', type=int, default=50, help='Most epochs per member (chemprop default 50).')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--seed', type=int, default=0, help='Member i uses seed + i (as --pytorch-seed does).')
    parser.add_argument('--threads', type=int, default=None, help='torch.set_num_threads (default: torch decides).')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    import chemprop
    import lightning
    from chemprop import data, models, nn
    from chemprop.cli.utils.parsing import make_dataset
    from lightning import pytorch as pl

    warnings.filterwarnings('ignore', message='.*does not have many workers.*')  # the CLI default, 0 workers
    warnings.filterwarnings('ignore', message='.*GPU available but not used.*')
    warnings.filterwarnings('ignore', message='.*LeafSpec.*')  # lightning 2.6 on torch 2.13, harmless
    for name in ('lightning', 'lightning.pytorch', 'lightning.fabric'):  # 'GPU available: False', tips
        logging.getLogger(name).setLevel(logging.WARNING)

    train_smiles, train_y, target = _read(args.work / 'train.csv')
    val_smiles, val_y, _ = _read(args.work / 'val.csv')
    test_smiles, test_y, _ = _read(args.work / 'test.csv')

    clock = time.monotonic()  # the budget starts here: SMILES parsing and featurisation count, as in our trainer
    cpu = time.process_time()  # CPU seconds of all threads: against the wall clock, shows a busy machine

    def points(smiles: list[str], values: np.ndarray) -> list:
        return [data.MoleculeDatapoint.from_smi(s, y) for s, y in zip(smiles, values, strict=True)]

    def remaining() -> float:
        return args.budget - (time.monotonic() - clock)

    train_set = make_dataset(points(train_smiles, train_y), multi_hot_atom_featurizer_mode='V2')
    val_set = make_dataset(points(val_smiles, val_y), multi_hot_atom_featurizer_mode='V2')
    scaler = train_set.normalize_targets()
    val_set.normalize_targets(scaler)
    train_set.cache = True  # the CLI's default (no --no-cache): molecular graphs featurised once, here
    val_set.cache = True
    featurised_s = time.monotonic() - clock
    print(f'chemprop: {len(train_set):,} + {len(val_set):,} molecules featurised in {featurised_s:.1f} s', flush=True)
    train_loader = data.build_dataloader(train_set, args.batch_size, 0, seed=args.seed)
    val_loader = data.build_dataloader(val_set, args.batch_size, 0, shuffle=False)

    class Budget(pl.Callback):
        """Stop after the first training batch past the deadline; keep the weights of the lowest val_loss."""

        def __init__(self, deadline: float, number: int) -> None:
            self.deadline, self.number = deadline, number
            self.start = time.monotonic()
            self.stopped = 'max epochs'
            self.best = {'loss': math.inf, 'epoch': 0, 'state': None}
            self.epochs = 0

        def on_train_batch_end(self, trainer, *_args) -> None:
            if time.monotonic() > self.deadline and not trainer.should_stop:
                trainer.should_stop = True
                self.stopped = 'time budget'

        def on_validation_end(self, trainer, module) -> None:
            if trainer.sanity_checking:
                return
            self.epochs += 1
            loss = float(trainer.callback_metrics['val_loss'])
            improved = loss < self.best['loss']
            if improved:
                self.best = {'loss': loss, 'epoch': self.epochs, 'state': copy.deepcopy(module.state_dict())}
            print(
                f'chemprop member {self.number + 1}/{args.ensemble}  epoch {self.epochs:>3}/{args.epochs}  '
                f'val_loss {loss:.4f} (scaled MSE)  {time.monotonic() - self.start:.1f} s'
                + ('  *' if improved else ''),
                flush=True,
            )

    members, reports = [], []
    for number in range(args.ensemble):
        member_budget = max(remaining() / (args.ensemble - number), 1e-3)
        budget = Budget(time.monotonic() + member_budget, number)
        torch.manual_seed(args.seed + number)
        message_passing = nn.BondMessagePassing(d_v=train_set.featurizer.atom_fdim, d_e=train_set.featurizer.bond_fdim)
        ffn = nn.RegressionFFN(
            n_tasks=1,
            input_dim=message_passing.output_dim,
            output_transform=nn.UnscaleTransform.from_standard_scaler(scaler),
        )
        model = models.MPNN(message_passing, nn.NormAggregation(), ffn)
        trainer = pl.Trainer(
            logger=False,
            enable_checkpointing=False,  # the Budget callback keeps the best weights in memory
            enable_progress_bar=False,
            enable_model_summary=False,
            accelerator='cpu',
            devices=1,
            max_epochs=args.epochs,
            callbacks=[budget],
        )
        trainer.fit(model, train_loader, val_loader)
        if budget.best['state'] is not None:
            model.load_state_dict(budget.best['state'])
        model.eval()
        members.append(model)
        seconds = time.monotonic() - budget.start
        reports.append(
            {
                'seed': args.seed + number,
                'epochs': budget.epochs,
                'steps': trainer.global_step,
                'best_epoch': budget.best['epoch'],
                'stopped': budget.stopped,
                'seconds': round(seconds, 2),
                'budget_s': round(member_budget, 2),
                'best_val_loss': budget.best['loss'] if math.isfinite(budget.best['loss']) else None,
            }
        )
        print(
            f'chemprop member {number + 1}/{args.ensemble}: best epoch {budget.best["epoch"]} of {budget.epochs} '
            f'({trainer.global_step} batches of {len(train_loader)} per epoch; {budget.stopped}), {seconds:.1f} s',
            flush=True,
        )
    training_s = time.monotonic() - clock
    cpu_s = time.process_time() - cpu

    # Predictions after the clock: featurising the test set is not part of the budget (nor is it for ours).
    start = time.monotonic()
    test_set = make_dataset(points(test_smiles, test_y), multi_hot_atom_featurizer_mode='V2')
    test_loader = data.build_dataloader(test_set, 256, 0, shuffle=False)
    outputs = []
    with torch.inference_mode():
        for model in members:
            batches = [model(batch.bmg, batch.V_d, batch.X_d) for batch in test_loader]
            outputs.append(torch.cat(batches)[:, 0].double().numpy())  # eval mode: scaled back to the target's units
    predicted = np.stack(outputs)
    predict_s = time.monotonic() - start
    with (args.work / 'test_predictions.csv').open('w', newline='') as handle:
        writer = csv.writer(handle)
        writer.writerow(['smiles', target, *(f'member_{i + 1}' for i in range(len(members)))])
        for index, smiles in enumerate(test_smiles):
            writer.writerow([smiles, repr(float(predicted[:, index].mean())), *map(float, predicted[:, index])])
    report = {
        'budget_s': args.budget,
        'featurised_s': round(featurised_s, 2),
        'training_s': round(training_s, 2),
        'cpu_s': round(cpu_s, 2),
        'predict_s': round(predict_s, 2),
        'threads': torch.get_num_threads(),
        'hyperparameters': {
            'message_hidden_dim': message_passing.output_dim,
            'depth': message_passing.depth,
            'aggregation': 'norm (100)',
            'ffn_hidden_dim': 300,
            'ffn_num_layers': 1,
            'batch_size': args.batch_size,
            'max_epochs': args.epochs,
            'lr': 'Noam-like 1e-4 -> 1e-3 -> 1e-4, 2 warm-up epochs',
        },
        'members': reports,
        'versions': {'chemprop': chemprop.__version__, 'lightning': lightning.__version__, 'torch': torch.__version__},
    }
    (args.work / 'report.json').write_text(json.dumps(report, indent=1) + '\n')


if __name__ == '__main__':
    main()
