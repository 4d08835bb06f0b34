"""Start and probe the local services of a production profile: PostgreSQL and RabbitMQ.

Only services on this host are started; a remote host is probed and, when unreachable, reported with the fix.
Everything here works as root (the Debian packages' layout) and says what to do when it cannot act.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass

LOCAL_HOSTS = ('localhost', '127.0.0.1', '::1')


class ServiceError(RuntimeError):
    """A service is missing or cannot be started; the message names the fix."""


@dataclass(frozen=True)
class Endpoint:
    """A TCP service address."""

    host: str
    port: int

    @property
    def is_local(self) -> bool:
        return self.host in LOCAL_HOSTS

    def is_open(self, timeout: float = 1.0) -> bool:
        """Return whether something accepts TCP connections at this address."""
        try:
            with socket.create_connection((self.host, self.port), timeout=timeout):
                return True
        except OSError:
            return False


def wait_for(endpoint: Endpoint, timeout: float, what: str) -> None:
    """Block until ``endpoint`` accepts connections or raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if endpoint.is_open():
            return
        time.sleep(0.5)
    raise ServiceError(f'{what} did not open {endpoint.host}:{endpoint.port} within {timeout:.0f} s.')


def _run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, check=False)


def ensure_postgres(endpoint: Endpoint = Endpoint('localhost', 5432)) -> str:
    """Make sure PostgreSQL accepts connections, starting the local Debian cluster when it is down.

    :returns: a short description of what was done.
    """
    if endpoint.is_open():
        return 'PostgreSQL already running'
    if not endpoint.is_local:
        raise ServiceError(f'PostgreSQL at {endpoint.host}:{endpoint.port} is unreachable; ask its administrator.')
    if shutil.which('pg_ctlcluster') is None:
        raise ServiceError(
            'PostgreSQL is not installed. Fix: sudo bash scripts/install.sh (or apt-get install postgresql)'
        )
    clusters = sorted(glob.glob('/etc/postgresql/*/main'))
    if not clusters:
        raise ServiceError('No PostgreSQL cluster found. Fix: pg_createcluster <version> main')
    version = clusters[-1].split('/')[-2]
    result = _run(['pg_ctlcluster', version, 'main', 'start'])
    if result.returncode != 0 and 'already running' not in result.stderr:
        raise ServiceError(f'pg_ctlcluster {version} main start failed: {result.stderr.strip()} (run it as root)')
    wait_for(endpoint, 30, 'PostgreSQL')
    return f'started PostgreSQL {version}'


def ensure_rabbitmq(endpoint: Endpoint = Endpoint('127.0.0.1', 5672)) -> str:
    """Make sure RabbitMQ accepts AMQP connections, starting a local detached server when it is down."""
    if endpoint.is_open():
        return 'RabbitMQ already running'
    if not endpoint.is_local:
        raise ServiceError(f'RabbitMQ at {endpoint.host}:{endpoint.port} is unreachable; ask its administrator.')
    # Debian installs it under /usr/sbin, which is not on a normal user's PATH.
    server = shutil.which('rabbitmq-server') or shutil.which('rabbitmq-server', path='/usr/sbin')
    if not server:
        raise ServiceError(
            'RabbitMQ is not installed. Fix: sudo bash scripts/install.sh (or apt-get install rabbitmq-server)'
        )
    result = _run([server, '-detached'])
    if result.returncode != 0:
        raise ServiceError(f'rabbitmq-server -detached failed: {result.stderr.strip()} (run it as root)')
    wait_for(endpoint, 90, 'RabbitMQ')
    return 'started RabbitMQ'


def _psql(sql: str, port: int) -> str:
    """Run one SQL statement as the PostgreSQL superuser of the local cluster; return its unaligned output."""
    # As root we become the `postgres` system user (peer authentication, no password); anyone else must be able to
    # connect as `postgres` themselves (PGPASSWORD or ~/.pgpass). pgsu would try `sudo`, which containers lack.
    if os.geteuid() == 0:
        command = ['runuser', '-u', 'postgres', '--', 'psql', '-p', str(port), '-tAc', sql]
    else:
        command = ['psql', '-h', 'localhost', '-p', str(port), '-U', 'postgres', '-w', '-tAc', sql]
    result = _run(command)
    if result.returncode != 0:
        raise ServiceError(
            f'Cannot run SQL as the PostgreSQL superuser: {result.stderr.strip()}\n'
            'Fix: run setup as root, or give this user superuser access (PGPASSWORD for the `postgres` role).'
        )
    return result.stdout.strip()


#: What a database or role name may be: SQL identifiers without quoting, so nothing a user types becomes SQL.
SQL_IDENTIFIER = re.compile(r'[A-Za-z_][A-Za-z0-9_]{0,62}')


def check_sql_identifier(value: str, what: str) -> str:
    """Return ``value`` unchanged; raise :class:`ServiceError` naming it unless it is a plain SQL identifier."""
    if not isinstance(value, str) or not SQL_IDENTIFIER.fullmatch(value):
        raise ServiceError(
            f'{what} {value!r} is not allowed: use letters, digits and underscores (a letter first, at most 63).'
        )
    return value


def _sql_literal(value: str) -> str:
    """``value`` as an SQL string literal (quotes doubled): a password is data, never SQL."""
    return "'" + value.replace("'", "''") + "'"


def ensure_database(name: str, user: str, password: str, port: int = 5432) -> str:
    """Create the PostgreSQL role and database for a profile if they do not exist yet.

    The database uses the ``C.UTF-8`` locale from ``template0``: Debian images often lack ``en_US.UTF-8``, which
    is what ``verdi quicksetup`` would ask for. ``name`` and ``user`` must be plain SQL identifiers
    (:func:`check_sql_identifier`): the statements run as the database superuser.
    """
    check_sql_identifier(name, 'database name')
    check_sql_identifier(user, 'database user')
    done = []
    if not _psql(f"SELECT 1 FROM pg_roles WHERE rolname='{user}'", port):
        _psql(f'CREATE USER "{user}" WITH PASSWORD {_sql_literal(password)} CREATEDB', port)
        done.append(f'created role {user}')
    if not _psql(f"SELECT 1 FROM pg_database WHERE datname='{name}'", port):
        _psql(
            f'CREATE DATABASE "{name}" OWNER "{user}" ENCODING \'UTF8\' '
            "LC_COLLATE='C.UTF-8' LC_CTYPE='C.UTF-8' TEMPLATE=template0",
            port,
        )
        done.append(f'created database {name}')
    return ', '.join(done) or f'database {name} exists (unchanged)'
