"""Make the shipped GFN2-xTB labelled set: ``data/labels/xtb_gfn2.parquet`` and ``xtb_gfn2.settings.json``.

Usage (from the repository root, after ``bash scripts/install.sh``)::

    .venv/bin/python scripts/label_xtb.py                      # the full set (about an hour on 2 cores)
    .venv/bin/python scripts/label_xtb.py --limit 20 --out build/xtb_trial.parquet   # a quick trial

Which molecules (all with a fixed seed, so a rerun picks the same ones):

- a short curated list of known or proposed aqueous Zn-battery electrolyte additives and anions (:data:`CURATED`);
- ``--n-qm9`` molecules drawn from QM9 (qm9pack's ``qm9_part1.csv``; at most 9 heavy atoms, C/H/N/O/F);
- ``--n-moses`` molecules drawn from the smallest MOSES/ZINC molecules (molsets' ``train.csv.gz``, at most
  ``--moses-max-heavy`` heavy atoms): they bring S, Cl and larger aromatic rings.

Each drawn molecule must parse, contain only C/H/N/O/S/P/F/Cl, have at most ``--max-heavy`` heavy atoms and at least
one Zn2+ donor atom (``structures.ligands.find_donors``): an additive that cannot bind Zn2+ is not what the set is for.
Molecules are deduplicated by InChIKey, curated ones first.

The labels are computed by :class:`aiida_znadditive.ml.labels.XtbLabeller` into Parquet shards in ``--work-dir``
(default ``build/xtb_labels``, outside version control); an interrupted run continues where it stopped when started
again with the same arguments. At the end the shards are merged, sorted by InChIKey, into ``--out`` (zstd) and the
settings, the selection and the counts are written next to it as ``<out stem>.settings.json``.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import logging
import re
import sys
import time
from pathlib import Path

import numpy as np

from aiida_znadditive.ml.labels import LabelError, LabelSettings, XtbLabeller, merge_shards, molecule_identity
from aiida_znadditive.structures.ligands import find_donors, parse_ligand

ELEMENTS = ('C', 'H', 'N', 'O', 'S', 'P', 'F', 'Cl')
# Known or proposed additives of aqueous Zn-ion battery electrolytes (co-solvents, chelators, surfactants, SEI
# formers) and the usual anions of Zn salts: the molecules the screeners will be asked about first. Perchlorate is
# missing: RDKit normalises it to a Cl(+3) centre, which the ligand checks reject as an implausible formal charge.
CURATED = {
    'methanol': 'CO',
    'ethanol': 'CCO',
    'isopropanol': 'CC(C)O',
    'ethylene glycol': 'OCCO',
    'glycerol': 'OCC(O)CO',
    'sorbitol': 'OCC(O)C(O)C(O)C(O)CO',
    'glucose': 'OCC1OC(O)C(O)C(O)C1O',
    'dimethyl sulfoxide': 'CS(C)=O',
    'dimethyl sulfone': 'CS(C)(=O)=O',
    'sulfolane': 'O=S1(=O)CCCC1',
    'acetonitrile': 'CC#N',
    'succinonitrile': 'N#CCCC#N',
    'acetone': 'CC(C)=O',
    '1,2-dimethoxyethane': 'COCCOC',
    'diglyme': 'COCCOCCOC',
    'tetrahydrofuran': 'C1CCOC1',
    '1,4-dioxane': 'C1COCCO1',
    'ethylene carbonate': 'O=C1OCCO1',
    'propylene carbonate': 'CC1COC(=O)O1',
    'fluoroethylene carbonate': 'O=C1OCC(F)O1',
    'gamma-butyrolactone': 'O=C1CCCO1',
    'N-methyl-2-pyrrolidone': 'CN1CCCC1=O',
    'N,N-dimethylformamide': 'CN(C)C=O',
    'N,N-dimethylacetamide': 'CC(=O)N(C)C',
    'acetamide': 'CC(N)=O',
    'urea': 'NC(N)=O',
    'tetramethylurea': 'CN(C)C(=O)N(C)C',
    'thiourea': 'NC(N)=S',
    'trimethyl phosphate': 'COP(=O)(OC)OC',
    'triethyl phosphate': 'CCOP(=O)(OCC)OCC',
    'dimethyl methylphosphonate': 'COP(C)(=O)OC',
    'glycine': 'NCC(=O)O',
    'lactic acid': 'CC(O)C(=O)O',
    'citric acid': 'OC(=O)CC(O)(CC(=O)O)C(=O)O',
    'glutamic acid': 'NC(CCC(=O)O)C(=O)O',
    'ethylenediamine': 'NCCN',
    'EDTA': 'OC(=O)CN(CC(=O)O)CCN(CC(=O)O)CC(=O)O',
    'saccharin': 'O=C1NS(=O)(=O)c2ccccc21',
    'pyridine': 'c1ccncc1',
    'imidazole': 'c1c[nH]cn1',
    'benzotriazole': 'c1ccc2[nH]nnc2c1',
    'hexafluoroisopropanol': 'OC(C(F)(F)F)C(F)(F)F',
    'sodium dodecyl sulfate': 'CCCCCCCCCCCCOS(=O)(=O)[O-]',
    'acetate': 'CC(=O)[O-]',
    'trifluoroacetate': 'O=C([O-])C(F)(F)F',
    'triflate': 'O=S(=O)([O-])C(F)(F)F',
    'methanesulfonate': 'CS(=O)(=O)[O-]',
    'bis(trifluoromethanesulfonyl)imide': 'O=S(=O)([N-]S(=O)(=O)C(F)(F)F)C(F)(F)F',
    'sulfate': '[O-]S(=O)(=O)[O-]',
    'dihydrogen phosphate': 'OP(=O)(O)[O-]',
}
# Heavy atoms in a SMILES string, without RDKit: enough to skip the many large MOSES molecules cheaply.
HEAVY_ATOM = re.compile(r'Cl|Br|[BCNOSPFI]|[bcnops]')

logger = logging.getLogger('label_xtb')


def acceptable(smiles: str, max_heavy: int) -> bool:
    """Whether a drawn molecule qualifies: parses, C/H/N/O/S/P/F/Cl only, neutral, small, with a Zn2+ donor."""
    try:
        mol = parse_ligand(smiles, ELEMENTS, max_heavy)
    except ValueError:
        return False
    return '.' not in smiles and all(atom.GetFormalCharge() == 0 for atom in mol.GetAtoms()) and bool(find_donors(mol))


def draw(candidates: list[tuple[str, str]], n: int, max_heavy: int, seed: int, taken: set[str]) -> list[tuple]:
    """Up to ``n`` acceptable molecules in a seeded random order, skipping InChIKeys already ``taken``."""
    chosen = []
    for index in np.random.default_rng(seed).permutation(len(candidates)):
        if len(chosen) >= n:
            break
        smiles, source_id = candidates[index]
        if not acceptable(smiles, max_heavy):
            continue
        key = molecule_identity(smiles)['inchikey']
        if key not in taken:
            taken.add(key)
            chosen.append((smiles, source_id))
    return chosen


def qm9_candidates() -> list[tuple[str, str]]:
    import pandas as pd

    path = importlib.metadata.distribution('qm9pack').locate_file('qm9pack/data/qm9_part1.csv')
    table = pd.read_csv(path, usecols=['Index', 'SMILES'])
    return [(smiles, f'qm9:{index}') for index, smiles in zip(table['Index'], table['SMILES'], strict=True)]


def moses_candidates(max_heavy: int) -> list[tuple[str, str]]:
    import pandas as pd

    # Located through the distribution's files, not imported: molsets' own imports need outdated packages.
    path = importlib.metadata.distribution('molsets').locate_file('moses/dataset/data/train.csv.gz')
    found = []
    for start, chunk in enumerate(pd.read_csv(path, usecols=['SMILES'], chunksize=200_000)):
        for offset, smiles in enumerate(chunk['SMILES']):
            if len(HEAVY_ATOM.findall(smiles)) <= max_heavy:
                found.append((smiles, f'moses:train:{start * 200_000 + offset}'))
    return found


def select(args) -> tuple[list[tuple[str, str]], dict]:
    """The molecules to label, as (SMILES, source_id), and how many came from each source."""
    taken: set[str] = set()
    curated = []
    for name, smiles in CURATED.items():
        try:
            key = molecule_identity(smiles)['inchikey']
        except LabelError as error:  # kept out, but said: a curated molecule should never fail silently
            logger.warning('curated %s left out: %s', name, error)
            continue
        if key not in taken:
            taken.add(key)
            curated.append((smiles, f'curated:{name}'))
    qm9 = draw(qm9_candidates(), args.n_qm9, args.max_heavy, args.seed, taken)
    moses = draw(moses_candidates(args.moses_max_heavy), args.n_moses, args.moses_max_heavy, args.seed + 1, taken)
    molecules = curated + qm9 + moses
    return molecules, {'curated': len(curated), 'qm9': len(qm9), 'moses': len(moses)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='data/labels/xtb_gfn2.parquet', help='merged Parquet file (zstd)')
    parser.add_argument('--work-dir', default='build/xtb_labels', help='shards and skip log of the (resumable) run')
    parser.add_argument('--n-qm9', type=int, default=2200)
    parser.add_argument('--n-moses', type=int, default=500)
    parser.add_argument('--max-heavy', type=int, default=12, help='heavy-atom limit of the QM9 draw')
    parser.add_argument('--moses-max-heavy', type=int, default=14, help='heavy-atom limit of the MOSES draw')
    parser.add_argument('--seed', type=int, default=20240601)
    parser.add_argument('--limit', type=int, default=None, help='label a random N of the selection (a trial)')
    parser.add_argument('--processes', type=int, default=2)
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--settings', default=None, help='JSON object of LabelSettings fields to override')
    parser.add_argument('--no-exchange', action='store_true', help='skip the Zn2+ exchange energy (about 10x faster)')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(message)s')
    # One line per skipped molecule goes to the skip log in the work dir; the console gets the summary.
    logging.getLogger('aiida_znadditive.ml.labels.xtb').setLevel(logging.ERROR)

    overrides = json.loads(args.settings) if args.settings else {}
    if args.no_exchange:
        overrides['exchange_energy'] = False
    settings = LabelSettings.coerce(overrides)

    start = time.perf_counter()
    molecules, counts = select(args)
    if args.limit is not None and args.limit < len(molecules):
        # A seeded random subset, so that a trial's rate is representative of the whole selection.
        keep = np.sort(np.random.default_rng(args.seed).choice(len(molecules), args.limit, replace=False))
        molecules = [molecules[index] for index in keep]
    logger.info('selected %d molecules (%s) in %.0f s', len(molecules), counts, time.perf_counter() - start)

    labeller = XtbLabeller(args.work_dir, settings=settings, processes=args.processes, batch_size=args.batch_size)
    summary = labeller.run(molecules)
    logger.info(
        'labelled %d now (%.3f molecules/s over %.0f s); skipped %s',
        summary['labelled'],
        summary['rate'],
        summary['seconds'],
        summary['skipped'] or 'none',
    )

    wanted = [identity['inchikey'] for identity in map(_identity, (smiles for smiles, _ in molecules)) if identity]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = merge_shards(args.work_dir, out, inchikeys=wanted)
    record = {
        'description': 'GFN2-xTB labels of ZIB-relevant molecules, made by scripts/label_xtb.py',
        'created': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'command': ' '.join(['scripts/label_xtb.py', *(argv if argv is not None else sys.argv[1:])]),
        'source_version': settings.source_version,
        'settings': settings.as_dict(),
        'settings_hash': settings.settings_hash(),
        'selection': {
            'elements': list(ELEMENTS),
            'n_qm9': args.n_qm9,
            'n_moses': args.n_moses,
            'max_heavy': args.max_heavy,
            'moses_max_heavy': args.moses_max_heavy,
            'seed': args.seed,
            'limit': args.limit,
            'selected': counts,
        },
        'rows': rows,
        'last_run': {key: summary[key] for key in ('labelled', 'already_labelled', 'skipped', 'seconds', 'rate')},
        'versions': {name: importlib.metadata.version(name) for name in ('tblite', 'rdkit', 'ase', 'aiida-znadditive')},
    }
    out.with_name(f'{out.stem}.settings.json').write_text(json.dumps(record, indent=2) + '\n')
    logger.info('wrote %d rows to %s', rows, out)
    return 0


def _identity(smiles: str) -> dict | None:
    try:
        return molecule_identity(smiles)
    except LabelError:
        return None


if __name__ == '__main__':
    sys.exit(main())
