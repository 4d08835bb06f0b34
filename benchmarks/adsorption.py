"""Benchmark: SlabAdsorptionWorkChain, `fast` protocol: wall time per configuration and overhead vs bare CP2K.

Usage (from the repository root, after `bash scripts/install.sh`)::

    .venv/bin/python benchmarks/adsorption.py              # water on Zn(002), the real `fast` protocol
    .venv/bin/python benchmarks/adsorption.py 'CS(C)=O'    # an additive (and water as the reference)
    .venv/bin/python benchmarks/adsorption.py 'CS(C)=O' --experimental-lattice --dft-task singlepoint  # the demo
    .venv/bin/python benchmarks/adsorption.py --lattice moderate  # only the Zn bulk relaxation of a protocol
    .venv/bin/python benchmarks/adsorption.py --lattice moderate --start-lattice 2.6182,4.8732  # from `fast`'s a,c
    AIIDA_PATH=... .venv/bin/python benchmarks/adsorption.py --pk 123   # report on a finished run in a profile
    .venv/bin/python benchmarks/adsorption.py --aiida-path /tmp/znadditive-benchmark-x  # again in that profile

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


def relax_lattice(code, protocol: str, start: tuple[float, float] | None = None) -> None:
    """Only the protocol's Zn bulk relaxation (a CalculatorWorkChain) and its deviation from experiment.

    ``start`` (a, c in Å) replaces the experimental lattice as the starting point, e.g. a cheaper protocol's relaxed
    lattice: CELL_OPT then needs a few steps instead of ~17; the deviation is still taken against experiment.
    """
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_znadditive.analysis.adsorption import zn_lattice
    from aiida_znadditive.protocols import resolve_protocol
    from aiida_znadditive.structures.zinc_slab import build_zn_bulk
    from aiida_znadditive.workchains.calculator import CalculatorWorkChain

    _, settings = resolve_protocol('adsorption', protocol)
    bulk = settings['bulk']
    initial = dict(bulk['lattice']) if start is None else {'a': start[0], 'c': start[1]}
    started = time.perf_counter()
    results, node = run_get_node(
        CalculatorWorkChain,
        calculator=orm.Str(settings['calculator']),
        code=code,
        structure=build_zn_bulk(orm.Dict(initial)),
        task=orm.Str('relax'),
        protocol=orm.Str(bulk['protocol']),
        settings=orm.Dict(bulk['settings']),
    )
    wall = time.perf_counter() - started
    lattice = zn_lattice(results['structure'], orm.Dict(bulk['lattice']))
    runs = calcjobs(node)
    print(
        f'{protocol} bulk relaxation from a = {initial["a"]} Å, c = {initial["c"]} Å: '
        f'CalculatorWorkChain<{node.pk}> exit {node.exit_status}, {wall:.0f} s'
    )
    print(
        f'lattice: a = {lattice["a"]:.4f} Å ({lattice["a_error_percent"]:+.2f}%), c = {lattice["c"]:.4f} Å '
        f'({lattice["c_error_percent"]:+.2f}%), c/a = {lattice["c_over_a"]:.3f} (Dict<{lattice.pk}>); '
        f'CP2K own {sum(cp2k_seconds(run) for run in runs):.0f} s in {len(runs)} runs'
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('molecule', nargs='?', help='SMILES of an additive (default: water alone)')
    parser.add_argument('--protocol', default='fast')
    parser.add_argument('--dft-task', choices=['relax', 'singlepoint'], help='override the DFT stage')
    parser.add_argument('--experimental-lattice', action='store_true', help='skip the bulk relaxation')
    parser.add_argument('--lattice', metavar='PROTOCOL', help='only relax the bulk of PROTOCOL')
    parser.add_argument(
        '--start-lattice', metavar='A,C', help='with --lattice: start from these a,c (Å) instead of experiment'
    )
    parser.add_argument(
        '--aiida-path', help="an earlier benchmark's folder: its profile, so the relaxed Zn bulk there is reused"
    )
    parser.add_argument('--pk', type=int, help='report on this finished SlabAdsorptionWorkChain (current profile)')
    arguments = parser.parse_args()

    if arguments.aiida_path:
        os.environ['AIIDA_PATH'] = arguments.aiida_path
    elif arguments.pk is None:
        home = pathlib.Path(tempfile.mkdtemp(prefix='znadditive-benchmark-'))
        os.environ['AIIDA_PATH'] = str(home)  # before aiida is imported: the profile lives only in this folder
    from aiida import load_profile, orm
    from aiida.engine import run_get_node

    from aiida_znadditive.environment.codes import ensure_codes, load_codes_file
    from aiida_znadditive.environment.profiles import ensure_embedded_profile
    from aiida_znadditive.workchains.adsorption import SlabAdsorptionWorkChain

    if arguments.pk is not None:
        load_profile()
        node = orm.load_node(arguments.pk)
        results = {link.link_label: link.node for link in node.base.links.get_outgoing().all()}
        results.update({name: node.outputs[name] for name in ('additive', 'water') if name in node.outputs})
        wall = (node.mtime - node.ctime).total_seconds()
        report(node, results, wall, 'existing run')
        return
    ensure_embedded_profile('benchmark')
    load_profile('benchmark', allow_switch=True)
    ensure_codes(load_codes_file())
    code = orm.load_code('cp2k@localhost')
    if arguments.lattice:
        start = tuple(float(value) for value in arguments.start_lattice.split(',')) if arguments.start_lattice else None
        relax_lattice(code, arguments.lattice, start)
        return
    overrides: dict = {'max_concurrent': 1}
    if arguments.dft_task:
        overrides['dft'] = {'task': arguments.dft_task}
    if arguments.experimental_lattice:
        overrides['bulk'] = {'relax': False}
    builder = SlabAdsorptionWorkChain.get_builder_from_protocol(
        code, arguments.molecule, protocol=arguments.protocol, overrides=overrides
    )
    started = time.perf_counter()
    results, node = run_get_node(builder)
    report(node, results, time.perf_counter() - started, arguments.protocol)


def report(node, results, wall: float, protocol: str) -> None:
    """Physics, wall time per calculation and stage, and the overhead against CP2K's own run times."""
    from aiida import orm
    from aiida.common.links import LinkType

    print(f'SlabAdsorptionWorkChain<{node.pk}> exit {node.exit_status} in {wall:.1f} s ({protocol})')
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
        label = child.base.links.get_incoming(link_type=LinkType.CALL_WORK).one().link_label
        print(f'  {stage:<8} {label:<32} {job_wall:8.1f} {own:8.1f}  ({len(runs)} run{"s" * (len(runs) > 1)})')
    for stage, times in stages.items():
        print(f'{stage}: {len(times)} calculations, {sum(times) / len(times):.1f} s each on average (CP2K own)')
    print(f'\noverhead: WorkChain {wall:.1f} s vs bare CP2K {bare_total:.1f} s: ratio {wall / bare_total:.3f}')


if __name__ == '__main__':
    main()
