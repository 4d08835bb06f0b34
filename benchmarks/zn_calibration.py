"""Benchmark: computed Zn2+ exchange free energies against measured stability constants, and their calibration.

Usage (from the repository root)::

    .venv/bin/python benchmarks/zn_calibration.py --work-dir build/zn_calibration --processes 2

For every ligand of ``data/calibration/zn_stability_constants.csv`` (the species of the constant's definition, so
``ph`` is off: glycinate, not glycine's zwitterion) the GFN2-xTB labeller computes ΔE and ΔG of exchange with
[Zn(H2O)6]2+ over all its binding modes (:mod:`aiida_znadditive.ml.labels.zn_binding`), into resumable shards in
``--work-dir``. It then prints, against ΔG_exp = -RT ln K1:

- per ligand: ΔE, ΔG, the mode that won, ΔG_exp, and the leave-one-out calibrated ΔG of each model;
- per model of :mod:`aiida_znadditive.analysis.calibration`: MAE, RMSE, Spearman ρ, slope and largest error, in
  sample and leave-one-out, for all ligands and without the outer-sphere ion pairs (halides, nitrate, sulfate:
  largely solvent-separated in water, which an inner-sphere complex cannot describe);
- the orderings the issue asks for (EDTA4- below glycinate below acetate, water 0, DMSO below methanol), raw and
  with the ``--model`` calibration (leave-one-out values for the table's ligands);

and writes ``calibration.json`` (each model fitted on all ligands, with its leave-one-out figures) and
``calibration.png`` (computed against measured, raw and ``--model``) into ``--work-dir``. ``--write-calibration
FILE`` also writes the ``--model`` fit on all ligands to FILE (the package's ``data/calibration/gfn2_xtb.json``).
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np

from aiida_znadditive.analysis.calibration import DEFAULT_MODEL, MODELS, delta_g_from_log_k, fit, leave_one_out, metrics
from aiida_znadditive.ml.labels import LabelSettings, XtbLabeller, read_labels
from aiida_znadditive.ml.labels.xtb import molecule_identity

TABLE = Path(__file__).resolve().parents[1] / 'data' / 'calibration' / 'zn_stability_constants.csv'
OUTER_SPHERE = {'chloride', 'bromide', 'nitrate', 'sulfate', 'fluoride'}
ORDERING_LIGANDS = {'water': 'O', 'DMSO': 'CS(C)=O', 'methanol': 'CO'}


def read_table(path: Path = TABLE) -> list[dict]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def label(rows: list[dict], work_dir: Path, processes: int, settings: LabelSettings) -> dict[str, dict]:
    """InChIKey -> label row, computing what the shards in ``work_dir`` do not have yet."""
    items = [(row['species_smiles'], row['name']) for row in rows]
    items += [(smiles, name) for name, smiles in ORDERING_LIGANDS.items()]
    start = time.perf_counter()
    summary = XtbLabeller(work_dir, settings=settings, processes=processes, batch_size=1).run(items)
    seconds = time.perf_counter() - start
    print(f'labelled {summary["labelled"]} now ({summary["already_labelled"]} before) in {seconds:.0f} s;')
    print(f'skipped: {summary["skipped"] or "none"}')
    return {row['inchikey']: row for row in read_labels(work_dir)}


def collect(rows: list[dict], labels: dict, settings: LabelSettings) -> dict:
    """Columns (numpy arrays, one entry per ligand with a ΔG) of the table joined with its labels."""
    data = {key: [] for key in ('names', 'computed', 'energies', 'measured', 'charges', 'waters', 'modes')}
    for row in rows:
        result = labels.get(molecule_identity(row['species_smiles'], settings)['inchikey'])
        if result is None or result['zn_exchange_free_energy_ev'] is None:
            note = 'not labelled' if result is None else (result['zn_binding_note'] or 'no ΔG')
            print(f'  {row["name"]:<22} no ΔG: {note[:150]}')
            continue
        data['names'].append(row['name'])
        data['computed'].append(result['zn_exchange_free_energy_ev'])
        data['energies'].append(result['zn_exchange_energy_ev'])
        data['measured'].append(float(delta_g_from_log_k(float(row['log_k1']))))
        data['charges'].append(int(row['charge']))
        data['waters'].append(int(result['zn_denticity']))
        data['modes'].append(result['zn_binding_mode'] or '')
    return {key: np.array(values) if key not in ('names', 'modes') else values for key, values in data.items()}


def fit_models(data: dict) -> dict:
    """Per model: the fit on all ligands and the figures in sample and leave-one-out, all and inner-sphere only."""
    inner = np.array([name not in OUTER_SPHERE for name in data['names']])
    columns = ('computed', 'measured', 'charges', 'waters')
    models = {}
    print(f'\n{"model":<21}{"set":<14}{"fit":<14}{"n":>3}{"MAE":>8}{"RMSE":>8}{"rho":>7}{"slope":>7}{"max":>7}')
    for model in MODELS:
        entry = {'fit_all': fit(model, *(data[c] for c in columns)).as_dict()}
        for subset, mask in (('all', np.ones_like(inner)), ('inner_sphere', inner)):
            computed, measured, charges, waters = (data[c][mask] for c in columns)
            in_sample = fit(model, computed, measured, charges, waters)
            for kind, values in (
                ('in_sample', [in_sample.apply(*v) for v in zip(computed, charges, waters, strict=True)]),
                ('leave_one_out', leave_one_out(model, computed, measured, charges, waters)),
            ):
                figures = metrics(values, measured)
                entry[f'{subset}_{kind}'] = figures
                print(
                    f'{model:<21}{subset:<14}{kind:<14}{figures["n"]:>3}{figures["mae"]:>8.3f}{figures["rmse"]:>8.3f}'
                    f'{figures["spearman"]:>7.2f}{figures["slope"]:>7.2f}{figures["max_error"]:>7.2f}'
                )
        models[model] = entry
    return models


def orderings(data: dict, labels: dict, settings: LabelSettings, model: str, calibrated: np.ndarray) -> dict:
    """The issue's orderings, raw and calibrated (leave-one-out for the table's ligands); the raw values."""
    fitted = fit(model, data['computed'], data['measured'], data['charges'], data['waters'])
    raw = dict(zip(data['names'], data['computed'], strict=True))
    calibrated = dict(zip(data['names'], calibrated, strict=True))
    for name, smiles in ORDERING_LIGANDS.items():
        result = labels.get(molecule_identity(smiles, settings)['inchikey'])
        raw[name] = None if result is None else result['zn_exchange_free_energy_ev']
        if raw[name] is not None:
            calibrated[name] = fitted.apply(raw[name], result['charge'], result['zn_denticity'])
    calibrated['water'] = 0.0  # by definition, before and after calibration
    print(f'\nwater ΔG = {raw.get("water")} eV (must be 0)')
    checks = {'EDTA4- below glycinate': ('EDTA', 'glycinate'), 'glycinate below acetate': ('glycinate', 'acetate')}
    checks['DMSO below methanol'] = ('DMSO', 'methanol')
    for name, values_by_name in (('raw', raw), (model, calibrated)):
        for text, (low, high) in checks.items():
            values = values_by_name.get(low), values_by_name.get(high)
            verdict = 'ok' if None not in values and values[0] < values[1] else 'WRONG'
            print(f'{name:<21} {text}: {values[0]:.3f} < {values[1]:.3f}: {verdict}')
    return {'raw': raw, model: calibrated}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', type=Path, default=Path('build/zn_calibration'))
    parser.add_argument('--processes', type=int, default=2)
    parser.add_argument('--timeout', type=float, default=1800.0, help='seconds per ligand before it is skipped')
    parser.add_argument('--model', default=DEFAULT_MODEL, choices=MODELS, help='the calibration to report and write')
    parser.add_argument('--write-calibration', type=Path, default=None, help='write the --model fit here (JSON)')
    args = parser.parse_args()

    settings = LabelSettings(ph=None, timeout_s=args.timeout)
    rows = read_table()
    labels = label(rows, args.work_dir, args.processes, settings)
    data = collect(rows, labels, settings)
    columns = ('computed', 'measured', 'charges', 'waters')
    predictions = {model: leave_one_out(model, *(data[c] for c in columns)) for model in MODELS}
    print(
        f'\n{"ligand":<22}{"q":>3}{"ΔE":>8}{"ΔG":>8}{"exp":>8}' + ''.join(f'{m[-10:]:>11}' for m in MODELS) + '  mode'
    )
    for i, name in enumerate(data['names']):
        calibrated = ''.join(f'{predictions[m][i]:>11.3f}' for m in MODELS)
        print(
            f'{name:<22}{data["charges"][i]:>3}{data["energies"][i]:>8.3f}{data["computed"][i]:>8.3f}'
            f'{data["measured"][i]:>8.3f}{calibrated}  {data["modes"][i][:70]}'
        )
    report = {'n_ligands': len(data['names']), 'settings': settings.source_version, 'models': fit_models(data)}
    report['orderings'] = orderings(data, labels, settings, args.model, predictions[args.model])
    (args.work_dir / 'calibration.json').write_text(json.dumps(report, indent=2))
    _figure(args.work_dir / 'calibration.png', data, predictions[args.model], args.model)
    if args.write_calibration is not None:
        chosen = report['models'][args.model]
        calibration = {
            'level': 'GFN2-xTB/ALPB(water), quasi-RRHO (100 cm-1), 1 M and 55.34 M standard states',
            'settings': settings.source_version,
            'table': str(TABLE.relative_to(TABLE.parents[2])),
            'command': f'benchmarks/zn_calibration.py --model {args.model} --write-calibration FILE',
            **chosen['fit_all'],
            'leave_one_out': chosen['all_leave_one_out'],
            'raw': report['models']['raw']['all_in_sample'],
        }
        args.write_calibration.write_text(json.dumps(calibration, indent=2) + '\n')
        print(f'calibration: {args.write_calibration}')


def _figure(path: Path, data: dict, calibrated, model: str) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4.8), sharey=True)
    computed, measured, names = data['computed'], data['measured'], data['names']
    for axis, (title, values) in zip(
        axes,
        (('GFN2-xTB ΔG, raw', computed), (f'{model}, leave-one-out', calibrated)),
        strict=True,
    ):
        axis.scatter(values, measured, s=18)
        for x, y, name in zip(values, measured, names, strict=True):
            axis.annotate(name, (x, y), fontsize=6, alpha=0.7)
        low = min(np.min(values), np.min(measured)) - 0.1
        high = max(np.max(values), np.max(measured)) + 0.1
        axis.plot([low, high], [low, high], color='grey', lw=0.8)
        axis.set_title(title)
        axis.set_xlabel('computed ΔG of exchange / eV')
    axes[0].set_ylabel('measured ΔG = -RT ln K1 / eV')
    figure.tight_layout()
    figure.savefig(path, dpi=150)
    print(f'figure: {path}')


if __name__ == '__main__':
    main()
