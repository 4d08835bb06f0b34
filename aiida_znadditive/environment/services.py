"""Start and probe the local services of a production profile: PostgreSQL and RabbitMQ.

Only services on this host are started; a remote host is probed and, when unreachable, reported with the fix.
Everything here works as root (the Debian packages' layout) and says what to do when it cannot act.
"""

from __future__ import annotations

import base64
import glob
import hashlib
import hmac
import os
import re
import secrets
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


#: Where our services listen: the loopback only. AiiDA, the daemon and the CLI tools run on this host; a broker with
#: the default ``guest`` account or a database reachable from the network would let anyone on it submit or read work.
LOOPBACK_ONLY = '127.0.0.1'


def ensure_postgres(endpoint: Endpoint = Endpoint('localhost', 5432)) -> str:
    """Make sure PostgreSQL accepts connections, starting the local Debian cluster when it is down.

    A cluster started here listens on the loopback only (``listen_addresses=localhost`` on its command line, whatever
    ``postgresql.conf`` says): setup never opens the database to the network.

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
    result = _run(['pg_ctlcluster', version, 'main', 'start', '-o', '-c listen_addresses=localhost'])
    if result.returncode != 0 and 'already running' not in result.stderr:
        raise ServiceError(f'pg_ctlcluster {version} main start failed: {result.stderr.strip()} (run it as root)')
    wait_for(endpoint, 30, 'PostgreSQL')
    return f'started PostgreSQL {version} (listening on the loopback only)'


#: The environment that keeps a RabbitMQ we start on the loopback: AMQP (5672), the inter-node port (25672) and the
#: Erlang port mapper epmd (4369, started by the server when none runs). The RABBITMQ_ variables win over
#: /etc/rabbitmq/rabbitmq-env.conf, so this holds also where scripts/install.sh never wrote that file.
RABBITMQ_LOOPBACK_ENV = {
    'RABBITMQ_NODE_IP_ADDRESS': LOOPBACK_ONLY,
    'ERL_EPMD_ADDRESS': LOOPBACK_ONLY,
    'RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS': '-kernel inet_dist_use_interface {127,0,0,1}',
}


def ensure_rabbitmq(endpoint: Endpoint = Endpoint('127.0.0.1', 5672)) -> str:
    """Make sure RabbitMQ accepts AMQP connections, starting a local detached server when it is down.

    A server started here listens on the loopback only (:data:`RABBITMQ_LOOPBACK_ENV`).
    """
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
    environment = {**os.environ, **RABBITMQ_LOOPBACK_ENV}
    if endpoint.port != 5672:
        environment['RABBITMQ_NODE_PORT'] = str(endpoint.port)
    result = subprocess.run([server, '-detached'], capture_output=True, text=True, check=False, env=environment)
    if result.returncode != 0:
        raise ServiceError(f'rabbitmq-server -detached failed: {result.stderr.strip()} (run it as root)')
    wait_for(endpoint, 90, 'RabbitMQ')
    return 'started RabbitMQ (listening on the loopback only)'


def _psql(sql: str, port: int, connect_to: str = 'postgres', **variables: str) -> str:
    """Run SQL as the PostgreSQL superuser of the local cluster; return its unaligned output.

    The SQL is a constant of this module; every value in it is a psql variable given here and written in the SQL as
    ``:'name'`` (quoted as a literal by psql) or ``:"name"`` (quoted as an identifier), so no name or password ever
    becomes SQL. The script goes on stdin: psql substitutes variables there, not in ``-c``.
    """
    # As root we become the `postgres` system user (peer authentication, no password); anyone else must be able to
    # connect as `postgres` themselves (PGPASSWORD or ~/.pgpass). pgsu would try `sudo`, which containers lack.
    if os.geteuid() == 0:
        command = ['runuser', '-u', 'postgres', '--', 'psql', '-p', str(port)]
    else:
        command = ['psql', '-h', 'localhost', '-p', str(port), '-U', 'postgres', '-w']
    # -X: no ~/.psqlrc (it could print or change settings); ON_ERROR_STOP: a failed statement fails the call.
    command += ['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', '-d', connect_to]
    for name, value in variables.items():
        command += ['-v', f'{name}={value}']
    result = subprocess.run([*command, '-f', '-'], input=sql, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ServiceError(
            f'Cannot run SQL as the PostgreSQL superuser: {result.stderr.strip()}\n'
            'Fix: run setup as root, or give this user superuser access (PGPASSWORD for the `postgres` role).'
        )
    return result.stdout.strip()


#: What a database or role name may be: SQL identifiers without quoting. The statements quote them anyway; this
#: keeps the names typeable in ``psql`` and ``pg_dump`` commands a user pastes from the docs.
SQL_IDENTIFIER = re.compile(r'[A-Za-z_][A-Za-z0-9_]{0,62}')


def check_sql_identifier(value: str, what: str) -> str:
    """Return ``value`` unchanged; raise :class:`ServiceError` naming it unless it is a plain SQL identifier."""
    if not isinstance(value, str) or not SQL_IDENTIFIER.fullmatch(value):
        raise ServiceError(
            f'{what} {value!r} is not allowed: use letters, digits and underscores (a letter first, at most 63).'
        )
    return value


#: PostgreSQL's default for SCRAM-SHA-256 (``scram_iterations``).
SCRAM_ITERATIONS = 4096


def scram_verifier(password: str, salt: bytes | None = None) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802/7677, as ``\\password`` computes it).

    Sending the verifier instead of the password keeps the password itself off every command line and out of the
    server's statement log. Passwords here are ASCII (:func:`secrets.token_urlsafe`), for which SASLprep changes
    nothing.
    """
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac('sha256', password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.new(salted, b'Client Key', 'sha256').digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b'Server Key', 'sha256').digest()

    def b64(value: bytes) -> str:
        return base64.b64encode(value).decode()

    return f'SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}'


