"""Which of our services listen beyond the loopback: read from the kernel's socket tables, no tool needed.

PostgreSQL, RabbitMQ (AMQP and its inter-node port) and epmd serve only processes on this host. Anything listening
on another address lets the network reach a broker with the ``guest`` account or the database of every profile.
"""

from __future__ import annotations

import ipaddress
import pathlib
from dataclasses import dataclass

#: The TCP ports of the services setup starts, with their names (RabbitMQ's inter-node port is AMQP's + 20000).
SERVICE_PORTS = {5432: 'PostgreSQL', 5672: 'RabbitMQ', 25672: 'RabbitMQ inter-node', 4369: 'epmd (Erlang)'}
LISTEN = '0A'  # the TCP state LISTEN in /proc/net/tcp


@dataclass(frozen=True)
class Listener:
    """A listening TCP socket."""

    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    port: int

    @property
    def is_loopback(self) -> bool:
        mapped = getattr(self.address, 'ipv4_mapped', None)  # ::ffff:127.0.0.1 is the loopback too
        return self.address.is_loopback or bool(mapped and mapped.is_loopback)

    def __str__(self) -> str:
        host = f'[{self.address}]' if self.address.version == 6 else str(self.address)
        return f'{host}:{self.port}'


def _address(hex_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address of /proc/net/tcp{,6}: 32-bit words in hexadecimal, each in the host's (little-endian) byte order."""
    raw = bytes.fromhex(hex_address)
    words = b''.join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(words)


def listeners(proc: pathlib.Path = pathlib.Path('/proc/net')) -> list[Listener]:
    """Every listening TCP socket of this network namespace, IPv4 and IPv6."""
    found = []
    for table in ('tcp', 'tcp6'):
        path = proc / table
        if not path.is_file():
            continue  # a kernel without IPv6
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 3 and fields[3] == LISTEN:
                address, port = fields[1].split(':')
                found.append(Listener(_address(address), int(port, 16)))
    return found


def exposed(ports: dict[int, str] | None = None) -> list[tuple[str, Listener]]:
    """The listeners on ``ports`` (default :data:`SERVICE_PORTS`) that are not on the loopback, with their service."""
    ports = SERVICE_PORTS if ports is None else ports
    return [(ports[item.port], item) for item in listeners() if item.port in ports and not item.is_loopback]


def exposure_fix(service: str) -> str:
    """How to put ``service`` back on the loopback."""
    if service == 'PostgreSQL':
        return (
            "set listen_addresses = 'localhost' in /etc/postgresql/*/main/postgresql.conf and restart it "
            '(pg_ctlcluster <version> main restart)'
        )
    return (
        'sudo bash scripts/install.sh (writes the loopback settings of RabbitMQ), then restart RabbitMQ and epmd: '
        'rabbitmqctl stop; epmd -kill; aiida-znadditive setup --production'
    )
