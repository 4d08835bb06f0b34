"""``aiida-znadditive gen``: run a generator (``znadditive.generators``) and judge what it generated."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import click
from aiida.cmdline.utils import echo

from .outputs import FORCE_OPTION, check_output_paths
from .params import COUNT, POSITIVE, POSITIVE_FLOAT, SEED, OptionalFloat, OptionalInt
from .root import THREADS_OPTION, cmd_root

# Named here, not imported, so that ``--help`` stays free of RDKit; a test keeps them equal to the registry's.
SELECTIONS = ('scalar', 'pareto')
SCALARISATIONS = ('geometric', 'sum')


@cmd_root.group('gen')
def cmd_gen() -> None:
    """Generate candidate additives (graph GA, REINVENT on a SELFIES language model, random library baseline),
    pretrain that language model, and compute generation metrics."""


@cmd_gen.command('list')
def cmd_list() -> None:
    """The registered generators with their versions."""
    from ..ml.generators import generator_names, load_generator

    for name in generator_names():
        generator = load_generator(name)
        echo.echo(f'{name:<10} {generator.version}')


@cmd_gen.command('run')
@click.option('--generator', 'generator_name', default='ga', show_default=True, help='Generator entry point.')
@click.option(
    '--objective',
    'objective_specs',
    multiple=True,
    help='SCORER[:KEY][,weight=W][,kind=larger|smaller|window,low=L,high=H][,set.NAME=V]; repeatable. '
    'Default: the ZIB objective (the mechanisms screener, with the calibrated Zn2+ exchange free energy and LUMO of '
    'the shipped zib_xtb model or --checkpoint; --rules-only: its descriptors alone, no model).',
)
@click.option(
    '--objectives-file', type=click.Path(dir_okay=False, exists=True, path_type=Path), help='YAML list of objectives.'
)
@click.option(
    '--checkpoint',
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help='gnn model checkpoint for the default objective (instead of the shipped zib_xtb) and for gnn objectives.',
)
@click.option('--rules-only', is_flag=True, help='Default objective without a gnn model: descriptors only.')
@click.option('--budget', type=COUNT, default=100, show_default=True, help='Scorer calls (molecules).')
@click.option('--seed', type=SEED, default=0, show_default=True, help='Random seed (same seed, same molecules).')
@click.option(
    '--selection',
    type=click.Choice(SELECTIONS),
    default='scalar',
    show_default=True,
    help='How the generator ranks molecules: one scalar fitness, or Pareto ranks over the objectives.',
)
@click.option(
    '--scalarisation',
    type=click.Choice(SCALARISATIONS),
    default='geometric',
    show_default=True,
    help='How several objectives become one fitness.',
)
@click.option(
    '--library',
    help="Starting molecules: moses, moses:test, qm9 or a SMILES file (default: moses); a file's refused lines are "
    'reported and the others used.',
)
@click.option('--setting', 'settings', multiple=True, help='Generator setting NAME=VALUE (YAML value); repeatable.')
@click.option('--elements', help="Allowed elements, comma-separated (default: the rules screener's).")
@click.option('--min-charge', type=OptionalInt(), default='-2', show_default=True, help='Lowest formal charge allowed.')
@click.option('--max-charge', type=OptionalInt(), default='1', show_default=True, help='Highest formal charge allowed.')
@click.option(
    '--min-heavy-atoms', type=OptionalInt(min=0), default='2', show_default=True, help='Fewest heavy atoms allowed.'
)
@click.option(
    '--max-heavy-atoms', type=OptionalInt(min=0), default='40', show_default=True, help='Most heavy atoms allowed.'
)
@click.option(
    '--logp-min', type=OptionalFloat(), default='none', show_default=True, help='Lowest Crippen logP allowed.'
)
@click.option('--logp-max', type=OptionalFloat(), default='3', show_default=True, help='Highest Crippen logP allowed.')
@click.option(
    '--sa-max',
    type=OptionalFloat(),
    default='4.5',
    show_default=True,
    help='Highest synthetic-accessibility score allowed (1 easy, 10 hard).',
)
@click.option('--top', type=COUNT, default=10, show_default=True, help='Best molecules to print.')
@click.option(
    '--out',
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help='Results CSV (not .json: the provenance goes to OUT with suffix .json).',
)
@FORCE_OPTION
def cmd_run(
    generator_name,
    objective_specs,
    objectives_file,
    checkpoint,
    rules_only,
    budget,
    seed,
    selection,
    scalarisation,
    library,
    settings,
    elements,
    min_charge,
    max_charge,
    min_heavy_atoms,
    max_heavy_atoms,
    logp_min,
    logp_max,
    sa_max,
    top,
    out,
    force,
) -> None:
    """Generate molecules under a budget of scorer calls and write every scored one to --out.

    The CSV has one row per scored molecule (call order): SMILES, status, fitness, Pareto rank, each objective's
    value and desirability, origin and parents; OUT with suffix .json records the provenance (generator, version,
    seed, objectives, constraints, stop reason). Examples:

    `gen run --budget 500 --seed 1 --out ga.csv`;
    `gen run --generator random --budget 500 --out random.csv`;
    `gen run --objective rules --objective qed,weight=0.5 --selection pareto --out pareto.csv`.
    """
    import yaml

    from ..ml.generators import Constraints, GeneratorError, load_generator
    from ..ml.generators.constraints import DEFAULT_ELEMENTS
    from ..ml.generators.objectives import load_objectives_file, parse_objective, zib_objectives
    from ..ml.generators.progress import GenerationProgress

    sidecar = provenance_path(out)
    check_output_paths([out, sidecar], inputs=[objectives_file, checkpoint, library], force=force)
    try:
        generator_settings = {}
        for item in settings:
            name, equals, value = item.partition('=')
            if not equals:
                raise GeneratorError(f'--setting {item!r} is not NAME=VALUE')
            generator_settings[name.strip()] = yaml.safe_load(value)
        check_seed_smiles(generator_settings.get('seed_smiles'))
        if library is not None:
            generator_settings['library'] = prepare_library(library, out, force)
        generator = load_generator(generator_name, **generator_settings)
        objectives = [parse_objective(spec, checkpoint) for spec in objective_specs]
        if objectives_file is not None:
            objectives += load_objectives_file(objectives_file, checkpoint)
        if not objectives:
            objectives = zib_objectives(None if rules_only else checkpoint or 'shipped')
        constraints = Constraints(
            elements=tuple(e.strip() for e in elements.split(',') if e.strip())
            if elements is not None
            else DEFAULT_ELEMENTS,
            min_charge=min_charge,
            max_charge=max_charge,
            min_heavy_atoms=min_heavy_atoms,
            max_heavy_atoms=max_heavy_atoms,
            logp_min=logp_min,
            logp_max=logp_max,
            sa_max=sa_max,
        )
        progress = GenerationProgress(generator_name, budget, lambda line: echo.echo_report(line, err=True))
        result = generator.generate(
            objectives,
            constraints,
            budget,
            seed,
            scalarisation=scalarisation,
            selection=selection,
            on_scored=progress,
        )
    except GeneratorError as error:
        echo.echo_critical(str(error))

    if not result.molecules:
        echo.echo_critical(f'no molecule scored: {result.stop_reason}')
    result.write_csv(out)
    # allow_nan=False: a NaN cannot reach the record any more (the options refuse it); if one did, fail loudly
    sidecar.write_text(json.dumps(result.provenance(), indent=1, default=str, allow_nan=False))
    scored, failed = len(result.scored), len(result.failed)
    echo.echo(
        f'{result.generator} {result.version}, seed {result.seed}: {result.calls} scorer calls '
        f'({scored} scored, {failed} failed, {result.cache_hits} repeats free) in {result.seconds:.1f} s'
    )
    echo.echo(f'stopped: {result.stop_reason}')
    if result.discarded:
        echo.echo(
            'discarded before scoring: ' + ', '.join(f'{count} {kind}' for kind, count in result.discarded.items())
        )
    best = result.best(top)
    if best:
        names = result.objective_names
        echo.echo(
            f'{"rank":>4} {"fitness":>8} {"pareto":>6}  ' + '  '.join(f'{name:>12}' for name in names) + '  smiles'
        )
        for position, molecule in enumerate(best, start=1):
            values = '  '.join(f'{_number(molecule.values[name]):>12}' for name in names)
            echo.echo(f'{position:>4} {molecule.fitness:>8.3f} {molecule.pareto_rank:>6}  {values}  {molecule.smiles}')
    echo.echo_success(f'{len(result.molecules)} molecules written to {out} (provenance: {sidecar})')
    if result.stopped_by in {'error', 'scorer'}:
        echo.echo_error(f'the run ended early: {result.stop_reason}')
        sys.exit(1)


def provenance_path(out: Path) -> Path:
    """OUT with suffix .json, the run's provenance; refused when it would be OUT itself."""
    if out.suffix.lower() == '.json':
        raise click.BadParameter(
            f'{out}: the results are a CSV and their provenance goes to OUT with suffix .json; give a name such as '
            f'{out.with_suffix(".csv")}',
            param_hint="'--out'",
        )
    return out.with_suffix('.json')


