"""One cleaning layer for the molecules a command reads: SMILES arguments and SMILES files.

Every command that takes molecules reads them here, so each meets the same rules (the docs' "Inputs" section):

- a SMILES is printable ASCII without whitespace, at most :data:`MAX_SMILES_LENGTH` characters, checked before RDKit
  sees it (RDKit reads ``'CO rm -rf x'`` as methanol named ``rm -rf x``, and spends minutes and gigabytes on a
  megabyte-long line);
- a file is read as bytes, split on ``\\n`` only, with the ``\\r`` of a Windows line end removed (so a stray carriage
  return never shifts the line numbers of the lines after it) and each line decoded on its own (one non-UTF-8 line
  costs that line, not the rest of the file);
- every rejected line or argument is kept with its number and reason: :func:`report_rejected` prints them, and lists
  all of them in a summary file next to the output when there are more than the terminal shows.

Plain files (``.smi``, ``.txt``, ...) hold a SMILES a line with an optional name after whitespace, ``#`` comments
and an optional ``smiles`` header; ``.csv``/``.tsv`` files their ``smiles`` column (any case, else the first one).
Any of them may be gzipped.
"""

from __future__ import annotations

import csv
import gzip
import unicodedata
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import click

#: Longest SMILES accepted (characters). The largest molecule a model here is built for (150 heavy atoms) needs about
#: 400; RDKit's time and memory on longer strings are what a hostile or broken input exploits.
MAX_SMILES_LENGTH = 500
#: Longest line of a file (bytes, with its name and other columns), refused before it is decoded or split.
MAX_LINE_BYTES = 4096
#: Rejected items printed on the terminal when the full list goes to a summary file.
TERMINAL_LIMIT = 20
#: Characters of a rejected text shown in a message (escaped: a control character must not reach the terminal).
SHOWN_CHARACTERS = 60
TABLE_DELIMITERS = {'.csv': ',', '.tsv': '\t'}


class MoleculeInputError(click.ClickException):
    """A molecule file that cannot be read at all (missing, not gzip, no molecule in it): exit status 1."""


@dataclass(frozen=True)
class Molecule:
    """An accepted SMILES, where it came from (``argument 2``, ``lib.smi line 7``) and its name column, if any."""

    smiles: str
    where: str
    name: str = ''


@dataclass(frozen=True)
class Rejected:
    """A refused argument or line: where, the reason, and the text as shown (escaped and shortened)."""

    where: str
    reason: str
    text: str


@dataclass
class MoleculeInput:
    molecules: list[Molecule] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def smiles(self) -> list[str]:
        return [molecule.smiles for molecule in self.molecules]

    def extend(self, other: MoleculeInput) -> MoleculeInput:
        self.molecules += other.molecules
        self.rejected += other.rejected
        return self


def shown(text: str) -> str:
    """``text`` safe to print: escaped as Python's ``ascii`` does (no control character reaches a terminal or a TSV
    cell), shortened to :data:`SHOWN_CHARACTERS`."""
    if len(text) > SHOWN_CHARACTERS:
        return ascii(text[:SHOWN_CHARACTERS]) + f'... ({len(text):,} characters)'
    return ascii(text)


def smiles_problem(text: str) -> str | None:
    """Why ``text`` is not accepted as a SMILES, or None. Only string checks: RDKit judges the chemistry later."""
    if not text:
        return 'empty SMILES'
    if len(text) > MAX_SMILES_LENGTH:
        return f'{len(text):,} characters, over the limit of {MAX_SMILES_LENGTH}'
    for position, character in enumerate(text, start=1):
        if unicodedata.category(character).startswith('C'):  # Cc control, Cf format (zero-width), Cs, Co, Cn
            return f'control character {character!a} at position {position}'
        if character.isspace():
            return (
                f'whitespace at position {position} inside the SMILES (RDKit would read {text[: position - 1]!a} '
                'and take the rest as a name): give one SMILES per argument'
            )
        if not character.isascii():
            return f'non-ASCII character {character!a} at position {position} (a SMILES is ASCII)'
    return None


def check_smiles_arguments(items, what: str = 'argument') -> MoleculeInput:
    """The SMILES given on the command line, each checked with :func:`smiles_problem`."""
    result = MoleculeInput()
    for index, text in enumerate(items, start=1):
        where = f'{what} {index}'
        problem = smiles_problem(text)
        if problem:
            result.rejected.append(Rejected(where, problem, shown(text)))
        else:
            result.molecules.append(Molecule(text, where))
    return result


def smiles_argument_callback(ctx, param, value):
    """click callback of SMILES arguments: refuses the command (exit 2, nothing run) naming every bad item."""
    if value is None:
        return value
    items = value if isinstance(value, tuple) else (value,)
    checked = check_smiles_arguments(items, param.human_readable_name)
    if checked.rejected:
        lines = [f'{item.where} {item.text}: {item.reason}' for item in checked.rejected]
        raise click.BadParameter('\n'.join(lines), ctx=ctx, param=param)
    return value


