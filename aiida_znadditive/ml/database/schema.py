"""The one schema of the meta-database: column names, Arrow types, units and unit conversions.

Every row is one molecule as one source gives it. Identity columns come from RDKit (:mod:`.standardise`), so the same
molecule gets the same ``inchikey`` whatever the source; provenance columns say where the row came from; the optional
geometry and properties are in one set of units (eV, Debye, Å, Å^3), the unit in each name.

Other modules (labellers, screeners, models) rely on these exact names: add columns, never rename them.
"""

from __future__ import annotations

import dataclasses

import pyarrow as pa

# CODATA 2018, the values the sources' own converters use: a change here would shift every imported property.
HARTREE_TO_EV = 27.211386245988
BOHR_TO_ANGSTROM = 0.529177210903
BOHR3_TO_ANGSTROM3 = BOHR_TO_ANGSTROM**3

SCHEMA_VERSION = 1


@dataclasses.dataclass(frozen=True)
class Column:
    """One column: name, Arrow type, unit (empty when it has none), meaning, and whether a row may leave it null."""

    name: str
    type: pa.DataType
    unit: str
    description: str
    nullable: bool = True


IDENTITY = (
    Column('inchikey', pa.string(), '', 'standard InChIKey (RDKit), the key molecules are deduplicated by', False),
    Column('smiles', pa.string(), '', 'canonical isomeric SMILES (RDKit), hydrogens implicit', False),
    Column('formula', pa.string(), '', 'Hill formula with net charge, e.g. C2H3O2- (RDKit CalcMolFormula)', False),
    Column('charge', pa.int16(), 'e', 'net formal charge', False),
    Column('elements', pa.list_(pa.string()), '', 'element symbols, unique, sorted alphabetically, H included', False),
    Column('heavy_atoms', pa.int16(), '', 'number of atoms other than hydrogen', False),
    Column('n_atoms', pa.int16(), '', 'number of atoms, hydrogens included', False),
)
PROVENANCE = (
    Column('source', pa.string(), '', "importer name: 'qm9', 'moses', 'pcqm4mv2', 'mp-molecules', 'sdf', ...", False),
    Column('source_version', pa.string(), '', "package version, or 'sha256:<12 hex>' of a user's file", False),
    Column('source_id', pa.string(), '', "the source's own ID of the molecule (QM9 index, CID, ...)", False),
)
GEOMETRY = (
    Column('atomic_numbers', pa.list_(pa.int8()), '', 'atomic numbers of the 3D structure, hydrogens included'),
    Column('positions', pa.list_(pa.float32()), 'Å', 'Cartesian coordinates x1,y1,z1,x2,... in atomic_numbers order'),
)
PROPERTY_COLUMNS = (
    Column('homo_ev', pa.float64(), 'eV', 'energy of the highest occupied molecular orbital'),
    Column('lumo_ev', pa.float64(), 'eV', 'energy of the lowest unoccupied molecular orbital'),
    Column('gap_ev', pa.float64(), 'eV', 'HOMO-LUMO gap'),
    Column('dipole_debye', pa.float64(), 'D', 'norm of the dipole moment'),
    Column('polarizability_a3', pa.float64(), 'Å^3', 'isotropic static polarizability'),
    Column('ip_ev', pa.float64(), 'eV', 'ionisation potential E(N-1) - E(N) (vertical or adiabatic: see the source)'),
    Column('ea_ev', pa.float64(), 'eV', 'electron affinity E(N) - E(N+1) (vertical or adiabatic: see the source)'),
    Column('solvation_free_energy_ev', pa.float64(), 'eV', 'free energy of solvation in water'),
    Column('zn_exchange_energy_ev', pa.float64(), 'eV', 'energy of replacing water by the molecule at Zn2+'),
    Column('zn_exchange_free_energy_ev', pa.float64(), 'eV', 'free energy of that exchange in water (1 M, 55.34 M)'),
    Column(
        'zn_exchange_free_energy_calibrated_ev',
        pa.float64(),
        'eV',
        'that free energy calibrated against measured Zn2+ stability constants',
    ),
    Column('total_energy_ev', pa.float64(), 'eV', 'total electronic energy at the geometry, without ZPVE'),
    Column('zpve_ev', pa.float64(), 'eV', 'zero-point vibrational energy'),
)

IDENTITY_COLUMNS = tuple(column.name for column in IDENTITY)
PROVENANCE_COLUMNS = tuple(column.name for column in PROVENANCE)
GEOMETRY_COLUMNS = tuple(column.name for column in GEOMETRY)
#: Property name -> (unit, description), in column order.
PROPERTIES = {column.name: (column.unit, column.description) for column in PROPERTY_COLUMNS}
ALL_COLUMNS = IDENTITY + PROVENANCE + GEOMETRY + PROPERTY_COLUMNS
#: Every column name, in storage order.
COLUMNS = tuple(column.name for column in ALL_COLUMNS)
ARROW_SCHEMA = pa.schema(
    [pa.field(column.name, column.type, nullable=column.nullable) for column in ALL_COLUMNS],
    metadata={'aiida_znadditive.schema_version': str(SCHEMA_VERSION)},
)

#: DuckDB's spelling of each column's type: the empty view of a database without shards uses it.
DUCKDB_TYPES = {
    pa.string(): 'VARCHAR',
    pa.int16(): 'SMALLINT',
    pa.float64(): 'DOUBLE',
    pa.list_(pa.string()): 'VARCHAR[]',
    pa.list_(pa.int8()): 'TINYINT[]',
    pa.list_(pa.float32()): 'FLOAT[]',
}

#: Which source's value the deduplicated ``unique`` view keeps when several give one (first wins), from the highest
#: level of theory down: MP molecules (wB97X-V/def2-TZVPPD), QM9 (B3LYP/6-31G(2df,p)), PCQM4Mv2 (B3LYP/6-31G*),
#: the platform's own WorkChain results (DFT), its GFN2-xTB labels, then sources without properties. Sources not
#: listed come after these, alphabetically.
SOURCE_PREFERENCE = ('mp-molecules', 'qm9', 'pcqm4mv2', 'znadditive-aiida', 'znadditive-xtb', 'sdf', 'smiles', 'moses')


def empty_record() -> dict:
    """A row with every column None: importers fill what their source gives."""
    return dict.fromkeys(COLUMNS)


def conform_table(table: pa.Table | pa.RecordBatch) -> pa.Table:
    """``table`` in :data:`ARROW_SCHEMA`: columns cast (e.g. int32 counts to int16), absent ones null, extra dropped.

    Raises ``pyarrow.ArrowInvalid`` when a column cannot be cast (e.g. text in a property column).
    """
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    columns = []
    for field in ARROW_SCHEMA:
        if field.name in table.column_names:
            columns.append(table.column(field.name).cast(field.type))
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=ARROW_SCHEMA)
