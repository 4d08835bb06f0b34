"""The codes file and the idempotent creation of computer and codes."""

import sys

import pytest
from aiida import orm

from aiida_znadditive.environment.codes import CodeSetupError, code_specs, ensure_codes, load_codes_file


def test_packaged_codes_file_fills_placeholders(codes_file_content):
    specs = {spec.key: spec for spec in code_specs(codes_file_content)}
    assert set(specs) >= {'pyscf', 'cp2k'}
    assert specs['pyscf'].filepath_executable.startswith(sys.prefix)
    assert specs['pyscf'].plugin == 'pyscf.base'
    assert specs['cp2k'].with_mpi is True
    # AiiDA's own template placeholder must survive ours.
    assert '{tot_num_mpiprocs}' in codes_file_content['computer']['mpirun_command']
    assert '{aiida_dir}' not in codes_file_content['computer']['work_dir']


@pytest.mark.parametrize(
    ('text', 'message'),
    [
        ('computer: {label: x}\n', 'lacks the `codes` section'),
        ('computer: {label: x}\ncodes: {bad: {label: b}}\n', 'lacks filepath_executable, plugin'),
        ('computer: [unclosed\n', 'not valid YAML'),
    ],
)
def test_malformed_codes_file_is_named(tmp_path, text, message):
    path = tmp_path / 'codes.yaml'
    path.write_text(text)
    with pytest.raises(CodeSetupError, match=message):
        code_specs(load_codes_file(path))


def test_missing_codes_file(tmp_path):
    with pytest.raises(CodeSetupError, match='does not exist'):
        load_codes_file(tmp_path / 'nope.yaml')


def test_missing_executable_names_fix(codes_file_content, aiida_profile_clean):
    content = {
        **codes_file_content,
        'codes': {
            'ghost': {'label': 'ghost', 'plugin': 'core.arithmetic.add', 'filepath_executable': 'no-such-binary-xyz'}
        },
    }
    with pytest.raises(CodeSetupError, match=r'no-such-binary-xyz.*not on PATH.*install\.sh'):
        ensure_codes(content)


def test_ensure_codes_is_idempotent(codes_file_content, aiida_profile_clean):
    first = ensure_codes(codes_file_content)
    assert any(message.startswith('created code `pyscf@localhost`') for message in first)
    count = orm.QueryBuilder().append(orm.Node).count()
    second = ensure_codes(codes_file_content)
    assert all('unchanged' in message for message in second), second
    assert orm.QueryBuilder().append(orm.Node).count() == count
    code = orm.load_code('cp2k@localhost')
    assert code.with_mpi and code.default_calc_job_plugin == 'cp2k'


def test_computer_no_calculation_used_follows_the_file(codes_file_content, aiida_profile_clean, tmp_path):
    """Keys left out of the file mean their defaults, as for a new computer (a KeyError once)."""
    from aiida_znadditive.environment.codes import ensure_computer

    spec = codes_file_content['computer']
    ensure_computer(spec)
    trimmed = {key: value for key, value in spec.items() if key not in ('description', 'prepend_text')}
    computer, message = ensure_computer({**trimmed, 'work_dir': str(tmp_path / 'work')})
    assert message.startswith('updated computer `localhost` to match the codes file (no calculation used it yet)')
    assert computer.get_workdir() == str(tmp_path / 'work') and (tmp_path / 'work').is_dir()
    assert computer.description == '' and computer.get_prepend_text() == ''
    assert (
        ensure_computer({**trimmed, 'work_dir': str(tmp_path / 'work')})[1] == 'computer `localhost` exists (unchanged)'
    )
