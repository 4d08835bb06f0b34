"""A codes file edited by hand: every bad field named with its line, by ``setup`` and ``doctor``, never a traceback;
``doctor`` tests the computer like ``verdi computer test``; ``setup`` repairs a computer it may change."""

from __future__ import annotations

import pytest

from aiida_znadditive.environment.codes_file import CodeSetupError, load_codes_file

from .cli_helpers import fixes, run_cli, run_fix, run_python

GOOD = """\
computer:
  label: localhost
  hostname: localhost
  transport: core.local
  scheduler: core.direct
  work_dir: WORK_DIR
  configure:
    safe_interval: 0
codes:
  xtb:
    label: xtb
    plugin: znadditive.xtb
    filepath_executable: xtb
    with_mpi: false
"""

#: (what is wrong, the replacement of a line of GOOD, the line it is on, what the message must say)
BAD_FIELDS = [
    ('wrong type', ('with_mpi: false', "with_mpi: 'yes'"), 14, '`codes.xtb.with_mpi`: must be true or false'),
    ('unknown key', ('with_mpi: false', 'with_mpl: false'), 14, '`codes.xtb.with_mpl`: unknown key (did you mean'),
    ('missing key', ('plugin: znadditive.xtb', 'description: no plugin'), 10, 'code `xtb` lacks plugin'),
    ('bad path', ('work_dir: WORK_DIR', 'work_dir: relative/work'), 6, '`computer.work_dir`: must be an absolute'),
    ('label with @', ('label: xtb', 'label: xtb@gpu'), 11, '`codes.xtb.label`: use letters, digits'),
    ('unknown plugin', ('plugin: znadditive.xtb', 'plugin: znadditive.xtbb'), 12, '`znadditive.xtbb` is not installed'),
    ('unknown transport', ('transport: core.local', 'transport: core.lokal'), 4, 'transport `core.lokal` is not'),
    ('unknown setting', ('safe_interval: 0', 'safe_intervall: 0'), 8, 'safe_intervall`: not a setting of core.local'),
    ('codes a list', ('codes:\n  xtb:', 'codes:\n- xtb:'), 9, '`codes`: must be a mapping'),
    ('relative executable', ('executable: xtb', 'executable: bin/xtb'), 13, 'a relative path is ambiguous'),
    ('newline in a label', ('label: localhost', 'label: "local\\nhost"'), 2, '`computer.label`: use letters'),
    ('not positive', ('core.direct', 'core.direct\n  default_mpiprocs_per_machine: 0'), 6, 'must be at least 1'),
]
KINDS = [case[0] for case in BAD_FIELDS]


def bad_file(tmp_path, case) -> str:
    _, (old, new), _, _ = case
    assert old in GOOD
    path = tmp_path / 'codes.yaml'
    path.write_text(GOOD.replace(old, new, 1).replace('WORK_DIR', str(tmp_path / 'work')))
    return str(path)


@pytest.mark.parametrize('case', BAD_FIELDS, ids=KINDS)
def test_each_bad_field_is_named_with_its_line(aiida_profile, tmp_path, case):
    path = bad_file(tmp_path, case)
    with pytest.raises(CodeSetupError) as raised:
        load_codes_file(path)
    message = str(raised.value)
    assert f'{path}: line {case[2]}: ' in message, message
    assert case[3] in message


def test_all_problems_at_once_in_file_order(aiida_profile, tmp_path):
    path = tmp_path / 'codes.yaml'
    text = GOOD.replace('WORK_DIR', 'relative').replace('with_mpi: false', "with_mpi: 'no'\n    colour: red")
    path.write_text(text + '  xtb2:\n    label: xtb\n    plugin: znadditive.xtb\n    filepath_executable: xtb\n')
    with pytest.raises(CodeSetupError) as raised:
        load_codes_file(path)
    lines = str(raised.value).splitlines()
    assert lines[0] == f'{path} has 4 problems:'
    assert [line.split(':')[0].strip() for line in lines[1:]] == ['line 6', 'line 14', 'line 15', 'line 17']
    assert 'label `xtb` is also the label of code `xtb`' in lines[4]


def test_a_duplicated_key_is_named(aiida_profile, tmp_path):
    path = tmp_path / 'codes.yaml'
    path.write_text(GOOD.replace('WORK_DIR', '/tmp/w') + '  xtb:\n    label: again\n')
    with pytest.raises(CodeSetupError, match=r'line 15: `codes.xtb`: appears twice'):
        load_codes_file(path)


def test_packaged_file_passes(aiida_profile):
    assert set(load_codes_file()['codes']) == {'pyscf', 'cp2k', 'xtb'}


@pytest.fixture(scope='module')
def setup_home(tmp_path_factory):
    """An AiiDA folder with an embedded profile made by ``setup``."""
    path = tmp_path_factory.mktemp('codes_home')
    result = run_cli(['setup', '--profile-name', 'codes-test'], path)
    assert result.returncode == 0, result.stdout + result.stderr
    return path


