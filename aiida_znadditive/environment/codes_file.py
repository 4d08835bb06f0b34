"""Read and check a codes file: every bad field is named with its line, before anything is created.

A codes file is edited by hand (for a cluster, from the packaged ``codes.yaml``), so it is checked as a whole: a
wrong type, an unknown or missing key, a path that cannot work, a label that AiiDA cannot look up again and a plugin
that is not installed are each reported as ``<file> line N: <key>: <what is wrong>``, all of them at once.
"""

from __future__ import annotations

import difflib
import pathlib
import re
import sys
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

PACKAGE_DATA = resources.files('aiida_znadditive.environment')
DEFAULT_CODES_FILE = 'codes.yaml'

#: Computer and code labels: AiiDA finds a code as ``label@computer``, so an ``@`` in either makes it unfindable; a
#: quote, space or newline would break every command a user pastes with it (``verdi code show pyscf@localhost``).
LABEL = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}')
#: Characters no path, host or command line of the file may hold: they end or split a line of the job script.
CONTROL = re.compile(r'[\x00-\x1f\x7f]')


class CodeSetupError(RuntimeError):
    """The codes file asks for something that cannot be made; the message names the fix."""


@dataclass(frozen=True)
class Field:
    """One key of a section: its type(s), whether it must be there, and a check of its value (a message or None)."""

    types: tuple[type, ...]
    required: bool = False
    check: Any = None


def _label(value: str) -> str | None:
    if LABEL.fullmatch(value):
        return None
    return 'use letters, digits and . _ + - only, a letter or digit first (no @: AiiDA reads it as label@computer)'


def _single_line(value: str) -> str | None:
    return 'must be one line without control characters' if CONTROL.search(value) else None


def _absolute_path(value: str) -> str | None:
    if CONTROL.search(value):
        return 'a path must not contain control characters (newlines, tabs)'
    return None if value.startswith('/') else 'must be an absolute path (starting with /)'


def _executable(value: str) -> str | None:
    if CONTROL.search(value) or not value.strip():
        return 'must be a program name or an absolute path, one line'
    if '/' in value and not value.startswith('/'):
        return 'a relative path is ambiguous (relative to what?): give an absolute path or a bare name found on PATH'
    return None


def _positive(value: float) -> str | None:
    return None if value >= 1 else 'must be at least 1'


def _not_negative(value: float) -> str | None:
    return None if value >= 0 else 'must not be negative'


def _requirements(value: str) -> str | None:
    if PACKAGE_DATA.joinpath(value).is_file():
        return None
    packaged = sorted(p.name for p in PACKAGE_DATA.iterdir() if p.name.endswith('requirements.txt'))
    return f'no such packaged requirements file; available: {", ".join(packaged)}'


def _absolute_paths(value: list) -> str | None:
    for item in value:
        if not isinstance(item, str) or _absolute_path(item):
            return f'each entry must be an absolute path, not {item!r}'
    return None


def _partitions(value: dict) -> str | None:
    from .partitions import PartitionError, from_codes_file

    try:
        from_codes_file(value)
    except (PartitionError, AttributeError) as exception:
        return str(exception) if isinstance(exception, PartitionError) else 'each partition must be a mapping'
    return None


def _resources(value: dict) -> str | None:
    from .resources import check_rule

    return check_rule(value)


TEXT = (str,)
COMPUTER_FIELDS = {
    'label': Field(TEXT, True, _label),
    'hostname': Field(TEXT, True, _single_line),
    'transport': Field(TEXT, True),
    'scheduler': Field(TEXT, True),
    'work_dir': Field(TEXT, True, _absolute_path),
    'description': Field(TEXT),
    'mpirun_command': Field(TEXT, False, _single_line),
    'default_mpiprocs_per_machine': Field((int,), False, _positive),
    'minimum_job_poll_interval': Field((int, float), False, _not_negative),
    'prepend_text': Field(TEXT),
    'append_text': Field(TEXT),
    'configure': Field((dict,)),
    'partitions': Field((dict,), False, _partitions),
}
CODE_FIELDS = {
    'label': Field(TEXT, True, _label),
    'plugin': Field(TEXT, True),
    'filepath_executable': Field(TEXT, True, _executable),
    'with_mpi': Field((bool,)),
    'description': Field(TEXT),
    'prepend_text': Field(TEXT),
    'append_text': Field(TEXT),
    'python_environment': Field(TEXT, False, _requirements),
    'data_files': Field((list,), False, _absolute_paths),
    'resources': Field((dict,), False, _resources),
}
TYPE_NAMES = {str: 'text', int: 'a whole number', float: 'a number', bool: 'true or false', dict: 'a mapping',
              list: 'a list'}  # fmt: skip


