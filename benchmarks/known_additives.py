"""Benchmark: does the screening funnel find the additives that published aqueous zinc cells show working?

Usage (from the repository root, after `bash scripts/install.sh`)::

    .venv/bin/python benchmarks/known_additives.py                 # funnel and objective on known + decoys
    .venv/bin/python benchmarks/known_additives.py --make-decoys   # (re)draw data/benchmarks/decoys.csv first
    .venv/bin/python benchmarks/known_additives.py --xtb           # also the costly xtb screener (minutes)

Known additives: ``data/benchmarks/known_additives.csv`` (name, SMILES as added, mechanism the paper claims, DOI).
Decoys: ``data/benchmarks/decoys.csv``, drawn by ``--make-decoys`` from the libraries the platform ships (QM9 and
the MOSES test split), ``--per-known`` per known additive with the same number of heavy atoms (of the main
fragment), none identical to or a near neighbour of a known additive (Morgan r=2 Tanimoto ≥ ``--neighbour``).

Stages: speciation at ``--ph``, the ``rules`` screener, the ``gnn`` screener (its default gate), optionally the
``xtb`` screener, and the ZIB objective (``zib_objectives(checkpoint)``, as the generators score). The model is
``--checkpoint``: by default ``build/models/zib_xtb_known_out``, the shipped model's recipe trained without the known
additives and their near neighbours (``bash scripts/train_shipped_models.sh zib_xtb_known_out``, about 10 minutes), so
that no known additive is judged by a model that saw it; without it, the shipped model, with a warning naming the
known additives in its training data. Printed: per stage and per mechanism class, the fraction of known additives that
pass, with every reason a known additive failed; for the objective, ROC AUC and enrichment at 5 % and 10 % (known
against decoys), the ties at the top, and the rank of each known additive. ``--out`` gets the table of every molecule
(CSV) and a figure.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from rdkit import Chem, DataStructs, RDLogger
from rdkit.Chem import rdFingerprintGenerator

ROOT = Path(__file__).resolve().parents[1]
KNOWN = ROOT / 'data' / 'benchmarks' / 'known_additives.csv'
DECOYS = ROOT / 'data' / 'benchmarks' / 'decoys.csv'
RDLogger.DisableLog('rdApp.*')
_MORGAN = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)


def read_csv(path: Path) -> list[dict]:
    with path.open(newline='') as handle:
        return list(csv.DictReader(handle))


def main_fragment_heavy_atoms(smiles: str) -> int | None:
    from aiida_znadditive.structures.ligands import main_fragment

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return None
    fragments = Chem.GetMolFrags(mol, asMols=True)
    return fragments[main_fragment(fragments)].GetNumHeavyAtoms()


def fingerprint(smiles: str):
    mol = Chem.MolFromSmiles(smiles)
    return None if mol is None else _MORGAN.GetFingerprint(mol)


def make_decoys(known: list[dict], per_known: int, neighbour: float, seed: int) -> list[dict]:
    """Size-matched decoys (module docstring), written to ``DECOYS`` with the library each came from."""
    from aiida_znadditive.ml.generators.library import sample_library

    rng = random.Random(seed)
    known_fps = [fingerprint(row['smiles']) for row in known]
    known_canonical = {Chem.CanonSmiles(row['smiles']) for row in known}
    pool: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for library, count in (('qm9', 130_831), ('moses:test', 176_074)):
        for smiles in sample_library(library, count, rng):
            heavy = main_fragment_heavy_atoms(smiles)
            if heavy is not None:
                pool[heavy].append((smiles, library))
    decoys, used = [], set()
    for row in known:
        heavy = main_fragment_heavy_atoms(row['smiles'])
        drawn = 0
        # The same size, else the nearest sizes with candidates (QM9 stops at 9, MOSES starts near 10).
        for size in sorted(pool, key=lambda n: (abs(n - heavy), n)):
            candidates = pool[size]
            rng.shuffle(candidates)
            for smiles, library in candidates:
                canonical = Chem.CanonSmiles(smiles)
                if canonical in used or canonical in known_canonical:
                    continue
                fp = fingerprint(smiles)
                if max(DataStructs.BulkTanimotoSimilarity(fp, known_fps)) >= neighbour:
                    continue
                used.add(canonical)
                decoys.append({'smiles': canonical, 'library': library, 'heavy_atoms': size, 'matched_to': row['name']})
                drawn += 1
                if drawn == per_known:
                    break
            if drawn == per_known:
                break
    DECOYS.parent.mkdir(parents=True, exist_ok=True)
    with DECOYS.open('w', newline='') as handle:
        writer = csv.DictWriter(handle, fieldnames=['smiles', 'library', 'heavy_atoms', 'matched_to'])
        writer.writeheader()
        writer.writerows(decoys)
    print(f'{len(decoys)} decoys written to {DECOYS.relative_to(ROOT)} (seed {seed}, neighbour < {neighbour})')
    return decoys


def roc_auc(positives: list[float], negatives: list[float]) -> float:
    """Mann-Whitney U / (n_pos n_neg): the chance a known additive outscores a decoy (ties count half)."""
    pos, neg = np.asarray(positives), np.asarray(negatives)
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def enrichment(scores: list[float], is_known: list[bool], fraction: float) -> float:
    """(known in the top ``fraction``) / (expected at random); ties at the cut are ordered pessimistically."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], is_known[i]))
    top = max(1, round(fraction * len(scores)))
    hits = sum(is_known[i] for i in order[:top])
    return float(hits / top / (sum(is_known) / len(scores)))


