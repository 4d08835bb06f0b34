#!/usr/bin/env bash
# Make the models shipped in aiida_znadditive/ml/shipped/ (see its __init__.py). Run from anywhere; about 10 minutes
# on 2 cores for zib_xtb. Training stops on a wall-clock budget, so a rerun gives a close, not an identical, model:
# each checkpoint records its settings, data fingerprint, split and hash (`ml evaluate DIR` re-checks them).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}

if [ "$what" = all ] || [ "$what" = zib_xtb ]; then
  # The ZIB model: 2D D-MPNN ensemble on the shipped GFN2-xTB labels (2,376 molecules), five targets at once.
  rm -rf aiida_znadditive/ml/shipped/zib_xtb
  .venv/bin/aiida-znadditive ml train --data parquet data/labels/xtb_gfn2.parquet \
    --targets gap,homo,lumo,zn_exchange_energy,solvation_free_energy \
    --split random --seed 0 --ensemble 3 --epochs 300 --patience 30 --time-budget 600 --threads 2 \
    --out aiida_znadditive/ml/shipped/zib_xtb
fi

if [ "$what" = all ] || [ "$what" = selfies_lm ]; then
  # The reinvent generator's prior: SELFIES GRU (64-wide embeddings, 3 x 256) on 250,000 MOSES training molecules,
  # 20 minutes of training on 2 cores.
  .venv/bin/aiida-znadditive gen pretrain --library moses --limit 250000 --seed 0 --time-budget 1200 --threads 2 \
    --out aiida_znadditive/ml/shipped/selfies_lm/model.pt
fi
