"""Molecule libraries as streams of SMILES, for screening funnels over millions of molecules.

A library is either a file or the MOSES sets the ``molsets`` wheel installs:

- a text file (``.smi``, ``.txt``, ``.csv``, each optionally gzipped ``.gz``): one molecule per line. A first line
  that names a ``smiles`` column (case-insensitive; comma- or tab-separated) makes it a table, read by that column;
  otherwise the first whitespace-separated token of each line is the SMILES (the ``.smi`` convention: SMILES, then
  a name). Empty lines and lines starting with ``#`` are skipped.
- ``moses`` (the training set, 1,584,663 molecules) or ``moses:train,test,test_scaffolds``.

Each molecule comes with its line number in the file (1-based, counting the header), so that a malformed line can
be named where it is.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

MOSES_SPLITS = ('train', 'test', 'test_scaffolds')


class LibraryError(ValueError):
    """A library that cannot be read at all (not a file, no such MOSES split, a table without a SMILES column)."""


@dataclass(frozen=True)
class Library:
    """Where the molecules come from: a file, or MOSES splits."""

    path: Path | None = None
    moses_splits: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Library:
        """``moses``, ``moses:SPLIT[,SPLIT...]`` or a file path."""
        name, _, splits = text.partition(':')
        if name.lower() == 'moses':
            chosen = tuple(split.strip() for split in splits.split(',') if split.strip()) or ('train',)
            unknown = [split for split in chosen if split not in MOSES_SPLITS]
            if unknown:
                raise LibraryError(f'no MOSES split {", ".join(unknown)}; there are {", ".join(MOSES_SPLITS)}')
            return cls(moses_splits=chosen)
        path = Path(text)
        if not path.is_file():
            raise LibraryError(f'no library file {text} (give a SMILES file, or `moses` for the installed MOSES set)')
        return cls(path=path)

    @property
    def label(self) -> str:
        return f'MOSES {"+".join(self.moses_splits)}' if self.moses_splits else str(self.path)

    def _files(self) -> list[Path]:
        if self.path is not None:
            return [self.path]
        from ..database.importers.moses import moses_files

        files = moses_files()
        return [Path(files[split]) for split in self.moses_splits]

    def count(self, limit: int | None = None) -> int:
        """The number of molecules (lines with a SMILES), at most ``limit``: the total of a progress line's ETA. The
        library is read through for it once (a second or two for MOSES), up to ``limit`` only."""
        return sum(1 for _ in islice(self.smiles(), limit))

    def smiles(self) -> Iterator[tuple[int, str]]:
        """``(line number, SMILES)`` of every molecule, streamed in file order."""
        for path in self._files():
            yield from _read(path)


def _open(path: Path) -> io.TextIOBase:
    if path.suffix == '.gz':
        return gzip.open(path, 'rt', encoding='utf-8', errors='replace')
    return open(path, encoding='utf-8', errors='replace')


def _read(path: Path) -> Iterator[tuple[int, str]]:
    with _open(path) as handle:
        first = handle.readline()
        delimiter = '\t' if '\t' in first else ','
        header = [name.strip().lower() for name in first.rstrip('\r\n').split(delimiter)]
        if 'smiles' in header:
            column = header.index('smiles')
            for number, row in enumerate(csv.reader(handle, delimiter=delimiter), start=2):
                # a short row keeps its line: an empty SMILES is screened, and reported, as malformed
                yield number, row[column].strip() if column < len(row) else ''
            return
        if len(header) > 1 and delimiter == ',' and path.suffix.removesuffix('.gz') == '.csv':
            raise LibraryError(f'{path}: a CSV file needs a `smiles` column in its first line; it has {first.strip()}')
        if (token := _token(first)) is not None:
            yield 1, token
        for number, line in enumerate(handle, start=2):
            if (token := _token(line)) is not None:
                yield number, token


def _token(line: str) -> str | None:
    stripped = line.strip()
    if not stripped or stripped.startswith('#'):
        return None
    return stripped.split()[0]
