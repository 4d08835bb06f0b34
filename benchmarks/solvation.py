"""Benchmark: MD throughput of SolvationShellWorkChain vs bare ``cp2k.psmp``, and cost against box size.

Usage (from the repository root, after `bash scripts/install.sh`)::

    .venv/bin/python benchmarks/solvation.py                 # overhead (32 waters) + scaling (32, 64, 128)
    .venv/bin/python benchmarks/solvation.py --steps 200 --waters 32 64 128

Everything runs in a fresh embedded profile in a temporary AIIDA_PATH, with the `fast` protocol (CP2K GFN1-xTB,
1 fs steps, 2 MPI ranks):

1. Overhead: a SolvationShellWorkChain of ``--steps`` MD steps in two segments (so the segment chaining, the
   restart files and the analysis are all part of the measured time), then the same CP2K input run bare, as one
   ``mpirun -np 2 cp2k.psmp`` of the same number of steps, in a copy of the first segment's working directory.
   Printed: steps/s of each and their ratio (bare / WorkChain: the WorkChain's slowdown; target <= 1.05).
2. Scaling: bare CP2K MD steps of boxes with 32, 64 and 128 waters (same density, Zn2+ and sulfate), timed from
   CP2K's own per-step clock (``.ener`` column UsedTime, first step excluded: it holds the setup).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import subprocess
import tempfile
import time

import numpy as np

MPI_ENV = {'OMP_NUM_THREADS': '1', 'OMPI_ALLOW_RUN_AS_ROOT': '1', 'OMPI_ALLOW_RUN_AS_ROOT_CONFIRM': '1'}


def run_bare(workdir: pathlib.Path, steps: int) -> tuple[float, np.ndarray]:
    """Run CP2K on ``aiida.inp`` in ``workdir`` with MD STEPS set to ``steps``; wall seconds and per-step times."""
    text = (workdir / 'aiida.inp').read_text()
    lines = [
        line.split('STEPS')[0] + f'STEPS {steps}' if line.strip().startswith('STEPS ') else line
        for line in text.splitlines()
    ]
    (workdir / 'aiida.inp').write_text('\n'.join(lines) + '\n')
    for stale in workdir.glob('aiida-*'):
        stale.unlink()
    start = time.perf_counter()
    subprocess.run(
        ['mpirun', '-np', '2', 'cp2k.psmp', '-i', 'aiida.inp', '-o', 'aiida.out'],
        cwd=workdir,
        env={**os.environ, **MPI_ENV},
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - start
    ener = np.loadtxt(workdir / 'aiida-1.ener', ndmin=2)
    return wall, ener[1:, 6]


def overhead(code, steps: int) -> None:
    from aiida.engine import run_get_node

    from aiida_znadditive.workchains.solvation import SolvationShellWorkChain

    # Two segments; frames every 5 steps; no equilibration to skip beyond the first frame (it is a timing run).
    picoseconds = steps / 1000.0
    overrides = {
        'md': {'total_ps': picoseconds, 'segment_ps': picoseconds / 2, 'equilibration_ps': 0.0},
        'options': {'max_wallclock_seconds': 3600},
    }
    builder = SolvationShellWorkChain.get_builder_from_protocol(code, protocol='fast', overrides=overrides)
    start = time.perf_counter()
    _, node = run_get_node(builder)
    wall = time.perf_counter() - start
    assert node.is_finished_ok, f'WorkChain failed: {node.exit_status} {node.exit_message}'
    calculations = [n for n in node.called_descendants if n.process_label == 'Cp2kCalculation']
    first = min(calculations, key=lambda n: n.pk)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix='znadditive-bare-'))
    remote = pathlib.Path(first.get_remote_workdir())
    for name in ('aiida.inp', 'aiida.coords.xyz'):
        shutil.copy(remote / name, workdir / name)
    bare_wall, _ = run_bare(workdir, steps)
    print(f'overhead, 32 waters, {steps} MD steps in 2 segments ({len(calculations)} CP2K runs):')
    print(f'  WorkChain (build box, {len(calculations)} CP2K runs, splice, analysis, figure): {wall:.1f} s')
    print(f'  bare cp2k.psmp, one run of {steps} steps:                                {bare_wall:.1f} s')
    print(
        f'  steps/s: WorkChain {steps / wall:.3f}, bare {steps / bare_wall:.3f}; '
        f'ratio bare/WorkChain = {wall / bare_wall:.3f}',
        flush=True,
    )


def scaling(code, waters: list[int], steps: int) -> None:
    from aiida_znadditive.calculators.base import Task, load_calculator
    from aiida_znadditive.structures.electrolyte import pack_electrolyte

    adapter = load_calculator('cp2k')
    print(f'\nscaling, bare cp2k.psmp, {steps} GFN1-xTB MD steps each (2 MPI ranks):')
    print(f'{"waters":>7} {"atoms":>6} {"box/Å":>6} {"s/step":>8} {"steps/s":>8} {"ps/day":>7}')
    for n_waters in waters:
        box = pack_electrolyte(n_waters=n_waters)
        from aiida import orm

        structure = orm.StructureData(ase=box.atoms)
        task = Task(
            kind='md',
            charge=box.charge,
            protocol='fast',
            settings={'method': 'xtb', 'md': {'steps': steps, 'timestep': 1.0, 'hydrogen_mass': 2.0141}},
        )
        parameters = adapter.input_parameters(structure, task, adapter.settings(task))
        parameters['GLOBAL']['PROJECT'] = 'aiida'
        parameters['FORCE_EVAL']['SUBSYS']['CELL']['ABC'] = ' '.join(f'{x:.6f}' for x in box.atoms.cell.lengths())
        topology = {'COORD_FILE_NAME': 'aiida.coords.xyz', 'COORD_FILE_FORMAT': 'XYZ'}
        parameters['FORCE_EVAL']['SUBSYS']['TOPOLOGY'] = topology
        from aiida_cp2k.utils import Cp2kInput

        workdir = pathlib.Path(tempfile.mkdtemp(prefix=f'znadditive-scaling-{n_waters}-'))
        (workdir / 'aiida.inp').write_text(Cp2kInput(parameters).render())
        box.atoms.write(workdir / 'aiida.coords.xyz', format='xyz')
        _, per_step = run_bare(workdir, steps)
        seconds = float(np.mean(per_step))
        print(
            f'{n_waters:>7} {len(box.atoms):>6} {box.atoms.cell.lengths()[0]:>6.2f} {seconds:>8.3f} '
            f'{1 / seconds:>8.2f} {86400 / seconds / 1000:>7.1f}',
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=200, help='MD steps of the overhead run')
    parser.add_argument('--scaling-steps', type=int, default=20)
    parser.add_argument('--waters', type=int, nargs='+', default=[32, 64, 128])
    parser.add_argument('--skip-overhead', action='store_true')
    arguments = parser.parse_args()

    home = pathlib.Path(tempfile.mkdtemp(prefix='znadditive-benchmark-'))
    os.environ['AIIDA_PATH'] = str(home)  # before aiida is imported: the profile lives only in this folder
    from aiida import load_profile, orm

    from aiida_znadditive.environment.codes import ensure_codes, load_codes_file
    from aiida_znadditive.environment.profiles import ensure_embedded_profile

    ensure_embedded_profile('benchmark')
    load_profile('benchmark', allow_switch=True)
    ensure_codes(load_codes_file())
    code = orm.load_code('cp2k@localhost')
    if not arguments.skip_overhead:
        overhead(code, arguments.steps)
    scaling(code, arguments.waters, arguments.scaling_steps)


if __name__ == '__main__':
    main()
