"""Benchmark: the `fast` complexation of a new candidate with and without the cheap level's Hessian as the DFT
relaxation's starting Hessian (issue 24's first lever), side by side in one run.

Usage (from the repository root, after `bash scripts/install.sh`; nothing else should run on the machine)::

    .venv/bin/python benchmarks/complexation_speed.py --out build/complexation_speed CO 'CS(C)=O' 'CC(=O)[O-]'

A fresh embedded profile in a temporary AIIDA_PATH. For each additive, one `fast` ZnComplexationWorkChain per variant:

- ``model``: every DFT relaxation starts from the cheap relaxation with geomeTRIC's model Hessian (before);
- ``cheap``: from the cheap level's frequency minimum with its GFN2-xTB Hessian (``dft.start_hessian``, after).

The two variants start from different structures, so each computes its own references once: the first additive's
rows include them, the later additives' rows are new candidates with the references reused. Per row: the
WorkChain's wall time, the DFT relaxation of the complex (geomeTRIC cycles, the PySCF job's wall time), ΔE (gas, and
with C-PCM water), ΔG and the Zn-donor distances. Rows are appended to ``OUT/rows.jsonl`` as they finish.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import tempfile
import time

VARIANTS = {'model': False, 'cheap': True}


def complex_relaxation(node) -> tuple[int | None, float | None]:
    """geomeTRIC cycles and wall time (s) of the PySCF relaxation of the best complex below ``node``."""
    from aiida import orm

    label = f'dft_{node.outputs.binding_mode["structure"]}'
    calculator = node.base.links.get_outgoing(link_label_filter=label).one().node
    jobs = [child for child in calculator.called_descendants if isinstance(child, orm.CalcJobNode)]
    cycles = sum(job.outputs.parameters.get_dict().get('optimizer', {}).get('cycles', 0) for job in jobs)
    wall = sum((job.mtime - job.ctime).total_seconds() for job in jobs)
    return cycles, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('smiles', nargs='+')
    parser.add_argument('--out', type=pathlib.Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows_file = args.out / 'rows.jsonl'

    home = pathlib.Path(tempfile.mkdtemp(prefix='znadditive-speed-'))
    os.environ['AIIDA_PATH'] = str(home)  # before aiida is imported: the profile lives only in this folder
    from aiida import load_profile, orm
    from aiida.engine import run_get_node

    from aiida_znadditive.environment.codes import ensure_codes, load_codes_file
    from aiida_znadditive.environment.profiles import ensure_embedded_profile
    from aiida_znadditive.workchains.complexation import ZnComplexationWorkChain

    ensure_embedded_profile('speed')
    load_profile('speed', allow_switch=True)
    ensure_codes(load_codes_file())
    xtb, pyscf = orm.load_code('xtb@localhost'), orm.load_code('pyscf@localhost')

    rows = []
    total = len(args.smiles) * len(VARIANTS)
    started = time.perf_counter()
    for index, (molecule, variant) in enumerate((m, v) for m in args.smiles for v in VARIANTS):
        builder = ZnComplexationWorkChain.get_builder_from_protocol(
            xtb, pyscf, molecule, protocol='fast', overrides={'dft': {'start_hessian': VARIANTS[variant]}}
        )
        start = time.perf_counter()
        results, node = run_get_node(builder)
        wall = time.perf_counter() - start
        row = {'smiles': molecule, 'variant': variant, 'pk': node.pk, 'wall_s': round(wall, 1)}
        row['references_computed'] = molecule == args.smiles[0]
        if node.is_finished_ok:
            cycles, relax_wall = complex_relaxation(node)
            geometry = results['geometry'].get_dict()
            row.update(
                complex_cycles=cycles,
                complex_relax_s=round(relax_wall, 1),
                exchange_energy=results['exchange_energy'].value,
                exchange_energy_solvated=results['exchange_energy_solvated'].value,
                exchange_free_energy=results['exchange_free_energy'].value
                if 'exchange_free_energy' in results
                else None,
                zn_donor=sorted(d for ds in geometry['distances'].values() for d in ds)[:6],
                mode=results['binding_mode']['label'],
            )
        else:
            row['failed'] = f'exit {node.exit_status}: {node.exit_message}'
        rows.append(row)
        with rows_file.open('a') as handle:
            handle.write(json.dumps(row) + '\n')
        elapsed = time.perf_counter() - started
        eta = elapsed / (index + 1) * (total - index - 1)
        print(f'[{index + 1}/{total}] {json.dumps(row)}; ETA {eta / 60:.0f} min', flush=True)

    print(
        f'\n{"SMILES":<12} {"variant":<7} {"refs":>4} {"wall/s":>7} {"cycles":>6} {"relax/s":>7} '
        f'{"ΔE gas":>8} {"ΔE water":>8} {"ΔG":>8}  Zn-donor/Å'
    )
    for row in rows:
        if 'failed' in row:
            print(f'{row["smiles"]:<12} {row["variant"]:<7} {row["failed"]}')
            continue
        free = row['exchange_free_energy']
        print(
            f'{row["smiles"]:<12} {row["variant"]:<7} {"yes" if row["references_computed"] else "no":>4} '
            f'{row["wall_s"]:>7.0f} {row["complex_cycles"]:>6} {row["complex_relax_s"]:>7.0f} '
            f'{row["exchange_energy"]:>+8.3f} {row["exchange_energy_solvated"]:>+8.3f} '
            f'{free if free is None else format(free, "+8.3f"):>8}  ' + ' '.join(f'{d:.3f}' for d in row['zn_donor'])
        )
    by = {(row['smiles'], row['variant']): row for row in rows if 'failed' not in row}
    print('\nafter - before (cheap - model):')
    for molecule in args.smiles:
        if (molecule, 'model') in by and (molecule, 'cheap') in by:
            before, after = by[molecule, 'model'], by[molecule, 'cheap']
            print(
                f'{molecule:<12} wall x{before["wall_s"] / after["wall_s"]:.2f} faster, '
                f'ΔE gas {after["exchange_energy"] - before["exchange_energy"]:+.4f} eV, '
                f'ΔE water {after["exchange_energy_solvated"] - before["exchange_energy_solvated"]:+.4f} eV'
            )
    shutil.rmtree(home, ignore_errors=True)


if __name__ == '__main__':
    main()
