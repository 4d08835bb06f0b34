"""Create AiiDA profiles idempotently: the embedded default and the production one.

* embedded: ``core.sqlite_dos`` storage and no broker; everything runs in-process with ``run``. Needs no service.
* production: ``core.psql_dos`` on PostgreSQL and ``core.rabbitmq``, for the daemon and thousands of processes.
"""

from __future__ import annotations

import os
import pathlib
import secrets
import shlex
import urllib.parse
from dataclasses import dataclass, field

from aiida.manage.configuration import Profile, create_profile, get_config

EMBEDDED_STORAGE = 'core.sqlite_dos'
PRODUCTION_STORAGE = 'core.psql_dos'
PRODUCTION_BROKER = 'core.rabbitmq'
DEFAULT_EMAIL = 'znadditive@localhost'
EMBEDDED_POLL_INTERVAL = 1


class ProfileError(RuntimeError):
    """A profile exists but does not match what was asked for; the message says how to proceed."""


#: The role and password every production profile of versions before issue 21 shared, written in the code: anyone who
#: read it could log in to every such database. :func:`production_settings` moves such a profile to its own role.
LEGACY_DATABASE_USER = 'aiida_znadditive'
LEGACY_DATABASE_PASSWORD = 'aiida_znadditive'


def database_name(profile_name: str) -> str:
    """The PostgreSQL database and role of a new production profile (hyphens are not plain SQL identifiers)."""
    return f'znadditive_{profile_name}'.replace('-', '_')


@dataclass
class ProductionSettings:
    """Where the services of a production profile live, and its database credentials.

    ``stored`` says that they were read from an existing profile (its database exists and is its own) rather than
    made for a new one.
    """

    database_host: str = 'localhost'
    database_port: int = 5432
    database_name: str = ''
    database_user: str = ''
    database_password: str = field(default='', repr=False)
    broker_host: str = '127.0.0.1'
    broker_port: int = 5672
    broker_user: str = 'guest'
    broker_password: str = field(default='guest', repr=False)
    stored: bool = False

    @property
    def has_legacy_password(self) -> bool:
        return self.database_password == LEGACY_DATABASE_PASSWORD

    def storage_config(self, repository: pathlib.Path) -> dict:
        return {
            'database_engine': 'postgresql_psycopg',
            'database_hostname': self.database_host,
            'database_port': self.database_port,
            'database_username': self.database_user,
            'database_password': self.database_password,
            'database_name': self.database_name,
            'repository_uri': repository.absolute().as_uri(),
        }

    def broker_config(self) -> dict:
        return {
            'broker_protocol': 'amqp',
            'broker_username': self.broker_user,
            'broker_password': self.broker_password,
            'broker_host': self.broker_host,
            'broker_port': self.broker_port,
            'broker_virtual_host': '',
        }


def _pending_password_file(name: str) -> pathlib.Path:
    return default_storage_root() / f'.{name}.database-password'


def _pending_password(name: str) -> str:
    """The password a setup of profile ``name`` that stopped before creating it (say RabbitMQ did not start) gave the
    role, or a new one, kept in a 0600 file until the profile holds it: a rerun then finds a role it can log in to."""
    path = _pending_password_file(name)
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(32)
    # O_EXCL with mode 0600: the file never exists, even for an instant, readable by others.
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), 'w') as handle:
        handle.write(password)
    return password


def production_settings(
    name: str,
    database_host: str = 'localhost',
    database_port: int = 5432,
    broker_host: str = '127.0.0.1',
    broker_port: int = 5672,
) -> ProductionSettings:
    """The settings of production profile ``name``: those it stores when it exists (they win over the arguments, which
    describe a new profile), otherwise a role and database of its own with a password made by
    :func:`secrets.token_urlsafe`."""
    profile = _existing(name)
    if profile is not None and profile.storage_backend == PRODUCTION_STORAGE:
        storage, broker = profile.storage_config, profile.process_control_config or {}
        return ProductionSettings(
            database_host=storage.get('database_hostname', database_host),
            database_port=int(storage.get('database_port', database_port)),
            database_name=storage['database_name'],
            database_user=storage['database_username'],
            database_password=storage.get('database_password', ''),
            broker_host=broker.get('broker_host', broker_host),
            broker_port=int(broker.get('broker_port', broker_port)),
            broker_user=broker.get('broker_username', 'guest'),
            broker_password=broker.get('broker_password', 'guest'),
            stored=True,
        )
    return ProductionSettings(
        database_host=database_host,
        database_port=database_port,
        database_name=database_name(name),
        database_user=database_name(name),
        database_password=_pending_password(name),
        broker_host=broker_host,
        broker_port=broker_port,
    )


