"""Resources from the system size (environment/resources.py): the rule a cluster YAML gives a code, applied."""

from __future__ import annotations

import pytest

from aiida_znadditive.environment.codes_file import CodeSetupError, load_codes_file
from aiida_znadditive.environment.resources import check_rule, resources_for

CP2K_RULE = {'atoms_per_rank': 2, 'min_ranks': 4, 'max_ranks': 256, 'memory_mb_per_rank': 2000}


@pytest.mark.parametrize(
    ('atoms', 'machines', 'per_machine'),
    [
        (3, 1, 4),  # a water: min_ranks
        (19, 1, 10),  # [Zn(H2O)6]2+
        (250, 1, 125),  # a slab: one 128-core machine
        (300, 2, 75),  # two machines, the ranks spread evenly
        (10_000, 2, 128),  # max_ranks
    ],
)
def test_mpi_ranks_scale_with_atoms_and_spread_over_machines(atoms, machines, per_machine):
    options = resources_for(CP2K_RULE, atoms, default_ranks_per_machine=128)
    assert options['resources'] == {'num_machines': machines, 'num_mpiprocs_per_machine': per_machine,
                                    'num_cores_per_mpiproc': 1}  # fmt: skip
    assert options['max_memory_kb'] == 2000 * per_machine * 1024
    assert options['environment_variables'] == {'OMP_NUM_THREADS': '1'}


def test_openmp_threads_scale_for_a_code_without_mpi():
    rule = {'atoms_per_thread': 2, 'max_threads': 32}
    assert resources_for(rule, 19, 128, with_mpi=False)['resources'] == {
        'num_machines': 1, 'num_mpiprocs_per_machine': 1, 'num_cores_per_mpiproc': 10,
    }  # fmt: skip
    assert resources_for(rule, 500, 128, with_mpi=False)['environment_variables'] == {'OMP_NUM_THREADS': '32'}
    # a code without MPI gets one rank whatever atoms_per_rank says
    assert resources_for(CP2K_RULE, 300, 128, with_mpi=False)['resources']['num_mpiprocs_per_machine'] == 1


@pytest.mark.parametrize(
    ('rule', 'problem'),
    [
        ({'atoms_per_core': 2}, "unknown keys ['atoms_per_core']"),
        ({'atoms_per_rank': 0}, '`atoms_per_rank` must be a whole number of at least 1, not 0'),
        ({'atoms_per_rank': 2.5}, 'not 2.5'),
        ({'atoms_per_rank': True}, 'not True'),
        ({'min_ranks': 8, 'max_ranks': 4}, '`min_ranks` 8 exceeds `max_ranks` 4'),
        ({'threads_per_rank': 2, 'atoms_per_thread': 4}, 'not both'),
    ],
)
def test_a_bad_rule_is_named(rule, problem):
    assert problem in check_rule(rule)


def test_codes_file_rule_is_checked_with_its_line(tmp_path):
    path = tmp_path / 'cluster.yaml'
    path.write_text(
        'computer:\n  label: c\n  hostname: h\n  transport: core.ssh_async\n  scheduler: core.slurm\n'
        '  work_dir: /scratch/w\n'
        'codes:\n  cp2k:\n    label: cp2k\n    plugin: cp2k\n    filepath_executable: /opt/cp2k/bin/cp2k.psmp\n'
        '    resources: {atoms_per_rank: 2, max_ranks: 0}\n'
    )
    with pytest.raises(CodeSetupError, match=r'line 12: `codes.cp2k.resources`: `max_ranks` must be a whole number'):
        load_codes_file(path)
