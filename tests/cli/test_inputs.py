"""Input hygiene of the commands that take molecules (issue 21): the cleaning layer, the numeric types, the output
checks, and each problem the hostile-user test found, run through the command that had it."""

from __future__ import annotations

import csv
import gzip
import json
import types
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from aiida_znadditive.cli import cmd_root
from aiida_znadditive.cli.molecule_input import (
    MAX_SMILES_LENGTH,
    TERMINAL_LIMIT,
    check_smiles_arguments,
    read_smiles_bytes,
    read_smiles_file,
    smiles_problem,
)
from aiida_znadditive.cli.outputs import PACKAGE_DIR, check_output_folder, check_output_paths
from aiida_znadditive.cli.params import FiniteFloat, Integer, OptionalFloat
from aiida_znadditive.cli.root import LABEL_LIMIT, check_broker, node_label

SHIPPED_MODEL = PACKAGE_DIR / 'ml' / 'shipped' / 'zib_xtb'
LIBRARY = ['CCO', 'OCCO', 'CC(=O)O', 'CCN', 'OCC(O)CO', 'CC(C)O']


def invoke(*args, stdin: bytes | None = None):
    return CliRunner().invoke(cmd_root, [str(arg) for arg in args], input=stdin)


# -- the cleaning layer ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('text', 'reason'),
    [
        ('CO rm -rf x', "whitespace at position 3 inside the SMILES (RDKit would read 'CO'"),
        ('CC\nO', "control character '\\n' at position 3"),
        ('CC\u200bO', "control character '\\u200b'"),  # zero-width space: invisible, and not a SMILES
        ('CCé', "non-ASCII character '\\xe9' at position 3"),
        ('C' * (MAX_SMILES_LENGTH + 1), f'{MAX_SMILES_LENGTH + 1} characters, over the limit of {MAX_SMILES_LENGTH}'),
        ('', 'empty SMILES'),
    ],
)
def test_smiles_problems(text, reason):
    assert reason in smiles_problem(text)


def test_arguments_name_their_position():
    checked = check_smiles_arguments(['CCO', 'CO rm -rf x', 'O'])
    assert checked.smiles == ['CCO', 'O']
    assert [(item.where, item.text) for item in checked.rejected] == [('argument 2', "'CO rm -rf x'")]


def test_file_lines_keep_their_numbers():
    """A stray \\r, a non-UTF-8 line and a megabyte line each cost their own line; every later line keeps its number
    (text mode would have split at the \\r and shifted them, or stopped at the bad byte)."""
    data = b'# comment\nCCO ethanol\r\nCC\rO\nCC\xffO\n' + b'C' * 1_000_000 + b'\nOCCO\n\nCC(=O)O glycolic acid\n'
    found = read_smiles_bytes(data, 'x.smi')
    assert [(m.smiles, m.where, m.name) for m in found.molecules] == [
        ('CCO', 'x.smi line 2', 'ethanol'),
        ('OCCO', 'x.smi line 6', ''),
        ('CC(=O)O', 'x.smi line 8', 'glycolic acid'),
    ]
    reasons = {item.where: item.reason for item in found.rejected}
    assert reasons['x.smi line 3'] == "control character '\\r' at column 3"
    assert reasons['x.smi line 4'] == 'not UTF-8 text (byte 0xff at column 3)'
    assert reasons['x.smi line 5'] == 'line of 1,000,000 bytes, over 4,096'


def test_tables_and_gzip(tmp_path):
    table = tmp_path / 'x.csv.gz'
    table.write_bytes(gzip.compress(b'name,SMILES\nethanol,CCO\nbad,"C C"\nempty,\n'))
    found = read_smiles_file(table)
    assert found.smiles == ['CCO']
    assert [item.where for item in found.rejected] == [f'{table} line 3', f'{table} line 4']
    (tmp_path / 'broken.gz').write_bytes(b'not gzip')
    with pytest.raises(click.ClickException, match='not a readable gzip file'):
        read_smiles_file(tmp_path / 'broken.gz')


# -- numeric options ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize('value', ['nan', 'inf', '-inf', 'NaN', '1e999', 'x', True])
def test_finite_floats_only(value):
    with pytest.raises(click.BadParameter):
        FiniteFloat().convert(value, None, None)


@pytest.mark.parametrize('value', ['1.5', '3.0', '1e3', 'inf', 'nan', '0x10', '', '9' * 20, 2.5])
def test_whole_numbers_only(value):
    with pytest.raises(click.BadParameter):
        Integer().convert(value, None, None)


def test_number_types_accept_numbers_and_none():
    assert Integer(min=0).convert(' +7 ', None, None) == 7 and Integer().convert(3.0, None, None) == 3
    assert FiniteFloat(0, 14).convert('4.5', None, None) == 4.5
    assert OptionalFloat().convert('none', None, None) is None and OptionalFloat().convert('-1', None, None) == -1
    with pytest.raises(click.BadParameter, match=r'not in the range 0 <= x <= 14'):
        FiniteFloat(0, 14).convert('15', None, None)


