"""Molecules a generator made: the CSV of ``aiida-znadditive gen run --out OUT.csv`` with its provenance ``OUT.json``.

Generated molecules enter the meta-database like those of any other source, with the generator as the source: the
``source`` is ``generated:<generator>`` (``generated:ga``), the ``source_version`` the generator's version and the
run's seed (``0.1.0+ga.1 seed 3``: together they reproduce the molecule), the ``source_id`` the scorer call that
scored it (``call 17``). Only molecules the run scored enter (a molecule whose scorer failed is skipped with the
scorer's error as the reason). The objectives' values are predictions of screeners, not measured properties, so
they stay in the CSV and do not fill property columns.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

from .base import ImportContext, SourceError, check_file, open_text

SOURCE_PREFIX = 'generated:'


def read_generated(path: Path | str | None, context: ImportContext) -> Iterator[dict]:
    """Records of the scored molecules of a ``gen run`` CSV (its ``.json`` provenance must lie beside it)."""
    path = check_file(path, context)
    if path is None:
        return
    sidecar = path.with_suffix('.json')
    try:
        provenance = json.loads(sidecar.read_text())
        source = SOURCE_PREFIX + provenance['generator']
        version = f'{provenance["version"]} seed {provenance["seed"]}'
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SourceError(
            f'{path}: its provenance {sidecar.name} (written by `gen run`) is unreadable: {error}'
        ) from None
    with open_text(path) as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {'call', 'smiles', 'status'} <= set(reader.fieldnames):
            raise SourceError(f'{path}: not a `gen run` CSV (needs the columns call, smiles, status)')
        rows = _scored_rows(reader, context)
        for identity, source_id, _ in context.standardised(rows):
            yield {**identity, 'source': source, 'source_version': version, 'source_id': source_id}


def _scored_rows(reader: csv.DictReader, context: ImportContext) -> Iterator[tuple[str, str, dict]]:
    for row in reader:
        source_id = f'call {row["call"]}'
        if row['status'] != 'scored':
            context.skips.read += 1
            context.skips.skip(source_id, f'not scored: {row.get("error") or row["status"]}', key='not scored')
            continue
        yield source_id, row['smiles'], {}
