"""A small additive-discovery campaign, end to end: generate, record, promote, compute.

1. **generate**: a generator (default the graph GA) proposes molecules under the ZIB objective
   (:func:`~aiida_znadditive.ml.generators.objectives.zib_objectives`: the ``mechanisms`` screener's score, each
   published additive mechanism judged on the species at pH 4.5, with the shipped GFN2-level ``gnn`` model's
   calibrated Zn2+ exchange free energy and LUMO) within a budget of scorer calls; every scored molecule goes to
   ``OUT/generated.csv`` with its provenance in ``OUT/generated.json``;
2. **record**: those molecules enter the meta-database in ``OUT/molecules`` as the source ``generated:<generator>``
   (importer ``generated``), like molecules of any other source;
3. **promote**: the ``promote`` best molecules with a fitness above 0 become candidate nodes (calcfunction
   ``znadditive.promote_candidate``), in the group ``znadditive/candidates/<label>``; the provenance node of their
   "screener" names the generator (entry point group ``znadditive.generators``), its version, seed, budget and
   objectives, and the ``gnn`` checkpoint's hash;
4. **compute**: ``CampaignWorkChain`` (:mod:`~aiida_znadditive.workchains.campaign`) for the ``top_k`` best
   candidates the complexation protocol accepts, run in this process or submitted to the daemon: it submits a
   ``ZnComplexationWorkChain`` per candidate (reusing one that finished before with the same inputs), goes on past
   a failing one and ranks the candidates in the calcfunction ``rank_candidates``; each complexation's ``smiles``
   input is the promotion's output, so the graph runs from the generator's record to the DFT exchange energy.

What it prints and returns: the funnel (molecules scored, with fitness > 0, promoted, WorkChains run, finished), and
for each computed candidate the fitness, the GNN's predicted exchange energy (GFN2 level) and the WorkChain's
exchange energies (DFT, gas and C-PCM water). :func:`plot_campaign` draws the funnel and that comparison.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path

from ..analysis.ranking import predicted_exchange
from ..ml.generators import Constraints, GeneratorError, load_generator
from ..ml.generators.objectives import zib_objectives
from ..ml.generators.progress import GenerationProgress
from ..ml.generators.scoring import GenerationResult
from ..ml.screeners.base import Screener

CANDIDATE_GROUP = 'campaign'


@dataclasses.dataclass
class CampaignSettings:
    """What a campaign runs; every field is a command-line option of ``aiida-znadditive campaign``."""

    generator: str = 'ga'
    budget: int = 300
    seed: int = 0
    promote: int = 10
    top_k: int = 2
    protocol: str = 'fast'
    checkpoint: str | None = 'shipped'
    label: str = CANDIDATE_GROUP
    #: Size ceiling of generated molecules (the generator's constraint): DFT time grows steeply with the ligand's
    #: size, so a campaign that runs the complexation WorkChain here keeps its candidates small.
    max_heavy_atoms: int = 40
    generator_settings: dict = dataclasses.field(default_factory=dict)
    #: scheduler options for every calculation of every child (queue, walltime, resources); None: the protocols'
    options: dict | None = None


@dataclasses.dataclass
class ComputedCandidate:
    """One candidate sent to the complexation WorkChain and what came back."""

    smiles: str
    fitness: float
    predicted_exchange: float | None
    candidate_pk: int
    workchain_pk: int | None = None
    exit_status: int | None = None
    exchange_energy: float | None = None
    exchange_energy_solvated: float | None = None
    binding_mode: str | None = None
    seconds: float = 0.0
    error: str | None = None


@dataclasses.dataclass
class CampaignResult:
    generation: GenerationResult
    promoted: list = dataclasses.field(default_factory=list)
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    computed: list[ComputedCandidate] = dataclasses.field(default_factory=list)
    database_rows: int = 0
    #: rows of the campaign's finished complexations in the meta-database (written now or already there)
    computed_rows: int = 0
    workchain: object = None  # the CampaignWorkChain's node

    def funnel(self) -> list[tuple[str, int]]:
        scored = self.generation.scored
        return [
            ('scored by the generator', len(scored)),
            ('fitness > 0 (passed rules and gnn window)', sum(1 for molecule in scored if molecule.fitness > 0)),
            ('promoted to candidate nodes', len(self.promoted)),
            ('candidates sent to complexation', len(self.computed)),
            ('finished with an exchange energy', sum(1 for item in self.computed if item.exit_status == 0)),
        ]


def generator_provenance(result: GenerationResult, checkpoint_hash: str | None) -> dict:
    """The promotion's "screener" record for molecules a generator picked: the generator's entry point and version,
    the run's seed, budget, objectives and constraints as its settings, and how many molecules it scored and how
    many scored above zero (the first steps of the campaign's funnel, which the report draws)."""
    return {
        'screener': result.generator,
        'version': result.version,
        'entry_point_group': 'znadditive.generators',
        'checkpoint_hash': checkpoint_hash,
        'run': {
            'scored': len(result.scored),
            'fitness_above_zero': sum(1 for molecule in result.scored if molecule.fitness > 0),
        },
        'settings': {
            'seed': result.seed,
            'budget': result.budget,
            'objectives': result.objectives,
            'constraints': result.constraints,
            'scalarisation': result.scalarisation,
        },
    }


def generate(
    settings: CampaignSettings, out: Path, log: Callable[[str], None] = print
) -> tuple[GenerationResult, str | None]:
    """Step 1: the generator's run, written to ``out/generated.csv`` (+ ``.json``); the gnn checkpoint hash. A
    progress line goes to ``log`` every 10 s (scorer calls, rate, best so far, time left)."""
    objectives = zib_objectives(settings.checkpoint)
    # The gnn objectives carry their loaded screener; an entry-point name (rules) is built later by the budget, once.
    hashes = [o.scorer.provenance().get('checkpoint_hash') for o in objectives if isinstance(o.scorer, Screener)]
    checkpoint_hash = next((value for value in hashes if value), None)
    generator = load_generator(settings.generator, **settings.generator_settings)
    constraints = Constraints(max_heavy_atoms=settings.max_heavy_atoms)
    progress = GenerationProgress(settings.generator, settings.budget, log)
    result = generator.generate(objectives, constraints, budget=settings.budget, seed=settings.seed, on_scored=progress)
    out.mkdir(parents=True, exist_ok=True)
    result.write_csv(out / 'generated.csv')
    (out / 'generated.json').write_text(json.dumps(result.provenance(), indent=1, default=str))
    return result, checkpoint_hash


def record(out: Path) -> int:
    """Step 2: the generated molecules into the meta-database ``out/molecules``; the rows it holds of this run.

    A rerun of the same campaign adds none (imports are keyed by source, version and id), so the count is of the rows
    written now plus those already there, not a second copy of each.
    """
    from ..ml.database.store import MetaDatabase

    report = MetaDatabase(out / 'molecules').import_source('generated', out / 'generated.csv', progress=False)
    return report.rows_written + report.rows_present


def record_results(out: Path, workchain) -> int:
    """The campaign's finished complexations into the meta-database ``out/molecules`` (source ``znadditive-aiida``,
    keyed by WorkChain UUID); their rows there, written now or by an earlier run. The campaign's group holds the
    children it reused as well as those it called, so a campaign that recomputed nothing still records them."""
    from ..workchains.campaign import campaign_group_label
    from .results import finished_complexations, import_results

    children = finished_complexations(campaign_group_label(workchain))
    import_results(out / 'molecules', children, progress=False)  # a rerun writes none: keyed by WorkChain UUID
    return len(children)


def promote_best(result: GenerationResult, checkpoint_hash: str | None, settings: CampaignSettings) -> list:
    """Step 3: the ``settings.promote`` best molecules with fitness > 0 as candidate nodes (best first)."""
    from ..ml.screeners.base import Screening
    from .promotion import promote

    best = [molecule for molecule in result.best(settings.promote, by='fitness') if molecule.fitness > 0]
    screenings = [
        Screening(smiles=molecule.smiles, passed=True, score=molecule.fitness, predictions=dict(molecule.predictions))
        for molecule in best
    ]
    return promote(screenings, generator_provenance(result, checkpoint_hash), settings.label)


def campaign_builder(candidates: list, settings: CampaignSettings, prerank_code, dft_code):
    """Step 4's WorkChain: ``CampaignWorkChain`` for the ``settings.top_k`` best candidates the complexation protocol
    accepts (a refused one, too large or without a donor, is skipped with its reason and the next one taken).

    :return: ``(builder, skipped)``; the builder is None when no candidate is left.
    """
    from ..workchains.campaign import CampaignWorkChain
    from .promotion import complexation_builders

    builders, skipped = complexation_builders(
        candidates, settings.top_k, prerank_code, dft_code, protocol=settings.protocol
    )
    skipped = [(candidate['smiles'], reason) for candidate, reason in skipped]
    if not builders:
        return None, skipped
    chosen = {f'c{index}': candidate for index, (candidate, _) in enumerate(builders)}
    overrides = {
        'top_k': len(chosen),
        'complexation': {'protocol': settings.protocol},
        # no adsorption stage here (it needs CP2K on a Zn slab): the ranking is by Zn2+ binding alone
        'weights': {'adsorption': 0.0},
    }
    builder = CampaignWorkChain.get_builder_from_protocol(
        chosen, prerank_code, dft_code, overrides=overrides, options=settings.options
    )
    builder.metadata.label = f'campaign {settings.label}'
    return builder, skipped


def computed_candidates(node) -> list[ComputedCandidate]:
    """What the finished CampaignWorkChain ``node`` computed for each of its candidates, in the ranking's order."""
    from aiida import orm
    from aiida.common.links import LinkType

    ranking = node.outputs.ranking.get_dict() if 'ranking' in node.outputs else {'rows': [], 'failures': {}}
    failures = ranking.get('failures', {}).get('complexation', {})
    computed = []
    for row in ranking['rows']:
        candidate = orm.load_node(row['candidate_uuid'])  # the ranking names the candidate node of each row
        item = ComputedCandidate(
            smiles=row['smiles'],
            fitness=candidate['score'],
            predicted_exchange=predicted_exchange(candidate['predictions']),
            candidate_pk=candidate.pk,
            error=failures.get(row['key']),
        )
        binding = row['terms'].get('binding')
        if binding:
            workchain = orm.load_node(binding['uuid']).base.links.get_incoming(link_type=LinkType.RETURN).one().node
            outputs = workchain.outputs
            item.workchain_pk, item.exit_status = workchain.pk, workchain.exit_status
            item.exchange_energy = outputs.exchange_energy.value
            if 'exchange_energy_solvated' in outputs:
                item.exchange_energy_solvated = outputs.exchange_energy_solvated.value
            item.binding_mode = outputs.binding_mode['label'] if 'binding_mode' in outputs else None
            item.seconds = (workchain.mtime - workchain.ctime).total_seconds()
        computed.append(item)
    return computed


def plot_campaign(result: CampaignResult, path: Path) -> Path:
    """The funnel (left) and, for the computed candidates, the GNN's predicted (GFN2) against the WorkChain's DFT
    exchange energy (right)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={'width_ratios': [1.3, 1]})
    funnel = result.funnel()
    labels = [label for label, _ in funnel]
    counts = [count for _, count in funnel]
    bars = left.barh(range(len(counts)), counts, color='tab:blue')
    left.set_yticks(range(len(counts)), labels)
    left.invert_yaxis()
    left.set_xscale('symlog', linthresh=1)
    # room on the right of the longest bar for its count
    left.set_xlim(0, 4 * max(counts, default=1))
    left.bar_label(bars, [str(count) for count in counts], padding=3)
    left.set_title(f'Campaign funnel ({result.generation.generator}, seed {result.generation.seed})')
    done = [item for item in result.computed if item.exchange_energy_solvated is not None]
    for item in done:
        predicted = item.predicted_exchange if item.predicted_exchange is not None else float('nan')
        right.scatter(predicted, item.exchange_energy_solvated, color='tab:red')
        right.annotate(
            item.smiles,
            (predicted, item.exchange_energy_solvated),
            fontsize=7,
            xytext=(3, 3),
            textcoords='offset points',
        )
    right.axhline(0.0, color='grey', lw=0.8)
    right.set_xlabel('predicted exchange free energy (eV)\nGNN on calibrated GFN2-xTB labels')
    right.set_ylabel('exchange energy (eV)\nDFT in C-PCM water')
    right.set_title('Computed candidates' if done else 'No candidate computed')
    figure.tight_layout()
    figure.savefig(path, dpi=150, bbox_inches='tight')
    plt.close(figure)
    return path


def run_campaign(
    settings: CampaignSettings,
    out: Path,
    prerank_code,
    dft_code,
    log: Callable[[str], None] = print,
    *,
    submit: bool = False,
) -> CampaignResult:
    """The four steps of the module docstring; the result of each is kept in the returned :class:`CampaignResult`."""
    started = time.perf_counter()
    generation, checkpoint_hash = generate(settings, Path(out), log)
    log(
        f'generated: {generation.calls} scorer calls in {generation.seconds:.1f} s, {generation.stop_reason}; '
        f'gnn checkpoint {checkpoint_hash[:12] if checkpoint_hash else "none"}'
    )
    if not generation.scored:
        raise GeneratorError(f'the campaign stopped before promotion, no molecule scored: {generation.stop_reason}')
    result = CampaignResult(generation=generation)
    result.database_rows = record(Path(out))
    log(f'meta-database {Path(out) / "molecules"}: {result.database_rows} generated molecules recorded')
    result.promoted = promote_best(generation, checkpoint_hash, settings)
    log(f'promoted {len(result.promoted)} candidates to znadditive/candidates/{settings.label}')
    if result.promoted and settings.top_k > 0:
        builder, result.skipped = campaign_builder(result.promoted, settings, prerank_code, dft_code)
        for smiles, reason in result.skipped:
            log(f'skipped {smiles}: {reason}')
        if builder is not None:
            result.workchain = launch(builder, submit, log)
            if not submit:
                result.computed = computed_candidates(result.workchain)
                result.computed_rows = record_results(Path(out), result.workchain)
                log(f'meta-database {Path(out) / "molecules"}: {result.computed_rows} computed results recorded')
    log(f'campaign done in {time.perf_counter() - started:.0f} s')
    return result


def launch(builder, submit: bool, log: Callable[[str], None]):
    """Submit ``builder`` to the daemon, or run it in this process; the WorkChain's node."""
    from aiida.engine import run_get_node
    from aiida.engine import submit as submit_to_daemon

    candidates = len(builder.candidates)
    if submit:
        node = submit_to_daemon(builder)
        log(f'submitted CampaignWorkChain<{node.pk}> ({candidates} candidates): campaign status {node.pk}')
        return node
    log(f'running CampaignWorkChain for {candidates} candidates in this process (children one after another)')
    _, node = run_get_node(builder)
    log(f'CampaignWorkChain<{node.pk}> {node.process_state.value}, exit status {node.exit_status}')
    return node
