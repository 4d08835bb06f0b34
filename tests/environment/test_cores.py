"""The cores a process may use: affinity, cgroup quota and SLURM each limit them, the smallest decides."""

from __future__ import annotations

import os

import pytest

from aiida_znadditive.environment.cores import usable_cores

AFFINITY = len(os.sched_getaffinity(0))


def cgroup_v2(tmp_path, content: str):
    (tmp_path / 'cpu.max').write_text(content)
    return tmp_path


def test_without_limits_the_affinity_mask_decides(tmp_path):
    cores, source = usable_cores({}, cgroup=tmp_path)
    assert cores == AFFINITY and source in ('affinity', 'machine')


def test_an_unlimited_cgroup_changes_nothing(tmp_path):
    assert usable_cores({}, cgroup=cgroup_v2(tmp_path, 'max 100000'))[0] == AFFINITY


@pytest.mark.parametrize(('quota', 'expected'), [('50000 100000', 1), ('150000 100000', 1), ('100000 100000', 1)])
def test_a_cgroup_quota_below_the_cores_limits_them(tmp_path, quota, expected):
    """Half a CPU and one and a half CPUs of quota both give one thread: two threads would share 1.5 CPUs."""
    assert usable_cores({}, cgroup=cgroup_v2(tmp_path, quota)) == (expected, 'cgroup quota')


def test_cgroup_v1_quota(tmp_path):
    (tmp_path / 'cpu').mkdir()
    (tmp_path / 'cpu' / 'cpu.cfs_quota_us').write_text('100000\n')
    (tmp_path / 'cpu' / 'cpu.cfs_period_us').write_text('100000\n')
    assert usable_cores({}, cgroup=tmp_path) == (1, 'cgroup quota')


def test_slurm_allocation_limits_and_is_named(tmp_path):
    assert usable_cores({'SLURM_CPUS_PER_TASK': '1'}, cgroup=tmp_path) == (1, 'SLURM')
    # SLURM_CPUS_ON_NODE when no per-task count is set; a count above the affinity does not raise the limit
    assert usable_cores({'SLURM_CPUS_ON_NODE': '1'}, cgroup=tmp_path) == (1, 'SLURM')
    assert usable_cores({'SLURM_CPUS_PER_TASK': '512'}, cgroup=tmp_path)[0] == AFFINITY


def test_garbage_in_slurm_variables_is_ignored(tmp_path):
    assert usable_cores({'SLURM_CPUS_PER_TASK': 'lots'}, cgroup=tmp_path)[0] == AFFINITY


def test_openmp_threads_wait_passively_unless_the_user_chose(monkeypatch):
    """Spinning OpenMP threads beside another job's slow torch down several-fold (benchmarks/gnn_beside_load.py)."""
    import sys

    from aiida_znadditive.environment.cores import passive_openmp

    monkeypatch.delenv('OMP_WAIT_POLICY', raising=False)
    monkeypatch.delitem(sys.modules, 'torch', raising=False)
    assert passive_openmp() == 'OpenMP threads wait passively'
    assert os.environ['OMP_WAIT_POLICY'] == 'PASSIVE'
    monkeypatch.setenv('OMP_WAIT_POLICY', 'active')
    assert passive_openmp() == 'OpenMP wait policy active (yours)'
    monkeypatch.delenv('OMP_WAIT_POLICY')
    monkeypatch.setitem(sys.modules, 'torch', object())
    assert 'loaded already' in passive_openmp() and 'OMP_WAIT_POLICY' not in os.environ