def run_stage(label: str, screener, smiles: list[str]) -> list:
    start = time.perf_counter()
    screenings = screener.screen(smiles)
    elapsed = time.perf_counter() - start
    print(f'  {label}: {len(smiles)} molecules in {elapsed:.1f} s ({len(smiles) / max(elapsed, 1e-9):.0f}/s)')
    return screenings


def main() -> int:  # noqa: PLR0912, PLR0915 - one report, printed section by section
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--make-decoys', action='store_true')
    parser.add_argument('--per-known', type=int, default=10)
    parser.add_argument('--neighbour', type=float, default=0.6)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--ph', type=float, default=4.5)
    parser.add_argument('--xtb', action='store_true', help='also run the costly xtb screener')
    parser.add_argument('--out', type=Path, default=ROOT / 'build' / 'known_additives')
    parser.add_argument('--checkpoint', type=Path, default=ROOT / 'build' / 'models' / 'zib_xtb_known_out')
    args = parser.parse_args()

    from aiida_znadditive.ml.generators.objectives import zib_objectives
    from aiida_znadditive.ml.generators.scoring import ScorerBudget
    from aiida_znadditive.ml.screeners import load_screener
    from aiida_znadditive.ml.shipped import shipped_model
    from aiida_znadditive.structures.speciation import SpeciationError, speciate

    known = read_csv(KNOWN)
    decoys = make_decoys(known, args.per_known, args.neighbour, args.seed) if args.make_decoys else read_csv(DECOYS)
    molecules = [
        {'name': row['name'], 'smiles': row['smiles'], 'known': True, 'mechanism': row['mechanism']} for row in known
    ]
    molecules += [
        {'name': f'decoy {i}', 'smiles': row['smiles'], 'known': False, 'mechanism': ''} for i, row in enumerate(decoys)
    ]
    smiles = [row['smiles'] for row in molecules]
    print(f'{len(known)} known additives, {len(decoys)} decoys; pH {args.ph}')

    # -- the funnel, stage by stage (each stage judges every molecule, so each stage's effect is visible) --------------
    stages: dict[str, list[tuple[bool, list[str]]]] = {}
    species = []
    for text in smiles:
        try:
            species.append((True, [], speciate(text, args.ph).smiles))
        except SpeciationError as error:
            species.append((False, [str(error)], None))
    stages['speciation'] = [(ok, reasons) for ok, reasons, _ in species]
    checkpoint = args.checkpoint
    if not (checkpoint / 'hash.txt').is_file():
        checkpoint = shipped_model('zib_xtb')
        print(
            f'WARNING: no {args.checkpoint}; evaluating the shipped model, whose training data hold known additives '
            '(make the held-out model with: bash scripts/train_shipped_models.sh zib_xtb_known_out)'
        )
    print(f'model: {checkpoint}')
    screeners = [
        ('rules', load_screener('rules')),
        ('gnn', load_screener('gnn', checkpoint=str(checkpoint), ph=args.ph)),
    ]
    if args.xtb:
        screeners.append(('xtb', load_screener('xtb')))
    for label, screener in screeners:
        stages[label] = [(s.passed, s.reasons) for s in run_stage(label, screener, smiles)]
    objectives = zib_objectives(checkpoint, ph=args.ph)
    start = time.perf_counter()
    scored = ScorerBudget(objectives, budget=len(smiles)).score(smiles)
    elapsed = time.perf_counter() - start
    print(f'  objective ({", ".join(o.name for o in objectives)}): {len(smiles)} molecules in {elapsed:.1f} s')
    scores = [0.0 if record is None or record.fitness is None else float(record.fitness) for record in scored]
    stages['objective > 0'] = [(score > 0, [] if score > 0 else ['objective 0']) for score in scores]
    cascade = [all(stages[name][i][0] for name in stages if name != 'objective > 0') for i in range(len(smiles))]
    stages['whole cascade'] = [(ok, []) for ok in cascade]

    # -- per stage and mechanism ---------------------------------------------------------------------------------------
    known_index = [i for i, row in enumerate(molecules) if row['known']]
    decoy_index = [i for i, row in enumerate(molecules) if not row['known']]
    classes = sorted({molecules[i]['mechanism'] for i in known_index})
    print('\nFraction of known additives that pass, per stage (decoys beside them):')
    header = f'  {"stage":<15}{"known":>8}{"decoys":>8}' + ''.join(f'{name[:10]:>12}' for name in classes)
    print(header)
    for name, results in stages.items():
        frac = np.mean([results[i][0] for i in known_index])
        frac_decoy = np.mean([results[i][0] for i in decoy_index])
        per_class = []
        for mechanism in classes:
            members = [i for i in known_index if molecules[i]['mechanism'] == mechanism]
            per_class.append(f'{np.mean([results[i][0] for i in members]):>12.2f}')
        print(f'  {name:<15}{frac:>8.2f}{frac_decoy:>8.2f}' + ''.join(per_class))
    print(
        '  class sizes: '
        + ', '.join(f'{m} {sum(molecules[i]["mechanism"] == m for i in known_index)}' for m in classes)
    )
    print('\nKnown additives a stage fails, with its reason:')
    for name, results in stages.items():
        if name in ('whole cascade', 'objective > 0'):
            continue
        for i in known_index:
            if not results[i][0]:
                row = molecules[i]
                print(f'  {name:<11} {row["name"]} ({row["mechanism"]}): {"; ".join(results[i][1])[:160]}')

    # -- the objective -------------------------------------------------------------------------------------------------
    is_known = [row['known'] for row in molecules]
    auc = roc_auc([scores[i] for i in known_index], [scores[i] for i in decoy_index])
    print(
        f'\nObjective: ROC AUC {auc:.3f}; enrichment at 5 % {enrichment(scores, is_known, 0.05):.2f}, '
        f'at 10 % {enrichment(scores, is_known, 0.10):.2f} (the maximum at 10 % is '
        f'{min(1 / 0.10, len(smiles) / len(known_index)):.1f})'
    )
    for mechanism in classes:
        members = [i for i in known_index if molecules[i]['mechanism'] == mechanism]
        auc_class = roc_auc([scores[i] for i in members], [scores[i] for i in decoy_index])
        print(f'  {mechanism:<20} n={len(members):<3} AUC {auc_class:.3f}')
    order = sorted(range(len(smiles)), key=lambda i: -scores[i])
    rank = {index: position + 1 for position, index in enumerate(order)}
    top = [scores[i] for i in order[:50]]
    print(
        f'  ties in the top 50: {sum(c - 1 for c in Counter(round(s, 6) for s in top).values())} '
        f'(top score {top[0]:.4f}, 50th {top[-1]:.4f})'
    )
    print(f'\nRank of each known additive (of {len(smiles)}):')
    for i in sorted(known_index, key=lambda i: rank[i]):
        row = molecules[i]
        print(f'  {rank[i]:>4}  {scores[i]:.3f}  {row["name"]} ({row["mechanism"]})')

    args.out.mkdir(parents=True, exist_ok=True)
    table = args.out / 'scores.csv'
    with table.open('w', newline='') as handle:
        writer = csv.writer(handle)
        writer.writerow(['name', 'smiles', 'known', 'mechanism', 'score', 'rank', *stages])
        for i, row in enumerate(molecules):
            writer.writerow(
                [
                    row['name'],
                    row['smiles'],
                    row['known'],
                    row['mechanism'],
                    f'{scores[i]:.5f}',
                    rank[i],
                    *(int(stages[name][i][0]) for name in stages),
                ]
            )
    figure = plot(scores, is_known, args.out / 'known_additives.png', auc)
    print(f'\nTable: {table}; figure: {figure}')
    return 0


def plot(scores: list[float], is_known: list[bool], path: Path, auc: float) -> Path:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    bins = np.linspace(0, 1, 26)
    left.hist(
        [s for s, k in zip(scores, is_known, strict=True) if not k], bins=bins, alpha=0.6, density=True, label='decoys'
    )
    left.hist(
        [s for s, k in zip(scores, is_known, strict=True) if k],
        bins=bins,
        alpha=0.6,
        density=True,
        label='known additives',
    )
    left.set_xlabel('ZIB objective')
    left.set_ylabel('density')
    left.legend()
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    found = np.cumsum([is_known[i] for i in order]) / sum(is_known)
    right.plot(np.arange(1, len(order) + 1) / len(order), found, label=f'objective (AUC {auc:.2f})')
    right.plot([0, 1], [0, 1], '--', color='grey', label='random')
    right.set_xlabel('fraction of the library screened')
    right.set_ylabel('fraction of known additives found')
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


if __name__ == '__main__':
    sys.exit(main())
