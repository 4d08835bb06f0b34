"""Benchmark: the Zn-O symmetric stretch of [Zn(H2O)6]2+ against the measured Raman band (390 cm⁻¹, Rudolph & Pye,
Phys. Chem. Chem. Phys. 1999, 1, 4583) at each level the platform has: GFN2-xTB in ALPB water (xtb) and
B3LYP-D3(BJ)/def2-SVP in C-PCM water (pyscf, ``fast``), through the calculator task ``frequencies`` and the
calcfunction ``zn_o_stretch``, on a throwaway embedded profile. Prints the stretch, its share of the breathing and
the wall time of each level. Usage::

    .venv/bin/python benchmarks/zn_o_stretch.py            # both levels; --levels xtb for the cheap one only
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

RAMAN = 390.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--levels', default='xtb,pyscf')
    args = parser.parse_args()
    os.environ['AIIDA_PATH'] = tempfile.mkdtemp(prefix='znadditive-stretch-')
    from aiida import load_profile, orm
    from aiida.engine import run_get_node

    from aiida_znadditive.analysis.vibrations import zn_o_stretch
    from aiida_znadditive.calculators.base import Task
    from aiida_znadditive.environment.codes import ensure_codes, load_codes_file
    from aiida_znadditive.environment.profiles import ensure_embedded_profile
    from aiida_znadditive.structures.zinc_aqua import build_zn_aqua_complex
    from aiida_znadditive.workchains.calculator import CalculatorWorkChain, calculator_inputs

    ensure_embedded_profile('benchmark')
    load_profile('benchmark', allow_switch=True)
    ensure_codes(load_codes_file())
    start = build_zn_aqua_complex(orm.Float(2.09))
    rows = []
    for level in args.levels.split(','):
        code = orm.load_code(f'{level}@localhost')
        task = Task(kind='frequencies', charge=2, protocol='fast', solvent='water')
        began = time.perf_counter()
        results, node = run_get_node(CalculatorWorkChain, **calculator_inputs(level, code, start, task))
        seconds = time.perf_counter() - began
        if not node.is_finished_ok or 'hessian' not in results:
            print(f'{level}: failed ({node.exit_status} {node.exit_message})', flush=True)
            continue
        stretch = zn_o_stretch(results['structure'], results['hessian'], orm.Float(2.6))
        atoms = results['structure'].get_ase()
        zn_o = sorted(atoms.get_distance(0, i) for i, s in enumerate(atoms.get_chemical_symbols()) if s == 'O')
        rows.append((level, stretch['stretch_cm'], stretch['share'], sum(zn_o) / len(zn_o), seconds))
        print(
            f'{level}: {stretch["stretch_cm"]:.1f} cm-1 (share {stretch["share"]:.3f}), mean Zn-O {rows[-1][3]:.3f} A, '
            f'{seconds:.0f} s',
            flush=True,
        )
    print(f'\n{"level":<8} {"stretch/cm-1":>13} {"vs 390":>8} {"share":>6} {"Zn-O/A":>7} {"wall/s":>7}')
    for level, value, share, distance, seconds in rows:
        print(f'{level:<8} {value:13.1f} {value - RAMAN:+8.1f} {share:6.3f} {distance:7.3f} {seconds:7.0f}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
