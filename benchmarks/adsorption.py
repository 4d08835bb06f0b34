"""Benchmark: SlabAdsorptionWorkChain, `fast` protocol: wall time per configuration and overhead vs bare CP2K.

Usage (from the repository root, after `bash scripts/install.sh`)::

    .venv/bin/python benchmarks/adsorption.py              # water on Zn(002), the real `fast` protocol
    .venv/bin/python benchmarks/adsorption.py 'CS(C)=O'    # an additive (and water as the reference)

Everything runs in a fresh embedded profile in a temporary AIIDA_PATH, one CP2K run at a time (2 MPI ranks fill this
machine). Printed, from one run:

1. the physics: relaxed Zn lattice vs experiment, E_ads of every configuration at GFN1-xTB and of the best at DFT;
2. wall time per calculation (CalcJob creation to end), grouped by stage (bulk, pre-rank, DFT), per configuration;
3. overhead: the WorkChain's wall time against the sum of CP2K's own run times (its `CP2K ... total` timer in
   each output file, i.e. what the same inputs cost run bare one after the other); ratio = WorkChain / bare.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import tempfile
import time

#: CP2K's timing report: the `CP2K` line's last column is the program's total wall time in seconds
TIMER = re.compile(r'^ CP2K\s+\d+\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S+)\s*$', re.MULTILINE)


def cp2k_seconds(calcjob) -> float:
    """CP2K's own total wall time of one run, from its output file."""
    text = calcjob.outputs.retrieved.base.repository.get_object_content('aiida.out')
    found = TIMER.findall(text)
    return float(found[-1]) if found else float('nan')


def calcjobs(node):
    from aiida import orm

    return [descendant for descendant in node.called_descendants if isinstance(descendant, orm.CalcJobNode)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('molecule', nargs='?', help='SMILES of an additive (default: water alone)')
    parser.add_argument('--protocol', default='fast')
    arguments = parser.parse_args()

    home = pathlib.Path(tempfile.mkdtemp(prefix='znadditive-benchmark-'))
    os.environ['AIIDA_PATH'] = str(home)  # before aiida is imported: the profile lives only in this folder
    from aiida import load_profile, orm
    from aiida.engine import run_get_node

    from aiida_znadditive.environment.codes import ensure_codes, load_codes_file
    from aiida_znadditive.environment.profiles import ensure_embedded_profile
    from aiida_znadditive.workchains.adsorption import SlabAdsorptionWorkChain

    ensure_embedded_profile('benchmark')
    load_profile('benchmark', allow_switch=True)
    ensure_codes(load_codes_file())
    code = orm.load_code('cp2k@localhost')
    builder = SlabAdsorptionWorkChain.get_builder_from_protocol(
        code, arguments.molecule, protocol=arguments.protocol, overrides={'max_concurrent': 1}
    )
    started = time.perf_counter()
    results, node = run_get_node(builder)
    wall = time.perf_counter() - started
    print(f'SlabAdsorptionWorkChain<{node.pk}> exit {node.exit_status} in {wall:.1f} s ({arguments.protocol})')
    if 'lattice' in results:
        lattice = results['lattice']
        print(
            f'lattice: a = {lattice["a"]:.4f} Å ({lattice["a_error_percent"]:+.2f}%), '
            f'c = {lattice["c"]:.4f} Å ({lattice["c_error_percent"]:+.2f}%), c/a = {lattice["c_over_a"]:.3f}'
        )
    for name in ('additive', 'water'):
        if name not in results:
            continue
        for stage in ('prerank', 'configurations'):
            if stage not in results[name]:
                continue
            for row in results[name][stage]['rows']:
                energy = row['adsorption_energy']
                closest = f'{row["closest_atom"]}-Zn {row["closest_distance"]:.2f} Å' if 'closest_atom' in row else ''
                value = 'failed' if energy is None else f'{energy:+.3f} eV'
                print(f'  {name:<8} {stage:<14} {row["label"]:<22} {value:>11} {row["status"]:>11} {closest}')

    print('\nwall time per calculation (s): stage, label, CalcJob wall, CP2K own')
    stages: dict[str, list[float]] = {}
    bare_total = 0.0
    for child in sorted(node.called, key=lambda child: child.pk):
        if not isinstance(child, orm.WorkflowNode) or child.process_label != 'CalculatorWorkChain':
            continue
        runs = calcjobs(child)
        job_wall = sum((run.mtime - run.ctime).total_seconds() for run in runs)
        own = sum(cp2k_seconds(run) for run in runs)
        bare_total += own
        settings = child.inputs.settings.get_dict()
        stage = 'bulk' if settings.get('relax_cell') else 'prerank' if settings.get('method') == 'xtb' else 'dft'
        stages.setdefault(stage, []).append(own)
        label = child.base.links.get_incoming().one().link_label
        print(f'  {stage:<8} {label:<32} {job_wall:8.1f} {own:8.1f}  ({len(runs)} run{"s" * (len(runs) > 1)})')
    for stage, times in stages.items():
        print(f'{stage}: {len(times)} calculations, {sum(times) / len(times):.1f} s each on average (CP2K own)')
    print(f'\noverhead: WorkChain {wall:.1f} s vs bare CP2K {bare_total:.1f} s: ratio {wall / bare_total:.3f}')


if __name__ == '__main__':
    main()
