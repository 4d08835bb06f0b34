"""A third-party calculator package, as a user writes one: built from ``examples/zn_tblite`` in a temporary folder,
installed, and tested with aiida-znadditive's conformance suite and complexation WorkChain in a fresh interpreter.

The package (the one the docs' "Adding your own calculator" shows) has two engines: ``tblite_ase``, tblite's ASE
calculator inside a calcfunction (no code), and ``xtb_sp``, the xtb executable through its own CalcJob and parser.
It is installed with ``pip install --target`` into a folder only the child interpreter sees, so its entry points do
not leak into this suite's parametrisation over the registered calculators.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / 'examples' / 'zn_tblite'


def test_a_third_party_package_passes_the_conformance_suite_and_runs_the_complexation_workchain(tmp_path):
    package, site = tmp_path / 'zn_tblite', tmp_path / 'site'
    shutil.copytree(EXAMPLE, package, ignore=shutil.ignore_patterns('__pycache__', '*.egg-info', 'build'))
    install = subprocess.run(
        [
            sys.executable,
            '-m',
            'pip',
            'install',
            '--quiet',
            '--no-deps',
            '--no-build-isolation',
            '--target',
            site,
            str(package),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    assert (site / 'zn_tblite-0.1.0.dist-info' / 'entry_points.txt').is_file()

    environment = {**os.environ, 'PYTHONPATH': str(site)}
    result = subprocess.run(
        [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-W', 'ignore', 'tests'],
        cwd=package,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-2000:]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    # both engines through the conformance suite (xtb_sp skips what it does not do) and one complexation run
    passed = int(re.search(r'(\d+) passed', summary).group(1))
    assert passed >= 20, summary
    assert 'failed' not in summary and 'error' not in summary, summary
