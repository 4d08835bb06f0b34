"""The command line as a user meets it: a fresh AiiDA folder, ``setup`` twice, ``doctor``, and bad input.

Each command runs in its own process with its own ``AIIDA_PATH``, exactly as a user's shell would run it.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

CLI = [str(pathlib.Path(sys.executable).parent / 'aiida-znadditive')]


def run_cli(args: list[str], aiida_path: pathlib.Path) -> subprocess.CompletedProcess:
    env = {**os.environ, 'AIIDA_PATH': str(aiida_path)}
    return subprocess.run(CLI + args, capture_output=True, text=True, env=env, check=False, timeout=600)


@pytest.fixture(scope='module')
def user_home(tmp_path_factory):
    """An AiiDA folder set up once with ``aiida-znadditive setup`` for the tests of this module."""
    path = tmp_path_factory.mktemp('aiida_home')
    result = run_cli(['setup', '--profile-name', 'cli-test'], path)
    assert result.returncode == 0, result.stderr
    assert 'created embedded profile `cli-test`' in result.stdout
    return path


def test_setup_twice_changes_nothing(user_home):
    result = run_cli(['setup', '--profile-name', 'cli-test'], user_home)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith('Success')]
    assert len(lines) == 6  # profile, computer, PySCF interpreter, codes pyscf, cp2k and xtb
    assert all('unchanged' in line for line in lines), result.stdout


def test_two_setups_at_once_make_one_of_everything(tmp_path):
    """Two ``setup`` processes started together on a fresh folder: the second waits for the first (a lock in the AiiDA
    folder) instead of creating the same codes again, after which every command failed with MultipleObjectsError.
    Both succeed, and a third finds everything there exactly once."""
    env = {**os.environ, 'AIIDA_PATH': str(tmp_path)}
    args = [*CLI, 'setup', '--profile-name', 'twice']
    runs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in '12']
    outputs = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    created = [stdout for stdout, _ in outputs if 'created embedded profile `twice`' in stdout]
    assert len(created) == 1
    third = run_cli(['setup', '--profile-name', 'twice'], tmp_path)
    assert third.returncode == 0, third.stderr
    lines = [line for line in third.stdout.splitlines() if line.startswith('Success')]
    assert len(lines) == 6 and all('unchanged' in line for line in lines), third.stdout


def test_doctor_passes_after_setup(user_home):
    result = run_cli(['doctor', '-p', 'cli-test'], user_home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'All checks passed' in result.stdout
    assert 'code pyscf@localhost' in result.stdout


def test_root_profile_option_as_verdi_p(user_home):
    """`aiida-znadditive -p NAME <command>` selects the profile for the subcommand, as `verdi -p`; AiiDA's profile
    type refuses a profile that does not exist, naming it, before the subcommand starts."""
    result = run_cli(['-p', 'cli-test', 'doctor'], user_home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'cli-test' in result.stdout
    missing = run_cli(['-p', 'nobody', 'doctor'], user_home)
    assert missing.returncode == 2
    assert 'profile `nobody` does not exist' in missing.stderr
    assert 'Traceback' not in missing.stderr


def test_doctor_names_missing_code_and_fix(user_home, tmp_path):
    codes = tmp_path / 'codes.yaml'
    codes.write_text(
        'computer: {label: localhost, hostname: localhost, transport: core.local, scheduler: core.direct, '
        'work_dir: /tmp}\ncodes:\n'
        '  orca: {label: orca, plugin: core.arithmetic.add, filepath_executable: /opt/orca/orca}\n'
    )
    result = run_cli(['doctor', '-p', 'cli-test', '--codes', str(codes)], user_home)
    assert result.returncode == 1
    assert 'code orca@localhost: not in this profile' in result.stdout + result.stderr
    assert f'fix: aiida-znadditive setup --codes {codes}' in result.stdout + result.stderr


def test_doctor_without_profile(tmp_path):
    result = run_cli(['doctor', '-p', 'nobody'], tmp_path)
    assert result.returncode == 1
    assert 'fix: aiida-znadditive setup' in result.stdout + result.stderr
    assert 'Traceback' not in result.stderr


def test_setup_rejects_bad_codes_file(tmp_path):
    codes = tmp_path / 'codes.yaml'
    codes.write_text('codes: {}\n')
    result = run_cli(['setup', '--profile-name', 'x', '--codes', str(codes)], tmp_path)
    assert result.returncode == 1
    assert 'lacks the `computer` section' in result.stderr
    assert 'Traceback' not in result.stderr
    assert not (tmp_path / '.aiida' / 'znadditive' / 'x').exists()  # nothing was created


def test_demo_names_missing_code(user_home):
    result = run_cli(['demo', '-p', 'cli-test', '--code', 'nwchem@localhost'], user_home)
    assert result.returncode == 2  # click's usage error, as verdi's for a code that does not exist
    assert "Invalid value for '--code': no Code found with LABEL<nwchem@localhost>" in result.stderr
    assert 'in profile `cli-test`' in result.stderr and 'aiida-znadditive setup' in result.stderr
    assert 'Traceback' not in result.stderr


def test_complexation_batch_goes_on_past_a_bad_molecule(user_home):
    """A broken SMILES ends its own WorkChain with an exit code; the next molecule still runs (cheap level only), and
    the exit status is 1 with the failed molecule named (a script must see any failure, issue 21)."""
    args = ['complexation', '-p', 'cli-test', 'C1CC', 'O', '--dft', 'xtb', '--dft-code', 'xtb@localhost']
    result = run_cli([*args, '--group', 'cli-batch'], user_home)
    assert result.returncode == 1, result.stderr
    output = result.stdout + result.stderr
    assert '1 of 2 molecule(s) failed: C1CC (exit 210, PK' in output
    # found by the speciation, the first step
    assert "C1CC: exit 210: The SMILES cannot be read: Additive 'C1CC'" in output
    table = output.split('binding mode / status')[1].splitlines()
    water_row = next(line for line in table if line.startswith('O '))
    assert float(water_row.split()[2]) == pytest.approx(0.0, abs=0.05)  # ΔE of water for water
    assert float(water_row.split()[4]) == pytest.approx(0.0, abs=0.05)  # and its ΔG
    # --group named the result set: both WorkChains are in it, and `report` finds the finished one there.
    report = run_cli(['report', '-p', 'cli-test', '--group', 'cli-batch', '--out', str(user_home / 'paper')], user_home)
    assert report.returncode == 0, report.stderr
    assert '1 result(s)' in report.stdout + report.stderr
    csv = (user_home / 'paper' / 'complexation.csv').read_text().splitlines()
    assert len(csv) == 2 and csv[1].startswith('O,')
    listed = run_cli(['report', '-p', 'cli-test', '--group', 'cli-batch', '--out', str(user_home / 'paper')], user_home)
    assert listed.returncode == 2 and '--force' in listed.stderr  # the earlier report is kept

    # The finished WorkChain's numbers go into the meta-database, keyed by its UUID: a second import adds nothing.
    database = user_home / 'molecules'
    imported = run_cli(['db', 'import-results', str(database), '-p', 'cli-test', '--group', 'cli-batch'], user_home)
    assert imported.returncode == 0, imported.stderr
    assert '1 finished complexation WorkChains: 1 rows written, 0 already there' in imported.stdout + imported.stderr
    again = run_cli(['db', 'import-results', str(database), '-p', 'cli-test', '--group', 'cli-batch'], user_home)
    assert '1 rows written' not in again.stdout + again.stderr and '1 already there' in again.stdout + again.stderr
    from aiida_znadditive.ml.database.store import MetaDatabase

    rows = MetaDatabase(database).query('SELECT * FROM molecules').to_pylist()
    assert len(rows) == 1
    assert (rows[0]['source'], rows[0]['source_version'], rows[0]['smiles']) == (
        'znadditive-aiida',
        'fast:xtb/xtb',
        'O',
    )
    assert rows[0]['zn_exchange_energy_ev'] == pytest.approx(0.0, abs=0.05)
    assert len(rows[0]['source_id']) == 36  # the WorkChain's UUID
    empty = run_cli(['db', 'import-results', str(database), '-p', 'cli-test', '--group', 'nothing-here'], user_home)
    assert empty.returncode == 1 and 'no finished complexation WorkChain in group `nothing-here`' in empty.stderr


def test_a_code_of_another_engine_stops_before_anything_runs(user_home):
    result = run_cli(
        ['complexation', '-p', 'cli-test', 'CO', '--dft-code', 'xtb@localhost', '--dft', 'pyscf'], user_home
    )
    # checked as the command line is read, whatever the order of --dft and --dft-code
    assert result.returncode == 2
    assert "Invalid value for '--dft-code': Code `xtb@localhost` runs `znadditive.xtb`; the `pyscf` calculator" in (
        result.stderr
    )
    assert 'running' not in result.stdout + result.stderr
    # a code may be named by PK, as in verdi; a calculator that does not exist is refused by its own option
    show = [sys.executable, '-c', "from aiida import load_profile, orm; load_profile('cli-test'); "
            "print(orm.load_code('xtb@localhost').pk)"]  # fmt: skip
    environment = {**os.environ, 'AIIDA_PATH': str(user_home)}
    pk = subprocess.run(show, check=True, capture_output=True, text=True, env=environment).stdout
    by_pk = run_cli(['complexation', '-p', 'cli-test', 'CO', '--dft-code', pk.strip(), '--dft', 'pyscf'], user_home)
    assert by_pk.returncode == 2 and 'Code `xtb@localhost` runs `znadditive.xtb`' in by_pk.stderr
    unknown = run_cli(['complexation', '-p', 'cli-test', 'CO', '--prerank', 'orca'], user_home)
    assert unknown.returncode == 2
    assert "Invalid value for '--prerank': No calculator `orca`; registered: cp2k, pyscf, xtb" in unknown.stderr


def test_complexation_batch_in_which_everything_failed_exits_non_zero(user_home):
    result = run_cli(
        ['complexation', '-p', 'cli-test', 'C1CC', '[CH3]', '--dft', 'xtb', '--dft-code', 'xtb@localhost'], user_home
    )
    assert result.returncode == 1
    assert 'all 2 molecule(s) failed' in result.stdout + result.stderr


@pytest.mark.parametrize(
    ('args', 'message'),
    [
        (['C1CC'], 'C1CC: exit 210'),
        (['CCCCCCCCCCCC', '--supercell', '2', '2', '--experimental-lattice'], 'exit 230'),
        (['--bulk', '999999'], 'No node with PK 999999'),
    ],
)
def test_adsorption_names_the_bad_input(user_home, args, message):
    result = run_cli(['adsorption', '-p', 'cli-test', *args], user_home)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr


@pytest.mark.parametrize('name', ["a'; SELECT 'INJECTED", 'a b', '-x', 'naïve', 'x' * 60])
def test_setup_refuses_a_profile_name_that_could_become_sql(tmp_path, name):
    """The profile name becomes a PostgreSQL database name in statements run as the superuser: anything but letters,
    digits, _ and - is a usage error naming the name, before any service, profile or database is touched."""
    result = run_cli(['setup', '--production', '--profile-name', name], tmp_path)
    assert result.returncode == 2
    assert "Invalid value for '--profile-name'" in result.stderr and 'letters, digits' in result.stderr
    assert 'Success' not in result.stdout
    assert not list(tmp_path.glob('.aiida/znadditive'))  # no storage made


def test_database_statements_take_identifiers_only():
    from aiida_znadditive.environment.services import ServiceError, check_sql_identifier, ensure_database

    assert check_sql_identifier('znadditive_cli_test', 'database name') == 'znadditive_cli_test'
    with pytest.raises(ServiceError, match='database name "x\'; DROP DATABASE y; --" is not allowed'):
        ensure_database("x'; DROP DATABASE y; --", 'aiida_znadditive', 'secret')
