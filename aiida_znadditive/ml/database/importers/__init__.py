"""Importers of the meta-database, one module per source, and the registry by name (:data:`IMPORTERS`).

Each importer is called as ``read(path, context, **options)`` and yields record dicts (or Arrow tables in the
schema); ``context`` (:class:`~.base.ImportContext`) carries the standardisation settings, the row limit and the
:class:`~.base.SkipLog` in which every molecule that does not enter is counted with its reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..standardise import StandardiseSettings
from .base import ImportContext, Importer, SkipLog, SourceError
from .generated import read_generated
from .moses import read_moses
from .mp_molecules import read_mp_molecules
from .parquet import read_parquet
from .pcqm4mv2 import read_pcqm4mv2
from .qm9 import read_qm9
from .sdf import read_sdf
from .smiles import read_smiles

__all__ = ('IMPORTERS', 'ImportContext', 'Importer', 'SkipLog', 'SourceError', 'get_importer', 'read_source')

IMPORTERS = {
    importer.name: importer
    for importer in (
        Importer('qm9', read_qm9, 'QM9 from the qm9pack wheel (130,831 molecules with geometry)', False, 'qm9pack CSV'),
        Importer('moses', read_moses, 'ZINC drug-like set of MOSES from the molsets wheel (1.9M SMILES)', False, 'CSV'),
        Importer('pcqm4mv2', read_pcqm4mv2, 'PCQM4Mv2 CSV (idx,smiles,homolumogap), --sdf for geometries', True, 'CSV'),
        Importer('mp-molecules', read_mp_molecules, 'Materials Project / JCESR molecule documents', True, 'JSON'),
        Importer('sdf', read_sdf, 'SD file (PubChem, ChEMBL, own)', True, 'SDF'),
        Importer(
            'smiles', read_smiles, 'SMILES file (.smi/.txt lines, .csv/.tsv with a smiles column)', True, 'SMILES'
        ),
        Importer('generated', read_generated, 'molecules of `gen run` (its CSV, provenance JSON beside)', True, 'CSV'),
        Importer(
            'parquet', read_parquet, 'Parquet in the meta-database schema (e.g. xTB label shards)', True, 'Parquet'
        ),
    )
}


def get_importer(name: str) -> Importer:
    """The importer registered as ``name``; ``KeyError`` naming the known ones otherwise."""
    try:
        return IMPORTERS[name]
    except KeyError:
        raise KeyError(f'unknown source {name!r}; known: {", ".join(IMPORTERS)}') from None


def read_source(
    name: str,
    path: str | Path | None = None,
    *,
    settings: StandardiseSettings | dict | None = None,
    limit: int | None = None,
    skips: SkipLog | None = None,
    **options,
) -> Iterator:
    """Records of a source without writing them anywhere (one process); pass ``skips`` to see what was skipped."""
    context = ImportContext(skips or SkipLog(name), StandardiseSettings.coerce(settings), limit)
    yield from get_importer(name).read(None if path is None else Path(path), context, **options)
