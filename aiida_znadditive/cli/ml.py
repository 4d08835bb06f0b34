"""``aiida-znadditive ml``: train, evaluate and use the graph-network ensembles of the ``gnn`` screener."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import click
from aiida.cmdline.utils import echo

from .outputs import FORCE_OPTION, PACKAGE_DIR, check_output_folder, check_output_paths
from .params import POSITIVE, POSITIVE_FLOAT, SEED, Integer
from .root import THREADS_OPTION, cmd_root

# Named here, not imported, so that ``--help`` stays free of torch and RDKit; a test keeps them equal.
DATA_KINDS = ('qm9', 'xtb-labels', 'parquet')
CHECKPOINT_DIR = click.argument('directory', type=click.Path(file_okay=False, exists=True, path_type=Path))


@cmd_root.group('ml')
def cmd_ml() -> None:
    """Graph neural network ensembles: train on QM9 or own labels, evaluate, predict (the `gnn` screener's models)."""
    from ..environment.cores import passive_openmp

    passive_openmp()  # before any subcommand loads torch, whose OpenMP runtime reads the policy once


def _threads(threads: int | None) -> None:
    """Torch's thread pool from ``--threads`` or the cores this process may use (affinity, cgroup, SLURM)."""
    from ..environment.cores import set_torch_threads

    echo.echo_report(set_torch_threads(threads), err=True)  # stderr: stdout may be a table a pipe reads


def _refuse_shipped(directory: Path) -> None:
    """Stop before a command writes into a checkpoint shipped inside the package (its files are the release's)."""
    resolved = directory.resolve()
    if resolved == PACKAGE_DIR or PACKAGE_DIR in resolved.parents:
        echo.echo_critical(
            f'{directory} is shipped inside the package and is not changed: copy it first (cp -r {directory} my-model)'
        )


@cmd_ml.command('train')
@click.argument('path', required=False, type=click.Path(exists=True, path_type=Path))
@click.option(
    '--data',
    'kind',
    type=click.Choice(DATA_KINDS),
    default='qm9',
    show_default=True,
    help='Training data: the installed QM9, a folder of xTB label shards (PATH), or a Parquet file/folder (PATH).',
)
@click.option('--targets', default='gap,homo,lumo', show_default=True, help='Comma-separated properties to learn.')
@click.option('--model', type=click.Choice(['2d', '3d']), default='2d', show_default=True, help='D-MPNN or SchNet.')
@click.option('--ensemble', 'members', type=POSITIVE, default=3, show_default=True, help='Members M.')
@click.option(
    '--split',
    type=click.Choice(['random', 'scaffold']),
    default='scaffold',
    show_default=True,
    help='How molecules are split into train/validation/test: at random or by Bemis-Murcko scaffold.',
)
@click.option('--time-budget', type=POSITIVE_FLOAT, help='Wall-clock limit in seconds.')
@click.option('--limit', type=POSITIVE, help='Read at most N molecules of the data.')
@click.option('--seed', type=SEED, default=0, show_default=True, help='Seed of the split (member i: seed + i).')
@click.option('--epochs', type=POSITIVE, default=100, show_default=True, help='Most epochs per member.')
@click.option('--batch-size', type=POSITIVE, default=64, show_default=True, help='Molecules per batch.')
@click.option(
    '--lr',
    type=POSITIVE_FLOAT,
    default=1e-3,
    show_default=True,
    help='Learning rate of the optimiser.',
)
@click.option('--hidden', type=Integer(min=2), help='Width (default 128 for 2d, 64 for 3d).')
@click.option('--depth', type=POSITIVE, help='Message-passing steps / interactions (default 3 / 4).')
@click.option('--patience', type=POSITIVE, default=15, show_default=True, help='Early stopping epochs.')
@THREADS_OPTION
@click.option('--out', required=True, type=click.Path(file_okay=False, path_type=Path), help='Checkpoint directory.')
@FORCE_OPTION
def cmd_train(
    path,
    kind,
    targets,
    model,
    members,
    split,
    time_budget,
    limit,
    seed,
    epochs,
    batch_size,
    lr,
    hidden,
    depth,
    patience,
    threads,
    out,
    force,
) -> None:
    """Train an ensemble of M networks and save it as a checkpoint in --out (with a test parity plot).

    Examples: `ml train --out qm9-gap --time-budget 3600`;
    `ml train --data xtb-labels labels/ --targets gap,homo,lumo,zn_exchange_energy --out xtb-model`.
    """
    from ..ml.models.data import DataError, load_dataset
    from ..ml.models.train import TrainSettings, train_ensemble

    if kind != 'qm9' and path is None:
        echo.echo_critical(f'--data {kind} reads a file or folder: give its PATH')
    check_output_folder(out, inputs=[path], force=force)  # before hours of training, not after
    _threads(threads)
    try:
        settings = TrainSettings(
            model=model,
            hidden=hidden,
            depth=depth,
            ensemble=members,
            split=split,
            seed=seed,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            patience=patience,
            time_budget_s=time_budget,
        )
        echo.echo_report(
            f'reading {kind} {path or "(installed)"}' + (f', at most {limit:,} molecules' if limit else '')
        )
        data = load_dataset(kind, path, targets, limit, with_geometry=model == '3d')
        result = train_ensemble(data, settings, out, log=echo.echo)
    except (DataError, ValueError) as error:
        echo.echo_critical(str(error))
    echo.echo_success(f'checkpoint {out}  hash {result.checkpoint_hash}')
    if 'test' in result.metrics:
        from ..ml.models.evaluate import format_metrics

        echo.echo(format_metrics(result.metrics['test'], result.ensemble.units))


@cmd_ml.command('evaluate')
@CHECKPOINT_DIR
@click.option(
    '--split',
    type=click.Choice(['test', 'val', 'train']),
    default='test',
    show_default=True,
    help='Which split of the checkpoint to evaluate on.',
)
@click.option(
    '--plot', type=click.Path(dir_okay=False, path_type=Path), help='Parity PNG (default DIR/parity_SPLIT.png).'
)
@THREADS_OPTION
def cmd_evaluate(directory, split, plot, threads) -> None:
    """Metrics (MAE, RMSE, R2 per target) of the checkpoint DIRECTORY on its split, and a parity plot.

    The training data are read again as the checkpoint records them; they must be unchanged.
    """
    from ..ml.models.data import DataError
    from ..ml.models.ensemble import CheckpointError
    from ..ml.models.evaluate import evaluate_checkpoint, format_metrics

    _refuse_shipped(directory)  # evaluation.json and the plot are written into DIRECTORY
    if plot is not None:
        check_output_paths([plot], inputs=[directory], force=True, option='--plot')
    _threads(threads)
    try:
        result = evaluate_checkpoint(directory, split, plot)
    except (CheckpointError, DataError) as error:
        echo.echo_critical(str(error))
    from ..ml.database.schema import PROPERTIES

    units = {name: PROPERTIES.get(name, ('', ''))[0] for name in result['metrics']}
    echo.echo(f'{directory} (hash {result["checkpoint_hash"][:16]}), {split} split, {result["n"]:,} molecules')
    echo.echo(format_metrics(result['metrics'], units))
    echo.echo_success(f'parity plot {result["plot"]}')


@cmd_ml.command('calibrate')
@CHECKPOINT_DIR
@THREADS_OPTION
def cmd_calibrate(directory, threads) -> None:
    """Calibrate the ensemble spread of the checkpoint DIRECTORY on its validation split (writes uncertainty.json).

    One scale factor per target makes the 95 % interval cover 95 % of the validation errors; the coverage of the
    68 % and 95 % intervals on the test split is printed before and after. The gnn screener reads the file.
    """
    from ..ml.models.data import DataError
    from ..ml.models.ensemble import CheckpointError
    from ..ml.models.uncertainty import calibrate_checkpoint

    _refuse_shipped(directory)  # uncertainty.json is written into DIRECTORY
    _threads(threads)
    try:
        result = calibrate_checkpoint(directory)
    except (CheckpointError, DataError) as error:
        echo.echo_critical(str(error))
    echo.echo(
        f'{directory} (hash {result["checkpoint_hash"][:16]}): {result["n_val"]} validation, {result["n_test"]} test'
    )
    echo.echo(f'{"target":<40}{"scale":>7}  test coverage 68% / 95%: raw -> calibrated')
    for name, entry in result['targets'].items():
        raw, calibrated = entry['test_coverage_raw'], entry['test_coverage_calibrated']
        echo.echo(
            f'{name:<40}{entry["scale"]:>7.2f}  {raw["68%"]:.2f} / {raw["95%"]:.2f} -> '
            f'{calibrated["68%"]:.2f} / {calibrated["95%"]:.2f}'
        )
    echo.echo_success(f'{directory}/uncertainty.json')


@cmd_ml.command('predict')
@CHECKPOINT_DIR
@click.argument('smiles', nargs=-1)
@click.option(
    '--file',
    'file',
    type=click.File('rb'),
    help='SMILES file: a SMILES a line (a name may follow), or a CSV/TSV with a smiles column; `-` for stdin.',
)
@click.option('--batch-size', type=POSITIVE, default=1024, show_default=True, help='Molecules per batch.')
@THREADS_OPTION
def cmd_predict(directory, smiles, file, batch_size, threads) -> None:
    """Predictions ± ensemble std of the checkpoint DIRECTORY for SMILES (arguments or --file).

    One tab-separated line per molecule; its last column, `warning`, says where the model is asked outside what it
    was trained on: a salt or mixture (predicted for its largest fragment), a metal, an element not in the training
    data, a radical. A SMILES that is refused (whitespace, control characters, over 500 characters, a line that is
    not UTF-8) or cannot be read is reported with its argument or line number and reason (on stderr) and the others
    are still predicted; the exit status is 1 when any could not be.
    """
    from ..ml.models.ensemble import CheckpointError, load_checkpoint
    from .molecule_input import MoleculeInputError, check_smiles_arguments, read_smiles_handle, report_rejected, shown

    if not smiles and file is None:
        echo.echo_critical('give SMILES as arguments or --file')
    molecules = check_smiles_arguments(smiles)
    if file is not None:
        name = getattr(file, 'name', None)  # a real file's path; stdin has '<stdin>' or, in a test runner, none
        label = name if isinstance(name, str) and name not in {'<stdin>', '-'} else 'stdin'
        try:
            molecules.extend(read_smiles_handle(file, label))
        except MoleculeInputError as error:
            echo.echo_critical(error.message)
    report_rejected(molecules.rejected)  # all of them: stdout is the table, so stderr takes the full list
    _threads(threads)
    try:
        ensemble = load_checkpoint(directory)
    except CheckpointError as error:
        echo.echo_critical(str(error))
    training_elements = set(ensemble.config.get('training_elements', []))
    units = ensemble.units
    click.echo('\t'.join(['smiles', *(f'{name} ({units[name]})' for name in ensemble.target_names), 'warning']))
    failed = len(molecules.rejected)
    predictions = ensemble.predict_smiles(molecules.smiles, batch_size=batch_size)
    for molecule, prediction in zip(molecules.molecules, predictions, strict=True):
        if prediction.values is None:
            failed += 1
            echo.echo_warning(f'{molecule.where}: {shown(molecule.smiles)}: {prediction.reason}', err=True)
            continue
        cells = []
        for name in ensemble.target_names:
            sigma = prediction.std[name]
            spread = '' if sigma is None or math.isnan(sigma) else f' ± {sigma:.3f}'
            cells.append(f'{prediction.values[name]:.3f}{spread}')
        warning = '; '.join(domain_warnings(molecule.smiles, training_elements))
        click.echo('\t'.join([prediction.smiles, *cells, warning]))
    if failed:
        echo.echo_warning(f'{failed} SMILES could not be predicted', err=True)
        sys.exit(1)


#: Elements that are not metals; every other element of a molecule is a metal (alkali, zinc, transition metals...).
NON_METALS = frozenset(
    {'H', 'He', 'B', 'C', 'N', 'O', 'F', 'Ne', 'Si', 'P', 'S', 'Cl', 'Ar', 'Ge', 'As', 'Se', 'Br', 'Kr', 'Sb', 'Te'}
    | {'I', 'Xe', 'At', 'Rn'}
)


def domain_warnings(smiles: str, training_elements: set[str]) -> list[str]:
    """Why a prediction for ``smiles`` is outside what the models saw: the training data (QM9, the xTB labels) hold
    single closed-shell molecules of ``training_elements`` (the checkpoint's config; empty: not recorded), while the
    featuriser quietly keeps the largest fragment of a salt and encodes any element as `other`."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog('rdApp.*')  # a failed parse is the prediction's own reason, printed once
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return []
    found = []
    fragments = Chem.GetMolFrags(mol, asMols=True)
    if len(fragments) > 1:
        largest = max(fragments, key=lambda fragment: fragment.GetNumHeavyAtoms())
        found.append(f'salt or mixture: predicted for its largest fragment {Chem.MolToSmiles(largest)} only')
    elements = {atom.GetSymbol() for atom in mol.GetAtoms()}
    metals = sorted(elements - NON_METALS)
    if metals:
        found.append(f'metal {", ".join(metals)}: the models are trained on organic molecules')
    unknown = sorted(elements - training_elements - {'H'} - set(metals)) if training_elements else []
    if unknown:
        known = ', '.join(sorted(training_elements))
        found.append(f'element(s) {", ".join(unknown)} not in the training data ({known})')
    radicals = sum(atom.GetNumRadicalElectrons() for atom in mol.GetAtoms())
    if radicals:
        found.append(f'radical ({radicals} unpaired electron(s)): the training data are closed-shell molecules')
    return found
