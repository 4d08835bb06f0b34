"""Create the computer and codes described by a YAML file, idempotently.

The packaged ``codes.yaml`` describes this machine (``localhost``, PySCF, CP2K). A user copies and edits it for a
cluster. A computer that no calculation has used yet is brought in line with the file (a wrong ``work_dir`` fixed in
the file is fixed in the profile); one that has calculations, and every existing code, is left as it is and the
difference reported with what to do, so that nothing a finished calculation points to changes behind its back.
"""

from __future__ import annotations

import fcntl
import os
import pathlib
import shlex
import shutil
import subprocess
import venv
from importlib import resources
from typing import Any

from .codes_file import (  # noqa: F401  (the names callers have imported from here)
    DEFAULT_CODES_FILE,
    PACKAGE_DATA,
    CodeSetupError,
    CodeSpec,
    check_content,
    code_specs,
    load_codes_file,
    placeholders,
)


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


#: The computer settings setup brings in line with the codes file, as (key, default, getter, setter).
_SETTABLE = (
    ('work_dir', None, lambda c: c.get_workdir(), lambda c, v: c.set_workdir(v)),
    ('description', '', lambda c: c.description, lambda c, v: setattr(c, 'description', v)),
    ('mpirun_command', 'mpirun -np {tot_num_mpiprocs}', lambda c: ' '.join(c.get_mpirun_command()),
     lambda c, v: c.set_mpirun_command(v.split())),
    ('default_mpiprocs_per_machine', 1, lambda c: c.get_default_mpiprocs_per_machine(),
     lambda c, v: c.set_default_mpiprocs_per_machine(v)),
    ('prepend_text', '', lambda c: c.get_prepend_text(), lambda c, v: c.set_prepend_text(v)),
    ('append_text', '', lambda c: c.get_append_text(), lambda c, v: c.set_append_text(v)),
    ('minimum_job_poll_interval', None, lambda c: c.get_minimum_job_poll_interval(),
     lambda c, v: c.set_minimum_job_poll_interval(float(v))),
)  # fmt: skip
_FIXED = (('hostname', 'hostname'), ('transport', 'transport_type'), ('scheduler', 'scheduler_type'))


