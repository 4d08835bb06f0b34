"""Fuzzing the CLI's molecule inputs and numeric options (issue 21): whatever a user types or a file holds, the
command ends with exit status 0, 1 or 2 and a message, never a traceback, and writes nothing outside its output
folder. In-process through click's CliRunner; only commands that launch no physics (``ml predict`` on the shipped
model, ``gen run`` of the random generator with the descriptor objective on a six-molecule library, and the launch
commands up to their profile, which does not exist)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiida_znadditive.cli import cmd_root
from aiida_znadditive.cli.outputs import PACKAGE_DIR

SHIPPED_MODEL = PACKAGE_DIR / 'ml' / 'shipped' / 'zib_xtb'
LIBRARY = ['CCO', 'OCCO', 'CC(=O)O', 'CCN', 'OCC(O)CO', 'CC(C)O']


def fuzz(examples: int) -> settings:
    """Reproducible (derandomised, no example database written) and without deadlines: the first call of a
    command imports torch or RDKit."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


#: What people and scripts put where a SMILES goes: SMILES-like text, shell junk, control and non-ASCII characters.
smiles_texts = st.one_of(
    st.sampled_from(['CCO', '[Zn+2]', '[Na+].[Cl-]', '[CH3]', 'C1CC(N', 'CO rm -rf x', 'CC\nO', 'C' * 600, '', '-']),
    st.text(alphabet='CNOScnos()[]=#+-.123@/\\%', max_size=40),
    st.text(max_size=40),
)
#: File lines as bytes: text, invalid UTF-8, carriage returns, overlong lines.
file_lines = st.one_of(
    smiles_texts.map(lambda text: text.encode('utf-8', errors='surrogatepass')),
    st.binary(max_size=40),
    st.sampled_from([b'\xff\xfe', b'CC\rO', b'OCCO\r', b'C' * 5000, b'smiles', b'# comment']),
)
#: What people give to a numeric option.
numbers = st.one_of(
    st.sampled_from(['nan', 'NaN', 'inf', '-inf', '1e999', '1.5', '3.0', '1e3', '0x10', '', 'none', '-1', '0']),
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=12),
)


def package_files() -> dict[Path, float]:
    return {path: path.stat().st_mtime for path in PACKAGE_DIR.rglob('*') if '__pycache__' not in path.parts}


def check(result) -> None:
    """The promise of every command: a usage error (2), a reported failure (1) or success (0); no traceback."""
    assert result.exit_code in {0, 1, 2}, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert 'Traceback' not in result.output


@pytest.fixture
def in_tmp(tmp_path):
    """Run in ``tmp_path``; afterwards nothing in it but what the commands were asked to write, and the package
    (shipped models included) unchanged."""
    before = package_files()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)
    assert package_files() == before


def test_fuzz_ml_predict(in_tmp):
    tried = []

    @fuzz(80)
    @given(
        arguments=st.lists(smiles_texts, max_size=3),
        lines=st.lists(file_lines, max_size=6),
        batch=st.one_of(st.integers(min_value=1, max_value=64).map(str), numbers),
    )
    def run(arguments, lines, batch):
        (in_tmp / 'in.smi').write_bytes(b'\n'.join(lines))
        args = ['ml', 'predict', str(SHIPPED_MODEL), '--threads', '1', '--batch-size', batch, '--file', 'in.smi']
        result = CliRunner().invoke(cmd_root, [*args, '--', *arguments])
        tried.append(result.exit_code)
        check(result)

    run()
    # shown with pytest -s: how far the inputs went (2: refused as usage, 1: reported failures, 0: all predicted)
    print(f'ml predict: {len(tried)} inputs, exit codes {dict(Counter(int(code) for code in tried))}')
    assert len(tried) >= 20 and {1, 2} <= set(tried)
    assert set(os.listdir(in_tmp)) == {'in.smi'}  # ml predict writes only to stdout and stderr


def test_fuzz_gen_run(in_tmp):
    (in_tmp / 'lib.smi').write_text('\n'.join(LIBRARY) + '\n')
    tried = []

    @fuzz(40)
    @given(
        lines=st.lists(file_lines, max_size=5),
        option=st.sampled_from(['--logp-max', '--sa-max', '--logp-min', '--min-charge', '--max-heavy-atoms', '--seed']),
        value=st.one_of(st.integers(min_value=0, max_value=40).map(str), numbers),
        budget=st.one_of(st.integers(min_value=0, max_value=3).map(str), numbers),
    )
    def run(lines, option, value, budget):
        (in_tmp / 'fuzz.smi').write_bytes(b'\n'.join([*(s.encode() for s in LIBRARY[:3]), *lines]))
        out = in_tmp / 'out' / 'run.csv'
        args = ['gen', 'run', '--generator', 'random', '--rules-only', '--library', 'fuzz.smi', '--force']
        result = CliRunner().invoke(cmd_root, [*args, '--budget', budget, option, value, '--out', str(out)])
        tried.append(result.exit_code)
        check(result)

    run()
    print(f'gen run: {len(tried)} inputs, exit codes {dict(Counter(int(code) for code in tried))}')
    assert len(tried) >= 10
    allowed = {'run.csv', 'run.json', 'run.library.smi', 'run.rejected.tsv'}
    written = {path.name for path in (in_tmp / 'out').iterdir()} if (in_tmp / 'out').exists() else set()
    assert written <= allowed and set(os.listdir(in_tmp)) <= {'lib.smi', 'fuzz.smi', 'out'}


def test_fuzz_launch_commands(in_tmp, aiida_profile):
    """Past the checks of their inputs the launch commands meet a profile that does not exist: exit 1 there, so
    nothing is ever run."""
    tried = []

    @fuzz(150)
    @given(
        command=st.sampled_from(['complexation', 'solvation', 'adsorption']),
        molecules=st.lists(smiles_texts, min_size=1, max_size=2),
        option=st.sampled_from(['--ph', '--ps', '--waters', '--layers', '--keep', '--bulk', '--equilibration']),
        value=numbers,
    )
    def run(command, molecules, option, value):
        valid = {
            'complexation': {'--ph'},
            'solvation': {'--ps', '--waters', '--equilibration'},
            'adsorption': {'--layers', '--keep', '--bulk'},
        }
        numeric = [option, value] if option in valid[command] else []
        arguments = molecules if command == 'complexation' else molecules[:1]
        args = [command, '-p', 'fuzz-nobody', *numeric, '--', *arguments]
        result = CliRunner().invoke(cmd_root, args)
        tried.append(result.exit_code)
        check(result)
        if result.exit_code == 0:
            pytest.fail(f'{args} ran something: {result.output}')

    run()
    print(f'launch commands: {len(tried)} inputs, exit codes {dict(Counter(int(code) for code in tried))}')
    assert len(tried) >= 30 and set(os.listdir(in_tmp)) == set()
