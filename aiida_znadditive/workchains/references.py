"""Reference species ([Zn(H2O)6]2+, H2O) are computed once per level of theory and found again by a key.

The key names the species, the calculator, its code, protocol, task and solvent, a hash of the protocol's resolved
settings with any overrides (so an edited protocol file or a looser threshold never reuses references computed
otherwise) and the hash of the starting structure; a finished :class:`CalculatorWorkChain` carries it as the extra
``znadditive_reference``. A later WorkChain that needs the same reference reuses that node's outputs, so the
provenance graph links every exchange energy to the one calculation of each reference.
"""

from __future__ import annotations

import hashlib
import json

from aiida import orm

from ..calculators.base import load_calculator
from ..protocols import recursive_merge

EXTRA = 'znadditive_reference'
#: every reference calculation is also in this group: an export stops at them (provenance/archive.py), and a user
#: can list what the platform reuses (`verdi group show znadditive/references`)
GROUP = 'znadditive/references'


def reference_key(species: str, inputs: dict) -> str:
    """The lookup key of a reference calculation with the given CalculatorWorkChain ``inputs``."""
    parts = [
        species,
        inputs['calculator'].value,
        # an engine without a code (an ASE calculator in a calcfunction) is named by its calculator alone
        inputs['code'].uuid if 'code' in inputs else 'no-code',
        inputs['protocol'].value,
        inputs['task'].value,
        inputs['solvent'].value if 'solvent' in inputs else 'gas',
        'forces' if inputs.get('forces', orm.Bool(True)).value else 'energy',
        settings_hash(
            inputs['calculator'].value,
            inputs['protocol'].value,
            inputs['settings'].get_dict() if 'settings' in inputs else None,
        ),
        inputs['structure'].base.caching.compute_hash(),
    ]
    return '|'.join(parts)


def settings_hash(calculator: str, protocol: str, overrides: dict | None = None) -> str:
    """A short hash of the calculator's protocol settings with ``overrides`` merged in (without: as before)."""
    resolved = recursive_merge(load_calculator(calculator).protocol(protocol), overrides or {})
    settings = json.dumps(resolved, sort_keys=True)
    return hashlib.sha256(settings.encode()).hexdigest()[:16]


def find_reference(key: str, extra: str = EXTRA) -> orm.WorkflowNode | None:
    """The most recent successful workflow whose extra ``extra`` is ``key`` (by default: a reference calculation)."""
    query = orm.QueryBuilder().append(
        orm.WorkflowNode,
        filters={f'extras.{extra}': key, 'attributes.exit_status': 0},
        tag='node',
    )
    query.order_by({'node': {'ctime': 'desc'}}).limit(1)
    found = query.first()
    return found[0] if found else None


def tag_reference(node: orm.WorkflowNode, key: str) -> None:
    """Mark a finished reference calculation for reuse (its key as extra) and file it in :data:`GROUP`."""
    node.base.extras.set(EXTRA, key)
    group, _ = orm.Group.collection.get_or_create(label=GROUP)
    group.add_nodes(node)
