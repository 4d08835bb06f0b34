"""A single-node SLURM cluster and an SSH server on the loopback, to run the production path for real.

:class:`LoopbackCluster` writes its own ``slurm.conf``, MUNGE key and ``sshd_config`` into one state folder and starts
``munged``, ``slurmctld``, ``slurmd`` and ``sshd`` from it, as root, without systemd (Debian's ``slurm-wlm``, ``munge``
and ``openssh-server``; ``scripts/install.sh`` installs them). Nothing of the system's own configuration is read or
changed: the SLURM commands find this cluster through ``SLURM_CONF``, which ``sshd`` sets in every session it opens,
so AiiDA's ``core.slurm`` scheduler reaches it through ``core.ssh_async`` as it would a real cluster's login node.

Everything listens on 127.0.0.1 only (SLURM's ``NoInAddrAny``, sshd's ``ListenAddress``) and SSH takes keys only: a
key pair made for the cluster, in the state folder. :meth:`LoopbackCluster.start` is idempotent (a daemon whose pid
file names a live process is kept) and :meth:`LoopbackCluster.stop` ends only the daemons this object started.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field

from .services import Endpoint, ServiceError

#: Debian packages that provide the programs below (for the error message that names the fix).
APT_PACKAGES = ('slurm-wlm', 'munge', 'openssh-server', 'openssh-client')
PROGRAMS = ('munged', 'mungekey', 'slurmctld', 'slurmd', 'sinfo', 'sbatch', 'sshd', 'ssh-keygen')
#: The partition's time limit in minutes: long enough for any test job, short enough that asking for more is refused
#: at submission (``EnforcePartLimits=ALL``) instead of leaving the job pending forever.
PARTITION_MAX_MINUTES = 60
#: Memory per CPU a job gets unless it asks (MB). Without it a job is given the whole node's memory and every other
#: job waits, whatever cores are free (``CR_Core_Memory`` counts memory as a consumable).
DEF_MEM_PER_CPU = 1000

SLURM_CONF = """\
# Written by aiida_znadditive.environment.slurm: a single-node cluster on the loopback for tests.
ClusterName={cluster}
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
# Daemons bind the node's address (127.0.0.1) instead of every interface.
CommunicationParameters=NoInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={state}/munge/munge.socket
# No systemd, no cgroup hierarchy to delegate: processes are tracked through /proc and tasks are not confined.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU={mem_per_cpu}
# A request beyond a partition's limits is refused by sbatch (the user sees why) rather than left pending.
EnforcePartLimits=ALL
StateSaveLocation={state}/slurmctld
SlurmdSpoolDir={state}/slurmd
SlurmctldPidFile={state}/slurmctld.pid
SlurmdPidFile={state}/slurmd.pid
SlurmctldLogFile={state}/slurmctld.log
SlurmdLogFile={state}/slurmd.log
# Every job that ends is written to a ledger (fault figures: how often each CalcJob reached SLURM).
JobCompType=jobcomp/filetxt
JobCompLoc={state}/jobcomp.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
# Short timers: a test that stops slurmd sees the node down in seconds, and a finished job leaves the queue at once.
SlurmdTimeout=30
MinJobAge=30
KillWait=5
NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName={partition} Nodes={node} Default=YES MaxTime={max_minutes} State=UP
"""

SSHD_CONFIG = """\
# Written by aiida_znadditive.environment.slurm: the cluster's login node, keys only, on the loopback.
ListenAddress 127.0.0.1
Port {port}
HostKey {state}/ssh/ssh_host_ed25519_key
PidFile {state}/sshd.pid
AuthorizedKeysFile {state}/ssh/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
# The state folder may sit under a temporary folder whose owner or mode sshd's strict checks would refuse.
StrictModes no
# Every session finds this cluster's SLURM commands' configuration, as a login node's profile would set it.
SetEnv SLURM_CONF={state}/slurm.conf
Subsystem sftp internal-sftp
"""

SSH_CLIENT_CONFIG = """\
Host {alias}
  HostName 127.0.0.1
  Port {port}
  User {user}
  IdentityFile {state}/ssh/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile {state}/ssh/known_hosts
  PasswordAuthentication no
"""


def _memory_mb() -> int:
    """The node's memory for SLURM (MB): 90 % of the machine's, so slurmd's own check never finds less."""
    for line in pathlib.Path('/proc/meminfo').read_text().splitlines():
        if line.startswith('MemTotal:'):
            return int(line.split()[1]) * 9 // 10 // 1024
    return 1024


def _alive(pid_file: pathlib.Path) -> int | None:
    """The pid in ``pid_file`` when that process is alive, else None."""
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    return pid


