"""Inputs of the database tests: small SMILES files cut from the MOSES data the ``molsets`` wheel ships."""

from __future__ import annotations

import csv
import gzip
import itertools
from pathlib import Path

import pytest

from aiida_znadditive.ml.database.importers.moses import moses_files


@pytest.fixture(scope='session')
def moses_file(tmp_path_factory):
    """``make(count, start=0)``: the MOSES training molecules ``start`` to ``start + count`` as a ``.smi`` file, one
    ``SMILES moses-<row>`` a line (made once per session for each size)."""
    folder = tmp_path_factory.mktemp('moses')

    def make(count: int, start: int = 0) -> Path:
        path = folder / f'moses_{start}_{count}.smi'
        if path.exists():
            return path
        with gzip.open(moses_files()['train'], 'rt', newline='') as handle, open(path, 'w') as out:
            reader = csv.reader(handle)
            smiles_at = [name.upper() for name in next(reader)].index('SMILES')
            for row_number, row in enumerate(itertools.islice(reader, start, start + count), start=start):
                out.write(f'{row[smiles_at]} moses-{row_number}\n')
        return path

    return make
