"""The checks behind ``aiida-znadditive doctor``: each says what is wrong and the command that fixes it."""

from __future__ import annotations

import os
import pathlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

from .codes import CodeSetupError, CodeSpec, code_specs, load_codes_file
from .services import Endpoint


@dataclass(frozen=True)
class Check:
    """The outcome of one check; ``fix`` is a command a user can paste."""

    name: str
    ok: bool
    detail: str
    fix: str = ''


def check_profile(profile_name: str | None) -> Iterator[Check]:
    """Profile, storage, broker and daemon of the profile (the default one when ``profile_name`` is None)."""
    from aiida import load_profile
    from aiida.common.exceptions import ConfigurationError, ProfileConfigurationError

    try:
        profile = load_profile(profile_name, allow_switch=True)
    except (ProfileConfigurationError, ConfigurationError) as exception:
        yield Check('profile', False, str(exception).splitlines()[0], 'aiida-znadditive setup')
        return
    yield Check('profile', True, f'`{profile.name}` ({profile.storage_backend})')

    from aiida.manage import get_manager

    try:
        storage = get_manager().get_profile_storage()
        yield Check('storage', True, f'{storage} reachable')
    except Exception as exception:
        fix = 'aiida-znadditive setup --production' if profile.storage_backend == 'core.psql_dos' else ''
        yield Check(
            'storage',
            False,
            f'cannot open: {exception}'.splitlines()[0],
            fix or f'verdi -p {profile.name} storage migrate',
        )
        return

    if profile.process_control_backend is None:
        yield Check('broker', True, 'none (embedded profile: processes run in-process, no daemon)')
        return
    config = profile.process_control_config
    endpoint = Endpoint(config.get('broker_host', '127.0.0.1'), int(config.get('broker_port', 5672)))
    if not endpoint.is_open():
        yield Check(
            'broker',
            False,
            f'RabbitMQ not reachable at {endpoint.host}:{endpoint.port}',
            'aiida-znadditive setup --production  (starts a local RabbitMQ)',
        )
        return
    yield Check('broker', True, f'RabbitMQ at {endpoint.host}:{endpoint.port}')

    from aiida.engine.daemon.client import get_daemon_client

    client = get_daemon_client(profile.name)
    if client.is_daemon_running:
        yield Check('daemon', True, 'running')
    else:
        yield Check('daemon', False, 'not running', f'verdi -p {profile.name} daemon start 2')


def _probe_python(spec: CodeSpec) -> str | None:
    """Return an error message when the interpreter lacks what aiida-pyscf's script needs, else None."""
    probe = "import dill, geometric, pyscf, pyscf.dispersion; from pyscf import gto; gto.basis.load('def2-svp', 'Zn')"
    result = subprocess.run([spec.filepath_executable, '-c', probe], capture_output=True, text=True, check=False)
    return None if result.returncode == 0 else result.stderr.strip().splitlines()[-1]


def check_codes(codes_file: str | None = None) -> Iterator[Check]:
    """The computer and every code of the codes file: present in the profile, runnable, with their data files."""
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    try:
        content = load_codes_file(codes_file)
        specs = code_specs(content)
    except CodeSetupError as exception:
        yield Check('codes file', False, str(exception), 'fix the YAML file named above')
        return
    label = content['computer']['label']
    setup = 'aiida-znadditive setup' + (f' --codes {codes_file}' if codes_file else '')
    try:
        computer = orm.load_computer(label)
    except NotExistent:
        yield Check(f'computer {label}', False, 'not in this profile', setup)
        return
    if not computer.is_configured:
        yield Check(f'computer {label}', False, 'not configured', setup)
        return
    yield Check(f'computer {label}', True, f'{computer.transport_type}, {computer.scheduler_type}')
    is_local = computer.transport_type == 'core.local'

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
        checks.extend(check_codes(codes_file))
    return checks
