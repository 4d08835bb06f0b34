"""Shared fixtures: a temporary AiiDA profile (aiida-core's fixtures) with the project's own computer and codes."""

from __future__ import annotations

import pytest

pytest_plugins = ['aiida.tools.pytest_fixtures']

#: s between a parent's checks of a running child. aiida-core uses 0 in test profiles: a busy loop of database queries
#: that took ~55% of a core (measured with py-spy) from the PySCF and CP2K jobs each test waits for, on 2 cores.
TEST_POLL_INTERVAL = 0.2

#: Modules with minutes of real engine time, longest first (from the `--durations` list every run prints). The README's
#: test command runs one worker per core, each module on one worker (`-n logical --dist loadfile`: a module's fixtures
#: run once); the suite ends when the last worker does, so the longest modules start first and the short ones fill in.
HEAVY_FIRST = (
    'workchains/test_complexation_pyscf.py',
    # 480 s of one worker, and it ran last: the other worker sat idle for its last 7 minutes (2026-12-05)
    'integration/test_slurm.py',
    'workchains/test_adsorption.py',
    'integration/test_production.py',
    'calculators/test_cp2k_md.py',
    'ml/test_zn_binding.py',
    'calculators/test_conformance.py',
    'provenance/test_report.py',
    'workchains/test_complexation.py',
    'calculators/test_third_party.py',
)


#: Fixtures that create the engines' codes (``setup`` checks that each executable is installed) or run an engine: a
#: test that asks for one belongs to the engine lane (marker ``integration``).
ENGINE_FIXTURES = frozenset(
    {'znadditive_codes', 'pyscf_code', 'cp2k_code', 'python_environments', 'user_home', 'setup_home', 'xtb_runs'}
)
#: Tests that run an engine without such a fixture (tblite in-process, the xtb screener, ``setup`` itself). Found by
#: running the fast lane with xtb and CP2K made non-executable and tblite and pyscf unimportable
#: (docs/source/installation.md, "Test lanes"); a test added to neither list that needs an engine fails that check.
ENGINE_TESTS = (
    'ml/test_xtb_labels.py',
    'ml/test_zn_binding.py',
    'analysis/test_thermochemistry.py::test_linear_co2_has_four_modes',
    'ml/test_screeners_conformance.py::test_passed_candidates_become_linked_nodes[xtb]',
    'environment/test_codes.py::test_ensure_codes_is_idempotent',
    'cli/test_cli.py::test_two_setups_at_once_make_one_of_everything',
)


def pytest_collection_modifyitems(config, items):
    """Mark the engine lane (:data:`ENGINE_FIXTURES`, :data:`ENGINE_TESTS`); then put the modules of
    ``HEAVY_FIRST`` first, in that order; every other test keeps its place."""
    for item in items:
        path = item.nodeid.removeprefix('tests/')
        if ENGINE_FIXTURES & set(getattr(item, 'fixturenames', ())) or path.startswith(ENGINE_TESTS):
            item.add_marker(pytest.mark.integration)

    def rank(item) -> int:
        path = item.nodeid.split('::')[0].removeprefix('tests/')
        return HEAVY_FIRST.index(path) if path in HEAVY_FIRST else len(HEAVY_FIRST)

    items.sort(key=rank)


@pytest.fixture(scope='session', autouse=True)
def _poll_children_without_busy_loop():
    """Give every runner aiida-core creates in this session a non-zero poll interval."""
    from aiida.manage.manager import Manager

    create_runner = Manager.create_runner

    def create_polite_runner(self, *args, **kwargs):
        runner = create_runner(self, *args, **kwargs)
        runner._poll_interval = max(runner._poll_interval, TEST_POLL_INTERVAL)
        return runner

    Manager.create_runner = create_polite_runner
    yield
    Manager.create_runner = create_runner


@pytest.fixture(scope='session')
def codes_file_content(aiida_profile):
    """The packaged codes.yaml with placeholders filled for the test profile."""
    from aiida_znadditive.environment.codes import load_codes_file

    return load_codes_file()


@pytest.fixture
def aiida_localhost(aiida_profile, codes_file_content):
    """aiida-core's ``localhost`` computer replaced by the one of codes.yaml (same label).

    Whichever test creates ``localhost`` first, the computer every later test and code finds is the same: with
    aiida-core's own fixture first, CP2K jobs ran without codes.yaml's prepend text and Open MPI refused to start as
    root (seen once the suite ran in parallel workers, where the order of tests changes).
    """
    from aiida_znadditive.environment.codes import ensure_computer

    computer, _ = ensure_computer(codes_file_content['computer'])
    return computer


@pytest.fixture(scope='session')
def python_environments(codes_file_content):
    """Build (once per session) the interpreters the codes run in, as ``aiida-znadditive setup`` does."""
    from aiida_znadditive.environment.codes import code_specs, ensure_python_environment

    return [ensure_python_environment(spec) for spec in code_specs(codes_file_content) if spec.python_environment]


@pytest.fixture
def znadditive_codes(aiida_profile, codes_file_content, python_environments):
    """Computer and codes created by the function ``aiida-znadditive setup`` uses; keyed by codes.yaml key.

    Function-scoped: tests that reset the storage (``aiida_profile_clean``) remove them, and the next test needs
    nodes of the current storage.
    """
    from aiida import orm

    from aiida_znadditive.environment.codes import code_specs, ensure_codes

    ensure_codes(codes_file_content, build_environments=False)
    label = codes_file_content['computer']['label']
    return {spec.key: orm.load_code(spec.full_label(label)) for spec in code_specs(codes_file_content)}


@pytest.fixture
def pyscf_code(znadditive_codes):
    return znadditive_codes['pyscf']


@pytest.fixture
def cp2k_code(znadditive_codes):
    return znadditive_codes['cp2k']
