"""Benchmark: sample efficiency of the generators on the ZIB objective, beside the random-library baseline.

Usage (from the repository root)::

    .venv/bin/python benchmarks/generation_efficiency.py                                  # ga, random; 2k and 10k
    .venv/bin/python benchmarks/generation_efficiency.py --generators ga,random,reinvent --seeds 0,1,2
    .venv/bin/python benchmarks/generation_efficiency.py --budgets 200 --seeds 0 --checkpoint none   # mechanics
    .venv/bin/python benchmarks/generation_efficiency.py --reread DIR   # the table and figure of a finished run again

For each generator, each budget (``--budgets``, default 2,000 and 10,000 scorer calls) and each seed, one run of
``Generator.generate`` on the ZIB objective (:func:`~aiida_znadditive.ml.generators.objectives.zib_objectives`:
the ``mechanisms`` screener's score, with a ``gnn`` checkpoint's calibrated Zn2+ exchange free energy and LUMO) under
the default constraints; every budget is its own run, because a generator may plan with its budget (the GA scores
up to a third of it as its first population). Printed per generator and budget: the mean of the top-10 fitness
values (mean ± standard deviation over seeds), the top-1, the area under the top-10-mean curve over the calls
divided by the budget (AUC top-10, as in Gao et al., "Sample efficiency matters", NeurIPS 2022: it rewards
finding good molecules early), the top-100 mean, how many molecules reached fitness 0.99 (the objective's ceiling is
1: a product of desirabilities that are 1 once each target is met) and after how many calls the top-10 mean did, the
share of calls that failed, and the speed: scored molecules per second of wall
clock (scorer included) and the scorer's share of it. Saved to ``--out``: ``efficiency.png`` (top-10 mean against
scorer calls, largest budget, mean over seeds with the min-max band), ``summary.json`` and the molecules of every run
as CSV.

``--checkpoint`` names the ``gnn`` model (default ``shipped``: the shipped ZIB model, ``aiida_znadditive/ml/shipped/
zib_xtb``; ``none``: the ``rules`` score alone, which saturates at 1.0 for many molecules and so ranks poorly).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from aiida_znadditive.ml.generators import Constraints, load_generator
from aiida_znadditive.ml.generators.objectives import zib_objectives

TOP = 10
SATURATED = 0.99  # fitness counted as the objective's ceiling (every desirability met)


def top_mean_curve(fitness_by_call: list[float | None], top: int = TOP) -> np.ndarray:
    """Mean of the ``top`` best fitness values among the first k calls, for k = 1..calls (failed calls count 0;
    fewer than ``top`` molecules so far count as 0, so a curve starts low, as in the PMO benchmark)."""
    best: list[float] = []
    curve = np.zeros(len(fitness_by_call))
    for index, fitness in enumerate(fitness_by_call):
        best.append(0.0 if fitness is None else float(fitness))
        best.sort(reverse=True)
        del best[top:]
        curve[index] = sum(best) / top
    return curve


class TimedObjectives:
    """Wraps every objective's scorer so that the seconds spent scoring are counted (the generator's own share of
    the wall clock is the rest)."""

    def __init__(self, objectives) -> None:
        self.seconds = 0.0
        self.objectives = objectives
        wrapped: set[int] = set()
        for objective in objectives:
            scorer = objective.build_scorer()
            objective.scorer = scorer
            if id(scorer) in wrapped:  # objectives sharing one scorer: time it once
                continue
            wrapped.add(id(scorer))
            screen = scorer.screen

            def timed(smiles, rows=None, screen=screen):
                started = time.perf_counter()
                try:
                    return screen(smiles, rows)
                finally:
                    self.seconds += time.perf_counter() - started

            scorer.screen = timed


def cation_share(smiles: list[str], ph: float = 4.5) -> float:
    """The share of ``smiles`` whose species at ``ph`` is a cation (an ammonium that binds no Zn2+)."""
    from aiida_znadditive.structures.speciation import SpeciationError, speciate

    charges = []
    for text in smiles:
        try:
            charges.append(speciate(text, ph).charge)
        except SpeciationError:
            continue
    return sum(charge > 0 for charge in charges) / max(len(charges), 1)


def proposed_sample(result, n: int, seed: int) -> list[str]:
    """Up to ``n`` distinct scored SMILES of ``result``, drawn with ``seed``."""
    import random

    smiles = sorted({m.smiles for m in result.molecules if m.fitness is not None})
    return random.Random(seed).sample(smiles, min(n, len(smiles)))


def known_additive_fitness(checkpoint: str | None) -> dict[str, float]:
    """The ZIB fitness of each known additive of data/benchmarks/known_additives.csv."""
    import csv

    from aiida_znadditive.ml.generators.scoring import ScorerBudget

    path = Path(__file__).resolve().parents[1] / 'data' / 'benchmarks' / 'known_additives.csv'
    with path.open(newline='') as handle:
        known = {row['name']: row['smiles'] for row in csv.DictReader(handle)}
    scored = ScorerBudget(zib_objectives(checkpoint), budget=len(known)).score(list(known.values()))
    return {name: (record.fitness or 0.0) if record else 0.0 for name, record in zip(known, scored, strict=True)}


def run_one(name: str, budget: int, seed: int, checkpoint: str | None, settings: dict, *, known=None) -> dict:
    timed = TimedObjectives(zib_objectives(checkpoint))
    generator = load_generator(name, **settings.get(name, {}))
    started = time.perf_counter()
    result = generator.generate(timed.objectives, Constraints(), budget=budget, seed=seed)
    wall = time.perf_counter() - started
    fitness = [molecule.fitness for molecule in result.molecules]
    calls = len(fitness)
    generated = sorted((f for f in fitness if f is not None), reverse=True)
    # Where each known additive would rank among this run's molecules (1: above all of them).
    known_ranks = {k: 1 + sum(f > value for f in generated) for k, value in (known or {}).items()}
    return {
        'generator': name,
        'version': result.version,
        'budget': budget,
        'seed': seed,
        'calls': calls,
        'stopped_by': result.stopped_by,
        'stop_reason': result.stop_reason,
        **tally(fitness, budget),
        'seconds': wall,
        'scorer_seconds': timed.seconds,
        'molecules_per_second': calls / wall if wall > 0 else float('nan'),
        'best': [(m.smiles, m.fitness) for m in result.best(TOP)],
        'top100_cation_share': cation_share([m.smiles for m in result.best(100)]),
        # The same share among everything the generator proposed (a seeded sample of 1,000): the top 100's share
        # over it says whether the objective favours cations or the generator's prior proposes them.
        'proposed_cation_share': cation_share(proposed_sample(result, 1000, seed)),
        'known_ranks': known_ranks,
        '_result': result,
    }


def tally(fitness: list[float | None], budget: int) -> dict:
    """The figures of one run from its fitness values in call order (None: a failed call).

    The ZIB objective is a product of desirabilities that reach 1 once every target is met, so a good generator can
    fill its top 10 with 1.0: then the top-100 mean, the count of molecules at 0.99 or above and the call at which
    the top-10 mean reaches 0.99 still tell generators apart."""
    curve = top_mean_curve(fitness)
    calls = len(fitness)
    values = sorted((f for f in fitness if f is not None), reverse=True)
    saturated = np.flatnonzero(curve >= SATURATED)
    return {
        'top10_mean': float(curve[-1]) if calls else 0.0,
        'top1': values[0] if values else 0.0,
        'top100_mean': sum(values[:100]) / 100,
        'at_least_099': sum(value >= SATURATED for value in values),
        'calls_to_top10_099': int(saturated[0]) + 1 if len(saturated) else None,
        # Calls short of the budget count with the last value (the generator stopped early: nothing more found).
        'auc_top10': float((curve.sum() + (budget - calls) * (curve[-1] if calls else 0.0)) / budget),
        'failed_share': sum(f is None for f in fitness) / max(calls, 1),
        'curve': curve.tolist(),
    }


def _spread(values: list[float]) -> str:
    if len(values) == 1:
        return f'{values[0]:.3f}'
    return f'{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}'


def plot(runs: list[dict], budget: int, path: Path) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    for name in dict.fromkeys(run['generator'] for run in runs):
        curves = [run['curve'] for run in runs if run['generator'] == name and run['budget'] == budget]
        length = min(len(curve) for curve in curves)
        if length == 0:
            continue
        stack = np.array([curve[:length] for curve in curves])
        calls = np.arange(1, length + 1)
        (line,) = axis.plot(calls, stack.mean(axis=0), label=f'{name} ({len(curves)} seeds)')
        if len(curves) > 1:
            axis.fill_between(calls, stack.min(axis=0), stack.max(axis=0), color=line.get_color(), alpha=0.2)
    axis.set_xlabel('scorer calls')
    axis.set_ylabel(f'mean of the top-{TOP} fitness')
    axis.set_xscale('log')
    axis.set_title('Sample efficiency on the ZIB objective')
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=150)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--generators', default='ga,random', help='Comma-separated generator entry points.')
    parser.add_argument('--budgets', default='2000,10000', help='Comma-separated budgets of scorer calls.')
    parser.add_argument('--seeds', default='0,1,2', help='Comma-separated seeds.')
    parser.add_argument(
        '--checkpoint', default='shipped', help='gnn checkpoint folder for the objective, `shipped` or `none`.'
    )
    parser.add_argument(
        '--setting', action='append', default=[], help='GENERATOR.NAME=VALUE (YAML value) for one generator.'
    )
    parser.add_argument('--out', type=Path, default=None, help='Results folder (default: a temporary one).')
    parser.add_argument('--reread', type=Path, metavar='DIR', help="a finished run's folder: table, figure again")
    args = parser.parse_args()
    if args.reread is not None:
        reread(args.reread)
        return

    import yaml

    names = [name.strip() for name in args.generators.split(',') if name.strip()]
    budgets = [int(value) for value in args.budgets.split(',')]
    seeds = [int(value) for value in args.seeds.split(',')]
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    settings: dict[str, dict] = {}
    for item in args.setting:
        key, _, value = item.partition('=')
        generator, _, setting = key.partition('.')
        settings.setdefault(generator, {})[setting] = yaml.safe_load(value)
    out = args.out or Path(tempfile.mkdtemp(prefix='generation_efficiency_'))
    out.mkdir(parents=True, exist_ok=True)
    print(f'objective: ZIB, gnn checkpoint {checkpoint or "none (rules score only)"}; results in {out}', flush=True)

    known = known_additive_fitness(checkpoint)
    runs = []
    total = len(names) * len(budgets) * len(seeds)
    for name in names:
        for budget in budgets:
            for seed in seeds:
                run = run_one(name, budget, seed, checkpoint, settings, known=known)
                run.pop('_result').write_csv(out / f'{name}_{budget}_{seed}.csv')
                runs.append(run)
                print(
                    f'[{len(runs)}/{total}] {name:<9} budget {budget:>6} seed {seed}: top-10 {run["top10_mean"]:.3f}, '
                    f'top-1 {run["top1"]:.3f}, {run["calls"]} calls in {run["seconds"]:.0f} s '
                    f'({run["molecules_per_second"]:.0f} mol/s, scorer {run["scorer_seconds"]:.0f} s); '
                    f'{run["stop_reason"]}; cations in the top 100 {run["top100_cation_share"]:.0%} '
                    f'(of all proposed {run["proposed_cation_share"]:.0%}); known additives '
                    f'rank (median of {len(known)}) {statistics.median(run["known_ranks"].values()):.0f}, best '
                    + ', '.join(f'{k} {r}' for k, r in sorted(run['known_ranks'].items(), key=lambda x: x[1])[:5]),
                    flush=True,
                )

    report(runs, names, budgets, out, checkpoint)


def report(runs: list[dict], names: list[str], budgets: list[int], out: Path, checkpoint) -> None:
    """The table (mean ± std over seeds), the figure and ``summary.json``."""
    print(
        f'\n{"generator":<10} {"budget":>7}  {"top-10 mean":>15}  {"top-1":>15}  {"top-100 mean":>15}  '
        f'{"AUC top-10":>15}  {">=0.99":>7}  {"calls to top-10 0.99":>20}  {"mol/s":>7}  failed'
    )
    for name in names:
        for budget in budgets:
            group = [run for run in runs if run['generator'] == name and run['budget'] == budget]
            if not group:
                continue
            speed = statistics.mean(run['molecules_per_second'] for run in group)
            failed = statistics.mean(run['failed_share'] for run in group)
            reached = [run['calls_to_top10_099'] for run in group]
            reached_text = ', '.join('never' if calls is None else f'{calls:,}' for calls in reached)
            print(
                f'{name:<10} {budget:>7}  {_spread([r["top10_mean"] for r in group]):>15}  '
                f'{_spread([r["top1"] for r in group]):>15}  {_spread([r["top100_mean"] for r in group]):>15}  '
                f'{_spread([r["auc_top10"] for r in group]):>15}  '
                f'{statistics.mean(r["at_least_099"] for r in group):>7.0f}  {reached_text:>20}  '
                f'{speed:>7.0f}  {failed:.1%}'
            )
    plot(runs, max(budgets), out / 'efficiency.png')
    for run in runs:
        run['curve'] = run['curve'][:: max(1, len(run['curve']) // 200)]  # a readable summary, not every call
    summary = {'checkpoint': str(checkpoint) if checkpoint else None, 'runs': runs}
    (out / 'summary.json').write_text(json.dumps(summary, indent=1, default=str))
    print(f'figure: {out / "efficiency.png"}; summary: {out / "summary.json"}')


def reread(out: Path) -> None:
    """The table and figure again from a finished run's folder: each run's fitness from its CSV (call order),
    its timings from ``summary.json``."""
    import csv

    summary = json.loads((out / 'summary.json').read_text())
    runs = []
    for run in summary['runs']:
        with open(out / f'{run["generator"]}_{run["budget"]}_{run["seed"]}.csv', newline='') as handle:
            rows = sorted(csv.DictReader(handle), key=lambda row: int(row['call']))
        fitness = [float(row['fitness']) if row['fitness'] not in ('', None) else None for row in rows]
        runs.append({**run, **tally(fitness, run['budget'])})
    names = list(dict.fromkeys(run['generator'] for run in runs))
    budgets = sorted({run['budget'] for run in runs})
    report(runs, names, budgets, out, summary['checkpoint'])


if __name__ == '__main__':
    main()
