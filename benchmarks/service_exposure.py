"""Benchmark: what a careless or hostile user can reach after ``setup --production``, and what bad codes files do.

Usage (from the repository root, as root, after ``bash scripts/install.sh``)::

    .venv/bin/python benchmarks/service_exposure.py [--mutations 300]

It makes a production profile in a temporary AIIDA_PATH with ``aiida-znadditive setup --production`` (which starts
PostgreSQL and RabbitMQ when they are down) and prints:

- the TCP sockets of PostgreSQL, RabbitMQ (AMQP, inter-node) and epmd listening beyond the loopback (must be 0),
  read from the kernel's socket tables, and the ones on the loopback;
- bad codes files tried / tracebacks (must be 0): every kind of bad field, each through ``setup --codes`` and
  ``doctor --codes`` as separate processes (a traceback is ``Traceback`` on stderr or an exit status other than
  0, 1 or 2), then ``--mutations`` random mutations of the packaged codes.yaml through the loader in-process
  (a traceback is any exception other than the loader's CodeSetupError);
- injected SQL statements that ran (must be 0).

Afterwards it stops the profile's daemon and removes the profile, its database and its role; the services stay up.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import random
import secrets
import shutil
import subprocess
import sys
import tempfile

BIN = pathlib.Path(sys.executable).parent

#: Replacements of lines of a valid codes file, one per kind of bad field (see tests/environment/test_codes_file.py).
BAD_FIELDS = {
    'wrong type': ('with_mpi: false', "with_mpi: 'yes'"),
    'unknown key': ('with_mpi: false', 'with_mpl: false'),
    'missing key': ('plugin: znadditive.xtb', 'description: no plugin'),
    'relative work_dir': ('work_dir: WORK_DIR', 'work_dir: relative/work'),
    'label with @': ('label: xtb', 'label: xtb@gpu'),
    'unknown plugin': ('plugin: znadditive.xtb', 'plugin: znadditive.xtbb'),
    'unknown transport': ('transport: core.local', 'transport: core.lokal'),
    'unknown scheduler': ('scheduler: core.direct', 'scheduler: core.slurmm'),
    'unknown transport setting': ('safe_interval: 0', 'safe_intervall: 0'),
    'codes a list': ('codes:\n  xtb:', 'codes:\n- xtb:'),
    'computer a string': ('computer:\n  label: localhost', 'computer: localhost\nx:\n  label: localhost'),
    'relative executable': ('executable: xtb', 'executable: bin/xtb'),
    'newline in a label': ('label: localhost', 'label: "local\\nhost"'),
    'quote in a label': ('label: localhost', 'label: "local\'; DROP TABLE db_dbnode; --"'),
    'zero processes': ('core.direct', 'core.direct\n  default_mpiprocs_per_machine: 0'),
    'missing python environment': ('with_mpi: false', 'with_mpi: false\n    python_environment: nope.txt'),
    'relative data file': ('with_mpi: false', 'with_mpi: false\n    data_files: [BASIS]'),
    'work_dir not writable': ('work_dir: WORK_DIR', 'work_dir: /proc/znadditive/work'),
    'not YAML': ('codes:', 'codes: [unclosed'),
    'empty file': (None, ''),
    'a list at the top': (None, '- computer\n- codes\n'),
}
GOOD = """\
computer:
  label: localhost
  hostname: localhost
  transport: core.local
  scheduler: core.direct
  work_dir: WORK_DIR
  configure:
    safe_interval: 0
codes:
  xtb:
    label: xtb
    plugin: znadditive.xtb
    filepath_executable: xtb
    with_mpi: false
