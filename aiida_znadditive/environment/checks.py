"""The checks behind ``aiida-znadditive doctor``: each says what is wrong and the command that fixes it.

Every fix names the profile (``--profile-name``/``-p``) and the codes file it was checked with, quoted for the shell,
so that pasting it repairs the profile that was checked, not the default one.
"""

from __future__ import annotations

import os
import pathlib
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

from .codes_file import CodeSetupError, CodeSpec, code_specs, load_codes_file
from .services import Endpoint


@dataclass(frozen=True)
class Check:
    """The outcome of one check; ``fix`` is a command a user can paste."""

    name: str
    ok: bool
    detail: str
    fix: str = ''


def setup_command(profile, codes_file: str | None = None) -> str:
    """The ``setup`` command that (re)creates what ``profile`` (a Profile, a name or None) needs."""
    from .profiles import PRODUCTION_STORAGE

    name = profile if isinstance(profile, str) or profile is None else profile.name
    command = 'aiida-znadditive setup'
    if codes_file:
        command += f' --codes {shlex.quote(str(codes_file))}'
    if getattr(profile, 'storage_backend', None) == PRODUCTION_STORAGE:
        command += ' --production'
    if name:
        command += f' --profile-name {shlex.quote(name)}'
    return command


def check_profile(profile_name: str | None) -> Iterator[Check]:
    """Profile, storage, database credentials, broker, network exposure and daemon of the profile (the default one
    when ``profile_name`` is None)."""
    from aiida import load_profile
    from aiida.common.exceptions import ConfigurationError, ProfileConfigurationError

    try:
        profile = load_profile(profile_name, allow_switch=True)
    except (ProfileConfigurationError, ConfigurationError) as exception:
        yield Check('profile', False, str(exception).splitlines()[0], setup_command(profile_name))
        return
    yield Check('profile', True, f'`{profile.name}` ({profile.storage_backend})')
    yield (storage := _check_storage(profile))
    if not storage.ok:
        return
    yield from _check_production(profile)
    if profile.process_control_backend is None:
        yield Check('broker', True, 'none (embedded profile: processes run in-process, no daemon)')
        return
    config = profile.process_control_config
    endpoint = Endpoint(config.get('broker_host', '127.0.0.1'), int(config.get('broker_port', 5672)))
    if not endpoint.is_open():
        fix = f'{setup_command(profile)}  (starts a local RabbitMQ)'
        yield Check('broker', False, f'RabbitMQ not reachable at {endpoint.host}:{endpoint.port}', fix)
        return
    yield Check('broker', True, f'RabbitMQ at {endpoint.host}:{endpoint.port}')

    from aiida.engine.daemon.client import get_daemon_client

    if get_daemon_client(profile.name).is_daemon_running:
        yield Check('daemon', True, 'running')
    else:
        yield Check('daemon', False, 'not running', f'verdi -p {shlex.quote(profile.name)} daemon start 2')


def _check_storage(profile) -> Check:
    """The storage opens; a deleted storage folder is named as such, with a fix that works."""
    from aiida.manage import get_manager

    from .profiles import missing_storage_fix, storage_fix, storage_folder

    folder = storage_folder(profile)
    if folder is not None and not folder.is_dir():
        return Check('storage', False, f'folder {folder} is missing (deleted or moved?)', missing_storage_fix(profile))
    try:
        storage = get_manager().get_profile_storage()
    except Exception as exception:  # any backend error: one line and a way out, not a traceback
        first = (str(exception).strip().splitlines() or [type(exception).__name__])[0]
        return Check('storage', False, f'cannot open: {first}', storage_fix(profile, exception))
    return Check('storage', True, f'{storage} reachable')


