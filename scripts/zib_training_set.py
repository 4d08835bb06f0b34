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
    .venv/bin/python scripts/zib_training_set.py build/zib_known_out/labels.parquet --exclude-known

``--exclude-known`` drops every molecule that is, or is a near neighbour of (Morgan r=2 Tanimoto ≥ ``--neighbour``,
default 0.6, the decoys' threshold), a known additive of ``data/benchmarks/known_additives.csv``, as added or as its
species at pH 4.5: the set of the model ``benchmarks/known_additives.py`` evaluates, so that no known additive is
scored by a model that saw it.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
from pathlib import Path

import pandas as pd
from rdkit import Chem, DataStructs, RDLogger
from rdkit.Chem import rdFingerprintGenerator

ROOT = Path(__file__).resolve().parents[1]
OLD = ROOT / 'data' / 'labels' / 'xtb_gfn2.parquet'
NEW = ROOT / 'data' / 'labels' / 'xtb_gfn2_v2_shards'
KNOWN = ROOT / 'data' / 'benchmarks' / 'known_additives.csv'
RDLogger.DisableLog('rdApp.*')


def known_neighbours(smiles: list[str], neighbour: float) -> list[bool]:
    """Whether each SMILES is a known additive or a near neighbour of one (as added or as its species at pH 4.5)."""
    from aiida_znadditive.structures.speciation import SpeciationError, speciate

    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    references = []
    with KNOWN.open(newline='') as handle:
        for row in csv.DictReader(handle):
            forms = {row['smiles']}
            with contextlib.suppress(SpeciationError):
                forms.add(speciate(row['smiles']).smiles)
            references += [generator.GetFingerprint(Chem.MolFromSmiles(form)) for form in forms]
    flags = []
    for text in smiles:
        mol = Chem.MolFromSmiles(text)
        if mol is None:
            flags.append(False)
            continue
        similarity = DataStructs.BulkTanimotoSimilarity(generator.GetFingerprint(mol), references)
        flags.append(max(similarity) >= neighbour)
    return flags


def build(output: Path, exclude_known: bool = False, neighbour: float = 0.6) -> pd.DataFrame:
    new = pd.concat([pd.read_parquet(path) for path in sorted(NEW.glob('*.parquet'))], ignore_index=True)
    old = pd.read_parquet(OLD)
    old = old[~old['inchikey'].isin(set(new['inchikey']))].copy()
    old['zn_exchange_energy_ev'] = None
    merged = pd.concat([new, old], ignore_index=True)
    if exclude_known:
        drop = known_neighbours(list(merged['smiles']), neighbour)
        print(
            f'left out: {sum(drop)} known additives and near neighbours (Tanimoto >= {neighbour}): '
            + ', '.join(merged.loc[drop, 'smiles'].head(60))
        )
        merged = merged[[not flag for flag in drop]].reset_index(drop=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    merged.to_parquet(output, index=False)
    labelled = int(merged['zn_exchange_free_energy_calibrated_ev'].notna().sum())
    print(f'{output}: {len(merged)} molecules ({len(new)} new-settings rows, {len(old)} first-wave rows)')
    print(f'{labelled} with a calibrated exchange free energy')
    return merged


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('output', type=Path, nargs='?', default=ROOT / 'build' / 'zib_training' / 'labels.parquet')
    parser.add_argument('--exclude-known', action='store_true')
    parser.add_argument('--neighbour', type=float, default=0.6)
    args = parser.parse_args()
    build(args.output, args.exclude_known, args.neighbour)