@pytest.mark.parametrize('case', BAD_FIELDS[:6], ids=KINDS[:6])
def test_setup_and_doctor_name_the_bad_field(setup_home, tmp_path, case):
    path = bad_file(tmp_path, case)
    for command in (['setup', '--profile-name', 'codes-test'], ['doctor', '-p', 'codes-test']):
        result = run_cli([*command, '--codes', path], setup_home)
        output = result.stdout + result.stderr
        assert result.returncode == 1, output
        assert 'Traceback' not in output
        assert f'line {case[2]}: ' in output and case[3] in output, output
    assert '--profile-name codes-test' in fixes(output)[0]


def test_doctor_tests_the_computer_and_setup_repairs_its_work_dir(setup_home):
    """A work_dir that cannot be written (made by hand, or by an older setup) fails doctor with a fix; setup updates
    the computer while no calculation used it, and then only says what to do."""
    bad = '/proc/znadditive-no-such-dir/work'  # not even root can create a folder in /proc
    run_python(f"from aiida import orm\norm.load_computer('localhost').set_workdir({bad!r})", setup_home, 'codes-test')
    result = run_cli(['doctor', '-p', 'codes-test'], setup_home)
    output = result.stdout + result.stderr
    assert result.returncode == 1 and 'Traceback' not in output
    assert 'computer localhost work_dir: /proc/znadditive-no-such-dir/work, but the codes file says' in output
    assert 'Error: computer localhost: work_dir writable' in output
    assert all('--profile-name codes-test' in fix for fix in fixes(output)[:2]), output

    fixed = run_fix(fixes(output)[0], setup_home)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert (
        "updated computer `localhost` to match the codes file (no calculation used it yet): work_dir '/proc"
        in fixed.stdout
    )
    assert run_cli(['doctor', '-p', 'codes-test'], setup_home).returncode == 0

    script = f"""
    from aiida import orm
    computer = orm.load_computer('localhost')
    orm.CalcJobNode(computer=computer).store()
    computer.set_workdir({bad!r})
    """
    run_python(script, setup_home, 'codes-test')
    result = run_cli(['setup', '--profile-name', 'codes-test'], setup_home)
    assert result.returncode == 0, result.stderr
    assert 'computer `localhost` left unchanged because 1 calculation(s) used it: work_dir is' in result.stdout
    assert 'give the computer a new `label`' in result.stdout


def test_setup_refuses_a_work_dir_it_cannot_write(setup_home, tmp_path):
    path = tmp_path / 'codes.yaml'
    path.write_text(GOOD.replace('WORK_DIR', '/proc/znadditive-no-such-dir/work').replace('localhost', 'other', 1))
    result = run_cli(['setup', '--profile-name', 'codes-test', '--codes', str(path)], setup_home)
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    assert 'work_dir /proc/znadditive-no-such-dir/work of computer `other` cannot be created' in result.stderr
    assert 'other' not in run_python(
        'from aiida import orm\nprint([c.label for c in orm.Computer.collection.all()])', setup_home, 'codes-test'
    )


def test_deleted_storage_is_one_line_with_a_fix_that_works(setup_home):
    result = run_cli(['setup', '--profile-name', 'gone'], setup_home)
    assert result.returncode == 0, result.stderr
    storage = setup_home / '.aiida' / 'znadditive' / 'gone'
    for child in sorted(storage.rglob('*'), reverse=True):
        child.rmdir() if child.is_dir() else child.unlink()
    storage.rmdir()

    result = run_cli(['doctor', '-p', 'gone'], setup_home)
    output = result.stdout + result.stderr
    assert result.returncode == 1 and 'Traceback' not in output
    assert f'Error: storage: folder {storage} is missing (deleted or moved?)' in output
    assert fixes(output) == ['aiida-znadditive setup --profile-name gone  (makes a new, empty storage there)']
    repaired = run_fix(fixes(output)[0], setup_home)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert 'made a new, empty storage there' in repaired.stdout + repaired.stderr
    after = run_cli(['doctor', '-p', 'gone'], setup_home)
    assert after.returncode == 0 and 'All checks passed' in after.stdout, after.stdout + after.stderr


def test_shipped_cluster_template_is_a_valid_codes_file(tmp_path):
    """`setup --template slurm-cluster` prints a codes file that setup accepts as it is (before the user edits the
    host and paths), with a resource rule for each code."""
    from click.testing import CliRunner

    from aiida_znadditive.cli import cmd_root

    result = CliRunner().invoke(cmd_root, ['setup', '--template', 'slurm-cluster'])
    assert result.exit_code == 0, result.output
    path = tmp_path / 'cluster.yaml'
    path.write_text(result.output)
    content = load_codes_file(path)
    assert content['computer']['scheduler'] == 'core.slurm' and content['computer']['transport'] == 'core.ssh_async'
    assert sorted(content['codes']) == ['cp2k', 'pyscf', 'xtb']
    assert all('resources' in code for code in content['codes'].values())
    requirements = CliRunner().invoke(cmd_root, ['setup', '--template', 'pyscf-requirements'])
    assert requirements.exit_code == 0 and 'pyscf==' in requirements.output
