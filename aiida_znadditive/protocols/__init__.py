"""Protocols: YAML settings per WorkChain (``<name>.yaml``) and per calculator (``calculators/<name>.yaml``)."""

from __future__ import annotations

from importlib import resources
from typing import ClassVar

import yaml

#: Sections whose keys belong to someone else (a calculator's settings, the scheduler's options): overrides may add keys
#: there, which the calculator or the scheduler then checks.
OPEN_SECTIONS = frozenset({'settings', 'options'})


def recursive_merge(base: dict, update: dict) -> dict:
    """``base`` updated with ``update``, nested dictionaries merged key by key (neither argument is changed)."""
    merged = dict(base)
    for key, value in (update or {}).items():
        merged[key] = (
            recursive_merge(merged[key], value)
            if isinstance(value, dict) and isinstance(merged.get(key), dict)
            else value
        )
    return merged


def unknown_keys(base: dict, update: dict, path: str = '') -> list[str]:
    """The keys of ``update`` that ``base`` does not have, as dotted paths (``dft.task``); an open section
    (:data:`OPEN_SECTIONS`) may be added and its keys are free, as are keys under a value that is not a dictionary in
    ``base`` (a None to be replaced)."""
    unknown = []
    for key, value in (update or {}).items():
        where = f'{path}{key}'
        if key not in base:
            if key not in OPEN_SECTIONS:  # a section may gain its optional `settings` or `options`
                unknown.append(where)
        elif key not in OPEN_SECTIONS and isinstance(value, dict) and isinstance(base[key], dict):
            unknown.extend(unknown_keys(base[key], value, f'{where}.'))
    return unknown


#: libyaml's safe loader where PyYAML has it: the CLI reads every WorkChain's protocol file at start-up (its
#: --protocol choices), and the pure-Python loader is an order of magnitude slower on these commented files.
_LOADER = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)


def load_protocol_file(name: str) -> dict:
    """The content of the WorkChain protocol file ``<name>.yaml``."""
    return yaml.load(resources.files(__name__).joinpath(f'{name}.yaml').read_text(), Loader=_LOADER)


def resolve_protocol(name: str, protocol: str | None = None, overrides: dict | None = None) -> tuple[str, dict]:
    """The protocol's name and settings: ``default_inputs``, updated with the protocol's differences and ``overrides``.

    :raises ValueError: for an unknown protocol, naming the known ones, or an override key the protocol does not
        have (a typo would otherwise be merged and ignored), naming it.
    """
    content = load_protocol_file(name)
    protocol = protocol or content['default_protocol']
    if protocol not in content['protocols']:
        raise ValueError(f'Unknown protocol `{protocol}`; choose from {", ".join(content["protocols"])}.')
    settings = recursive_merge(content['default_inputs'], content['protocols'][protocol])
    settings.pop('description', None)
    unknown = unknown_keys(settings, overrides or {})
    if unknown:
        raise ValueError(f'Unknown override key(s) for the `{name}` protocol: {", ".join(unknown)}.')
    return protocol, recursive_merge(settings, overrides or {})


def available_protocols(name: str, content: dict | None = None) -> dict[str, str]:
    """The protocols of ``<name>.yaml`` (or of its already read ``content``), each with its description, in order."""
    content = content or load_protocol_file(name)
    return {key: value.get('description', '') for key, value in content['protocols'].items()}


def default_protocol(name: str) -> str:
    """The ``default_protocol`` of ``<name>.yaml``."""
    return load_protocol_file(name)['default_protocol']


class ProtocolMixin:
    """aiida-quantumespresso's protocol API for a WorkChain whose settings are ``protocols/<_protocol_name>.yaml``."""

    _protocol_name: ClassVar[str]

    @classmethod
    def get_protocol_filepath(cls):
        """The protocol file (a Traversable of the installed package)."""
        return resources.files(__name__).joinpath(f'{cls._protocol_name}.yaml')

    @classmethod
    def get_default_protocol(cls) -> str:
        return default_protocol(cls._protocol_name)

    @classmethod
    def get_available_protocols(cls) -> dict[str, dict]:
        """Each protocol's name with its ``description``, as aiida-quantumespresso returns them."""
        return {key: {'description': text} for key, text in available_protocols(cls._protocol_name).items()}

    @classmethod
    def get_protocol_inputs(cls, protocol: str | None = None, overrides: dict | None = None) -> dict:
        """The settings of ``protocol`` (default: the file's) and ``overrides``, as :func:`resolve_protocol`."""
        return resolve_protocol(cls._protocol_name, protocol, overrides)[1]