def can_log_in(host: str, port: int, user: str, password: str, database: str) -> bool:
    """Whether ``user`` can open ``database`` with ``password`` over TCP, as AiiDA will."""
    import psycopg

    try:
        with psycopg.connect(
            host=host, port=port, user=user, password=password, dbname=database, connect_timeout=10
        ) as connection:
            connection.execute('SELECT 1')
        return True
    except psycopg.OperationalError:
        return False


def ensure_database(
    name: str, user: str, password: str, port: int = 5432, host: str = 'localhost', *, adopt: bool = True
) -> str:
    """Create the PostgreSQL role and database for a profile if they do not exist, and make ``password`` the role's.

    The database uses the ``C.UTF-8`` locale from ``template0``: Debian images often lack ``en_US.UTF-8``, which
    is what ``verdi quicksetup`` would ask for. ``name`` and ``user`` must be plain SQL identifiers
    (:func:`check_sql_identifier`); they reach the SQL as psql variables, never as text of a statement.

    A role that does not accept ``password`` (a password changed by hand) gets it when ``adopt`` is True: the existing
    profile's stored password is the one that counts. For a new profile (``adopt=False``) an existing database that
    ``password`` does not open belongs to someone else and is refused, naming the way out.
    """
    check_sql_identifier(name, 'database name')
    check_sql_identifier(user, 'database user')
    names = {'role': user, 'database': name}
    role_exists = bool(_psql("SELECT 1 FROM pg_roles WHERE rolname = :'role'", port, **names))
    database_exists = bool(_psql("SELECT 1 FROM pg_database WHERE datname = :'database'", port, **names))
    if database_exists and not adopt and not (role_exists and can_log_in(host, port, user, password, name)):
        raise ServiceError(
            f'Database {name} exists but does not belong to this new profile: another profile uses it (perhaps in '
            'another AiiDA folder, or one deleted without --delete-data). Fix: choose another --profile-name, or, if '
            f'its data are no longer needed, remove it: runuser -u postgres -- dropdb {name}'
        )
    done = []
    if not role_exists:
        _psql(
            'CREATE ROLE :"role" LOGIN CREATEDB PASSWORD :\'verifier\'',
            port,
            **names,
            verifier=scram_verifier(password),
        )
        done.append(f'created role {user}')
    if not database_exists:
        _psql(
            'CREATE DATABASE :"database" OWNER :"role" ENCODING \'UTF8\' '
            "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0",
            port,
            **names,
        )
        done.append(f'created database {name}')
    if not can_log_in(host, port, user, password, name):
        set_role_password(user, password, port)
        if not can_log_in(host, port, user, password, name):
            raise ServiceError(
                f'Role {user} cannot log in to database {name} at {host}:{port} even with the password just set: '
                'check that pg_hba.conf allows scram-sha-256 (or md5) logins from this host.'
            )
        done.append(f"set the password of role {user} to the profile's")
    return ', '.join(done) or f'database {name} and role {user} exist (unchanged)'


def set_role_password(user: str, password: str, port: int = 5432) -> None:
    """Give ``user`` a new password (as its verifier: the password itself never leaves this process)."""
    check_sql_identifier(user, 'database user')
    _psql('ALTER ROLE :"role" PASSWORD :\'verifier\'', port, role=user, verifier=scram_verifier(password))


def move_database_to_role(name: str, old_user: str, new_user: str, password: str, port: int = 5432) -> None:
    """Give database ``name`` and everything ``old_user`` owns in it to ``new_user`` (created with ``password``).

    For a profile that shared the old fixed role with others: ``REASSIGN OWNED`` would also hand over the databases of
    those other profiles (databases are shared objects), so only the relations of this database change owner.
    """
    for value, what in ((name, 'database name'), (old_user, 'database user'), (new_user, 'database user')):
        check_sql_identifier(value, what)
    names = {'old': old_user, 'role': new_user, 'database': name}
    if not _psql("SELECT 1 FROM pg_roles WHERE rolname = :'role'", port, **names):
        _psql(
            'CREATE ROLE :"role" LOGIN CREATEDB PASSWORD :\'verifier\'',
            port,
            **names,
            verifier=scram_verifier(password),
        )
    else:
        set_role_password(new_user, password, port)
    # \\gexec runs each row of the query as a statement; the names in them are quoted by format('%I').
    _psql(
        "SELECT format('ALTER TABLE %I.%I OWNER TO %I', n.nspname, c.relname, :'role') FROM pg_class c "
        'JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_roles r ON r.oid = c.relowner '
        "WHERE r.rolname = :'old' AND c.relkind IN ('r', 'p', 'v', 'm') "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema') \\gexec\n"
        "SELECT format('ALTER SEQUENCE %I.%I OWNER TO %I', n.nspname, c.relname, :'role') FROM pg_class c "
        'JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_roles r ON r.oid = c.relowner '
        "WHERE r.rolname = :'old' AND c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        '\\gexec\n'
        'ALTER DATABASE :"database" OWNER TO :"role";\n',
        port,
        connect_to=name,
        **names,
    )
