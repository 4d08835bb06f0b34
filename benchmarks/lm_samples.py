"""Benchmark: what the pretrained SELFIES language model writes before any steering, by MOSES's metrics.

Usage (from the repository root)::

    .venv/bin/python benchmarks/lm_samples.py                       # 10,000 samples of the shipped model
    .venv/bin/python benchmarks/lm_samples.py --n 2000 --checkpoint my-lm.pt --no-3d

Draws ``--n`` molecules from the model (``--checkpoint``, default the shipped ``selfies_lm``; seeded, temperature 1)
and prints the sampling speed (molecules/s, decoding to canonical SMILES included) and the metrics of
:mod:`aiida_znadditive.ml.generators.metrics`: validity (a sample counts as invalid when it decodes to nothing:
SELFIES makes every other token string a valid molecule), uniqueness, novelty against the MOSES training split
(1.58M SMILES; the model saw a sample of it), internal diversity, SNN, fragment and scaffold similarity to
``--reference-size`` molecules of MOSES's test split, SA score, and PoseBusters 3D checks on 100 of them. The
issue's targets: validity ≥ 0.98, uniqueness ≥ 0.99, novelty ≥ 0.9 (MOSES's CharRNN: 0.975 / 0.999 / 0.842).
The samples go to ``--out`` (a SMILES file), so ``aiida-znadditive gen metrics`` can re-read them.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import torch

from aiida_znadditive.ml.generators.library import read_library, sample_library
from aiida_znadditive.ml.generators.lm import load_model
from aiida_znadditive.ml.generators.metrics import compute_metrics, format_metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--n', type=int, default=10_000, help='Molecules to sample.')
    parser.add_argument('--checkpoint', type=Path, default=None, help='Model file (default: the shipped one).')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--reference-size', type=int, default=10_000, help='MOSES test molecules for SNN/Frag/Scaf.')
    parser.add_argument('--no-3d', action='store_true', help='Skip the PoseBusters checks.')
    parser.add_argument('--out', type=Path, default=None, help='SMILES file of the samples (default: temporary).')
    args = parser.parse_args()

    model = load_model(args.checkpoint)
    record = model.record
    print(
        f'model {args.checkpoint or "shipped selfies_lm"}: sha256 {model.checkpoint_hash[:16]}, '
        f'{sum(p.numel() for p in model.network.parameters()):,} parameters, '
        f'validation NLL {record.get("validation_nll", float("nan")):.2f}',
        flush=True,
    )
    started = time.perf_counter()
    samples = model.sample(args.n, generator=torch.Generator().manual_seed(args.seed))
    seconds = time.perf_counter() - started
    print(f'{args.n:,} samples in {seconds:.1f} s: {args.n / seconds:,.0f} molecules/s (decoding included)', flush=True)
    smiles = [item or '' for item in samples.smiles]
    out = args.out or Path(tempfile.mkdtemp(prefix='lm_samples_')) / 'samples.smi'
    out.write_text('\n'.join(item if item else '#empty' for item in smiles) + '\n')

    started = time.perf_counter()
    training = read_library('moses')
    reference = sample_library('moses:test', args.reference_size, random.Random(args.seed))
    metrics = compute_metrics(smiles, reference=reference, training=training, conformers=not args.no_3d)
    print(f'metrics in {time.perf_counter() - started:.0f} s (novelty against {len(training):,} MOSES training SMILES)')
    print(format_metrics(metrics))
    targets = {'validity': 0.98, 'uniqueness': 0.99, 'novelty': 0.9}
    for name, target in targets.items():
        verdict = 'met' if metrics[name] >= target else 'NOT met'
        print(f'{name}: {metrics[name]:.4f} (target {target}): {verdict}')
    print(f'samples: {out}')


if __name__ == '__main__':
    main()
