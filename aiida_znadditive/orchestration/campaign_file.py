"""A campaign file: the options of ``campaign run|submit`` in YAML, checked key by key with the line of each error.

Keys are the commands' option names with underscores (``top_k`` for ``--top-k``); a value given on the command line
wins over the file's. :func:`read_campaign_file` returns the values as click's ``default_map`` wants them and raises
:class:`CampaignFileError` naming the file, the line and the key of the first problem (a key that is no option, a
value of the wrong type, YAML that does not parse). ``campaign_example.yaml`` beside this module is the commented
example ``aiida-znadditive campaign example`` prints.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

EXAMPLE = 'campaign_example.yaml'


class CampaignFileError(ValueError):
    """A campaign file that cannot be used; the message names the file, the line and the key."""


def example_text() -> str:
    return resources.files(__package__).joinpath(EXAMPLE).read_text()


def _strings(path: Path, key: str, line: int, node: yaml.Node) -> list[str]:
    """A repeatable option's values: a YAML list of strings, or one string for a single value."""
    items = node.value if isinstance(node, yaml.SequenceNode) else [node]
    values = []
    for item in items:
        value = None
        if isinstance(item, yaml.ScalarNode) and item.tag == 'tag:yaml.org,2002:str':
            value = item.value
        if not isinstance(value, str):
            raise CampaignFileError(
                f'{path} line {item.start_mark.line + 1}: `{key}` takes a list of strings (quote a line that starts '
                f'with #, which YAML reads as a comment), got {value!r}'
            )
        values.append(value)
    return values


def read_campaign_file(path: Path, options: dict[str, type]) -> dict:
    """The file's values by option name; ``options`` maps each allowed name to its type (int, float, str, bool, or
    list for a repeatable option such as ``scheduler_lines``, which takes a YAML list of strings)."""
    text = Path(path).read_text()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, 'problem_mark', None)
        where = f' line {mark.line + 1}' if mark else ''
        raise CampaignFileError(f'{path}{where}: not valid YAML ({getattr(error, "problem", error)})') from None
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise CampaignFileError(f'{path} line {root.start_mark.line + 1}: expected `key: value` lines')
    values = {}
    for key_node, value_node in root.value:
        key, line = key_node.value, key_node.start_mark.line + 1
        if key not in options:
            known = ', '.join(sorted(options))
            raise CampaignFileError(f'{path} line {line}: unknown key `{key}`; known keys: {known}')
        expected = options[key]
        if expected is list:
            values[key] = _strings(path, key, line, value_node)
            continue
        if not isinstance(value_node, yaml.ScalarNode):
            raise CampaignFileError(f'{path} line {line}: `{key}` needs a single value')
        value = yaml.safe_load(yaml.serialize(value_node))
        if value is None:
            continue  # `key:` with nothing after it: the command's default
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if expected is str and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # `walltime: 3600`: the option's own type reads the text (and names what is wrong)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise CampaignFileError(
                f'{path} line {line}: `{key}` must be {expected.__name__}, got {value!r} ({type(value).__name__})'
            )
        values[key] = value
    return values