def check_seed_smiles(seed_smiles) -> None:
    """``--setting seed_smiles=[...]`` meets the rules of every SMILES argument (a usage error naming the item)."""
    from .molecule_input import check_smiles_arguments

    if seed_smiles is None:
        return
    if not isinstance(seed_smiles, list) or not all(isinstance(item, str) for item in seed_smiles):
        raise click.BadParameter('seed_smiles must be a YAML list of SMILES strings', param_hint="'--setting'")
    rejected = check_smiles_arguments(seed_smiles, 'seed_smiles item').rejected
    if rejected:
        message = '\n'.join(f'{item.where} {item.text}: {item.reason}' for item in rejected)
        raise click.BadParameter(message, param_hint="'--setting'")


def prepare_library(library: str, out: Path, force: bool) -> str:
    """The library to pass on: a name (moses, qm9, ...) as it is; a file read through the cleaning layer, its
    refused lines reported (all of them in OUT.rejected.tsv when there are many) and, when there are any, the others
    written to OUT.library.smi, which the run then reads (and its provenance names)."""
    from ..ml.generators.library import library_names
    from .molecule_input import TERMINAL_LIMIT, MoleculeInputError, read_smiles_file, report_rejected, write_smiles

    if library in library_names() or library.startswith('moses:'):
        return library  # the generator names an unknown MOSES split itself
    try:
        found = read_smiles_file(library)
    except MoleculeInputError as error:  # a missing or broken file: exit 1, as the generators' own errors
        echo.echo_critical(f'--library {error.message}')
    if not found.molecules:
        report_rejected(found.rejected)
        echo.echo_critical(f'--library {library}: no SMILES accepted')
    if not found.rejected:
        return library
    cleaned, summary = out.with_suffix('.library.smi'), out.with_suffix('.rejected.tsv')
    check_output_paths([cleaned, *([summary] if len(found.rejected) > TERMINAL_LIMIT else [])], [library], force)
    report_rejected(found.rejected, summary)
    write_smiles(found.molecules, cleaned)
    echo.echo_report(f'{len(found.molecules)} accepted molecules of {library} written to {cleaned} for this run')
    return str(cleaned)


