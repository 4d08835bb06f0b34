"""Stored regression files: a changed default becomes a visible diff in review."""

from __future__ import annotations

import os
import pathlib

import yaml

DIRECTORY = pathlib.Path(__file__).parent


def check_regression(data: dict, name: str) -> None:
    """Compare ``data`` with ``tests/regression/<name>.yaml``; write it when missing or ``ZN_REGEN=1``, and fail.

    Writing never passes silently: a new or regenerated file must be reviewed and committed.
    """
    path = DIRECTORY / f'{name}.yaml'
    if not path.exists() or os.environ.get('ZN_REGEN') == '1':
        path.write_text(yaml.safe_dump(data, sort_keys=True))
        raise AssertionError(f'wrote regression file {path}: review it and run the test again')
    assert yaml.safe_load(path.read_text()) == data, f'{name} differs from {path} (ZN_REGEN=1 to rewrite)'