"""
#: Values a mutation puts in place of a scalar: each of a wrong type, or text that means something to SQL or a shell.
ODD_VALUES = [None, 0, -1, 2.5, True, [], {}, ['a'], {'a': 1}, '', 'x@y', "'; DROP TABLE db_dbnode; --", 'a\nb',
              '../../etc', '/proc/x', '{venv}', '{unknown}', 'core.nope', '\x00']  # fmt: skip


def run(args: list[str], home: pathlib.Path, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, 'AIIDA_PATH': str(home), 'PATH': f'{BIN}{os.pathsep}{os.environ["PATH"]}'}
    return subprocess.run(args, capture_output=True, text=True, env=env, check=False, timeout=timeout)


def sockets() -> tuple[list[str], list[str]]:
    from aiida_znadditive.environment.exposure import SERVICE_PORTS, listeners

    ours = [item for item in listeners() if item.port in SERVICE_PORTS]
    exposed = sorted(f'{SERVICE_PORTS[item.port]} {item}' for item in ours if not item.is_loopback)
    loopback = sorted(f'{SERVICE_PORTS[item.port]} {item}' for item in ours if item.is_loopback)
    return exposed, loopback


def bad_files(directory: pathlib.Path) -> dict[str, pathlib.Path]:
    files = {}
    for index, (kind, (old, new)) in enumerate(BAD_FIELDS.items()):
        text = new if old is None else GOOD.replace(old, new, 1)
        assert old is None or old in GOOD, kind
        path = directory / f'bad-{index:02d}.yaml'
        path.write_text(text.replace('WORK_DIR', str(directory / 'work')))
        files[kind] = path
    return files


def cli_tracebacks(home: pathlib.Path, profile: str, files: dict[str, pathlib.Path]) -> tuple[int, list[str]]:
    tried, crashed = 0, []
    cli = str(BIN / 'aiida-znadditive')
    for kind, path in files.items():
        for command in (['setup', '--production', '--profile-name', profile], ['doctor', '-p', profile]):
            result = run([cli, *command, '--codes', str(path)], home)
            tried += 1
            if 'Traceback' in result.stderr or result.returncode not in (0, 1, 2):
                crashed.append(f'{command[0]} / {kind}: {result.stderr.strip().splitlines()[-1:]}')
    return tried, crashed


def mutations(count: int, directory: pathlib.Path, seed: int = 21) -> tuple[int, list[str]]:
    """Random single changes of a valid codes file through the loader: a scalar replaced by an odd value, a key
    removed, or a key added."""
    import yaml

    from aiida_znadditive.environment.codes import CodeSetupError, code_specs, load_codes_file

    rng = random.Random(seed)
    base = yaml.safe_load(GOOD.replace('WORK_DIR', str(directory / 'work')))
    crashed = []
    for number in range(count):
        content = json.loads(json.dumps(base))
        section = rng.choice([content, content['computer'], content['codes'], content['codes']['xtb'],
                              content['computer']['configure']])  # fmt: skip
        key = rng.choice(list(section))
        action = rng.random()
        if action < 0.6:
            section[key] = rng.choice(ODD_VALUES)
        elif action < 0.8:
            del section[key]
        else:
            section[rng.choice(['colour', 'label2', '', '1', 'append_text'])] = rng.choice(ODD_VALUES)
        path = directory / 'mutated.yaml'
        path.write_text(yaml.safe_dump(content))
        try:
            code_specs(load_codes_file(path))
        except CodeSetupError:
            pass
        except Exception as exception:  # what we count: anything but the loader's own error
            crashed.append(f'mutation {number}: {type(exception).__name__}: {exception}')
    return count, crashed


def main(count: int) -> int:
    if os.geteuid() != 0:
        print('run as root: setup --production starts PostgreSQL and RabbitMQ')
        return 2
    home = pathlib.Path(tempfile.mkdtemp(prefix='znadditive-exposure-'))
    os.environ['AIIDA_PATH'] = str(home)  # the in-process loader fills {aiida_dir} from this folder
    profile = f'exposure-{secrets.token_hex(3)}'
    database = f'znadditive_{profile}'.replace('-', '_')
    from aiida_znadditive.environment import services

    try:
        setup = run([str(BIN / 'aiida-znadditive'), 'setup', '--production', '--profile-name', profile,
                     '--daemon-workers', '1'], home)  # fmt: skip
        print(setup.stdout.strip())
        if setup.returncode != 0:
            print(setup.stderr)
            return 1
        exposed, loopback = sockets()
        print(f'\nservice sockets on the loopback: {len(loopback)} ({", ".join(loopback)})')
        print(f'service sockets listening beyond the loopback: {len(exposed)} (must be 0) {", ".join(exposed)}')

        files = bad_files(home)
        tried, crashed = cli_tracebacks(home, profile, files)
        print(
            f'bad codes files through setup and doctor ({len(files)} kinds): tried {tried}, tracebacks {len(crashed)}'
        )
        mutated, crashed_mutations = mutations(count, home)
        print(
            f'random mutations of a codes file through the loader: tried {mutated}, tracebacks {len(crashed_mutations)}'
        )
        for line in crashed + crashed_mutations:
            print('  ', line)
        ran = services._psql("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'znadditive_injected%'", 5432)
        tables = services._psql(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'db_dbnode'", 5432, connect_to=database
        )
        print(f'injected SQL statements that ran: {int(ran) + (1 - int(tables))} (must be 0)')
        return int(bool(exposed or crashed or crashed_mutations))
    finally:
        run([str(BIN / 'verdi'), '-p', profile, 'daemon', 'stop'], home, timeout=120)
        run([str(BIN / 'verdi'), 'profile', 'delete', '--force', '--keep-data', profile], home, timeout=120)
        services._psql('DROP DATABASE IF EXISTS :"d" WITH (FORCE)', 5432, d=database)
        services._psql('DROP ROLE IF EXISTS :"d"', 5432, d=database)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--mutations', type=int, default=300, help='random mutations of a codes file to try')
    sys.exit(main(parser.parse_args().mutations))
