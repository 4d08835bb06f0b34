"""Create the computer and codes described by a YAML file, idempotently.

The packaged ``codes.yaml`` describes this machine (``localhost``, PySCF, CP2K). A user copies and edits it for a
cluster. Existing nodes are never modified: a difference is reported so that nothing a finished calculation points
to changes behind its back.
"""

from __future__ import annotations

import fcntl
import pathlib
import shutil
import subprocess
import sys
import venv
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

PACKAGE_DATA = resources.files('aiida_znadditive.environment')
DEFAULT_CODES_FILE = 'codes.yaml'


class CodeSetupError(RuntimeError):
    """The codes file asks for something that cannot be made; the message names the fix."""


@dataclass(frozen=True)
class CodeSpec:
    """One code of the codes file, with placeholders filled in."""

    key: str
    label: str
    plugin: str
    filepath_executable: str
    with_mpi: bool = False
    description: str = ''
    prepend_text: str = ''
    python_environment: str | None = None
    data_files: tuple[str, ...] = ()

    def full_label(self, computer_label: str) -> str:
        return f'{self.label}@{computer_label}'


def placeholders() -> dict[str, str]:
    from aiida.manage.configuration import get_config

    return {'venv': sys.prefix, 'aiida_dir': str(get_config().dirpath)}


def _fill(value: Any, values: dict[str, str]) -> Any:
    # Only our own placeholders are replaced: ``{tot_num_mpiprocs}`` belongs to AiiDA's mpirun template.
    if isinstance(value, str):
        for key, replacement in values.items():
            value = value.replace('{' + key + '}', replacement)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value


def load_codes_file(path: str | pathlib.Path | None = None) -> dict:
    """Read a codes file (the packaged default when ``path`` is None) and fill in the placeholders."""
    if path is None:
        text = PACKAGE_DATA.joinpath(DEFAULT_CODES_FILE).read_text()
        source = f'the packaged {DEFAULT_CODES_FILE}'
    else:
        path = pathlib.Path(path)
        if not path.is_file():
            raise CodeSetupError(f'Codes file {path} does not exist.')
        text = path.read_text()
        source = str(path)
    try:
        content = yaml.safe_load(text) or {}
    except yaml.YAMLError as exception:
        raise CodeSetupError(f'{source} is not valid YAML: {exception}') from exception
    for key in ('computer', 'codes'):
        if key not in content:
            raise CodeSetupError(f'{source} lacks the `{key}` section.')
    return _fill(content, placeholders())


def code_specs(content: dict) -> list[CodeSpec]:
    specs = []
    for key, raw in content['codes'].items():
        missing = {'label', 'plugin', 'filepath_executable'} - set(raw)
        if missing:
            raise CodeSetupError(f'Code `{key}` in the codes file lacks {", ".join(sorted(missing))}.')
        specs.append(CodeSpec(key=key, **{**raw, 'data_files': tuple(raw.get('data_files', ()))}))
    return specs


def resolve_executable(spec: CodeSpec, is_local: bool) -> str:
    """Return an absolute executable path; bare names are looked up on this PATH for a local computer."""
    if pathlib.PurePath(spec.filepath_executable).is_absolute() or not is_local:
        return spec.filepath_executable
    found = shutil.which(spec.filepath_executable)
    if found is None:
        raise CodeSetupError(
            f'Code `{spec.key}`: executable `{spec.filepath_executable}` is not on PATH. '
            'Fix: sudo bash scripts/install.sh (installs CP2K, xTB and the services).'
        )
    return found


