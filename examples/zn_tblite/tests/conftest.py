"""The conformance suite of aiida-znadditive comes as a pytest plugin, with aiida-core's profile fixtures."""

import shutil

import pytest

pytest_plugins = ['aiida_znadditive.testing']


@pytest.fixture
def xtb_code(aiida_localhost):
    """The xtb executable on this machine as a code of the `zn_tblite.xtb_sp` CalcJob."""
    from aiida import orm

    executable = shutil.which('xtb')
    if executable is None:
        pytest.skip('no xtb executable on PATH')
    return orm.InstalledCode(
        computer=aiida_localhost,
        filepath_executable=executable,
        label='xtb-sp',
        default_calc_job_plugin='zn_tblite.xtb_sp',
    ).store()
