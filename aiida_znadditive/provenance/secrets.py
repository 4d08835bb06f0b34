"""Nothing secret in the provenance graph: a scan of what an archive of a run would hand to a referee.

An archive (``verdi archive create``) carries every node's attributes and repository files, but not the computer's
authentication info (``AuthInfo``: the SSH key file's path, the user name), which stays in the profile. What could
still leak is text: a private key or a password pasted into a code's ``prepend_text``, an ``options`` Dict, a job
script or an engine's output that echoes the environment. :func:`find_secrets` reads all of it for what looks like
a credential, and for the exact strings the caller knows to be secret (for example the body of the SSH key a
cluster's computer uses).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from aiida import orm

#: what a credential looks like, whoever's it is
PATTERNS = {
    'private key': re.compile(r'-----BEGIN [A-Z ]*PRIVATE KEY-----'),
    'password assignment': re.compile(r'(?i)(?:pass(?:word|wd)?|secret|token)\s*[=:]\s*\S{4,}'),
    'AWS access key': re.compile(r'\bAKIA[0-9A-Z]{16}\b'),
    'GitHub token': re.compile(r'\bgh[pousr]_[A-Za-z0-9]{36}\b'),
    'URL with a password': re.compile(r'[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@'),
}


@dataclass(frozen=True)
class Finding:
    node: int  # pk
    where: str  # 'attributes' or the repository path
    what: str  # the pattern's name, or 'known secret'


def graph_of(roots: list[orm.ProcessNode]) -> list[orm.Node]:
    """The processes under ``roots`` with every input and output: the nodes an archive of them holds."""
    nodes: dict[int, orm.Node] = {}
    for root in roots:
        for process in [root, *root.called_descendants]:
            nodes.setdefault(process.pk, process)
            for link in [*process.base.links.get_incoming().all(), *process.base.links.get_outgoing().all()]:
                nodes.setdefault(link.node.pk, link.node)
    return list(nodes.values())


def _texts(node: orm.Node):
    """``(where, text)``: the node's attributes as JSON, then each repository file (bytes decoded leniently)."""
    yield 'attributes', json.dumps(node.base.attributes.all, default=str)
    for root, _, filenames in node.base.repository.walk():
        for filename in filenames:
            path = str(root / filename)
            yield path, node.base.repository.get_object_content(path, mode='rb').decode('utf-8', errors='replace')


def find_secrets(nodes: list[orm.Node], known: list[str] = ()) -> list[Finding]:
    """Every place in ``nodes`` where a credential pattern or one of the ``known`` secret strings appears."""
    findings = []
    for node in nodes:
        for where, text in _texts(node):
            findings += [Finding(node.pk, where, name) for name, pattern in PATTERNS.items() if pattern.search(text)]
            findings += [Finding(node.pk, where, 'known secret') for secret in known if secret and secret in text]
    return findings
