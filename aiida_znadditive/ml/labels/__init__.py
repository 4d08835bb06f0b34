"""Own labels for the meta-database: GFN2-xTB properties of molecules computed with tblite (:mod:`.xtb`)."""

from .xtb import (
    COLUMN_TYPES,
    LABEL_COLUMNS,
    PROPERTY_COLUMNS,
    REASONS,
    SOURCE,
    LabelError,
    LabelSettings,
    XtbLabeller,
    label_batch,
    label_molecule,
    labelled_inchikeys,
    merge_shards,
    molecule_identity,
    read_labels,
)

__all__ = (
    'COLUMN_TYPES',
    'LABEL_COLUMNS',
    'PROPERTY_COLUMNS',
    'REASONS',
    'SOURCE',
    'LabelError',
    'LabelSettings',
    'XtbLabeller',
    'label_batch',
    'label_molecule',
    'labelled_inchikeys',
    'merge_shards',
    'molecule_identity',
    'read_labels',
)
