"""Partition limits of a SLURM computer (environment/partitions.py) and the scheduler's interruption banners
(calculators/interruptions.py): what sinfo and slurmstepd print, parsed; a walltime beyond a limit refused by name."""

from __future__ import annotations

import pytest
from aiida import orm

from aiida_znadditive.calculators.interruptions import _BANNER, _CAUSES
from aiida_znadditive.environment.codes_file import CodeSetupError, load_codes_file
from aiida_znadditive.environment.partitions import (
    PartitionError,
    check_options,
    from_codes_file,
    parse_sinfo,
    parse_slurm_time,
    record_partitions,
)


@pytest.mark.parametrize(
    ('text', 'seconds'),
    [
        ('30', 1800),  # minutes
        ('5:30', 330),  # minutes:seconds
        ('1:00:00', 3600),
        ('2-00:00:00', 172800),
        ('1-12', 129600),  # days-hours
        ('1-00:30', 88200),  # days-hours:minutes
        ('infinite', None),
        ('UNLIMITED', None),
    ],
)
def test_slurm_time_formats(text, seconds):
    assert parse_slurm_time(text) == seconds


def test_a_time_that_is_not_slurms_is_named():
    with pytest.raises(PartitionError, match='`1h` is not a SLURM time limit'):
        parse_slurm_time('1h')


def test_sinfo_lines_per_node_state_are_one_partition():
    """sinfo prints a line per partition and node state; the default partition carries a `*`."""
    stdout = 'debug*|1:00:00|2|64\nlong|7-00:00:00|10|128\nlong|7-00:00:00|3|128\ngpu|infinite|1|32+\n'
    partitions = parse_sinfo(stdout)
    assert partitions['debug'] == {'max_wallclock_seconds': 3600, 'default': True, 'nodes': 2, 'cpus_per_node': 64}
    assert partitions['long']['nodes'] == 13 and partitions['long']['max_wallclock_seconds'] == 7 * 86400
    assert partitions['gpu']['max_wallclock_seconds'] is None and partitions['gpu']['cpus_per_node'] == 32


def test_codes_file_partitions_are_checked_by_name(tmp_path):
    assert from_codes_file({'normal': {'max_walltime': '1-00:00:00', 'default': True}})['normal'] == {
        'max_wallclock_seconds': 86400,
        'default': True,
    }
    path = tmp_path / 'cluster.yaml'
    path.write_text(
        'computer:\n  label: c\n  hostname: h\n  transport: core.ssh_async\n  scheduler: core.slurm\n'
        '  work_dir: /scratch/w\n  partitions:\n    normal: {maxtime: 10}\n'
        'codes:\n  xtb: {label: xtb, plugin: znadditive.xtb, filepath_executable: /opt/xtb/bin/xtb}\n'
    )
    with pytest.raises(
        CodeSetupError, match=r"`computer.partitions`: partition `normal` has unknown keys \['maxtime'\]"
    ):
        load_codes_file(path)


@pytest.fixture
def cluster_computer(aiida_profile):
    computer = orm.Computer(
        label='partitions-test', hostname='login.example.org', transport_type='core.ssh_async',
        scheduler_type='core.slurm', workdir='/scratch/{username}',
    ).store()  # fmt: skip
    record_partitions(computer, parse_sinfo('debug*|30:00|1|64\nlong|2-00:00:00|4|64\n'), 'sinfo')
    yield computer
    orm.Computer.collection.delete(computer.pk)


def test_walltime_and_queue_checked_against_the_recorded_partitions(cluster_computer):
    assert check_options(cluster_computer, {'max_wallclock_seconds': 1800}) is None  # the default partition's limit
    label, message = check_options(cluster_computer, {'max_wallclock_seconds': 1801})
    assert label == 'ERROR_WALLTIME_EXCEEDS_PARTITION'
    assert 'exceeds the MaxTime 00:30:00 of partition `debug`' in message and 'read from sinfo' in message
    assert check_options(cluster_computer, {'max_wallclock_seconds': 86400, 'queue_name': 'long'}) is None
    label, message = check_options(cluster_computer, {'queue_name': 'gpu'})
    assert label == 'ERROR_UNKNOWN_QUEUE' and "not one of ['debug', 'long']" in message
    assert check_options(None, {'max_wallclock_seconds': 10**7}) is None  # a calculator without a code


@pytest.mark.parametrize(
    ('stderr', 'interruption'),
    [
        ('slurmstepd-vm: error: *** JOB 1 ON vm CANCELLED AT 2026-12-04T22:48:43 ***', 'cancelled'),
        ('slurmstepd: error: *** JOB 7 ON n12 CANCELLED AT 2026-12-04T22:48:43 DUE TO PREEMPTION ***', 'preempted'),
        (
            '*** JOB 7 ON n12 CANCELLED AT 2026-12-04T22:48:43 DUE TO NODE FAILURE, SEE SLURMCTLD LOG FOR DETAILS ***',
            'lost with its node',
        ),
        # submitted again, the same walltime would stop it again: the engine's restart from a checkpoint answers it
        ('slurmstepd: error: *** JOB 7 ON n12 CANCELLED AT 2026-12-04T22:48:43 DUE TO TIME LIMIT ***', None),
        ('forrtl: severe (174): SIGSEGV, segmentation fault occurred', None),
    ],
)
def test_slurmstepd_banners(stderr, interruption):
    match = _BANNER.search(stderr)
    found = _CAUSES.get(match['cause'].strip() if match['cause'] else None) if match else None
    assert found == interruption
