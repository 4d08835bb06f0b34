"""Run ``aiida-znadditive`` and small AiiDA scripts as a user's shell would: own process, own ``AIIDA_PATH``."""

from __future__ import annotations

import os
import pathlib
import shlex
import subprocess
import sys
import textwrap

BIN = pathlib.Path(sys.executable).parent
CLI = [str(BIN / 'aiida-znadditive')]


def environment(aiida_path: pathlib.Path) -> dict:
    # verdi (the daemon's) must be on PATH, as in an activated venv.
    return {**os.environ, 'AIIDA_PATH': str(aiida_path), 'PATH': f'{BIN}{os.pathsep}{os.environ["PATH"]}'}


def run_cli(args: list[str], aiida_path: pathlib.Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        CLI + args, capture_output=True, text=True, env=environment(aiida_path), check=False, timeout=timeout
    )


def run_fix(fix: str, aiida_path: pathlib.Path) -> subprocess.CompletedProcess:
    """Run a ``fix:`` line of ``doctor`` as pasted into a shell (its explanation in parentheses dropped)."""
    command = fix.split('  (', maxsplit=1)[0].strip()
    return subprocess.run(
        ['bash', '-c', command], capture_output=True, text=True, env=environment(aiida_path), check=False, timeout=600
    )


def fixes(output: str) -> list[str]:
    return [line.split('fix: ', 1)[1] for line in output.splitlines() if line.strip().startswith('fix: ')]


def run_python(script: str, aiida_path: pathlib.Path, profile: str) -> str:
    """Run ``script`` with ``profile`` loaded; return its stdout."""
    code = f'from aiida import load_profile\nload_profile({profile!r})\n' + textwrap.dedent(script)
    result = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True, env=environment(aiida_path), check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def quoted(value: str) -> str:
    return shlex.quote(value)
