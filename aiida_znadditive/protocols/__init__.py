"""Protocols: YAML settings per WorkChain (``<name>.yaml``) and per calculator (``calculators/<name>.yaml``)."""

from __future__ import annotations

from importlib import resources

import yaml


def load_protocol_file(name: str) -> dict:
    """The content of the WorkChain protocol file ``<name>.yaml``."""
    return yaml.safe_load(resources.files(__name__).joinpath(f'{name}.yaml').read_text())


def resolve_protocol(name: str, protocol: str | None = None, overrides: dict | None = None) -> tuple[str, dict]:
    """The protocol's name and settings: ``default_inputs``, updated with the protocol's differences and ``overrides``.

    :raises ValueError: for an unknown protocol, naming the known ones.
    """
    from ..calculators.base import recursive_merge

    content = load_protocol_file(name)
    protocol = protocol or content['default_protocol']
    if protocol not in content['protocols']:
        raise ValueError(f'Unknown protocol `{protocol}`; choose from {", ".join(content["protocols"])}.')
    settings = recursive_merge(content['default_inputs'], content['protocols'][protocol])
    settings.pop('description', None)
    return protocol, recursive_merge(settings, overrides or {})