def ensure_python_environment(spec: CodeSpec) -> str:
    """Build the virtual environment a Python-interpreter code runs in, unless it works already.

    Safe to call from several processes at once (a benchmark and pytest, two CLI runs): the build holds an exclusive
    lock on a file beside the environment, and whoever waited for it re-checks before building again.
    """
    python = pathlib.Path(spec.filepath_executable)
    requirements = PACKAGE_DATA.joinpath(spec.python_environment)
    modules = [
        line.split('==')[0].replace('-', '_')
        for line in requirements.read_text().splitlines()
        if line and not line.startswith('#')
    ]
    probe = f'import {", ".join(m for m in modules if m != "pyscf_dispersion")}'

    def works() -> bool:
        return (
            python.exists() and subprocess.run([python, '-c', probe], capture_output=True, check=False).returncode == 0
        )

    if works():
        return f'{spec.key}: interpreter {python} works (unchanged)'
    prefix = python.parent.parent
    prefix.parent.mkdir(parents=True, exist_ok=True)
    with open(prefix.parent / f'.{prefix.name}.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
        if works():
            return f'{spec.key}: interpreter {python} built by another process meanwhile (unchanged)'
        venv.EnvBuilder(with_pip=True, clear=python.exists()).create(prefix)
        with resources.as_file(requirements) as path:
            result = subprocess.run(
                [python, '-m', 'pip', 'install', '-q', '-r', str(path)], capture_output=True, text=True, check=False
            )
    if result.returncode != 0:
        raise CodeSetupError(f'Could not install the {spec.key} interpreter in {prefix}:\n{result.stderr[-2000:]}')
    return f'{spec.key}: built interpreter {python} from {spec.python_environment}'


def ensure_computer(spec: dict) -> tuple[Any, str]:
    """Create and configure the computer unless it exists; return it and what happened."""
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    label = spec['label']
    try:
        computer = orm.load_computer(label)
        message = f'computer `{label}` exists (unchanged)'
    except NotExistent:
        computer = orm.Computer(
            label=label,
            hostname=spec['hostname'],
            description=spec.get('description', ''),
            transport_type=spec['transport'],
            scheduler_type=spec['scheduler'],
            workdir=spec['work_dir'],
        )
        computer.set_mpirun_command(spec.get('mpirun_command', 'mpirun -np {tot_num_mpiprocs}').split())
        computer.set_default_mpiprocs_per_machine(spec.get('default_mpiprocs_per_machine', 1))
        computer.set_prepend_text(spec.get('prepend_text', ''))
        if 'minimum_job_poll_interval' in spec:
            computer.set_minimum_job_poll_interval(float(spec['minimum_job_poll_interval']))
        computer.store()
        if spec['transport'] == 'core.local':
            pathlib.Path(spec['work_dir']).mkdir(parents=True, exist_ok=True)
        message = f'created computer `{label}` ({spec["transport"]}, {spec["scheduler"]})'
    if not computer.is_configured:
        computer.configure(**spec.get('configure', {}))
        message += '; configured it'
    return computer, message


def ensure_code(spec: CodeSpec, computer) -> str:
    """Create an installed code unless one with this label exists on the computer; return what happened."""
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    full_label = spec.full_label(computer.label)
    is_local = computer.transport_type == 'core.local'
    executable = resolve_executable(spec, is_local)
    try:
        code = orm.load_code(full_label)
    except NotExistent:
        code = orm.InstalledCode(
            computer=computer,
            filepath_executable=executable,
            label=spec.label,
            description=spec.description,
            default_calc_job_plugin=spec.plugin,
            with_mpi=spec.with_mpi,
            prepend_text=spec.prepend_text,
        )
        code.store()
        return f'created code `{full_label}` -> {executable}'
    if str(code.filepath_executable) != executable:
        return (
            f'code `{full_label}` exists pointing at {code.filepath_executable}, not {executable}: left unchanged '
            f'(to replace it: verdi code delete {full_label})'
        )
    return f'code `{full_label}` exists (unchanged)'


def ensure_codes(content: dict, build_environments: bool = True) -> list[str]:
    """Create the computer, the Python environments (unless ``build_environments`` is False) and the codes."""
    computer, message = ensure_computer(content['computer'])
    messages = [message]
    for spec in code_specs(content):
        if build_environments and spec.python_environment and computer.transport_type == 'core.local':
            messages.append(ensure_python_environment(spec))
        messages.append(ensure_code(spec, computer))
    return messages
