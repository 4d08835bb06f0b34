"""Computed results back into the meta-database: each finished complexation WorkChain as one row of its species.

A query of the meta-database then sees, for one InChIKey, what the sources and the surrogate predicted next to what
the platform computed, and every computed row names the WorkChain it came from:

- ``source`` ``znadditive-aiida``; ``source_version`` the level of theory (``<protocol>:<prerank>/<dft>``, e.g.
  ``fast:xtb/pyscf``); ``source_id`` the WorkChain's UUID. Imports are keyed by these three, so importing the same
  WorkChains again adds nothing, and a molecule computed at two levels has one row per level.
- the identity of the **species** the WorkChain computed (its ``species`` output: acetate for acetic acid at pH 7),
  which is the molecule its numbers describe;
- ``zn_exchange_energy_ev``: ΔE in implicit water where computed, else gas phase; ``zn_exchange_free_energy_ev`` and
  ``zn_exchange_free_energy_calibrated_ev`` where the WorkChain has them; the free ligand's ``homo_ev``, ``lumo_ev``,
  ``gap_ev`` (DFT, gas) and its relaxed geometry.

Only WorkChains that finished with exit status 0 are written; the others have no numbers to give.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from aiida import orm

SOURCE = 'znadditive-aiida'
#: WorkChain output -> meta-database column
OUTPUT_COLUMNS = {
    'exchange_free_energy': 'zn_exchange_free_energy_ev',
    'exchange_free_energy_calibrated': 'zn_exchange_free_energy_calibrated_ev',
    'ligand_homo': 'homo_ev',
    'ligand_lumo': 'lumo_ev',
    'ligand_gap': 'gap_ev',
}


def finished_complexations(group: str | None = None) -> list[orm.WorkflowNode]:
    """The complexation WorkChains that finished with exit status 0, of ``group`` or of the whole profile, oldest
    first."""
    from ..workchains.complexation import ZnComplexationWorkChain

    query = orm.QueryBuilder()
    if group is not None:
        query.append(orm.Group, filters={'label': group}, tag='group')
        query.append(ZnComplexationWorkChain, with_group='group', filters={'attributes.exit_status': 0}, tag='node')
    else:
        query.append(ZnComplexationWorkChain, filters={'attributes.exit_status': 0}, tag='node')
    query.order_by({'node': {'ctime': 'asc'}})
    return [row[0] for row in query.all()]


def level_of_theory(node: orm.WorkflowNode) -> str:
    """``<protocol>:<prerank calculator>/<dft calculator>`` of a complexation WorkChain, from its own inputs."""
    settings = node.inputs.settings.get_dict()
    protocol = settings.get('dft', {}).get('protocol', 'custom')
    return f'{protocol}:{node.inputs.prerank.calculator.value}/{node.inputs.dft.calculator.value}'


def complexation_record(node: orm.WorkflowNode) -> dict:
    """The meta-database row of one finished complexation WorkChain (module docstring)."""
    from rdkit import Chem

    from ..ml.database.schema import empty_record
    from ..ml.database.standardise import identity

    outputs = node.outputs
    record = empty_record()
    mol = Chem.MolFromSmiles(outputs.species['smiles'])
    record.update(identity(mol))
    record.update(source=SOURCE, source_version=level_of_theory(node), source_id=node.uuid)
    exchange = outputs.exchange_energy_solvated if 'exchange_energy_solvated' in outputs else outputs.exchange_energy
    record['zn_exchange_energy_ev'] = exchange.value
    for output, column in OUTPUT_COLUMNS.items():
        if output in outputs:
            record[column] = outputs[output].value
    ligand = outputs.ligand_structure.get_ase()
    record['atomic_numbers'] = ligand.get_atomic_numbers().tolist()
    record['positions'] = ligand.get_positions().ravel().tolist()
    return record


def complexation_records(nodes: Iterable[orm.WorkflowNode]) -> Iterator[dict]:
    for node in nodes:
        yield complexation_record(node)


def import_results(directory: str | Path, nodes: Iterable[orm.WorkflowNode], progress: bool | None = None) -> int:
    """Write the rows of ``nodes`` into the meta-database ``directory``; the rows written now (0 on a rerun)."""
    from ..ml.database.store import MetaDatabase

    return MetaDatabase(directory).import_records(complexation_records(nodes), progress=progress, label=SOURCE)
