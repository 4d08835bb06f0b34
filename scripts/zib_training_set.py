"""Build the training set of the shipped ``zib_xtb`` model from the committed GFN2-xTB labels.

Two label sets exist while the relabelling runs (``scripts/label_xtb.py``):

- ``data/labels/xtb_gfn2_v2_shards/``: the new settings (species at pH 4.5, free energies, multidentate modes, QC),
  with the calibrated exchange free energy ``zn_exchange_free_energy_calibrated_ev`` the surrogate is to learn;
- ``data/labels/xtb_gfn2.parquet``: the first wave's labels (molecules as written, exchange energies only).

The set keeps every new row and the old rows of molecules the new set does not hold yet (by InChIKey of the
molecule as labelled). Old rows keep their orbital energies and solvation free energy, which did not change with
the settings for an unchanged molecule; their exchange energy is dropped, being another quantity (ΔE of the
molecule as written), so ``zn_exchange_free_energy_calibrated`` is learned from new rows only (the trainer masks
missing labels). Usage::

    .venv/bin/python scripts/zib_training_set.py build/zib_training/labels.parquet
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OLD = ROOT / 'data' / 'labels' / 'xtb_gfn2.parquet'
NEW = ROOT / 'data' / 'labels' / 'xtb_gfn2_v2_shards'


def build(output: Path) -> pd.DataFrame:
    new = pd.concat([pd.read_parquet(path) for path in sorted(NEW.glob('*.parquet'))], ignore_index=True)
    old = pd.read_parquet(OLD)
    old = old[~old['inchikey'].isin(set(new['inchikey']))].copy()
    old['zn_exchange_energy_ev'] = None
    merged = pd.concat([new, old], ignore_index=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    merged.to_parquet(output, index=False)
    labelled = int(merged['zn_exchange_free_energy_calibrated_ev'].notna().sum())
    print(f'{output}: {len(merged)} molecules ({len(new)} new-settings rows, {len(old)} first-wave rows)')
    print(f'{labelled} with a calibrated exchange free energy')
    return merged


if __name__ == '__main__':
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / 'build' / 'zib_training' / 'labels.parquet')