class _Report:
    """The problems found so far, each with the line of the key it is about."""

    def __init__(self, source: str, lines: dict[tuple, int]):
        self.source = source
        self.lines = lines
        self.problems: list[tuple[int, str]] = []

    def add(self, path: tuple, message: str) -> None:
        # The nearest enclosing key that has a line: a missing key is reported at its section.
        for depth in range(len(path), -1, -1):
            if (line := self.lines.get(tuple(str(part) for part in path[:depth]))) is not None:
                break
        where = f'line {line}: ' if line else ''
        key = '.'.join(str(part) for part in path)
        self.problems.append((line or 0, f'{where}`{key}`: {message}' if key else f'{where}{message}'))

    def raise_if_any(self) -> None:
        problems = [problem for _, problem in sorted(self.problems, key=lambda item: item[0])]  # in file order
        if len(problems) == 1:
            raise CodeSetupError(f'{self.source}: {problems[0]}')
        if problems:
            listed = '\n'.join(f'  {problem}' for problem in problems)
            raise CodeSetupError(f'{self.source} has {len(self.problems)} problems:\n{listed}')


def _lines(text: str, report: _Report) -> dict[tuple, int]:
    """The 1-based line of every key of ``text`` by its path of keys; duplicate keys are problems (YAML would keep
    only the last one, silently)."""
    lines: dict[tuple, int] = {}
    root = yaml.compose(text, Loader=yaml.SafeLoader)

    def walk(node, path: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, value_node in node.value:
                key = (*path, str(key_node.value))
                if key in seen:
                    report.lines[key] = key_node.start_mark.line + 1
                    report.add(key, 'appears twice (YAML would silently keep only the last)')
                seen.add(key)
                lines[key] = key_node.start_mark.line + 1  # the last one: YAML keeps it
                walk(value_node, key)
        elif isinstance(node, yaml.SequenceNode):
            for index, child in enumerate(node.value):
                lines.setdefault((*path, str(index)), child.start_mark.line + 1)
                walk(child, (*path, str(index)))

    if root is not None:
        walk(root, ())
    return lines


def _entry_point(report: _Report, path: tuple, value: str, group: str, what: str) -> bool:
    from aiida.plugins.entry_point import get_entry_point_names

    names = get_entry_point_names(group)
    if value in names:
        return True
    close = difflib.get_close_matches(value, names, n=3)
    hint = f'did you mean {", ".join(close)}?' if close else f'installed: {", ".join(names)}'
    report.add(path, f'{what} `{value}` is not installed ({hint})')
    return False


def _check_section(report: _Report, section: Any, path: tuple, fields: dict[str, Field]) -> set[str]:
    """Types, unknown and missing keys of one mapping; return the keys whose values are right."""
    if not isinstance(section, dict):
        kind = TYPE_NAMES.get(type(section), type(section).__name__)
        report.add(path, f'must be a mapping of keys to values, not {kind}')
        return set()
    missing = [key for key, spec in fields.items() if spec.required and key not in section]
    if missing:
        what = f'code `{path[-1]}`' if path[0] == 'codes' else 'the computer'
        report.add(path, f'{what} lacks {", ".join(sorted(missing))}')
    fine = set()
    for key, value in section.items():
        spec = fields.get(key)
        if spec is None:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f'did you mean `{close[0]}`?' if close else f'known keys: {", ".join(fields)}'
            report.add((*path, key), f'unknown key ({hint})')
        elif not isinstance(value, spec.types) or (isinstance(value, bool) and bool not in spec.types):
            wanted = ' or '.join(TYPE_NAMES[t] for t in spec.types)
            report.add((*path, key), f'must be {wanted}, not {value!r}')
        elif spec.check is not None and (message := spec.check(value)):
            report.add((*path, key), f'{message} (got {value!r})')
        else:
            fine.add(key)
    return fine


def check_content(content: Any, source: str = 'the codes file') -> None:
    """Raise :class:`CodeSetupError` listing every problem of a codes file's content (placeholders filled)."""
    report = _Report(source, {})
    _check(content, report)
    report.raise_if_any()


def _check(content: Any, report: _Report) -> None:
    if not isinstance(content, dict):
        report.add((), 'must be a mapping with the sections `computer` and `codes`')
        return
    for key in ('computer', 'codes'):
        if key not in content:
            report.add((), f'lacks the `{key}` section')
    for key in set(content) - {'computer', 'codes'}:
        report.add((key,), 'unknown section (a codes file has `computer` and `codes`)')
    if 'computer' in content:
        _check_computer(report, content['computer'])
    if 'codes' in content:
        _check_codes(report, content['codes'])


def _check_computer(report: _Report, computer: Any) -> None:
    fine = _check_section(report, computer, ('computer',), COMPUTER_FIELDS)
    transport_ok = 'transport' in fine and _entry_point(
        report, ('computer', 'transport'), computer['transport'], 'aiida.transports', 'transport'
    )
    if 'scheduler' in fine:
        _entry_point(report, ('computer', 'scheduler'), computer['scheduler'], 'aiida.schedulers', 'scheduler')
    if transport_ok and 'configure' in fine:
        from aiida.plugins import TransportFactory

        # AiiDA would raise on an unknown setting only when configuring, after the computer is stored.
        valid = list(TransportFactory(computer['transport']).get_valid_auth_params())
        for key in computer['configure']:
            if key not in valid:
                report.add(
                    ('computer', 'configure', key),
                    f'not a setting of {computer["transport"]} (valid: {", ".join(valid)})',
                )


def _check_codes(report: _Report, codes: Any) -> None:
    if not isinstance(codes, dict):
        report.add(('codes',), 'must be a mapping of code keys to code settings')
        return
    labels: dict[str, str] = {}
    for key, raw in codes.items():
        fine = _check_section(report, raw, ('codes', key), CODE_FIELDS)
        if 'plugin' in fine:
            _entry_point(report, ('codes', key, 'plugin'), raw['plugin'], 'aiida.calculations', 'calculation plugin')
        if 'resources' in fine and 'OMP_NUM_THREADS' in str(raw.get('prepend_text', '')):
            # the code's prepend_text runs after the job's environment and would undo the rule's threads
            report.add(('codes', key, 'prepend_text'), 'sets OMP_NUM_THREADS, which the `resources` rule sets per job')
        if 'label' not in fine:
            continue
        if raw['label'] in labels:
            report.add(
                ('codes', key, 'label'),
                f'label `{raw["label"]}` is also the label of code `{labels[raw["label"]]}`',
            )
        labels.setdefault(raw['label'], key)


def placeholders() -> dict[str, str]:
    from aiida.manage.configuration import get_config

    return {'venv': sys.prefix, 'aiida_dir': str(get_config(create=True).dirpath)}


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
    """Read a codes file (the packaged default when ``path`` is None), fill in the placeholders and check it."""
    if path is None:
        text = PACKAGE_DATA.joinpath(DEFAULT_CODES_FILE).read_text()
        source = f'the packaged {DEFAULT_CODES_FILE}'
    else:
        path = pathlib.Path(path)
        if not path.is_file():
            raise CodeSetupError(f'Codes file {path} does not exist.')
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exception:
            raise CodeSetupError(f'Codes file {path} cannot be read: {exception}') from None
        source = str(path)
    report = _Report(source, {})
    try:
        content = yaml.safe_load(text)
        report.lines = _lines(text, report)
    except yaml.YAMLError as exception:
        raise CodeSetupError(f'{source} is not valid YAML: {exception}') from None
    content = _fill({} if content is None else content, placeholders())
    _check(content, report)
    report.raise_if_any()
    return content


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
    append_text: str = ''
    python_environment: str | None = None
    data_files: tuple[str, ...] = ()
    resources: dict | None = None  # the scaling rule of environment/resources.py

    def full_label(self, computer_label: str) -> str:
        return f'{self.label}@{computer_label}'


def code_specs(content: dict) -> list[CodeSpec]:
    """The codes of a (checked) codes file's content."""
    check_content(content)
    return [
        CodeSpec(key=key, **{**raw, 'data_files': tuple(raw.get('data_files', ()))})
        for key, raw in content['codes'].items()
    ]
