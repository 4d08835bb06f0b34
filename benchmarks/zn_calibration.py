"""Benchmark: computed Zn2+ exchange free energies against measured stability constants, and their calibration.

Usage (from the repository root)::

    .venv/bin/python benchmarks/zn_calibration.py --work-dir build/zn_calibration --processes 2

For every ligand of ``data/calibration/zn_stability_constants.csv`` (the species of the constant's definition, so
``ph`` is off: glycinate, not glycine's zwitterion) the GFN2-xTB labeller computes ΔE and ΔG of exchange with
[Zn(H2O)6]2+ over all its binding modes (:mod:`aiida_znadditive.ml.labels.zn_binding`), into resumable shards in
``--work-dir``. It then prints, against ΔG_exp = -RT ln K1:

- per ligand: ΔE, ΔG, the mode that won, ΔG_exp, and the leave-one-out calibrated ΔG of each model;
- per model (``raw``, ``linear``, ``linear_charge``: :mod:`aiida_znadditive.analysis.calibration`): MAE, RMSE,
  Spearman ρ, slope and largest error, in sample and leave-one-out, for all ligands and without the outer-sphere
  ion pairs (halides, nitrate, sulfate: largely solvent-separated in water, which an inner-sphere complex cannot
  describe);
- the orderings the issue asks for (EDTA4- below glycinate below acetate, water 0, DMSO below methanol);

and writes ``calibration.json`` (each model fitted on all ligands, with its leave-one-out figures) and
``calibration.png`` (computed against measured) into ``--work-dir``.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np

from aiida_znadditive.analysis.calibration import MODELS, delta_g_from_log_k, fit, leave_one_out, metrics
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', type=Path, default=Path('build/zn_calibration'))
    parser.add_argument('--processes', type=int, default=2)
    parser.add_argument('--timeout', type=float, default=1800.0, help='seconds per ligand before it is skipped')
    args = parser.parse_args()

    settings = LabelSettings(ph=None, timeout_s=args.timeout)
    rows = read_table()
    labels = label(rows, args.work_dir, args.processes, settings)

    names, computed, energies, measured, charges, modes = [], [], [], [], [], []
    for row in rows:
        key = molecule_identity(row['species_smiles'], settings)['inchikey']
        result = labels.get(key)
        if result is None or result['zn_exchange_free_energy_ev'] is None:
            note = 'not labelled' if result is None else (result['zn_binding_note'] or 'no ΔG')
            print(f'  {row["name"]:<22} no ΔG: {note[:150]}')
            continue
        names.append(row['name'])
        computed.append(result['zn_exchange_free_energy_ev'])
        energies.append(result['zn_exchange_energy_ev'])
        measured.append(float(delta_g_from_log_k(float(row['log_k1']))))
        charges.append(int(row['charge']))
        modes.append(result['zn_binding_mode'] or '')
    computed, measured, charges = np.array(computed), np.array(measured), np.array(charges)

    predictions = {model: leave_one_out(model, computed, measured, charges) for model in MODELS}
    print(f'\n{"ligand":<22}{"q":>3}{"ΔE":>8}{"ΔG":>8}{"exp":>8}' + ''.join(f'{m[:10]:>11}' for m in MODELS) + '  mode')
    for i, name in enumerate(names):
        calibrated = ''.join(f'{predictions[m][i]:>11.3f}' for m in MODELS)
        print(
            f'{name:<22}{charges[i]:>3}{energies[i]:>8.3f}{computed[i]:>8.3f}{measured[i]:>8.3f}{calibrated}  '
            f'{modes[i][:70]}'
        )

    inner = np.array([name not in OUTER_SPHERE for name in names])
    report = {'n_ligands': len(names), 'settings': settings.source_version, 'models': {}}
    print(f'\n{"model":<15}{"set":<14}{"fit":<14}{"n":>3}{"MAE":>8}{"RMSE":>8}{"rho":>7}{"slope":>7}{"max":>7}')
    for model in MODELS:
        fitted = fit(model, computed, measured, charges)
        entry = {'fit_all': fitted.as_dict()}
        for subset, mask in (('all', np.ones_like(inner)), ('inner_sphere', inner)):
            in_sample = fit(model, computed[mask], measured[mask], charges[mask])
            for kind, values in (
                ('in_sample', [in_sample.apply(c, q) for c, q in zip(computed[mask], charges[mask], strict=True)]),
                ('leave_one_out', leave_one_out(model, computed[mask], measured[mask], charges[mask])),
            ):
                figures = metrics(values, measured[mask])
                entry[f'{subset}_{kind}'] = figures
                print(
                    f'{model:<15}{subset:<14}{kind:<14}{figures["n"]:>3}{figures["mae"]:>8.3f}{figures["rmse"]:>8.3f}'
                    f'{figures["spearman"]:>7.2f}{figures["slope"]:>7.2f}{figures["max_error"]:>7.2f}'
                )
        report['models'][model] = entry

    by_name = dict(zip(names, computed, strict=True))
    for name, smiles in ORDERING_LIGANDS.items():
        result = labels.get(molecule_identity(smiles, settings)['inchikey'])
        by_name[name] = None if result is None else result['zn_exchange_free_energy_ev']
    checks = {
        'EDTA4- below glycinate': ('EDTA', 'glycinate'),
        'glycinate below acetate': ('glycinate', 'acetate'),
        'DMSO below methanol': ('DMSO', 'methanol'),
    }
    print(f'\nwater ΔG = {by_name.get("water")} eV (must be 0)')
    for text, (low, high) in checks.items():
        values = by_name.get(low), by_name.get(high)
        verdict = 'ok' if None not in values and values[0] < values[1] else 'WRONG'
        print(f'{text}: {values[0]} < {values[1]}: {verdict}')
    report['orderings'] = {
        name: by_name.get(name) for name in ('EDTA', 'glycinate', 'acetate', 'DMSO', 'methanol', 'water')
    }
    (args.work_dir / 'calibration.json').write_text(json.dumps(report, indent=2))
    _figure(args.work_dir / 'calibration.png', computed, measured, predictions, names)


def _figure(path: Path, computed, measured, predictions, names) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4.8), sharey=True)
    for axis, (title, values) in zip(
        axes,
        (('GFN2-xTB ΔG, raw', computed), ('linear_charge, leave-one-out', predictions['linear_charge'])),
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