def _file_bytes(path: Path, label: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise MoleculeInputError(f'{label}: cannot read: {error.strerror or error}') from None
    if path.suffix.lower() == '.gz':
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise MoleculeInputError(f'{label}: not a readable gzip file ({error})') from None
    return data


def _format_suffix(name: str) -> str:
    parts = [suffix.lower() for suffix in Path(name).suffixes]
    if parts and parts[-1] == '.gz':
        parts = parts[:-1]
    return parts[-1] if parts else ''


def _decoded(raw: bytes, where: str, rejected: list[Rejected]) -> str | None:
    """One line's text without its Windows line end, or None with the reason appended to ``rejected``."""
    # The \r of a Windows line end only; a \r elsewhere stays and is refused as a control character.
    content = raw.removesuffix(b'\r')
    if len(content) > MAX_LINE_BYTES:
        text = shown(content[:SHOWN_CHARACTERS].decode('utf-8', errors='replace'))
        rejected.append(Rejected(where, f'line of {len(content):,} bytes, over {MAX_LINE_BYTES:,}', text))
        return None
    try:
        return content.decode('utf-8')
    except UnicodeDecodeError as error:
        reason = f'not UTF-8 text (byte 0x{content[error.start]:02x} at column {error.start + 1})'
        rejected.append(Rejected(where, reason, shown(content.decode('utf-8', errors='replace'))))
        return None


def read_smiles_bytes(data: bytes, label: str, table: str | None = None) -> MoleculeInput:
    """The molecules of a SMILES file's bytes; ``label`` names it in messages, ``table`` is ``','``/``'\\t'`` for a
    CSV/TSV (None: a plain file, SMILES then an optional name)."""
    result = MoleculeInput()
    column = None  # a table's SMILES column, known once its header is read
    header_seen = False
    lines = data.split(b'\n')
    if lines and lines[-1] == b'':
        lines.pop()  # the file's final newline ends the last line; it does not start another
    for number, raw in enumerate(lines, start=1):
        where = f'{label} line {number}'
        line = _decoded(raw, where, result.rejected)
        if line is None:
            continue
        if number == 1:
            line = line.removeprefix('\ufeff')  # the byte-order mark some editors write
        if not line.strip() or (table is None and line.lstrip().startswith('#')):
            continue
        bad = next((c for c in line if c != '\t' and unicodedata.category(c).startswith('C')), None)
        if bad is not None:
            reason = f'control character {bad!a} at column {line.index(bad) + 1}'
            result.rejected.append(Rejected(where, reason, shown(line)))
            continue
        if table is None:
            words = line.split()
            smiles, name = words[0], ' '.join(words[1:])
            if not header_seen and smiles.lower() == 'smiles':
                header_seen = True
                continue
            header_seen = True
        else:
            row = next(csv.reader([line], delimiter=table), [])
            if column is None:
                lowered = [cell.strip().lower() for cell in row]
                column = lowered.index('smiles') if 'smiles' in lowered else 0
                continue
            smiles, name = (row[column].strip() if len(row) > column else ''), ''
        problem = smiles_problem(smiles)
        if problem:
            result.rejected.append(Rejected(where, problem, shown(smiles)))
        else:
            result.molecules.append(Molecule(smiles, where, name))
    return result


def read_smiles_handle(handle, label: str) -> MoleculeInput:
    """The molecules of an open binary file (``-``: stdin); its format from ``label``'s suffix, as for a path."""
    data = handle.read()
    if label.lower().endswith('.gz'):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise MoleculeInputError(f'{label}: not a readable gzip file ({error})') from None
    return read_smiles_bytes(data, label, TABLE_DELIMITERS.get(_format_suffix(label)))


def read_smiles_file(path: str | Path, label: str | None = None) -> MoleculeInput:
    """The molecules of the SMILES file ``path`` (plain, ``.csv``, ``.tsv``, any of them ``.gz``)."""
    path = Path(path)
    label = label or str(path)
    if not path.is_file():
        raise MoleculeInputError(f'{label}: no such file')
    return read_smiles_bytes(_file_bytes(path, label), label, TABLE_DELIMITERS.get(_format_suffix(path.name)))


def report_rejected(rejected: list[Rejected], summary: Path | None = None, limit: int = TERMINAL_LIMIT) -> None:
    """Print every rejected item with its place and reason (on stderr: stdout may be a table a pipe reads); with a
    ``summary`` path and more than ``limit`` of them, print ``limit`` and write all of them there (TSV)."""
    from aiida.cmdline.utils import echo

    if not rejected:
        return
    to_file = summary is not None and len(rejected) > limit
    for item in rejected[:limit] if to_file else rejected:
        echo.echo_warning(f'{item.where}: {item.text}: {item.reason}', err=True)
    if to_file:
        rows = ['where\treason\ttext'] + [f'{item.where}\t{item.reason}\t{item.text}' for item in rejected]
        summary.write_text('\n'.join(rows) + '\n', encoding='utf-8')
        echo.echo_warning(f'... {len(rejected) - limit} more: all {len(rejected)} listed in {summary}', err=True)
    echo.echo_warning(f'{len(rejected)} SMILES skipped (not read)', err=True)


def write_smiles(molecules: list[Molecule], path: Path) -> None:
    """The accepted molecules as a plain SMILES file (name after a space), as :func:`read_smiles_file` reads it."""
    lines = [f'{molecule.smiles} {molecule.name}'.rstrip() for molecule in molecules]
    path.write_text('\n'.join(lines) + '\n', encoding='utf-8')
