"""Write docs/source/plugins.md from the package's entry points (every plug-in, what it is, its first docstring line).

Usage: ``.venv/bin/python scripts/plugins_doc.py`` (rewrites the page); ``--check`` exits 1 when the page is stale
(``tests/test_plugins_doc.py`` runs that). Reinstall after changing pyproject.toml's entry points
(``.venv/bin/pip install -e . --no-deps``), since the entry points are read from the installed distribution.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from importlib.metadata import distribution
from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / 'docs' / 'source' / 'plugins.md'
#: group -> what its plug-ins are, in the order the page lists them
GROUPS = {
    'aiida.workflows': 'WorkChains',
    'aiida.calculations': 'CalcJobs and calcfunctions',
    'aiida.parsers': 'parsers',
    'znadditive.calculators': 'calculator adapters (see {doc}`calculators`)',
    'znadditive.screeners': 'screeners (see {doc}`screening` and {doc}`models`)',
    'znadditive.generators': 'molecule generators (see {doc}`generation`)',
}
HEADER = """# Plugins and entry points

Generated from the installed distribution's entry points by `scripts/plugins_doc.py` (a test fails when this page
is stale). Another package adds its own plug-ins to the same groups; list what is installed with

```python
from aiida.plugins.entry_point import get_entry_point_names

get_entry_point_names('znadditive.calculators')
```
"""


def kind(obj) -> str:
    from aiida.engine import CalcJob, WorkChain
    from aiida.parsers import Parser

    if inspect.isclass(obj):
        for base, label in ((WorkChain, 'WorkChain'), (CalcJob, 'CalcJob'), (Parser, 'Parser')):
            if issubclass(obj, base):
                return label
        return 'class'
    return 'calcfunction' if getattr(obj, 'is_process_function', False) else 'function'


def summary(obj) -> str:
    doc = inspect.getdoc(obj) or ''
    first = doc.split('\n\n')[0].replace('\n', ' ').strip()
    return first.replace('|', '\\|')


def render() -> str:
    points = distribution('aiida-znadditive').entry_points
    lines = [HEADER]
    for group, title in GROUPS.items():
        members = sorted((ep for ep in points if ep.group == group), key=lambda ep: ep.name)
        lines += [f'\n## `{group}`: {title}\n', '| name | kind | what it does |', '|---|---|---|']
        for ep in members:
            obj = ep.load()
            lines.append(f'| `{ep.name}` | {kind(obj)} | {summary(obj)} |')
    return '\n'.join(lines) + '\n'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true', help='exit 1 when the page differs from the entry points')
    args = parser.parse_args()

    text = render()
    if args.check:
        if PAGE.read_text() != text:
            print(f'{PAGE} is stale: run .venv/bin/python scripts/plugins_doc.py')
            return 1
        return 0
    PAGE.write_text(text)
    print(f'wrote {PAGE}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
