"""Molecule libraries the generators start from (the GA's initial population, the ``random`` baseline's pool), and a
reader of SMILES files for the metrics.

``library`` names a source:

- ``moses`` (= ``moses:train``), ``moses:test``, ``moses:test_scaffolds``: the ZINC drug-like MOSES splits the
  ``molsets`` wheel ships (1.58M / 176k / 176k SMILES), located as the ``moses`` importer does;
- ``qm9``: the 130,831 SMILES of the ``qm9pack`` wheel (at most 9 heavy atoms: small seeds);
- a path: a SMILES file (``.smi``/``.txt``: a SMILES a line, first word; ``.csv``/``.tsv``: the ``smiles`` column,
  any case, else the first column; ``.gz`` allowed).

:func:`sample_library` draws a seeded random sample without replacement: the same seed gives the same molecules in
the same order. A MOSES split is decompressed in memory once per call (about a second for the training split) and
only the sampled lines are decoded.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
from pathlib import Path

import numpy as np

from ..database.importers.smiles import _line_rows
from .errors import GeneratorError

MOSES_SPLITS = ('train', 'test', 'test_scaffolds')


def library_names() -> list[str]:
    return ['moses', *(f'moses:{split}' for split in MOSES_SPLITS), 'qm9']


def sample_library(library: str | Path, k: int, rng: random.Random) -> list[str]:
    """``k`` SMILES drawn at random without replacement from ``library`` (all of them, shuffled, if it has fewer)."""
    if k < 0:
        raise GeneratorError(f'cannot sample {k} molecules')
    name = str(library)
    if name == 'moses' or name.startswith('moses:'):
        split = name.partition(':')[2] or 'train'
        return _sample_lines(_moses_buffer(split), k, rng, skip_header=True)
    smiles = _qm9_smiles() if name == 'qm9' else read_smiles_file(name)
    if k >= len(smiles):
        out = list(smiles)
        rng.shuffle(out)
        return out
    return [smiles[index] for index in rng.sample(range(len(smiles)), k)]


def read_library(library: str | Path) -> list[str]:
    """Every SMILES of ``library`` (a name of :func:`library_names` or a file), in file order."""
    name = str(library)
    if name == 'moses' or name.startswith('moses:'):
        buffer = _moses_buffer(name.partition(':')[2] or 'train')
        lines = buffer.decode().splitlines()[1:]
        return [line.split(',')[0].strip() for line in lines if line.strip()]
    if name == 'qm9':
        return _qm9_smiles()
    return read_smiles_file(name)


def _moses_buffer(split: str) -> bytes:
    if split not in MOSES_SPLITS:
        raise GeneratorError(f'unknown MOSES split {split!r}; there are {", ".join(MOSES_SPLITS)}')
    from ..database.importers.base import SourceError
    from ..database.importers.moses import moses_files

    try:
        path = moses_files()[split]
    except SourceError as error:
        raise GeneratorError(f'MOSES library unavailable: {error}') from None
    return gzip.decompress(path.read_bytes())


def _sample_lines(buffer: bytes, k: int, rng: random.Random, *, skip_header: bool) -> list[str]:
    """``k`` random lines of ``buffer`` (first word of each, header skipped), located through the newline offsets."""
    ends = np.flatnonzero(np.frombuffer(buffer, dtype=np.uint8) == ord('\n'))
    if len(buffer) and buffer[-1:] != b'\n':
        ends = np.append(ends, len(buffer))
    starts = np.concatenate(([0], ends[:-1] + 1))
    first = 1 if skip_header else 0
    count = len(ends) - first
    if count <= 0:
        return []
    picks = rng.sample(range(first, len(ends)), min(k, count))
    out = []
    for index in picks:
        line = buffer[starts[index] : ends[index]].decode().strip()
        word = line.split(',')[0].split()[0] if line else ''
        if word:
            out.append(word)
    return out


def _qm9_smiles() -> list[str]:
    import pandas as pd

    from ..database.importers.base import SourceError
    from ..database.importers.qm9 import qm9_files

    try:
        files = qm9_files()
    except SourceError as error:
        raise GeneratorError(f'QM9 library unavailable: {error}') from None
    return [smiles for path in files for smiles in pd.read_csv(path, usecols=['SMILES'])['SMILES'].astype(str)]


def read_smiles_file(path: str | Path) -> list[str]:
    """The SMILES of a file, as written (unreadable ones included: validity is for the caller to judge).

    ``.csv``/``.tsv`` (optionally ``.gz``): the column named ``smiles`` (any case), else the first column; other
    files: the first word of each line, blank lines and ``#`` comments skipped, a first word ``smiles`` taken as a
    header. An empty field or line yields an empty string only in a table (a row without a molecule).
    """
    path = Path(path)
    if not path.is_file():
        raise GeneratorError(f'no such file: {path}')
    raw = path.read_bytes()
    if path.suffix == '.gz':
        raw = gzip.decompress(raw)
        suffix = Path(path.stem).suffix.lower()
    else:
        suffix = path.suffix.lower()
    text = raw.decode('utf-8', errors='replace')
    if suffix in {'.csv', '.tsv'}:
        reader = csv.reader(io.StringIO(text), delimiter=',' if suffix == '.csv' else '\t')
        header = next(reader, None)
        if header is None:
            return []
        lowered = [name.strip().lower() for name in header]
        column = lowered.index('smiles') if 'smiles' in lowered else 0
        return [row[column].strip() if len(row) > column else '' for row in reader if row]
    # Plain SMILES files: read as the meta-database's SMILES importer reads them (comments, a `smiles` header).
    return [smiles for _, smiles, _ in _line_rows(text.splitlines())]