# -- outputs -----------------------------------------------------------------------------------------------------------


def test_output_paths(tmp_path):
    source = tmp_path / 'in.smi'
    source.write_text('CCO\n')
    with pytest.raises(click.BadParameter, match='inside the installed package'):
        check_output_paths([SHIPPED_MODEL / 'model.pt'])
    with pytest.raises(click.BadParameter, match='is an input'):
        check_output_paths([source], inputs=[source], force=True)
    with pytest.raises(click.BadParameter, match='exists; add --force'):
        check_output_paths([source])
    check_output_paths([tmp_path / 'new' / 'deeper' / 'out.csv'])
    assert (tmp_path / 'new' / 'deeper').is_dir()  # made before the work, so the results have a place to go
    with pytest.raises(click.BadParameter, match='holds files already'):
        check_output_folder(tmp_path)
    with pytest.raises(click.BadParameter, match='inside the installed package'):
        check_output_folder(SHIPPED_MODEL, force=True)


# -- the commands ------------------------------------------------------------------------------------------------------


def test_ml_predict_reports_every_bad_line_and_flags_the_unknown(tmp_path):
    lines = [b'CCO', b'CC\xffO', b'OCCO\r', b'C\rC'] + [b'C\x01C'] * (TERMINAL_LIMIT + 5) + [b'[Na+].CC(=O)[O-]']
    (tmp_path / 'in.smi').write_bytes(b'\n'.join(lines) + b'\n')
    args = ['ml', 'predict', SHIPPED_MODEL, 'CO rm -rf x', '[Zn+2]', '[CH3]', '--file', tmp_path / 'in.smi']
    result = invoke(*args, '--threads', 1)
    assert result.exit_code == 1, result.output
    rows = [line.split('\t') for line in result.stdout.splitlines()]
    assert rows[0][0] == 'smiles' and rows[0][-1] == 'warning'
    warnings = {row[0]: row[-1] for row in rows[1:]}
    assert set(warnings) == {'[Zn+2]', '[CH3]', 'CCO', 'OCCO', '[Na+].CC(=O)[O-]'}  # the rest refused, reported
    assert 'metal Zn' in warnings['[Zn+2]'] and 'radical' in warnings['[CH3]'] and warnings['CCO'] == ''
    assert 'salt or mixture: predicted for its largest fragment CC(=O)[O-]' in warnings['[Na+].CC(=O)[O-]']
    assert "argument 1: 'CO rm -rf x': whitespace" in result.stderr
    assert f'{tmp_path / "in.smi"} line 2: ' in result.stderr and 'not UTF-8' in result.stderr
    assert f'{tmp_path / "in.smi"} line 4: ' in result.stderr  # the \r of line 4 shifted no later line
    for number in range(5, 5 + TERMINAL_LIMIT + 5):  # every refused line, none cut to the first three
        assert f'in.smi line {number}: ' in result.stderr
    assert f'in.smi line {5 + TERMINAL_LIMIT + 5}: ' not in result.stderr  # the salt, predicted
    assert 'Traceback' not in result.output


def test_ml_predict_reads_stdin():
    result = invoke('ml', 'predict', SHIPPED_MODEL, '--file', '-', '--threads', 1, stdin=b'CCO\nOC\xfe\n')
    assert result.exit_code == 1 and [line.split('\t')[0] for line in result.stdout.splitlines()] == ['smiles', 'CCO']
    assert 'stdin line 2: ' in result.stderr


def test_ml_commands_never_write_into_the_shipped_model(tmp_path):
    result = invoke('ml', 'calibrate', SHIPPED_MODEL)
    assert result.exit_code == 1 and 'shipped inside the package' in result.output
    result = invoke('ml', 'train', '--out', SHIPPED_MODEL)
    assert result.exit_code == 2 and 'inside the installed package' in result.output


def gen_run(tmp_path: Path, *args):
    library = tmp_path / 'lib.smi'
    if not library.exists():
        library.write_text('\n'.join(LIBRARY) + '\n')
    base = ['gen', 'run', '--generator', 'random', '--rules-only', '--library', library, '--budget', 2]
    return invoke(*base, *args)


def test_gen_run_outputs(tmp_path):
    result = gen_run(tmp_path, '--out', tmp_path / 'res.json')
    assert result.exit_code == 2 and 'give a name such as' in result.output
    assert not (tmp_path / 'res.json').exists()
    out = tmp_path / 'missing' / 'dir' / 'x.csv'
    result = gen_run(tmp_path, '--out', out)
    assert result.exit_code == 0, result.output
    assert len(list(csv.DictReader(out.open()))) == 2 and 'NaN' not in out.with_suffix('.json').read_text()
    result = gen_run(tmp_path, '--out', out)
    assert result.exit_code == 2 and 'exists; add --force' in result.output
    assert gen_run(tmp_path, '--out', out, '--force').exit_code == 0
    result = gen_run(tmp_path, '--out', tmp_path / 'lib.smi', '--force')
    assert result.exit_code == 2 and 'is an input of this command' in result.output