def store_database_credentials(name: str, user: str, password: str) -> None:
    """Write a new role and password into the storage configuration of profile ``name``."""
    config = get_config()
    profile = config.get_profile(name)
    profile.set_storage(
        profile.storage_backend, {**profile.storage_config, 'database_username': user, 'database_password': password}
    )
    config.update_profile(profile)
    config.store()


def default_storage_root() -> pathlib.Path:
    """Storage lives beside the AiiDA configuration (``$AIIDA_PATH/.aiida`` or ``~/.aiida``) unless told otherwise."""
    return pathlib.Path(get_config(create=True).dirpath) / 'znadditive'


def _existing(name: str) -> Profile | None:
    config = get_config(create=True)
    return config.get_profile(name) if name in config.profile_names else None


def _check_matches(profile: Profile, storage_backend: str, broker_backend: str | None) -> None:
    if profile.storage_backend != storage_backend or profile.process_control_backend != broker_backend:
        raise ProfileError(
            f'Profile `{profile.name}` exists with storage `{profile.storage_backend}` and broker '
            f'`{profile.process_control_backend}`, not `{storage_backend}`/`{broker_backend}`. '
            f'Choose another name with --profile-name, or remove it: verdi profile delete {shlex.quote(profile.name)}'
        )


def check_kind(name: str, production: bool) -> None:
    """Raise :class:`ProfileError` when profile ``name`` exists but is not of the kind asked for, before anything (a
    database, a role) is made for it."""
    profile = _existing(name)
    if profile is not None:
        if production:
            _check_matches(profile, PRODUCTION_STORAGE, PRODUCTION_BROKER)
        else:
            _check_matches(profile, EMBEDDED_STORAGE, None)


def ensure_embedded_profile(name: str, storage_root: pathlib.Path | None = None, email: str = DEFAULT_EMAIL) -> str:
    """Create a broker-less ``core.sqlite_dos`` profile unless it exists; return what happened."""
    profile = _existing(name)
    if profile is not None:
        _check_matches(profile, EMBEDDED_STORAGE, None)
        return f'profile `{name}` exists' + _repair_default(name)
    storage = (storage_root or default_storage_root()) / name
    storage.mkdir(parents=True, exist_ok=True)
    config = get_config(create=True)
    create_profile(
        config, storage_backend=EMBEDDED_STORAGE, storage_config={'filepath': str(storage)}, name=name, email=email
    )
    # Without a broker, a parent WorkChain learns that its child finished by polling, every 60 s by default: each
    # step of a WorkChain would then idle a minute. One second costs nothing here.
    config.set_option('runner.poll.interval', EMBEDDED_POLL_INTERVAL, scope=name)
    _finalise(config, name)
    return f'created embedded profile `{name}` ({EMBEDDED_STORAGE}, no broker) in {storage}'


def ensure_production_profile(
    name: str, settings: ProductionSettings, storage_root: pathlib.Path | None = None, email: str = DEFAULT_EMAIL
) -> str:
    """Create a ``core.psql_dos`` + ``core.rabbitmq`` profile unless it exists; return what happened.

    The database and role must exist already (see :func:`aiida_znadditive.environment.services.ensure_database`).
    """
    profile = _existing(name)
    if profile is not None:
        _check_matches(profile, PRODUCTION_STORAGE, PRODUCTION_BROKER)
        return f'profile `{name}` exists' + _repair_default(name)
    repository = (storage_root or default_storage_root()) / name / 'repository'
    repository.mkdir(parents=True, exist_ok=True)
    config = get_config(create=True)
    create_profile(
        config,
        storage_backend=PRODUCTION_STORAGE,
        storage_config=settings.storage_config(repository),
        broker_backend=PRODUCTION_BROKER,
        broker_config=settings.broker_config(),
        name=name,
        email=email,
    )
    _finalise(config, name)
    # The profile holds the password now (config.json, which AiiDA writes 0600).
    _pending_password_file(name).unlink(missing_ok=True)
    return f'created production profile `{name}` ({PRODUCTION_STORAGE} + {PRODUCTION_BROKER})'


def _finalise(config, name: str) -> None:
    # The Debian RabbitMQ (3.10) is older than AiiDA's version check expects but works with the consumer timeout
    # disabled (scripts/install.sh writes that config), so the warning would only confuse newcomers.
    config.set_option('warnings.rabbitmq_version', False, scope=name)
    if config.default_profile_name not in config.profile_names:
        config.set_default_profile(name, overwrite=True)
    config.store()


def _repair_default(name: str) -> str:
    """Make ``name`` the default profile when the configured default names no profile (deleted, or a temporary
    one some tool wrote as default): every command without ``-p`` would otherwise stop on it. A default that
    exists is left alone. Returns the sentence to append to the report."""
    config = get_config()
    dangling = config.default_profile_name
    if dangling in config.profile_names:
        return ' (unchanged)'
    config.set_default_profile(name, overwrite=True)
    config.store()
    return f' (unchanged; now the default: the default `{dangling}` named no profile)'


