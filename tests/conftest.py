"""Shared fixtures: a temporary AiiDA profile (aiida-core's fixtures) with the project's own computer and codes."""

from __future__ import annotations

import pytest

pytest_plugins = ['aiida.tools.pytest_fixtures']


@pytest.fixture(scope='session')
def codes_file_content(aiida_profile):
    """The packaged codes.yaml with placeholders filled for the test profile."""
    from aiida_znadditive.environment.codes import load_codes_file

    return load_codes_file()


@pytest.fixture(scope='session')
def znadditive_codes(aiida_profile, codes_file_content):
    """Computer and codes created by the same function ``aiida-znadditive setup`` uses; keyed by codes.yaml key."""
    from aiida import orm

    from aiida_znadditive.environment.codes import code_specs, ensure_codes

    ensure_codes(codes_file_content)
    label = codes_file_content['computer']['label']
    return {spec.key: orm.load_code(spec.full_label(label)) for spec in code_specs(codes_file_content)}


@pytest.fixture
def pyscf_code(znadditive_codes):
    return znadditive_codes['pyscf']


@pytest.fixture
def cp2k_code(znadditive_codes):
    return znadditive_codes['cp2k']
