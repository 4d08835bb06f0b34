"""Resources from the size of the system: a rule per code, written in the codes file, applied per calculation.

A cluster YAML says how a code scales on that cluster (``resources`` under the code), and every calculation gets
MPI ranks, OpenMP threads and memory from the number of atoms it treats, instead of one fixed request for a water
molecule and a 200-atom slab alike::

    cp2k:
      resources: {atoms_per_rank: 2, min_ranks: 4, max_ranks: 256, threads_per_rank: 1, memory_mb_per_rank: 2000}
    pyscf:
      resources: {atoms_per_thread: 2, max_threads: 32, memory_mb_per_rank: 16000}

``atoms_per_rank`` (MPI codes): ranks = ceil(atoms / atoms_per_rank) within ``min_ranks``..``max_ranks``, spread over
machines of ``ranks_per_machine`` (default: the computer's ``default_mpiprocs_per_machine``). ``atoms_per_thread``
(OpenMP codes): threads per rank = ceil(atoms / atoms_per_thread) within ``min_threads``..``max_threads``;
``threads_per_rank`` fixes it instead. ``memory_mb_per_rank`` asks the scheduler for memory. The threads reach the
engine as ``OMP_NUM_THREADS`` and the scheduler as cores per rank (``--cpus-per-task``). ``setup`` keeps the rule on
the code (an extra: not provenance, the code's hash unchanged); what a calculation was given is in its CalcJob's
options, and resources given explicitly (``--num-mpiprocs-per-machine``, ``options``) win over the rule.
"""

from __future__ import annotations

import math

#: the code's extra the rule is kept under
EXTRA = 'znadditive_resources'
#: rule keys, each a positive whole number
KEYS = (
    'atoms_per_rank', 'min_ranks', 'max_ranks', 'ranks_per_machine',
    'atoms_per_thread', 'min_threads', 'max_threads', 'threads_per_rank',
    'memory_mb_per_rank',
)  # fmt: skip


def check_rule(rule: dict) -> str | None:
    """What is wrong with a rule, named; None when it is usable."""
    if not isinstance(rule, dict):
        return 'must be a mapping of ' + ', '.join(KEYS)
    unknown = sorted(set(rule) - set(KEYS))
    if unknown:
        return f'unknown keys {unknown}; known: {", ".join(KEYS)}'
    for key, value in rule.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return f'`{key}` must be a whole number of at least 1, not {value!r}'
    if 'threads_per_rank' in rule and 'atoms_per_thread' in rule:
        return 'give either `threads_per_rank` or `atoms_per_thread`, not both'
    for low, high in (('min_ranks', 'max_ranks'), ('min_threads', 'max_threads')):
        if rule.get(low, 1) > rule.get(high, math.inf):
            return f'`{low}` {rule[low]} exceeds `{high}` {rule[high]}'
    return None


def _clamp(value: int, low: int, high: float) -> int:
    return int(min(max(value, low), high))


def resources_for(rule: dict, atoms: int, default_ranks_per_machine: int = 1, with_mpi: bool = True) -> dict:
    """CalcJob options (``resources``, ``environment_variables``, ``max_memory_kb``) for ``atoms`` atoms."""
    ranks = 1
    if with_mpi and 'atoms_per_rank' in rule:
        ranks = math.ceil(atoms / rule['atoms_per_rank'])
    if with_mpi:
        ranks = _clamp(ranks, rule.get('min_ranks', 1), rule.get('max_ranks', math.inf))
    per_machine_max = rule.get('ranks_per_machine', default_ranks_per_machine or 1)
    machines = math.ceil(ranks / per_machine_max)
    per_machine = math.ceil(ranks / machines)
    if 'threads_per_rank' in rule:
        threads = rule['threads_per_rank']
    elif 'atoms_per_thread' in rule:
        threads = _clamp(
            math.ceil(atoms / rule['atoms_per_thread']), rule.get('min_threads', 1), rule.get('max_threads', math.inf)
        )
    else:
        threads = 1
    options: dict = {
        'resources': {'num_machines': machines, 'num_mpiprocs_per_machine': per_machine,
                      'num_cores_per_mpiproc': threads},
        'environment_variables': {'OMP_NUM_THREADS': str(threads)},
    }  # fmt: skip
    if 'memory_mb_per_rank' in rule:
        options['max_memory_kb'] = rule['memory_mb_per_rank'] * per_machine * 1024
    return options
