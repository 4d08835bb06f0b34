"""Benchmark: time of ``aiida-znadditive report`` for 1,000 complexation results (issue 20: at most 30 s).

Usage (from the repository root)::

    .venv/bin/python benchmarks/report_speed.py            # 1,000 results
    .venv/bin/python benchmarks/report_speed.py --results 200

**The results are synthetic nodes**, not WorkChains that ran: 1,000 real runs would take days on this machine. The
script stores, with aiida-core's ORM, the part of a ``ZnComplexationWorkChain``'s graph that the report reads, with the
same node classes, process types, link types and link labels as a real run (checked against a `fast` xTB run):

- the result ``WorkChainNode`` (process type ``znadditive.complexation``, finished, exit status 0), its ``smiles``
  and ``ph`` inputs, and its outputs (species, binding mode, geometry Dicts; every energy a Float), created by a
  ``CalcFunctionNode`` and returned by the WorkChain;
- its 16 ``CalculatorWorkChain`` children (``prerank_*``, ``thermo_*``, ``dft_*``, ``solvated_*``, four each), with
  their ``calculator``, ``protocol``, ``task`` and ``code`` inputs;
- under each, the engine ``CalcJobNode`` (process type ``znadditive.xtb``) with its ``parameters`` input and its
  ``parameters`` output (the xtb version), which the xtb calculator's ``describe`` reads.

A real run holds more nodes (structures, trajectories, retrieved folders, the calcfunctions of each step, ~370 nodes
per result against ~70 here); the report does not read them, but they are among the links it loads. The numbers are
drawn at random and mean nothing.

The graph is stored once in ``build/report_speed/`` (an embedded profile of its own, in its own AIIDA_PATH) and reused
by later runs with the same ``--results``; then the report is written into a temporary folder and timed. It prints
the seconds and the rows per second.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import random
import shutil
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1] / 'build' / 'report_speed'
#: stage -> (task, solvent of the engine run), as a `fast` complexation run with xtb at both levels calls them
STAGES = {
    'prerank': ('relax', 'water'),
    'thermo': ('frequencies', None),
    'dft': ('relax', None),
    'solvated': ('singlepoint', 'water'),
}
SPECIES = ('ligand', 'complex_0', 'hexaaqua', 'water')
FLOATS = (
    'exchange_energy',
    'exchange_energy_solvated',
    'thermal_contribution',
    'standard_state_contribution',
    'exchange_free_energy',
    'prerank_exchange_free_energy',
    'prerank_exchange_free_energy_calibrated',
    'ligand_homo',
    'ligand_lumo',
    'ligand_gap',
)


def store_template(index_smiles: str = 'CO') -> set[int]:
    """Store one synthetic complexation result with aiida-core's ORM (module docstring); the PKs of its own nodes
    (the shared computer, code and input values are left out: the clones link to them too)."""
    from aiida import orm
    from aiida.common.links import LinkType
    from aiida.engine import ProcessState

    computer = orm.Computer(
        label='localhost', hostname='localhost', transport_type='core.local', scheduler_type='core.direct'
    )
    computer.set_workdir('/tmp/report_speed')
    computer.store()
    code = orm.InstalledCode(computer=computer, filepath_executable='/usr/bin/xtb', label='xtb').store()
    # Shared inputs: a Data node may be the input of many processes, so the synthetic graph stores each value once.
    calculator, protocol = orm.Str('xtb').store(), orm.Str('fast').store()
    tasks = {task: orm.Str(task).store() for task, _ in STAGES.values()}
    parameters = {
        stage: orm.Dict(
            {'method': 'gfn2', 'opt_level': 'normal', 'accuracy': 1.0, 'task': task, 'solvent': solvent}
        ).store()
        for stage, (task, solvent) in STAGES.items()
    }
    ph = orm.Float(7.0).store()
    own: list[orm.Node] = []

    def finish(process, label: str) -> None:
        process.set_process_state(ProcessState.FINISHED)
        process.set_exit_status(0)
        process.set_process_label(label)
        process.store()
        own.append(process)

    smiles = orm.Str(index_smiles).store()
    own.append(smiles)
    result = orm.WorkChainNode(process_type='aiida.workflows:znadditive.complexation')
    result.base.links.add_incoming(smiles, LinkType.INPUT_WORK, 'smiles')
    result.base.links.add_incoming(ph, LinkType.INPUT_WORK, 'ph')
    finish(result, 'ZnComplexationWorkChain')
    for stage, (task, _) in STAGES.items():
        for what in SPECIES:
            child = orm.WorkChainNode(process_type='aiida.workflows:znadditive.calculator')
            child.base.links.add_incoming(result, LinkType.CALL_WORK, f'{stage}_{what}')
            for label, value in (('calculator', calculator), ('protocol', protocol), ('code', code)):
                child.base.links.add_incoming(value, LinkType.INPUT_WORK, label)
            child.base.links.add_incoming(tasks[task], LinkType.INPUT_WORK, 'task')
            finish(child, 'CalculatorWorkChain')
            engine = orm.CalcJobNode(computer=computer, process_type='aiida.calculations:znadditive.xtb')
            engine.base.links.add_incoming(child, LinkType.CALL_CALC, f'xtb_{task}')
            engine.base.links.add_incoming(parameters[stage], LinkType.INPUT_CALC, 'parameters')
            engine.base.links.add_incoming(code, LinkType.INPUT_CALC, 'code')
            finish(engine, 'XtbCalculation')
            output = orm.Dict({'xtb_version': '6.5.1', 'total_energy': -20.0})
            output.base.links.add_incoming(engine, LinkType.CREATE, 'parameters')
            own.append(output.store())
    maker = orm.CalcFunctionNode(process_type='aiida.calculations:znadditive.exchange_free_energy')
    maker.base.links.add_incoming(result, LinkType.CALL_CALC, 'CALL')
    finish(maker, 'exchange_free_energy')
    generator = random.Random(19)
    values = {name: orm.Float(generator.uniform(-1.0, 1.0)) for name in FLOATS}
    values['displaced_waters'] = orm.Int(1)
    values['species'] = orm.Dict({'smiles': smiles.value, 'charge': 0})
    values['binding_mode'] = orm.Dict({'label': 'monodentate hydroxyl O(1)', 'denticity': 1, 'criterion': 'dG'})
    values['geometry'] = orm.Dict({'mean_distance': 2.05, 'coordination_number': 6})
    for label, value in values.items():
        value.base.links.add_incoming(maker, LinkType.CREATE, label)
        own.append(value.store())
        value.base.links.add_incoming(result, LinkType.RETURN, label)
    return {node.pk for node in own}


def clone(template: set[int], count: int) -> None:
    """Insert ``count`` copies of the ``template`` nodes and of their links (new UUIDs, one second apart, other
    molecules and random numbers), in bulk: storing ~70 nodes per result one by one through the ORM takes ~3 s per
    result on this machine, the bulk insert a fraction of a second for all of them."""
    import datetime
    import uuid

    from aiida import orm
    from aiida.manage import get_manager
    from aiida.orm.entities import EntityTypes

    fields = ['id', 'uuid', 'node_type', 'process_type', 'label', 'description', 'ctime', 'mtime', 'attributes']
    fields += ['extras', 'repository_metadata', 'user_id', 'dbcomputer_id']
    rows = orm.QueryBuilder().append(orm.Node, filters={'id': {'in': sorted(template)}}, project=fields).all()
    links = (
        orm.QueryBuilder()
        .append(orm.Node, tag='source', project='id')
        .append(orm.Node, with_incoming='source', project='id', edge_project=['label', 'type'])
        .all()
    )
    links = [link for link in links if link[0] in template or link[1] in template]
    alcohols = ['C' * length + 'O' for length in range(1, 41)]
    generator = random.Random(20)
    storage = get_manager().get_profile_storage()
    for first in range(0, count, 100):
        node_rows, owners = [], []
        for copy in range(first, min(first + 100, count)):
            smiles = alcohols[(copy + 1) % len(alcohols)]
            shift = datetime.timedelta(seconds=copy + 1)
            for row in rows:
                record = dict(zip(fields[1:], row[1:], strict=True))
                attributes = dict(record['attributes'] or {})
                if isinstance(attributes.get('value'), float):  # the numbers; pH is a shared input, not copied
                    attributes['value'] = generator.uniform(-1.0, 1.0)
                if attributes.get('value') == 'CO' or attributes.get('smiles') == 'CO':
                    attributes['value' if 'value' in attributes else 'smiles'] = smiles
                if 'mean_distance' in attributes:
                    attributes['mean_distance'] = generator.uniform(1.9, 2.2)
                record.update(uuid=str(uuid.uuid4()), attributes=attributes, extras={})
                record.update(ctime=record['ctime'] + shift, mtime=record['mtime'] + shift)
                node_rows.append(record)
                owners.append((copy, row[0]))
        new = dict(zip(owners, storage.bulk_insert(EntityTypes.NODE, node_rows), strict=True))
        link_rows = [
            {
                'input_id': new.get((copy, source), source),
                'output_id': new.get((copy, target), target),
                'label': label,
                'type': kind,
            }
            for copy in range(first, min(first + 100, count))
            for source, target, label, kind in links
        ]
        storage.bulk_insert(EntityTypes.LINK, link_rows)
        print(f'  cloned {min(first + 100, count)}/{count}', flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--results', type=int, default=1000, help='number of synthetic complexation results')
    args = parser.parse_args()

    home = ROOT / str(args.results)
    fresh = not (home / 'complete').exists()
    if fresh and home.exists():
        shutil.rmtree(home)  # an interrupted earlier build: start again rather than time a partial graph
    home.mkdir(parents=True, exist_ok=True)
    os.environ['AIIDA_PATH'] = str(home)  # before aiida is imported: the profile lives only in this folder
    from aiida import load_profile

    from aiida_znadditive.environment.profiles import ensure_embedded_profile

    ensure_embedded_profile('report-speed', storage_root=home / 'storage')
    load_profile('report-speed', allow_switch=True)
    if fresh:
        print(f'storing {args.results} synthetic complexation results in {home} (once)')
        clone(store_template(), args.results - 1)
        (home / 'complete').write_text('graph stored\n')

    from aiida_znadditive.provenance import result_nodes, write_report
    from aiida_znadditive.provenance.report import FORMATS

    out = pathlib.Path(tempfile.mkdtemp(prefix='report-speed-'))
    start = time.perf_counter()
    nodes = result_nodes('complexation')
    written = write_report(nodes, out, formats=FORMATS)
    seconds = time.perf_counter() - start
    print(f'report of {written["rows"]} results: {seconds:.1f} s, {written["rows"] / seconds:.0f} rows/s -> {out}')
    if written['rows'] >= 1000:
        print('target (issue 20): at most 30 s for 1,000 results:', 'met' if seconds <= 30 else 'NOT met')


if __name__ == '__main__':
    main()
