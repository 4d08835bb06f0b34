"""docs/source/plugins.md lists exactly the installed entry points (regenerate: scripts/plugins_doc.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / 'scripts' / 'plugins_doc.py'


def test_plugins_page_is_current():
    spec = importlib.util.spec_from_file_location('plugins_doc', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rendered = module.render()
    assert '`znadditive.complexation` | WorkChain' in rendered
    assert module.PAGE.read_text() == rendered, 'docs/source/plugins.md is stale: run scripts/plugins_doc.py'
