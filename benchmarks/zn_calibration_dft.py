"""Benchmark: Zn2+ exchange free energies of the ZnComplexationWorkChain (DFT level) against measured stability
constants, and their calibration.

Usage (from the repository root, after `bash scripts/install.sh`)::

    .venv/bin/python benchmarks/zn_calibration_dft.py                 # run the ligands not yet in the results
    .venv/bin/python benchmarks/zn_calibration_dft.py --fit-only      # figures from the results so far
    .venv/bin/python benchmarks/zn_calibration_dft.py --fit-only --write-calibration \\
        aiida_znadditive/ml/shipped/zn_calibration/pyscf_fast.json

Each ligand of ``--ligands`` (names of ``data/calibration/zn_stability_constants.csv``) runs through the WorkChain's
``--protocol`` (xtb pre-ranking and frequencies, PySCF DFT) at a pH where its tabulated species is the dominant one
(the stability constant is that species'). One row per ligand is appended to ``--results`` as soon as it finishes, so
a stopped run loses at most the ligand in progress and a rerun continues; the AiiDA profile lives in ``--work-dir``,
so the references ([Zn(H2O)6]2+ and H2O) are computed once per machine. A `fast` ligand takes 15-40 minutes on two
cores (docs/source/binding.md has the measured times).

It prints, for the DFT ΔG (raw), the cheap level's ΔG from the same WorkChains (raw and with the shipped GFN2
calibration) and each calibration model (leave-one-out), MAE, RMSE, Spearman ρ and slope against experiment.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'benchmarks'))

TABLE = ROOT / 'data' / 'calibration' / 'zn_stability_constants.csv'
RESULTS = ROOT / 'data' / 'calibration' / 'dft_fast_results.csv'
# Small ligands first (their complexes relax fastest), spanning charges 0 to -2, N/O/S/halide donors, mono- and
# bidentate: the classes the DFT level must get right before a larger chelator is worth its hour. Hydroxide is left
# out: water, not OH-, is its dominant species at every pH up to 14, so the WorkChain never computes OH-.
DEFAULT_LIGANDS = (
    'ammonia',
    'acetate',
    'glycinate',
    'fluoride',
    'oxalate',
    'imidazole',
    'ethylenediamine',
    'formate',
    'chloride',
    'bromide',
    'thiourea',
    'pyridine',
    'carbonate',
    'iminodiacetate',
)
# pH values tried, in order, for the one where the tabulated species dominates.
PH_CANDIDATES = (4.5, 7.0, 9.0, 11.0, 12.5, 14.0)
COLUMNS = (
    'name',
    'species_smiles',
    'charge',
    'ph',
    'log_k1',
    'measured',
    'binding_mode',
    'displaced_waters',
    'exchange_energy',
    'exchange_energy_solvated',
    'thermal_contribution',
    'standard_state_contribution',
    'exchange_free_energy',
    'prerank_exchange_free_energy',
    'prerank_exchange_free_energy_calibrated',
    'wall_s',
    'status',
    'workchain_uuid',
    'protocol',
    'date',
)


def read_table() -> dict[str, dict]:
    with TABLE.open() as handle:
        return {row['name']: row for row in csv.DictReader(handle)}


def read_results(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open() as handle:
        return list(csv.DictReader(handle))


def append_result(path: Path, row: dict) -> None:
    new = not path.exists()
    with path.open('a', newline='') as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow(row)


def ph_for_species(species_smiles: str) -> float | None:
    """The first pH of :data:`PH_CANDIDATES` at which the tabulated species is the dominant microspecies."""
    from rdkit import Chem

    from aiida_znadditive.structures.speciation import SpeciationError, speciate

    wanted = Chem.CanonSmiles(species_smiles)
    for ph in PH_CANDIDATES:
        try:
            if Chem.CanonSmiles(speciate(species_smiles, ph).smiles) == wanted:
                return ph
        except SpeciationError:
            continue
    return None


def run(names: list[str], results: Path, work_dir: Path, protocol: str) -> None:
    os.environ['AIIDA_PATH'] = str(work_dir.resolve())  # before aiida is imported: the profile lives there
    from aiida import load_profile, orm
    from aiida.engine import run_get_node

    from aiida_znadditive.analysis.calibration import delta_g_from_log_k
    from aiida_znadditive.environment.codes import ensure_codes, load_codes_file
    from aiida_znadditive.environment.profiles import ensure_embedded_profile
    from aiida_znadditive.workchains.complexation import ZnComplexationWorkChain

    ensure_embedded_profile('calibration')
    load_profile('calibration', allow_switch=True)
    ensure_codes(load_codes_file())
    xtb, pyscf = orm.load_code('xtb@localhost'), orm.load_code('pyscf@localhost')
    table = read_table()
    done = {row['name'] for row in read_results(results)}
    todo = [name for name in names if name not in done]
    print(f'{len(done)} ligands done, {len(todo)} to run: {", ".join(todo)}', flush=True)
    started = time.perf_counter()
    for index, name in enumerate(todo):
        entry = table[name]
        ph = ph_for_species(entry['species_smiles'])
        row = {
            'name': name,
            'species_smiles': entry['species_smiles'],
            'charge': entry['charge'],
            'log_k1': entry['log_k1'],
            'measured': f'{float(delta_g_from_log_k(float(entry["log_k1"]))):.4f}',
            'protocol': protocol,
            'date': time.strftime('%Y-%m-%d'),
        }
        if ph is None:
            append_result(results, {**row, 'status': f'no pH in {PH_CANDIDATES} gives this species'})
            continue
        builder = ZnComplexationWorkChain.get_builder_from_protocol(
            xtb, pyscf, entry['species_smiles'], protocol=protocol, ph=ph
        )
        start = time.perf_counter()
        outputs, node = run_get_node(builder)
        wall = time.perf_counter() - start
        row.update(ph=ph, wall_s=f'{wall:.0f}', workchain_uuid=node.uuid)
        row['status'] = 'ok' if node.is_finished_ok else f'exit {node.exit_status}: {node.exit_message}'
        for key in COLUMNS:
            if key in outputs and isinstance(outputs[key], orm.Float | orm.Int):
                row[key] = f'{outputs[key].value:.4f}' if isinstance(outputs[key], orm.Float) else outputs[key].value
        if 'binding_mode' in outputs:
            row['binding_mode'] = outputs['binding_mode']['label']
        append_result(results, row)
        elapsed = time.perf_counter() - started
        eta = elapsed / (index + 1) * (len(todo) - index - 1)
        print(
            f'[{index + 1}/{len(todo)}] {name}: ΔG {row.get("exchange_free_energy", "-")} eV '
            f'(exp {row["measured"]}), {wall / 60:.1f} min, {row["status"]}; ETA {eta / 60:.0f} min',
            flush=True,
        )


def fit(results: Path, model: str, write: Path | None) -> dict:
    """Metrics of the raw and calibrated DFT ΔG (leave-one-out) and of the cheap level, on the finished rows."""
    from aiida_znadditive.analysis.calibration import MODELS, leave_one_out, metrics
    from aiida_znadditive.analysis.calibration import fit as fit_model

    rows = [row for row in read_results(results) if row['status'] == 'ok' and row.get('exchange_free_energy')]
    if len(rows) < 3:
        print(f'{len(rows)} finished ligands: too few to fit')
        return {}
    measured = np.array([float(row['measured']) for row in rows])
    computed = np.array([float(row['exchange_free_energy']) for row in rows])
    charges = np.array([int(row['charge']) for row in rows])
    waters = np.array([int(row['displaced_waters']) for row in rows])
    report = {'n': len(rows), 'models': {}}
    print(f'\n{"ligand":<18}{"q":>3}{"n":>3}{"ΔE_solv":>9}{"ΔG":>8}{"ΔG_xtb":>8}{"xtb_cal":>8}{"exp":>8}  mode')
    for row in rows:
        print(
            f'{row["name"]:<18}{row["charge"]:>3}{row["displaced_waters"]:>3}{float(row["exchange_energy_solvated"]):>9.3f}'
            f'{float(row["exchange_free_energy"]):>8.3f}{float(row["prerank_exchange_free_energy"]):>8.3f}'
            f'{float(row["prerank_exchange_free_energy_calibrated"]):>8.3f}{float(row["measured"]):>8.3f}  '
            f'{row["binding_mode"]}'
        )
    print(f'\n{"level / model":<34}{"n":>4}{"MAE":>8}{"RMSE":>8}{"rho":>7}{"slope":>7}{"max":>7}')
    for candidate in MODELS:
        predicted = leave_one_out(candidate, computed, measured, charges, waters)
        figures = metrics(predicted, measured)
        report['models'][candidate] = {
            'fit_all': fit_model(candidate, computed, measured, charges, waters).as_dict(),
            'leave_one_out': figures,
        }
        _line(f'DFT {candidate} (leave-one-out)', figures)
    for key, label in (
        ('prerank_exchange_free_energy', 'GFN2 raw, same WorkChains'),
        ('prerank_exchange_free_energy_calibrated', 'GFN2 shipped calibration'),
    ):
        figures = metrics(np.array([float(row[key]) for row in rows]), measured)
        report[key] = figures
        _line(label, figures)
    if write is not None:
        chosen = report['models'][model]
        calibration = {
            'level': 'B3LYP-D3(BJ)/def2-SVP C-PCM(water) single points on gas-phase geometries (pyscf `fast`), '
            'GFN2-xTB/ALPB quasi-RRHO (100 cm-1) thermal terms, 1 M and 55.34 M standard states',
            'settings': 'ZnComplexationWorkChain fast (xtb prerank, pyscf dft)',
            'table': str(TABLE.relative_to(ROOT)),
            'results': str(results.relative_to(ROOT)) if results.is_relative_to(ROOT) else str(results),
            'command': f'benchmarks/zn_calibration_dft.py --fit-only --model {model} --write-calibration FILE',
            **chosen['fit_all'],
            'leave_one_out': chosen['leave_one_out'],
            'raw': report['models']['raw']['leave_one_out'],
        }
        write.write_text(json.dumps(calibration, indent=2) + '\n')
        print(f'calibration: {write}')
    return report


def _line(label: str, figures: dict) -> None:
    print(
        f'{label:<34}{figures["n"]:>4}{figures["mae"]:>8.3f}{figures["rmse"]:>8.3f}{figures["spearman"]:>7.2f}'
        f'{figures["slope"]:>7.2f}{figures["max_error"]:>7.2f}'
    )


def main() -> None:
    from aiida_znadditive.analysis.calibration import DEFAULT_MODEL, MODELS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--ligands', nargs='*', default=list(DEFAULT_LIGANDS), help='names in the stability table')
    parser.add_argument('--results', type=Path, default=RESULTS)
    parser.add_argument('--work-dir', type=Path, default=ROOT / 'build' / 'zn_calibration_dft')
    parser.add_argument('--protocol', default='fast')
    parser.add_argument('--fit-only', action='store_true', help='no new runs: the figures of the results so far')
    parser.add_argument('--model', default=DEFAULT_MODEL, choices=MODELS)
    parser.add_argument('--write-calibration', type=Path, default=None, help='write the --model fit here (JSON)')
    args = parser.parse_args()
    unknown = sorted(set(args.ligands) - set(read_table()))
    if unknown:
        parser.error(f'not in {TABLE.name}: {", ".join(unknown)}')
    if not args.fit_only:
        args.work_dir.mkdir(parents=True, exist_ok=True)
        run(args.ligands, args.results, args.work_dir, args.protocol)
    fit(args.results, args.model, args.write_calibration)


if __name__ == '__main__':
    main()
