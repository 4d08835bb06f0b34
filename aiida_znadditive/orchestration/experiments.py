"""Measured cell results in the provenance graph: one node per experiment, found by the additive's InChIKey.

``aiida-znadditive experiments import FILE.csv`` reads a CSV with one row per experiment (:data:`COLUMNS`), checks
every row first and stores nothing when any row is bad (each bad row named by its line number and column), so a
file is never half imported. Each good row becomes a ``Dict`` node (label ``experiment``) in the group
``znadditive/experiments``, with the extras

- ``znadditive_inchikey``: the standard InChIKey of the additive as added (``smiles`` column), the key the
  candidates of a campaign carry too (``promote_candidate``), so a query joins measured and computed by it;
- ``znadditive_experiment``: a hash of the row's values, so importing the same rows again adds nothing.

The values are stored as measured, with the units of the column names; nothing is converted.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import math
import re
from collections.abc import Callable
from pathlib import Path

GROUP = 'znadditive/experiments'
#: the label of every experiment node
LABEL = 'experiment'
EXTRA_INCHIKEY = 'znadditive_inchikey'
EXTRA_KEY = 'znadditive_experiment'
#: a DOI (10.<registrant>/<suffix>), the form the known-additive table cites
DOI = re.compile(r'10\.\d{4,9}/\S+')
MAX_TEXT = 500


class ExperimentFileError(ValueError):
    """The file cannot be imported; ``problems`` lists every bad line (``line N, column: why``)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f'{len(problems)} problem(s); nothing imported:\n' + '\n'.join(problems))


def _text(value: str) -> str:
    if len(value) > MAX_TEXT:
        raise ValueError(f'longer than {MAX_TEXT} characters')
    return value


def _number(low: float, high: float, low_open: bool = False) -> Callable[[str], float]:
    def parse(value: str) -> float:
        number = float(value)  # ValueError names the text
        if not math.isfinite(number) or number < low or number > high or (low_open and number == low):
            bound = '(' if low_open else '['
            raise ValueError(f'{value} is outside {bound}{low:g}, {high:g}]')
        return number

    return parse


def _smiles(value: str) -> str:
    from rdkit import Chem
    from rdkit.rdBase import BlockLogs

    if any(character.isspace() for character in value):
        raise ValueError('a SMILES has no whitespace')
    with BlockLogs():
        mol = Chem.MolFromSmiles(value)
    if mol is None or mol.GetNumAtoms() == 0:
        raise ValueError(f'RDKit cannot read {value!r}')
    return Chem.MolToSmiles(mol)


def _reference(value: str) -> str:
    value = _text(value)
    if value.lower().startswith(('doi:', 'https://doi.org/')):
        value = value.split(':', 1)[1].removeprefix('//doi.org/')
    if value.startswith('10.') and not DOI.fullmatch(value):
        raise ValueError(f'{value!r} is not a DOI (10.NNNN/suffix)')
    return value


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    required: bool
    parse: Callable[[str], object]
    description: str


#: The columns of an experiments CSV, in the documented order (docs/source/campaign.md). Units are in the names.
COLUMNS = (
    Column('smiles', True, _smiles, 'the additive as added (a salt with its counter-ions), SMILES'),
    Column('name', False, _text, 'the additive by name, as the paper gives it'),
    Column('concentration_M', True, _number(0.0, 20.0, low_open=True), 'additive concentration, mol/L'),
    Column('electrolyte', True, _text, 'the base electrolyte, e.g. 2 M ZnSO4'),
    Column('cell_type', True, _text, 'e.g. Zn||Zn symmetric, Zn||Cu, Zn||MnO2 full cell'),
    Column('current_density_mA_cm2', True, _number(0.0, 1000.0, low_open=True), 'current density, mA/cm²'),
    Column('capacity_mAh_cm2', False, _number(0.0, 1000.0, low_open=True), 'areal capacity per cycle, mAh/cm²'),
    Column('cycle_life_h', False, _number(0.0, 1e6), 'hours of stable cycling'),
    Column('coulombic_efficiency_percent', False, _number(0.0, 100.0), 'average Coulombic efficiency, %'),
    Column('overpotential_mV', False, _number(0.0, 1e4), 'plating/stripping overpotential, mV'),
    Column('reference', True, _reference, 'the DOI of the paper, or a lab notebook id'),
)
MEASURES = ('cycle_life_h', 'coulombic_efficiency_percent', 'overpotential_mV')