@pytest.mark.parametrize(
    ('option', 'value', 'message'),
    [
        ('--logp-max', 'nan', "Invalid value for '--logp-max': 'nan' is not a finite number"),
        ('--sa-max', 'inf', "Invalid value for '--sa-max': 'inf' is not a finite number"),
        ('--min-charge', 'inf', "Invalid value for '--min-charge': 'inf' is neither a whole number nor `none`"),
        ('--budget', '1.5', "Invalid value for '--budget': '1.5' is not a whole number"),
        ('--seed', '-1', "Invalid value for '--seed': -1 is not in the range"),
    ],
)
def test_gen_run_numeric_options(tmp_path, option, value, message):
    result = gen_run(tmp_path, option, value, '--out', tmp_path / 'x.csv')
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / 'x.csv').exists()


def test_gen_run_library_with_bad_lines(tmp_path):
    """The megabyte line (minutes and 1.5 GB in RDKit before) and the others are refused in milliseconds; the
    accepted molecules go to OUT.library.smi, which the run reads and its provenance names; with more bad lines than
    the terminal shows, all of them are listed in OUT.rejected.tsv."""
    bad = [b'C' * 1_000_000, b'CC\xffO'] + [b'C\x07C'] * (TERMINAL_LIMIT + 1)
    (tmp_path / 'lib.smi').write_bytes(b'\n'.join([*(s.encode() for s in LIBRARY), *bad]) + b'\n')
    out = tmp_path / 'run.csv'
    result = gen_run(tmp_path, '--out', out)
    assert result.exit_code == 0, result.output
    assert (tmp_path / 'run.library.smi').read_text().split() == LIBRARY
    rejected = list(csv.DictReader((tmp_path / 'run.rejected.tsv').open(), delimiter='\t'))
    assert [row['where'] for row in rejected] == [f'{tmp_path / "lib.smi"} line {n}' for n in range(7, 7 + len(bad))]
    provenance = json.loads(out.with_suffix('.json').read_text())
    assert str(tmp_path / 'run.library.smi') in json.dumps(provenance)


def test_gen_pretrain_needs_an_out_outside_the_package(tmp_path):
    result = invoke('gen', 'pretrain', '--limit', 1)
    assert result.exit_code == 2 and "Missing option '--out'" in result.output
    result = invoke('gen', 'pretrain', '--out', PACKAGE_DIR / 'ml' / 'shipped' / 'selfies_lm' / 'model.pt')
    assert result.exit_code == 2 and 'inside the installed package' in result.output


@pytest.mark.parametrize(
    ('args', 'message'),
    [
        (['complexation', 'CO', 'CO rm -rf x'], "SMILES 2 'CO rm -rf x': whitespace at position 3"),
        (['complexation', 'C' * 600], '600 characters, over the limit of 500'),
        (['complexation', 'CO', '--ph', 'nan'], "Invalid value for '--ph': 'nan' is not a finite number"),
        (['solvation', 'CC\nO'], "control character '\\n'"),
        (['solvation', 'CO', '--ps', 'inf'], "Invalid value for '--ps': 'inf' is not a finite number"),
        (['solvation', 'CO', '--counter-ion', 'Cl -'], 'whitespace at position 3'),
        (['adsorption', 'CO', '--supercell', '1.5', '2'], "'1.5' is not a whole number"),
        (['adsorption', 'CO', '--bulk', 'inf'], "Invalid value for '--bulk': 'inf' is not a whole number"),
    ],
)
def test_launch_commands_refuse_bad_input_before_anything_runs(args, message):
    result = invoke(*args)
    assert result.exit_code == 2 and message in result.output, result.output


def test_long_labels_are_cut_safely():
    label = f'complexation {"C" * 400} pH 4.5 (fast)'
    assert len(node_label(label)) == LABEL_LIMIT and node_label(label).endswith('…')
    assert node_label('complexation CO pH 4.5 (fast)') == 'complexation CO pH 4.5 (fast)'


def test_broker_down_is_one_line_with_the_fix(capsys):
    """A RabbitMQ profile whose port nothing listens on (port 9 is discard, closed on this machine as on most)."""
    profile = types.SimpleNamespace(
        name='prod', process_control_backend='core.rabbitmq', process_control_config={'broker_port': 9}
    )
    with pytest.raises(SystemExit) as exit_info:
        check_broker(profile)
    assert exit_info.value.code == 1
    error = capsys.readouterr().err
    assert 'RabbitMQ of profile `prod` is not reachable at 127.0.0.1:9' in error
    assert 'aiida-znadditive doctor' in error and 'aiida-znadditive setup --production' in error
