"""``setup --production`` against the real PostgreSQL and RabbitMQ: loopback only, a password of its own per profile,
and no name that reaches SQL ever runs as SQL."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess

import pytest

from aiida_znadditive.environment import services
from aiida_znadditive.environment.exposure import SERVICE_PORTS, exposed

from .cli_helpers import BIN, environment, run_cli, run_python

pytestmark = [pytest.mark.integration, pytest.mark.production]

#: What each injection would create if its text ran as SQL: a role no test makes otherwise.
INJECTED = 'znadditive_injected'
PAYLOADS = [
    f"x'; CREATE ROLE {INJECTED}_a; --",
    f'x"; CREATE ROLE {INJECTED}_b; --',
    f"x\n'; CREATE ROLE {INJECTED}_c; --",
    f"x'); CREATE ROLE {INJECTED}_d; SELECT ('",
]


def injected_roles() -> str:
    return services._psql("SELECT string_agg(rolname, ',') FROM pg_roles WHERE rolname LIKE :'pattern'", 5432,
                          pattern=f'{INJECTED}%')  # fmt: skip


def drop(database: str, role: str) -> None:
    services._psql('DROP DATABASE IF EXISTS :"database" WITH (FORCE)', 5432, database=database)
    services._psql('DROP ROLE IF EXISTS :"role"', 5432, role=role)


@pytest.fixture(scope='module')
def production(tmp_path_factory):
    """A production profile made by ``setup --production`` in its own AiiDA folder; removed afterwards with its
    database, role and daemon (the services stay up: other tests may use them)."""
    if os.geteuid() != 0:
        pytest.skip('starting PostgreSQL and RabbitMQ needs root (CI and the dev machines run as root)')
    home = tmp_path_factory.mktemp('production_setup')
    name = f'sec-{secrets.token_hex(3)}'
    result = run_cli(['setup', '--production', '--profile-name', name, '--daemon-workers', '1'], home)
    assert result.returncode == 0, result.stdout + result.stderr
    yield home, name, result
    for profile in (name, 'legacy-' + name[4:]):
        verdi = [str(BIN / 'verdi'), '-p', profile, 'daemon', 'stop']
        subprocess.run(verdi, capture_output=True, env=environment(home), check=False, timeout=120)
        database = f'znadditive_{profile}'.replace('-', '_')
        drop(database, database)


def stored_storage(home, name) -> dict:
    config = json.loads((home / '.aiida' / 'config.json').read_text())
    return config['profiles'][name]['storage']['config']


def test_services_listen_on_the_loopback_only(production):
    assert exposed() == []
    if shutil.which('ss'):  # the same from ss, as an administrator would look
        lines = subprocess.run(['ss', '-ltnH'], capture_output=True, text=True, check=True).stdout.splitlines()
        local = [line.split()[3] for line in lines]
        ours = [address for address in local if int(address.rsplit(':', 1)[1]) in SERVICE_PORTS]
        assert {int(address.rsplit(':', 1)[1]) for address in ours} >= {5432, 5672, 4369, 25672}
        assert all(address.rsplit(':', 1)[0] in ('127.0.0.1', '[::1]') for address in ours), ours


def test_each_profile_has_its_own_generated_password(production):
    home, name, first = production
    storage = stored_storage(home, name)
    role = f'znadditive_{name}'.replace('-', '_')
    assert storage['database_username'] == role
    assert storage['database_password'] != 'aiida_znadditive' and len(storage['database_password']) >= 40
    assert (home / '.aiida' / 'config.json').stat().st_mode & 0o077 == 0  # readable by its owner only
    assert not list((home / '.aiida' / 'znadditive').glob('.*database-password'))  # the pending copy is gone
    assert services.can_log_in('localhost', 5432, role, storage['database_password'], role)
    assert not services.can_log_in('localhost', 5432, role, 'aiida_znadditive', role)
    assert f'created role {role}, created database {role}' in first.stdout

    again = run_cli(['setup', '--production', '--profile-name', name], home)
    assert again.returncode == 0, again.stderr
    assert f'database {role} and role {role} exist (unchanged)' in again.stdout
    assert stored_storage(home, name)['database_password'] == storage['database_password']

    doctor = run_cli(['doctor', '-p', name], home)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    for line in (f'database password: role {role}, own password', 'network exposure: PostgreSQL, RabbitMQ and epmd'):
        assert line in doctor.stdout


def test_a_profile_with_the_old_fixed_password_gets_its_own_role(production):
    home, name, _ = production
    legacy = 'legacy-' + name[4:]
    database = f'znadditive_{legacy}'.replace('-', '_')
    # As versions before issue 21 made it: the shared role, its password in the code.
    services.ensure_database(database, 'aiida_znadditive', 'aiida_znadditive')
    script = f"""
    from aiida_znadditive.environment import profiles
    settings = profiles.ProductionSettings(database_name={database!r}, database_user='aiida_znadditive',
                                           database_password='aiida_znadditive')
    print(profiles.ensure_production_profile({legacy!r}, settings))
    """
    run_python(script, home, name)
    doctor = run_cli(['doctor', '-p', legacy], home)
    assert 'has the password written in the code of older versions' in doctor.stdout + doctor.stderr
    assert f'fix: aiida-znadditive setup --production --profile-name {legacy}' in doctor.stdout + doctor.stderr

    result = run_cli(['setup', '--production', '--profile-name', legacy, '--daemon-workers', '1'], home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f'its database {database} now belongs to role {database}, with a new password' in result.stdout
    storage = stored_storage(home, legacy)
    assert storage['database_username'] == database and storage['database_password'] != 'aiida_znadditive'
    owners = services._psql("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'", 5432,
                            connect_to=database)  # fmt: skip
    assert owners == database
    doctor = run_cli(['doctor', '-p', legacy], home)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr


@pytest.mark.parametrize('payload', PAYLOADS)
def test_no_name_becomes_sql(production, tmp_path, payload):
    """Quotes, semicolons and newlines through every name: refused with the name, or stored as data; the statement
    they carry never runs."""
    home, name, _ = production
    # profile name: a usage error before anything is touched
    result = run_cli(['setup', '--production', '--profile-name', payload], tmp_path)
    assert result.returncode == 2 and "Invalid value for '--profile-name'" in result.stderr
    # database and role names: refused by the functions that run SQL as the superuser
    with pytest.raises(services.ServiceError, match='is not allowed'):
        services.ensure_database(payload, 'aiida_znadditive', 'x')
    with pytest.raises(services.ServiceError, match='is not allowed'):
        services.ensure_database('znadditive_x', payload, 'x')
    # values reach psql as data
    assert services._psql("SELECT :'value'", 5432, value=payload) == payload
    # computer and code labels: refused with their line
    codes = tmp_path / 'codes.yaml'
    for old in ('  label: localhost\n', '    label: xtb\n'):
        text = (
            'computer:\n  label: localhost\n  hostname: localhost\n  transport: core.local\n  scheduler: core.direct\n'
            f'  work_dir: {tmp_path}/work\ncodes:\n  xtb:\n    label: xtb\n    plugin: znadditive.xtb\n'
            '    filepath_executable: xtb\n'
        )
        codes.write_text(text.replace(old, old.split(':')[0] + ': ' + json.dumps(payload) + '\n'))
        result = run_cli(['setup', '--production', '--profile-name', name, '--codes', str(codes)], home)
        assert result.returncode == 1 and 'Traceback' not in result.stderr
        assert 'label`: use letters, digits' in result.stderr
    # group and node labels go through AiiDA's ORM: parameters of the statement, stored and found as they are
    script = f"""
    from aiida import orm
    group = orm.Group(label={payload!r}).store()
    assert orm.load_group({payload!r}).pk == group.pk
    node = orm.Int(1)
    node.label = {payload!r}
    node.store()
    assert orm.QueryBuilder().append(orm.Int, filters={{'label': {payload!r}}}).count() == 1
    print(orm.QueryBuilder().append(orm.Group).count())
    """
    assert int(run_python(script, home, name)) >= 1
    assert injected_roles() == ''