def _number(value) -> str:
    return 'n/a' if value is None or (isinstance(value, float) and math.isnan(value)) else f'{value:.3f}'


@cmd_gen.command('metrics')
@click.argument('file', type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option('--reference', help='Reference set for SNN, Frag, Scaf: a SMILES file or moses:test, qm9, ...')
@click.option(
    '--reference-sample',
    type=POSITIVE,
    help='Use a seeded random sample of this many reference molecules (a MOSES split in full takes minutes).',
)
@click.option('--training', help='Training set for novelty: a SMILES file or moses, qm9, ... (MOSES train: minutes).')
@click.option('--no-3d', 'no_3d', is_flag=True, help='Skip the 3D plausibility (PoseBusters) checks.')
@click.option('--max-3d', type=POSITIVE, default=100, show_default=True, help='Molecules embedded.')
@click.option('--scaffold-min-rings', type=COUNT, default=2, show_default=True, help='MOSES: 2.')
@click.option('--seed', type=SEED, default=0, show_default=True, help='Seed of the 3D sample and embeddings.')
@click.option('--json', 'as_json', is_flag=True, help='Print the metrics as JSON.')
def cmd_metrics(file, reference, reference_sample, training, no_3d, max_3d, scaffold_min_rings, seed, as_json) -> None:
    """Validity, uniqueness, novelty, internal diversity, SNN/fragment/scaffold similarity, SA score and 3D
    plausibility of the SMILES in FILE (a .smi file, or a CSV with a `smiles` column such as `gen run` writes).

    Example: `gen metrics ga.csv --reference moses:test --reference-sample 5000 --training random.csv`.
    """
    from ..ml.generators import GeneratorError
    from ..ml.generators.metrics import compute_metrics, format_metrics

    try:
        generated = _molecules(str(file))
        reference_smiles = _molecules(reference) if reference else None
        training_smiles = _molecules(training) if training else None
    except GeneratorError as error:
        echo.echo_critical(str(error))
    if not generated:
        echo.echo_critical(f'{file}: no SMILES found')
    if reference_smiles is not None and reference_sample is not None and reference_sample < len(reference_smiles):
        import random

        reference_smiles = random.Random(seed).sample(reference_smiles, reference_sample)
    metrics = compute_metrics(
        generated,
        reference_smiles,
        training_smiles,
        conformers=not no_3d,
        max_3d=max_3d,
        seed=seed,
        scaffold_min_rings=scaffold_min_rings,
    )
    if as_json:
        click.echo(
            json.dumps({key: (None if math.isnan(value) else value) for key, value in metrics.items()}, indent=1)
        )
        return
    click.echo(format_metrics(metrics))


def _molecules(library: str) -> list[str]:
    """The SMILES of a library name (moses, qm9, ...) or of a file read through the cleaning layer, whose refused
    lines are reported with their numbers (they are not SMILES, so they count in no metric)."""
    from ..ml.generators.library import library_names, read_library
    from .molecule_input import MoleculeInputError, read_smiles_file, report_rejected

    if library in library_names() or library.startswith('moses:'):
        return read_library(library)
    try:
        found = read_smiles_file(library)
    except MoleculeInputError as error:
        echo.echo_critical(error.message)
    report_rejected(found.rejected)
    return found.smiles


@cmd_gen.command('pretrain')
@click.option(
    '--library',
    default='moses',
    show_default=True,
    help='Training molecules: moses (the MOSES training split), moses:test, qm9 or a SMILES file.',
)
@click.option(
    '--limit',
    type=COUNT,
    default=250_000,
    show_default=True,
    help='Molecules used: a seeded sample of the library; 0 for all of it (MOSES: 1.58M, minutes to encode).',
)
@click.option('--time-budget', type=POSITIVE_FLOAT, help='Training wall-clock limit (s).')
@click.option('--epochs', type=POSITIVE, default=10, show_default=True, help='Most passes over the data.')
@click.option('--seed', type=SEED, default=0, show_default=True, help='Seed of the sample, split, weights and order.')
@click.option('--embedding', type=POSITIVE, default=64, show_default=True, help='Token embedding width.')
@click.option('--hidden', type=POSITIVE, default=256, show_default=True, help='GRU width.')
@click.option('--layers', type=POSITIVE, default=3, show_default=True, help='GRU layers.')
@click.option('--max-tokens', type=POSITIVE, default=100, show_default=True, help='Longest SELFIES kept.')
@click.option('--batch-size', type=POSITIVE, default=128, show_default=True, help='Molecules per training batch.')
@click.option(
    '--lr',
    type=POSITIVE_FLOAT,
    default=1e-3,
    show_default=True,
    help='Learning rate of the optimiser.',
)
@THREADS_OPTION
@click.option(
    '--out',
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help='Checkpoint file, outside the package (the shipped model is never replaced); the record goes to OUT.json.',
)
@FORCE_OPTION
def cmd_pretrain(
    library,
    limit,
    time_budget,
    epochs,
    seed,
    embedding,
    hidden,
    layers,
    max_tokens,
    batch_size,
    lr,
    threads,
    out,
    force,
) -> None:
    """Pretrain the SELFIES language model of the `reinvent` generator and save it as a checkpoint.

    Progress lines give the validation NLL (nats per molecule) and molecules/s. OUT.json records the data, what was
    skipped, the final validation NLL, the seconds, the library versions and the checkpoint's sha256. Examples:
    `gen pretrain --time-budget 1800 --out lm/model.pt`;
    `gen pretrain --library qm9 --limit 0 --epochs 5 --out qm9-lm.pt`.
    """
    import random

    from ..environment.cores import set_torch_threads
    from ..ml.generators import GeneratorError
    from ..ml.generators.library import read_library, sample_library
    from ..ml.generators.lm import LMSettings, pretrain

    sidecar = provenance_path(out)
    check_output_paths([out, sidecar], inputs=[library], force=force)
    library_used = prepare_library(library, out, force)
    echo.echo_report(set_torch_threads(threads), err=True)  # stderr: stdout may be a table a pipe reads
    try:
        settings = LMSettings(
            embedding=embedding,
            hidden=hidden,
            layers=layers,
            max_tokens=max_tokens,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=lr,
        )
        echo.echo_report(f'reading {library}' + (f', a sample of {limit:,} molecules' if limit else ', all molecules'))
        smiles = sample_library(library_used, limit, random.Random(seed)) if limit else read_library(library_used)
        model = pretrain(smiles, settings, time_budget_s=time_budget, seed=seed, log=echo.echo)
    except GeneratorError as error:
        echo.echo_critical(str(error))
    model.record['data'] = {'library': str(library), 'limit': limit or None, 'sampled': len(smiles)}
    digest = model.save(out)
    sidecar.write_text(json.dumps({'checkpoint': str(out), 'sha256': digest, **model.record}, indent=1))
    echo.echo_success(
        f'checkpoint {out} (sha256 {digest[:16]}), validation NLL {model.record["validation_nll"]:.2f}; '
        f'record: {sidecar}'
    )