def _check_production(profile) -> Iterator[Check]:
    """The database credentials are the profile's own and the local services listen on the loopback only."""
    from .exposure import SERVICE_PORTS, exposed, exposure_fix
    from .profiles import LEGACY_DATABASE_PASSWORD, PRODUCTION_STORAGE

    if profile.storage_backend != PRODUCTION_STORAGE:
        return
    storage = profile.storage_config
    if storage.get('database_password') == LEGACY_DATABASE_PASSWORD:
        yield Check(
            'database password',
            False,
            f'role {storage.get("database_username")} has the password written in the code of older versions',
            f'{setup_command(profile)}  (gives the database a role and password of its own)',
        )
    else:
        yield Check('database password', True, f'role {storage.get("database_username")}, own password')
    ports = dict(SERVICE_PORTS)
    ports[int(storage.get('database_port', 5432))] = 'PostgreSQL'
    broker = profile.process_control_config or {}
    ports[int(broker.get('broker_port', 5672))] = 'RabbitMQ'
    found = exposed(ports)
    if found:
        listed = ', '.join(f'{service} on {listener}' for service, listener in found)
        fixes = sorted({exposure_fix(service) for service, _ in found})
        fix = '; '.join(fixes).replace('setup --production', setup_command(profile).removeprefix('aiida-znadditive '))
        yield Check('network exposure', False, f'listening beyond the loopback: {listed}', fix)
    else:
        yield Check('network exposure', True, 'PostgreSQL, RabbitMQ and epmd listen on the loopback only')


def _probe_python(spec: CodeSpec) -> str | None:
    """Return an error message when the interpreter lacks what aiida-pyscf's script needs, else None."""
    probe = "import dill, geometric, pyscf, pyscf.dispersion; from pyscf import gto; gto.basis.load('def2-svp', 'Zn')"
    result = subprocess.run([spec.filepath_executable, '-c', probe], capture_output=True, text=True, check=False)
    return None if result.returncode == 0 else result.stderr.strip().splitlines()[-1]


def check_computer(computer, spec: dict, setup: str) -> Iterator[Check]:
    """``verdi computer test`` for the computer (aiida-core's own test functions) and its work_dir against the file."""
    from aiida import orm
    from aiida.cmdline.commands import cmd_computer

    name = f'computer {computer.label}'
    if computer.get_workdir() != spec['work_dir']:
        yield Check(
            f'{name} work_dir',
            False,
            f'{computer.get_workdir()}, but the codes file says {spec["work_dir"]}',
            f'{setup}  (updates a computer no calculation used yet, or says what to do)',
        )
    tests = {
        'connection without spurious output': cmd_computer._computer_test_no_unexpected_output,
        'scheduler lists jobs': cmd_computer._computer_test_get_jobs,
        'remote user name': cmd_computer._computer_get_remote_username,
        'work_dir writable (file written, read back, deleted)': cmd_computer._computer_create_temp_file,
    }
    fixes = {
        'work_dir writable (file written, read back, deleted)': f'set a writable `work_dir` in the codes file, then: '
        f'{setup}',
    }
    default_fix = f'verdi computer test {shlex.quote(computer.label)} --print-traceback  (shows the details)'
    try:
        authinfo = computer.get_authinfo(orm.User.collection.get_default())
        transport = authinfo.get_transport()
        scheduler = computer.get_scheduler()
        with transport:
            scheduler.set_transport(transport)
            for label, test in tests.items():
                try:
                    ok, message = test(transport=transport, scheduler=scheduler, authinfo=authinfo, computer=computer)
                except Exception as exception:  # what verdi computer test reports as a failed test, not a crash
                    ok, message = False, f'{type(exception).__name__}: {exception}'
                detail = (message or 'ok').strip().splitlines()[0] if ok else (message or 'failed').strip()
                yield Check(f'{name}: {label}', ok, detail, '' if ok else fixes.get(label, default_fix))
    except Exception as exception:  # the transport did not open: the computer cannot run anything
        where = f'{computer.hostname} over {computer.transport_type}'
        yield Check(f'{name}: connection', False, f'{where}: {type(exception).__name__}: {exception}', default_fix)