def read_experiments(path: str | Path) -> list[dict]:
    """The checked rows of the CSV ``path`` (each with ``line`` and ``inchikey``); :class:`ExperimentFileError`
    naming every bad line when any is bad."""
    from rdkit import Chem
    from rdkit.rdBase import BlockLogs

    raw = Path(path).read_bytes()
    try:
        text = raw.decode('utf-8-sig')
    except UnicodeDecodeError as error:
        raise ExperimentFileError([f'{path}: not UTF-8 (byte {error.start})']) from None
    reader = csv.DictReader(io.StringIO(text, newline=''))
    header = reader.fieldnames or []
    known = {column.name for column in COLUMNS}
    problems = [f'line 1: unknown column `{name}`' for name in header if name not in known]
    problems += [f'line 1: missing column `{c.name}`' for c in COLUMNS if c.required and c.name not in header]
    if problems:
        raise ExperimentFileError(problems)
    rows = []
    for row in reader:
        line = reader.line_num
        if None in row:
            problems.append(f'line {line}: more fields than the header has')
            continue
        parsed, bad = {'line': line}, False
        for column in COLUMNS:
            value = (row.get(column.name) or '').strip()
            if not value:
                if column.required:
                    problems.append(f'line {line}, {column.name}: empty')
                    bad = True
                continue
            try:
                parsed[column.name] = column.parse(value)
            except ValueError as error:
                problems.append(f'line {line}, {column.name}: {error}')
                bad = True
        if not bad and not any(measure in parsed for measure in MEASURES):
            problems.append(f'line {line}: no measured value (one of {", ".join(MEASURES)})')
            bad = True
        if not bad:
            with BlockLogs():
                parsed['inchikey'] = Chem.MolToInchiKey(Chem.MolFromSmiles(parsed['smiles']))
            rows.append(parsed)
    if problems:
        raise ExperimentFileError(problems)
    if not rows:
        raise ExperimentFileError([f'{path}: no experiments (only a header)'])
    return rows


def experiment_key(row: dict) -> str:
    """A hash of the row's values (not its line number): the same experiment imported twice is one node."""
    content = {key: value for key, value in row.items() if key != 'line'}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:24]


def import_experiments(path: str | Path) -> tuple[list, int]:
    """Store the experiments of ``path`` (all or none, :func:`read_experiments`); (new nodes, rows already there)."""
    from aiida import orm

    rows = read_experiments(path)
    group, _ = orm.Group.collection.get_or_create(label=GROUP)
    keys = {
        row[0]
        for row in orm.QueryBuilder().append(orm.Dict, filters={'label': LABEL}, project=[f'extras.{EXTRA_KEY}']).all()
    }
    stored, present = [], 0
    for row in rows:
        key = experiment_key(row)
        if key in keys:
            present += 1
            continue
        content = {k: v for k, v in row.items() if k not in ('line', 'inchikey')}
        node = orm.Dict(content)
        node.label = LABEL
        node.description = f'{row.get("name") or row["smiles"]}: {row["cell_type"]}, {row["reference"]}'
        node.store()
        node.base.extras.set_many({EXTRA_INCHIKEY: row['inchikey'], EXTRA_KEY: key})
        stored.append(node)
        keys.add(key)
    if stored:
        group.add_nodes(stored)
    return stored, present


def experiments_for(inchikey: str) -> list:
    """The experiment nodes of the additive with this InChIKey, oldest first."""
    from aiida import orm

    query = orm.QueryBuilder().append(
        orm.Dict, filters={'label': LABEL, f'extras.{EXTRA_INCHIKEY}': inchikey}, tag='node'
    )
    return [row[0] for row in query.order_by({'node': {'ctime': 'asc'}}).all()]