@dataclass
class LoopbackCluster:
    """munged + slurmctld + slurmd + sshd, configured in ``state`` and listening on 127.0.0.1 only.

    ``alias`` is the SSH host name AiiDA's computer uses; :meth:`write_ssh_client_config` writes its ``Host`` entry
    and ``known_hosts`` into a home folder (asyncssh reads ``$HOME/.ssh``).
    """

    state: pathlib.Path
    ssh_port: int = 2222
    ctld_port: int = 6817
    slurmd_port: int = 6818
    alias: str = 'znadditive-slurm'
    partition: str = 'debug'
    cluster: str = 'znadditive'
    started: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state = pathlib.Path(self.state).absolute()
        self.node = os.uname().nodename.split('.')[0]

    # -- files -----------------------------------------------------------------------------------------------------

    @property
    def slurm_conf(self) -> pathlib.Path:
        return self.state / 'slurm.conf'

    @property
    def env(self) -> dict[str, str]:
        """This process's environment with ``SLURM_CONF`` pointing at the cluster (for sinfo, scancel, squeue)."""
        return {**os.environ, 'SLURM_CONF': str(self.slurm_conf)}

    def check_programs(self) -> None:
        missing = [p for p in PROGRAMS if shutil.which(p) is None and not pathlib.Path('/usr/sbin', p).exists()]
        if missing:
            raise ServiceError(
                f'Missing programs for the SLURM test cluster: {", ".join(missing)}. '
                f'Fix: sudo bash scripts/install.sh (Debian packages {" ".join(APT_PACKAGES)}).'
            )
        if os.geteuid() != 0:
            raise ServiceError('The SLURM test cluster runs its daemons as root (SlurmUser=root); run as root.')

    def write_configuration(self) -> None:
        """slurm.conf, a MUNGE key, SSH host and user keys and sshd_config (keys are made once and kept)."""
        for folder in ('munge', 'slurmctld', 'slurmd', 'ssh'):
            (self.state / folder).mkdir(parents=True, exist_ok=True, mode=0o700)
        self.state.chmod(0o700)
        values = {'state': self.state, 'node': self.node, 'cluster': self.cluster, 'partition': self.partition}
        self.slurm_conf.write_text(
            SLURM_CONF.format(
                **values,
                ctld_port=self.ctld_port,
                slurmd_port=self.slurmd_port,
                cpus=os.cpu_count() or 1,
                memory=_memory_mb(),
                mem_per_cpu=DEF_MEM_PER_CPU,
                max_minutes=PARTITION_MAX_MINUTES,
            )
        )
        key = self.state / 'munge' / 'munge.key'
        if not key.exists():
            self._check(['mungekey', '--create', f'--keyfile={key}'], 'mungekey')
        ssh = self.state / 'ssh'
        for name in ('ssh_host_ed25519_key', 'id_ed25519'):
            if not (ssh / name).exists():
                self._check(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', self.alias, '-f', str(ssh / name)],
                            'ssh-keygen')  # fmt: skip
        (ssh / 'authorized_keys').write_text((ssh / 'id_ed25519.pub').read_text())
        host_key = (ssh / 'ssh_host_ed25519_key.pub').read_text().split()
        (ssh / 'known_hosts').write_text(f'[127.0.0.1]:{self.ssh_port} {host_key[0]} {host_key[1]}\n')
        (self.state / 'sshd_config').write_text(SSHD_CONFIG.format(state=self.state, port=self.ssh_port))

    def write_ssh_client_config(self, home: pathlib.Path, user: str = 'root') -> None:
        """``home/.ssh/config`` with the cluster's ``Host`` entry, and its ``known_hosts`` (asyncssh reads both from
        ``$HOME``; its config parser does not follow ``UserKnownHostsFile`` everywhere, so the file is copied)."""
        folder = pathlib.Path(home) / '.ssh'
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        entry = SSH_CLIENT_CONFIG.format(alias=self.alias, port=self.ssh_port, user=user, state=self.state)
        config = folder / 'config'
        text = config.read_text() if config.exists() else ''
        if f'Host {self.alias}\n' not in text:
            config.write_text(text + entry)
        shutil.copy(self.state / 'ssh' / 'known_hosts', folder / 'known_hosts')

    # -- daemons ---------------------------------------------------------------------------------------------------

    @staticmethod
    def _check(command: list[str], what: str, env: dict | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            raise ServiceError(f'{what} failed ({result.returncode}): {(result.stderr or result.stdout).strip()}')
        return result

    def _daemon(self, name: str, pid_file: pathlib.Path, command: list[str], log: pathlib.Path | None = None) -> None:
        """Start ``command`` (a daemon that forks and writes ``pid_file``) unless the pid file names a live process."""
        if _alive(pid_file):
            return
        result = subprocess.run(command, capture_output=True, text=True, env=self.env, check=False)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not _alive(pid_file):
            time.sleep(0.2)
        if not _alive(pid_file):
            tail = log.read_text()[-1500:] if log and log.exists() else ''
            raise ServiceError(
                f'{name} did not start (exit {result.returncode}): {(result.stderr or result.stdout).strip()} {tail}'
            )
        self.started.append(name)

    def pid_files(self) -> dict[str, pathlib.Path]:
        return {name: self.state / f'{name}.pid' for name in ('sshd', 'slurmd', 'slurmctld', 'munged')}

    def start(self, timeout: float = 30) -> None:
        """Write the configuration and start what is not running; return once the node is idle and sshd answers."""
        self.check_programs()
        self.write_configuration()
        munge = self.state / 'munge'
        self._daemon('munged', self.pid_files()['munged'], [
            'munged', f'--socket={munge}/munge.socket', f'--key-file={munge}/munge.key',
            f'--pid-file={self.state}/munged.pid', f'--log-file={self.state}/munged.log',
            f'--seed-file={munge}/munged.seed', '--force',
        ], self.state / 'munged.log')  # fmt: skip
        self._daemon('slurmctld', self.pid_files()['slurmctld'], ['slurmctld', '-f', str(self.slurm_conf)],
                     self.state / 'slurmctld.log')  # fmt: skip
        self._daemon('slurmd', self.pid_files()['slurmd'], ['slurmd', '-f', str(self.slurm_conf)],
                     self.state / 'slurmd.log')  # fmt: skip
        # sshd refuses to start without its privilege-separation folder, which Debian creates only from systemd.
        pathlib.Path('/run/sshd').mkdir(mode=0o755, exist_ok=True)
        self._daemon('sshd', self.pid_files()['sshd'], ['/usr/sbin/sshd', '-f', str(self.state / 'sshd_config'),
                     '-E', str(self.state / 'sshd.log')], self.state / 'sshd.log')  # fmt: skip
        self.wait_idle(timeout)
        if not Endpoint('127.0.0.1', self.ssh_port).is_open():
            raise ServiceError(
                f'sshd does not accept connections on 127.0.0.1:{self.ssh_port}; see {self.state}/sshd.log'
            )

    def node_state(self) -> str:
        """The node's state as ``sinfo`` gives it (``idle``, ``mix``, ``alloc``, ``down*``...), '' when unknown."""
        result = subprocess.run(['sinfo', '-h', '-N', '-o', '%t'], capture_output=True, text=True, env=self.env,
                                check=False)  # fmt: skip
        return result.stdout.strip() if result.returncode == 0 else ''

    def wait_idle(self, timeout: float = 30) -> None:
        """Block until the node takes jobs; a node left down by an earlier stop is resumed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.node_state()
            if state in ('idle', 'mix', 'alloc'):
                return
            if state.startswith(('down', 'drain')):
                subprocess.run(['scontrol', 'update', f'nodename={self.node}', 'state=resume'], capture_output=True,
                               env=self.env, check=False)  # fmt: skip
            time.sleep(0.5)
        log = (self.state / 'slurmctld.log').read_text()[-1500:] if (self.state / 'slurmctld.log').exists() else ''
        raise ServiceError(
            f'SLURM node {self.node} not idle within {timeout:.0f} s (sinfo: {self.node_state()!r}).\n{log}'
        )

    def job_ledger(self) -> list[dict[str, str]]:
        """Every job that ended on this cluster, as slurmctld's ``jobcomp/filetxt`` wrote it (``JobId``,
        ``JobState``, ``WorkDir``, ...): the record of what SLURM ran, independent of what AiiDA believes."""
        path = self.state / 'jobcomp.log'
        if not path.exists():
            return []
        return [dict(field.split('=', 1) for field in line.split() if '=' in field)
                for line in path.read_text().splitlines() if line.strip()]  # fmt: skip

    def squeue(self) -> list[tuple[str, str]]:
        """``(job id, state)`` of the jobs SLURM holds now (``R`` running, ``PD`` pending, ``CG`` completing)."""
        result = subprocess.run(['squeue', '-h', '-o', '%i %t'], capture_output=True, text=True, env=self.env,
                                check=False)  # fmt: skip
        return [tuple(line.split()) for line in result.stdout.splitlines() if line.strip()]  # type: ignore[misc]

    def stop_daemon(self, name: str, timeout: float = 15) -> None:
        """Stop one daemon (SIGTERM, then SIGKILL) by its pid file."""
        pid_file = self.pid_files()[name]
        pid = _alive(pid_file)
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid_file) == pid:
            time.sleep(0.2)
        if _alive(pid_file) == pid:
            os.kill(pid, signal.SIGKILL)
        if name in self.started:
            self.started.remove(name)

    def stop(self) -> None:
        """Stop the daemons this object started, in reverse order (sshd first, munged last)."""
        for name in ('sshd', 'slurmd', 'slurmctld', 'munged'):
            if name in self.started:
                self.stop_daemon(name)

    def __enter__(self) -> LoopbackCluster:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