def check_partitions(computer, spec: dict) -> Check:
    """Read the partitions of a SLURM computer again and record them: the limits the WorkChains check a walltime
    against before submission (environment/partitions.py)."""
    from .codes import refresh_partitions

    message = refresh_partitions(computer, spec.get('partitions'))
    ok = message.startswith('partitions from')
    fix = '' if ok else 'give `partitions: {name: {max_walltime: D-HH:MM:SS}}` under `computer` in the codes file'
    return Check(f'computer {computer.label} partitions', ok, message, fix)


def check_remote_executables(computer, specs, setup: str) -> Iterator[Check]:
    """Each code's executable exists and is executable on the remote computer, asked over its transport."""
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    try:
        with computer.get_authinfo(orm.User.collection.get_default()).get_transport() as transport:
            for spec in specs:
                # the executable of the code in the profile (setup leaves an existing code as it is), else the file's
                try:
                    path = str(orm.load_code(spec.full_label(computer.label)).filepath_executable)
                except NotExistent:
                    path = spec.filepath_executable
                command = f'test -x {shlex.quote(path)} || command -v {shlex.quote(path)}'
                retval, _, _ = transport.exec_command_wait(command)
                yield Check(
                    f'code {spec.full_label(computer.label)} on {computer.hostname}',
                    retval == 0,
                    path if retval == 0 else f'{path} is not an executable on {computer.hostname}',
                    '' if retval == 0 else f'install it there or give its absolute path in the codes file: {setup}',
                )
    except Exception as exception:  # the connection check above already names the cause
        yield Check(f'codes on {computer.hostname}', False, f'{type(exception).__name__}: {exception}', setup)


def check_codes(codes_file: str | None = None, profile=None) -> Iterator[Check]:
    """The computer and every code of the codes file: present in the profile, runnable, with their data files."""
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    setup = setup_command(profile, codes_file)
    try:
        content = load_codes_file(codes_file)
        specs = code_specs(content)
    except CodeSetupError as exception:
        yield Check('codes file', False, str(exception), f'fix the YAML file named above, then: {setup}')
        return
    label = content['computer']['label']
    try:
        computer = orm.load_computer(label)
    except NotExistent:
        yield Check(f'computer {label}', False, 'not in this profile', setup)
        return
    if not computer.is_configured:
        yield Check(f'computer {label}', False, 'not configured', setup)
        return
    yield Check(f'computer {label}', True, f'{computer.transport_type}, {computer.scheduler_type}')
    yield from check_computer(computer, content['computer'], setup)
    is_local = computer.transport_type == 'core.local'
    if computer.scheduler_type == 'core.slurm':
        yield check_partitions(computer, content['computer'])
    if not is_local:
        yield from check_remote_executables(computer, specs, setup)

    for spec in specs:
        name = f'code {spec.full_label(label)}'
        try:
            code = orm.load_code(spec.full_label(label))
        except NotExistent:
            yield Check(name, False, 'not in this profile', setup)
            continue
        executable = pathlib.Path(str(code.filepath_executable))
        if is_local and not os.access(executable, os.X_OK):
            yield Check(
                name,
                False,
                f'{executable} missing or not executable',
                'sudo bash scripts/install.sh' if not spec.python_environment else setup,
            )
            continue
        if is_local and spec.python_environment and (error := _probe_python(spec)):
            yield Check(name, False, f'{executable}: {error}', setup)
            continue
        yield Check(name, True, str(executable))
        for data_file in spec.data_files if is_local else ():
            present = pathlib.Path(data_file).is_file()
            yield Check(
                f'data {pathlib.Path(data_file).name}',
                present,
                data_file if present else f'{data_file} missing',
                '' if present else 'sudo apt-get install cp2k-data',
            )


def run_checks(profile_name: str | None, codes_file: str | None = None) -> list[Check]:
    checks = list(check_profile(profile_name))
    if all(check.ok for check in checks):
        from aiida import get_profile

        checks.extend(check_codes(codes_file, get_profile()))
    return checks