def give_own_role(name: str, settings: ProductionSettings) -> str:
    """Move a profile that still uses the fixed role and password of older versions to a role of its own.

    The new password goes to a 0600 file first (:func:`_pending_password`), then to PostgreSQL, then to the profile:
    a setup stopped half-way finds it again instead of locking the profile out of its own database.
    """
    from .services import move_database_to_role

    user = database_name(name) if database_name(name) != settings.database_user else f'{database_name(name)}_own'
    password = _pending_password(name)
    move_database_to_role(settings.database_name, settings.database_user, user, password, settings.database_port)
    store_database_credentials(name, user, password)
    _pending_password_file(name).unlink(missing_ok=True)
    settings.database_user, settings.database_password = user, password
    return (
        f'profile `{name}` used the role {LEGACY_DATABASE_USER} whose password was written in the code: its database '
        f'{settings.database_name} now belongs to role {user}, with a new password stored in the profile'
    )


def storage_folder(profile: Profile) -> pathlib.Path | None:
    """The folder a profile's storage keeps its files in (the SQLite database and repository, or the repository)."""
    if profile.storage_backend == EMBEDDED_STORAGE:
        return pathlib.Path(profile.storage_config['filepath'])
    if profile.storage_backend == PRODUCTION_STORAGE and 'repository_uri' in profile.storage_config:
        return pathlib.Path(urllib.parse.urlparse(profile.storage_config['repository_uri']).path)
    return None


def missing_storage_fix(profile: Profile) -> str:
    """The command that gets a profile whose storage folder is gone working again."""
    name = shlex.quote(profile.name)
    if profile.storage_backend == EMBEDDED_STORAGE:
        return f'aiida-znadditive setup --profile-name {name}  (makes a new, empty storage there)'
    # The database still lists the nodes whose files were in the repository: an empty repository would not match it,
    # so the profile starts again. `verdi profile delete --delete-data` fails on the missing repository (aiida 2.9.4),
    # hence --keep-data and dropdb; setup then gives the remaining role a new password.
    database = shlex.quote(profile.storage_config.get('database_name', ''))
    return (
        f'restore the folder from a backup, or start the profile again (its data are lost): verdi profile delete '
        f'--force --keep-data {name} && runuser -u postgres -- dropdb {database} && '
        f'aiida-znadditive setup --production --profile-name {name}'
    )


def ensure_storage(name: str) -> str | None:
    """Check that the storage of profile ``name`` opens; remake a deleted embedded storage folder.

    :returns: what was repaired, or None when nothing was needed.
    :raises ProfileError: with a one-line diagnosis and the fix, when the storage cannot be opened or repaired.
    """
    from aiida.manage import get_manager
    from aiida.manage.configuration import create_default_user

    profile = get_config().get_profile(name)
    folder = storage_folder(profile)
    repaired = None
    if folder is not None and not folder.is_dir():
        if profile.storage_backend != EMBEDDED_STORAGE:
            raise ProfileError(
                f'The repository folder {folder} of profile `{name}` is missing (deleted or moved?). '
                f'Fix: {missing_storage_fix(profile)}'
            )
        # The SQLite database was in that folder too: nothing remains to keep consistent, so an empty storage is as
        # good as a new profile. On a disk that is only unmounted the new folder hides under the mount point: nothing
        # of the old data is overwritten.
        profile.storage_cls.initialise(profile)
        create_default_user(profile, profile.default_user_email or DEFAULT_EMAIL)
        repaired = f'the storage folder {folder} of profile `{name}` was missing: made a new, empty storage there'
    try:
        get_manager().get_profile_storage()
    except Exception as exception:  # any backend error: the user needs its first line and a way out, not a traceback
        first = (str(exception).strip().splitlines() or [type(exception).__name__])[0]
        raise ProfileError(
            f'The storage of profile `{name}` cannot be opened: {first}. Fix: {storage_fix(profile, exception)}'
        ) from None
    return repaired


def storage_fix(profile: Profile, exception: Exception) -> str:
    """The command for a storage that exists but does not open."""
    from aiida.common.exceptions import IncompatibleStorageSchema

    name = shlex.quote(profile.name)
    if isinstance(exception, IncompatibleStorageSchema):
        return f'verdi -p {name} storage migrate'
    if profile.storage_backend == PRODUCTION_STORAGE:
        return f'aiida-znadditive setup --production --profile-name {name}  (starts PostgreSQL, repairs the role)'
    return f'aiida-znadditive doctor -p {name}, then restore the storage folder from a backup'
