"""Benchmark: wall time of `fast` ZnComplexationWorkChain runs and the AiiDA overhead against bare runs.

Usage (from the repository root, after `bash scripts/install.sh`)::

    .venv/bin/python benchmarks/complexation.py CO 'CS(C)=O'

It makes a fresh embedded profile in a temporary AIIDA_PATH (so the references [Zn(H2O)6]2+ and H2O are computed,
not reused), runs each additive with the `fast` protocol (xTB pre-ranking, PySCF DFT), then re-runs every job the
WorkChains ran (PySCF scripts and xtb commands, from copies of their working directories, one after another) without
AiiDA. It prints:

- the wall time of each WorkChain (the first one includes the references);
- the bare time: the sum of the bare jobs' wall times;
- the ratio WorkChain / bare. The WorkChain runs independent jobs concurrently (on 2 cores with 2 OpenMP threads
  each), the bare runs go one after another, so the ratio holds both AiiDA's overhead and that concurrency.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time


def main(smiles: list[str]) -> None:
    home = pathlib.Path(tempfile.mkdtemp(prefix='znadditive-benchmark-'))
    os.environ['AIIDA_PATH'] = str(home)  # before aiida is imported: the profile lives only in this folder
    from aiida import load_profile, orm
    from aiida.engine import run_get_node

    from aiida_znadditive.environment.codes import ensure_codes, load_codes_file
    from aiida_znadditive.environment.profiles import ensure_embedded_profile
    from aiida_znadditive.workchains.complexation import ZnComplexationWorkChain

    ensure_embedded_profile('benchmark')
    load_profile('benchmark', allow_switch=True)
    ensure_codes(load_codes_file())
    xtb, pyscf = orm.load_code('xtb@localhost'), orm.load_code('pyscf@localhost')

    rows = []
    for molecule in smiles:
        builder = ZnComplexationWorkChain.get_builder_from_protocol(xtb, pyscf, molecule, protocol='fast')
        start = time.perf_counter()
        results, node = run_get_node(builder)
        wall = time.perf_counter() - start
        status = 'ok' if node.is_finished_ok else f'exit {node.exit_status}'
        energy = results['exchange_energy_solvated'].value if node.is_finished_ok else float('nan')
        bare = bare_rerun(node)
        rows.append((molecule, node.pk, wall, bare, energy, status))
        print(
            f'{molecule}: WorkChain {wall:.0f} s, bare {bare:.0f} s, ratio {wall / bare:.2f}, '
            f'ΔE(water) {energy:+.3f} eV ({status})',
            flush=True,
        )

    print(f'\n{"SMILES":<12} {"PK":>6} {"WorkChain/s":>12} {"bare/s":>8} {"ratio":>6} {"ΔE water/eV":>12}')
    for molecule, pk, wall, bare, energy, _ in rows:
        print(f'{molecule:<12} {pk:>6} {wall:>12.0f} {bare:>8.0f} {wall / bare:>6.2f} {energy:>+12.3f}')
    total_wall, total_bare = sum(r[2] for r in rows), sum(r[3] for r in rows)
    print(f'{"all":<12} {"":>6} {total_wall:>12.0f} {total_bare:>8.0f} {total_wall / total_bare:>6.2f}')
    shutil.rmtree(home, ignore_errors=True)


def bare_rerun(workchain) -> float:
    """Re-run every CalcJob below ``workchain`` from a copy of its working directory; return the summed wall time."""
    from aiida import orm

    total = 0.0
    for node in workchain.called_descendants:
        if not isinstance(node, orm.CalcJobNode):
            continue
        with tempfile.TemporaryDirectory() as folder:
            workdir = pathlib.Path(node.get_remote_workdir())
            for path in workdir.iterdir():
                # Only the inputs: outputs of the first run must not help (a checkpoint would warm-start the SCF).
                if path.name in ('_aiidasubmit.sh', 'script.py', 'aiida.xyz', 'log.ini') or path.suffix == '.inp':
                    shutil.copy(path, folder)
            start = time.perf_counter()
            subprocess.run(['bash', '_aiidasubmit.sh'], cwd=folder, capture_output=True, check=False)
            total += time.perf_counter() - start
    return total


if __name__ == '__main__':
    main(sys.argv[1:] or ['CO', 'CS(C)=O'])
