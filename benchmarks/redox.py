"""Benchmark: one-electron reduction potentials in water from ``RedoxPotentialWorkChain`` (xtb, ``fast``: GFN2-xTB
relaxations in ALPB water) against measured aqueous values (``data/calibration/redox_reduction_potentials.csv``),
and the linear calibration the WorkChain ships.

Each molecule runs at the pH of its measurement (7) on a throwaway embedded profile; rows are appended to
``build/redox/results.csv`` as they finish (a rerun skips them). Printed: raw MAE and RMSE (absolute SHE 4.281 V),
Pearson r and Spearman ρ, the linear fit E_exp = a E_raw + b with its leave-one-out MAE, RMSE and worst case.
``--write`` stores the fit as ``aiida_znadditive/ml/shipped/redox_calibration/gfn2_xtb.json``. Usage::

    .venv/bin/python benchmarks/redox.py --write
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import pathlib
import tempfile
import time

import numpy as np
from scipy.stats import spearmanr

ROOT = pathlib.Path(__file__).resolve().parents[1]
TABLE = ROOT / 'data' / 'calibration' / 'redox_reduction_potentials.csv'
SHIPPED = ROOT / 'aiida_znadditive' / 'ml' / 'shipped' / 'redox_calibration' / 'gfn2_xtb.json'
FIELDS = ['name', 'smiles', 'measured', 'raw', 'status', 'seconds', 'uuid']


def compute(rows: list[dict], out: pathlib.Path) -> None:
    done = {row['name'] for row in csv.DictReader(out.open())} if out.exists() else set()
    todo = [row for row in rows if row['name'] not in done]
    if not todo:
        return
    os.environ['AIIDA_PATH'] = tempfile.mkdtemp(prefix='znadditive-redox-')
    from aiida import load_profile, orm
    from aiida.engine import run_get_node

    from aiida_znadditive.environment.codes import ensure_codes, load_codes_file
    from aiida_znadditive.environment.profiles import ensure_embedded_profile
    from aiida_znadditive.workchains.redox import RedoxPotentialWorkChain

    ensure_embedded_profile('benchmark')
    load_profile('benchmark', allow_switch=True)
    ensure_codes(load_codes_file())
    code = orm.load_code('xtb@localhost')
    new = not out.exists()
    with out.open('a', newline='') as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        if new:
            writer.writeheader()
        for index, row in enumerate(todo, 1):
            start = time.perf_counter()
            results, node = run_get_node(
                RedoxPotentialWorkChain, smiles=orm.Str(row['smiles']), ph=orm.Float(7.0), code=code
            )
            seconds = time.perf_counter() - start
            raw = results['reduction_potential_raw'].value if 'reduction_potential_raw' in results else float('nan')
            status = 'ok' if node.is_finished_ok else f'exit {node.exit_status}'
            writer.writerow(
                dict(
                    name=row['name'],
                    smiles=row['smiles'],
                    measured=row['e_V_vs_she'],
                    raw=raw,
                    status=status,
                    seconds=round(seconds, 1),
                    uuid=node.uuid,
                )
            )
            handle.flush()
            print(
                f'[{index}/{len(todo)}] {row["name"]}: raw {raw:+.3f} V, measured {row["e_V_vs_she"]} V '
                f'({status}, {seconds:.0f} s)',
                flush=True,
            )


def figures(measured: np.ndarray, predicted: np.ndarray) -> dict:
    errors = predicted - measured
    return {
        'mae_V': float(np.abs(errors).mean()),
        'rmse_V': float(np.sqrt((errors**2).mean())),
        'max_V': float(np.abs(errors).max()),
        'pearson_r': float(np.corrcoef(measured, predicted)[0, 1]),
        'spearman_rho': float(spearmanr(measured, predicted).statistic),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', type=pathlib.Path, default=ROOT / 'build' / 'redox' / 'results.csv')
    parser.add_argument('--write', action='store_true', help='store the fit as the shipped calibration')
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    compute(list(csv.DictReader(TABLE.open())), args.out)
    rows = [row for row in csv.DictReader(args.out.open()) if row['status'] == 'ok']
    names = [row['name'] for row in rows]
    measured = np.array([float(row['measured']) for row in rows])
    raw = np.array([float(row['raw']) for row in rows])
    slope, intercept = np.polyfit(raw, measured, 1)
    loo = np.empty_like(measured)
    for i in range(len(rows)):
        keep = np.arange(len(rows)) != i
        a, b = np.polyfit(raw[keep], measured[keep], 1)
        loo[i] = a * raw[i] + b
    raw_figures, loo_figures = figures(measured, raw), figures(measured, loo)
    print(f'\n{len(rows)} molecules (GFN2-xTB, ALPB water, fast)')
    print(f'{"":<12} {"MAE/V":>7} {"RMSE/V":>7} {"max/V":>7} {"r":>6} {"rho":>6}')
    for label, values in (('raw', raw_figures), ('LOO linear', loo_figures)):
        print(
            f'{label:<12} {values["mae_V"]:7.3f} {values["rmse_V"]:7.3f} {values["max_V"]:7.3f} '
            f'{values["pearson_r"]:6.2f} {values["spearman_rho"]:6.2f}'
        )
    print(f'fit: E = {slope:.3f} E_raw {intercept:+.3f} V')
    worst = np.argsort(-np.abs(loo - measured))[:3]
    print('worst (LOO): ' + ', '.join(f'{names[i]} {loo[i] - measured[i]:+.3f} V' for i in worst))
    if args.write:
        SHIPPED.parent.mkdir(parents=True, exist_ok=True)
        record = {
            'name': 'gfn2_xtb',
            'level': 'GFN2-xTB, ALPB water, relaxed states (RedoxPotentialWorkChain, xtb, fast)',
            'slope': float(slope),
            'intercept': float(intercept),
            'n': len(rows),
            'raw': raw_figures,
            'leave_one_out': loo_figures,
            'table': 'data/calibration/redox_reduction_potentials.csv',
            'made_by': 'benchmarks/redox.py --write',
        }
        SHIPPED.write_text(json.dumps(record, indent=2) + '\n')
        print(f'wrote {SHIPPED.relative_to(ROOT)}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
