"""A RabbitMQ node of its own, on the loopback: for a profile whose broker can be stopped and started without
touching the machine's shared RabbitMQ (fault tests and benchmarks restart it under a running daemon).

The node keeps its state (Mnesia database, logs, enabled plugins, pid file) in a folder of its own and listens on
its own AMQP and inter-node ports; the Erlang port mapper (epmd) is shared with any other node, as RabbitMQ intends.
Debian's ``/usr/sbin/rabbitmq-server`` switches to the ``rabbitmq`` user, which could not write a folder made by
another user; the script it wraps (``/usr/lib/rabbitmq/bin/rabbitmq-server``) runs the node as the caller, who owns
the folder. ``rabbitmqctl`` reaches it with the caller's Erlang cookie (``$HOME/.erlang.cookie``).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil
import subprocess
import time

from .services import LOOPBACK_ONLY, Endpoint, ServiceError, wait_for

#: where Debian's package puts the scripts its ``/usr/sbin`` wrappers call
RABBITMQ_SCRIPTS = pathlib.Path('/usr/lib/rabbitmq/bin')

#: The same settings as the machine's broker (scripts/install.sh): no consumer timeout (a long calculation's task
#: stays unacknowledged for hours; RabbitMQ's 30 min default would close the worker's channel) and the inter-node
#: port on the loopback only.
ADVANCED_CONFIG = '[{rabbit,[{consumer_timeout,undefined}]},{kernel,[{inet_dist_use_interface,{127,0,0,1}}]}].\n'


@dataclasses.dataclass
class LoopbackBroker:
    """A RabbitMQ node named ``name@localhost`` with AMQP on ``127.0.0.1:port``, its state under ``state``."""

    state: pathlib.Path
    port: int
    dist_port: int
    name: str = 'znadditive-test'

    @property
    def nodename(self) -> str:
        return f'{self.name}@localhost'

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint('127.0.0.1', self.port)

    @property
    def env(self) -> dict[str, str]:
        """The environment of this node's ``rabbitmq-server`` and ``rabbitmqctl``: its name, ports and folders."""
        return {
            **os.environ,
            'RABBITMQ_NODENAME': self.nodename,
            'RABBITMQ_NODE_IP_ADDRESS': LOOPBACK_ONLY,
            'RABBITMQ_NODE_PORT': str(self.port),
            'RABBITMQ_DIST_PORT': str(self.dist_port),
            'ERL_EPMD_ADDRESS': LOOPBACK_ONLY,
            'RABBITMQ_MNESIA_BASE': str(self.state / 'mnesia'),
            'RABBITMQ_LOG_BASE': str(self.state / 'log'),
            'RABBITMQ_PID_FILE': str(self.state / 'rabbitmq.pid'),
            'RABBITMQ_ENABLED_PLUGINS_FILE': str(self.state / 'enabled_plugins'),
            'RABBITMQ_ADVANCED_CONFIG_FILE': str(self.state / 'advanced.config'),
            # the machine's /etc/rabbitmq/rabbitmq.conf (if any) is for the shared node, not this one
            'RABBITMQ_CONFIG_FILE': str(self.state / 'rabbitmq'),
        }

    def _script(self, name: str) -> str:
        path = RABBITMQ_SCRIPTS / name
        if not path.exists():
            found = shutil.which(name)
            if found is None:
                raise ServiceError(f'{name} is not installed. Fix: sudo bash scripts/install.sh')
            return found
        return str(path)

    def start(self, timeout: float = 90) -> None:
        """Start the node (detached) and wait until it accepts AMQP connections; nothing when it already does."""
        if self.endpoint.is_open():
            return
        for folder in ('mnesia', 'log'):
            (self.state / folder).mkdir(parents=True, exist_ok=True)
        (self.state / 'advanced.config').write_text(ADVANCED_CONFIG)
        (self.state / 'enabled_plugins').write_text('[].\n')
        result = subprocess.run([self._script('rabbitmq-server'), '-detached'], capture_output=True, text=True,
                                env=self.env, check=False)  # fmt: skip
        if result.returncode != 0:
            raise ServiceError(f'rabbitmq-server -detached ({self.nodename}) failed: {result.stderr.strip()}')
        wait_for(self.endpoint, timeout, f'RabbitMQ {self.nodename}')

    def stop(self, timeout: float = 60) -> None:
        """Stop the node (``rabbitmqctl stop``: messages on durable queues stay on disk) and wait for its port to
        close."""
        if not self.endpoint.is_open():
            return
        subprocess.run([self._script('rabbitmqctl'), '-n', self.nodename, 'stop'], capture_output=True, text=True,
                       env=self.env, check=False, timeout=timeout)  # fmt: skip
        deadline = time.monotonic() + timeout
        while self.endpoint.is_open() and time.monotonic() < deadline:
            time.sleep(0.5)
        if self.endpoint.is_open():
            raise ServiceError(f'RabbitMQ {self.nodename} did not stop within {timeout:.0f} s')

    def queue_messages(self) -> dict[str, int]:
        """Messages waiting in (ready) or taken from (unacknowledged) each queue: a task left behind after every
        process ended would be run again by the next worker."""
        command = [self._script('rabbitmqctl'), '-n', self.nodename, '-q', 'list_queues', '--no-table-headers']
        result = subprocess.run(
            [*command, 'name', 'messages'], capture_output=True, text=True, env=self.env, check=True
        )
        return {
            name: int(count) for name, count in (line.split() for line in result.stdout.splitlines() if line.strip())
        }

    def restart(self, down: float = 0) -> None:
        """Stop, stay down ``down`` seconds (a broker's maintenance window), start again."""
        self.stop()
        time.sleep(down)
        self.start()

    def __enter__(self) -> LoopbackBroker:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
