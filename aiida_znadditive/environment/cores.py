"""How many cores this process may use: the smallest of what the CPU affinity, the cgroup and SLURM allow.

``os.cpu_count()`` is the machine's count. A container limited by a cgroup CPU quota, a process pinned by
``taskset`` or ``numactl``, or a SLURM step allocated 4 of a node's 128 cores can use fewer. A thread pool sized by
the machine then oversubscribes the cores it has, and torch's spinning intra-op threads slow down several-fold. Every
torch user of the package sizes its pool with :func:`usable_cores` unless the user gives ``--threads``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP = Path('/sys/fs/cgroup')


def _cgroup_quota(root: Path = CGROUP) -> float | None:
    """CPUs the cgroup's quota allows (v2 ``cpu.max``, else v1 ``cpu.cfs_quota_us``/``cpu.cfs_period_us``)."""
    v2 = root / 'cpu.max'
    if v2.is_file():
        quota, _, period = v2.read_text().strip().partition(' ')
        return None if quota == 'max' else int(quota) / int(period or 100000)
    quota_file, period_file = root / 'cpu' / 'cpu.cfs_quota_us', root / 'cpu' / 'cpu.cfs_period_us'
    if quota_file.is_file() and period_file.is_file():
        quota = int(quota_file.read_text())
        return None if quota <= 0 else quota / int(period_file.read_text())
    return None


def _slurm(environ: os._Environ | dict) -> int | None:
    for name in ('SLURM_CPUS_PER_TASK', 'SLURM_CPUS_ON_NODE'):
        value = environ.get(name, '').split('(')[0]
        if value.isdigit() and int(value) > 0:
            return int(value)
    return None


def usable_cores(environ: os._Environ | dict | None = None, cgroup: Path = CGROUP) -> tuple[int, str]:
    """The cores this process may use (at least 1) and what limited them (``affinity``, ``cgroup quota``, ``SLURM``
    or ``machine``)."""
    environ = os.environ if environ is None else environ
    limits = {'machine': os.cpu_count() or 1}
    if hasattr(os, 'sched_getaffinity'):
        limits['affinity'] = len(os.sched_getaffinity(0))
    quota = _cgroup_quota(cgroup)
    if quota is not None:
        limits['cgroup quota'] = max(1, math.floor(quota))  # 1.5 CPUs of quota: one full core, not two busy threads
    slurm = _slurm(environ)
    if slurm is not None:
        limits['SLURM'] = slurm
    # the smallest limit decides; on a tie the most specific source is named (SLURM, cgroup, affinity, machine)
    order = ('SLURM', 'cgroup quota', 'affinity', 'machine')
    source = min((name for name in order if name in limits), key=lambda name: (limits[name], order.index(name)))
    return max(1, limits[source]), source


def passive_openmp() -> str:
    """Let OpenMP threads sleep, not spin, while they wait (``OMP_WAIT_POLICY=PASSIVE``) unless the user chose a
    policy; it must be set before torch (and its OpenMP runtime) is loaded, so it says whether that was still
    possible. Spinning threads beside another job's threads on the same cores slow torch down several-fold
    (benchmarks/gnn_beside_load.py; figures in docs/source/models.md)."""
    import sys

    policy = os.environ.get('OMP_WAIT_POLICY')
    if policy is None:
        if 'torch' in sys.modules:
            return 'OpenMP wait policy: the runtime was loaded already'
        policy = os.environ['OMP_WAIT_POLICY'] = 'PASSIVE'
    return 'OpenMP threads wait passively' if policy.upper() == 'PASSIVE' else f'OpenMP wait policy {policy} (yours)'


def set_torch_threads(threads: int | None = None) -> str:
    """Size torch's intra-op pool: ``threads`` if given, else :func:`usable_cores`; returns what was set and why,
    for the caller's progress line. Waiting OpenMP threads sleep (:func:`passive_openmp`)."""
    policy = passive_openmp()
    import torch

    if threads:
        torch.set_num_threads(threads)
        return f'torch threads: {threads} (--threads); {policy}'
    cores, source = usable_cores()
    torch.set_num_threads(cores)
    return f'torch threads: {cores} ({source}); {policy}'