def prepare_local_work_dir(work_dir: str, label: str) -> None:
    """Create the work directory of a ``core.local`` computer and check that jobs can write there.

    A work_dir that cannot be written used to be stored anyway: every job then paused after five failed uploads.
    """
    path = pathlib.Path(work_dir.replace('{username}', os.environ.get('USER', 'root')))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exception:
        raise CodeSetupError(
            f'work_dir {work_dir} of computer `{label}` cannot be created: {exception.strerror}. '
            'Fix: set `work_dir` in the codes file to a folder this user may write.'
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise CodeSetupError(
            f'work_dir {work_dir} of computer `{label}` is not writable by this user. '
            'Fix: set `work_dir` in the codes file to a folder this user may write.'
        )


def calculation_count(computer) -> int:
    """How many calculations ran (or run) on ``computer``."""
    from aiida import orm

    builder = orm.QueryBuilder().append(orm.Computer, filters={'id': computer.pk}, tag='computer')
    return builder.append(orm.CalcJobNode, with_computer='computer').count()


def _reconcile(computer, spec: dict) -> str:
    """Bring an existing computer in line with ``spec`` when no calculation used it; say what differs otherwise."""
    label = computer.label
    different = {key: (get(computer), spec.get(key, default), put) for key, default, get, put in _SETTABLE
                 if spec.get(key, default) is not None and get(computer) != spec.get(key, default)}  # fmt: skip
    fixed = [f'{key} is {getattr(computer, attribute)}, the file says {spec[key]}' for key, attribute in _FIXED
             if getattr(computer, attribute) != spec[key]]  # fmt: skip
    if not different and not fixed:
        return f'computer `{label}` exists (unchanged)'
    count = calculation_count(computer) if different else 0
    messages = []
    if different and count == 0:
        if 'work_dir' in different and computer.transport_type == 'core.local':
            prepare_local_work_dir(spec['work_dir'], label)
        for _old, new, put in different.values():
            put(computer, new)
        changes = '; '.join(f'{key} {old!r} -> {new!r}' for key, (old, new, _) in different.items())
        messages.append(f'updated computer `{label}` to match the codes file (no calculation used it yet): {changes}')
    elif different:
        changes = '; '.join(f'{key} is {old!r}, the file says {new!r}' for key, (old, new, _) in different.items())
        messages.append(
            f'computer `{label}` left unchanged because {count} calculation(s) used it: {changes}. To apply the '
            'file, give the computer a new `label` in it and run setup again (new calculations then run there)'
        )
    if fixed:
        messages.append(
            f'computer `{label}`: {"; ".join(fixed)} (these cannot change on an existing computer): give the '
            'computer a new `label` in the codes file and run setup again'
        )
    return '; '.join(messages) if len(messages) > 1 else messages[0]


def ensure_computer(spec: dict) -> tuple[Any, str]:
    """Create and configure the computer unless it exists, else reconcile it (:func:`_reconcile`); return it and what
    happened."""
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    label = spec['label']
    try:
        computer = orm.load_computer(label)
        message = _reconcile(computer, spec)
    except NotExistent:
        if spec['transport'] == 'core.local':
            prepare_local_work_dir(spec['work_dir'], label)
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
        computer.set_append_text(spec.get('append_text', ''))
        if 'minimum_job_poll_interval' in spec:
            computer.set_minimum_job_poll_interval(float(spec['minimum_job_poll_interval']))
        computer.store()
        message = f'created computer `{label}` ({spec["transport"]}, {spec["scheduler"]})'
    if not computer.is_configured:
        computer.configure(**spec.get('configure', {}))
        message += '; configured it'
    if spec['scheduler'] == 'core.slurm':
        message += '; ' + refresh_partitions(computer, spec.get('partitions'))
    return computer, message


def refresh_partitions(computer, given: dict | None = None) -> str:
    """Record the partitions of a SLURM computer (environment/partitions.py): as the codes file gives them, else as
    ``sinfo`` on the computer lists them; say what was recorded, or why nothing was."""
    from .partitions import from_codes_file, read_partitions, record_partitions

    if given:
        partitions, source = from_codes_file(given), 'the codes file'
    else:
        try:
            partitions, source = read_partitions(computer), 'sinfo'
        except Exception as exception:  # an unreachable host or a failing sinfo: setup goes on
            return (
                f'partitions not read from {computer.hostname} over {computer.transport_type} '
                f'({type(exception).__name__}: {exception}): walltimes are not checked before '
                'submission; give `partitions` in the codes file or run `aiida-znadditive doctor` when the host is up'
            )
    record_partitions(computer, partitions, source)
    limits = ', '.join(f'{name} {v["max_wallclock_seconds"] or "unlimited"} s' for name, v in partitions.items())
    return f'partitions from {source}: {limits}'


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
            append_text=spec.append_text,
        )
        code.store()
        _keep_resource_rule(code, spec)
        return f'created code `{full_label}` -> {executable}'
    if str(code.filepath_executable) != executable:
        return (
            f'code `{full_label}` exists pointing at {code.filepath_executable}, not {executable}: left unchanged '
            f'(to replace it: verdi code delete {shlex.quote(full_label)}, then run setup again)'
        )
    if _keep_resource_rule(code, spec):
        return f'code `{full_label}` exists; its resource rule is now {spec.resources or "none"}'
    return f'code `{full_label}` exists (unchanged)'


def _keep_resource_rule(code, spec: CodeSpec) -> bool:
    """The codes file's resource rule on the code (an extra, so it may change on a used code); whether it changed."""
    from .resources import EXTRA

    if code.base.extras.get(EXTRA, None) == spec.resources:
        return False
    if spec.resources:
        code.base.extras.set(EXTRA, spec.resources)
    else:
        code.base.extras.delete(EXTRA)
    return True


def ensure_codes(content: dict, build_environments: bool = True) -> list[str]:
    """Create the computer, the Python environments (unless ``build_environments`` is False) and the codes."""
    computer, message = ensure_computer(content['computer'])
    messages = [message]
    for spec in code_specs(content):
        if build_environments and spec.python_environment and computer.transport_type == 'core.local':
            messages.append(ensure_python_environment(spec))
        messages.append(ensure_code(spec, computer))
    return messages
