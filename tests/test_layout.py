"""The package's layers, read from its imports (AST, function-level imports included): the ML half never drives a
WorkChain, engines never know the workflows that use them, and no two subpackages import each other."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import aiida_znadditive

ROOT = Path(aiida_znadditive.__file__).parent
#: subpackage -> subpackages it must never import (directly or in a function)
FORBIDDEN = {
    'ml': {'workchains', 'orchestration', 'cli', 'calculators', 'testing'},
    'calculators': {'workchains', 'orchestration', 'ml', 'cli', 'testing'},
    'workchains': {'ml', 'orchestration', 'cli', 'testing'},
    'structures': {'workchains', 'orchestration', 'ml', 'cli', 'calculators', 'analysis', 'testing'},
    'analysis': {'workchains', 'orchestration', 'ml', 'cli', 'calculators', 'testing'},
    'protocols': {'workchains', 'orchestration', 'ml', 'cli', 'calculators', 'testing'},
    'environment': {'workchains', 'orchestration', 'ml', 'calculators', 'testing'},
    'orchestration': {'cli', 'testing'},
    # the conformance suite for third-party packages: it drives the calculators through their WorkChain and nothing
    # in the package itself may depend on it
    'testing': {'ml', 'orchestration', 'cli'},
}


def subpackage(path: Path) -> str:
    parts = path.relative_to(ROOT).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix('.py')


def imported(path: Path, node: ast.AST) -> list[str]:
    """The subpackages of aiida_znadditive that one import statement names."""
    package = list(path.relative_to(ROOT).parts[:-1])
    if isinstance(node, ast.Import):
        return [alias.name.split('.')[1] for alias in node.names if alias.name.startswith('aiida_znadditive.')]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level == 0:
        module = node.module or ''
        return [module.split('.')[1]] if module.startswith('aiida_znadditive.') else []
    base = package[: len(package) - (node.level - 1)]
    target = base + (node.module.split('.') if node.module else [])
    if target:
        return [target[0]]
    return [alias.name for alias in node.names]  # from .. import x, at the package root


def edges() -> dict[str, dict[str, list[str]]]:
    """subpackage -> imported subpackage -> the files that import it."""
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(ROOT.rglob('*.py')):
        source = subpackage(path)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            for target in imported(path, node):
                if target != source and (ROOT / target).is_dir():
                    found[source][target].append(str(path.relative_to(ROOT)))
    return found


def test_no_forbidden_import():
    graph = edges()
    assert 'workchains' in graph['orchestration'], 'the reader found no imports: the test would pass vacuously'
    broken = {
        f'{source} -> {target}': sorted(set(graph[source][target]))
        for source, targets in FORBIDDEN.items()
        for target in targets
        if target in graph[source]
    }
    assert not broken, broken


def test_no_cycle_between_subpackages():
    graph = {source: set(targets) for source, targets in edges().items()}

    def reaches(start: str, goal: str, seen: set) -> bool:
        for step in graph.get(start, ()):
            if step == goal or (step not in seen and reaches(step, goal, seen | {step})):
                return True
        return False

    cycles = sorted(f'{a} <-> {b}' for a in graph for b in graph[a] if reaches(b, a, {b}))
    assert not cycles, cycles


def test_the_workchains_and_the_cli_need_no_ml_stack():
    """`pip install aiida-znadditive` (no `[ml]` extra) gives the WorkChains and the CLI: nothing on their import path
    imports torch, torch-geometric, tblite, pyarrow, DuckDB, qm9pack, PoseBusters or SELFIES."""
    import subprocess
    import sys

    code = """
import sys
for name in ['torch', 'torch_geometric', 'tblite', 'pyarrow', 'duckdb', 'qm9pack', 'posebusters', 'selfies']:
    sys.modules[name] = None  # an import of it raises ImportError
from aiida_znadditive.workchains.complexation import ZnComplexationWorkChain
from aiida_znadditive.workchains.adsorption import SlabAdsorptionWorkChain
from aiida_znadditive.workchains.solvation import SolvationShellWorkChain
from aiida_znadditive.cli import cmd_root
from click.testing import CliRunner
assert CliRunner().invoke(cmd_root, ['complexation', '--help']).exit_code == 0
"""
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
