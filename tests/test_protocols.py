"""Protocol overrides: a mistyped key is named, not merged and ignored; open sections take new keys."""

from __future__ import annotations

import pytest

from aiida_znadditive.protocols import resolve_protocol


@pytest.mark.parametrize(
    ('workchain', 'section'), [('complexation', 'dft'), ('adsorption', 'dft'), ('solvation', 'md')]
)
def test_a_mistyped_override_key_is_named(workchain, section):
    with pytest.raises(
        ValueError, match=rf'Unknown override key\(s\) for the `{workchain}` protocol: nonsense, {section}\.tsak'
    ):
        resolve_protocol(workchain, overrides={'nonsense': 1, section: {'tsak': 'relax'}})


def test_a_section_may_gain_its_optional_settings():
    # complexation's `dft` has no `settings` by default; tests/workchains/test_complexation_pyscf.py adds one
    _, settings = resolve_protocol('complexation', overrides={'dft': {'settings': {'geo_opt': {'max_force': 3e-3}}}})
    assert settings['dft']['settings'] == {'geo_opt': {'max_force': 3e-3}}


def test_open_sections_take_the_calculator_s_keys():
    _, settings = resolve_protocol('adsorption', overrides={'dft': {'settings': {'cutoff': 250}}})
    assert settings['dft']['settings']['cutoff'] == 250
    assert settings['dft']['task'] == 'relax'  # the rest of the section is kept


def test_workchains_read_their_protocol_files_through_the_quantumespresso_api():
    import yaml

    from aiida_znadditive.cli import cmd_root
    from aiida_znadditive.workchains.adsorption import SlabAdsorptionWorkChain
    from aiida_znadditive.workchains.complexation import ZnComplexationWorkChain
    from aiida_znadditive.workchains.solvation import SolvationShellWorkChain

    for workchain, command in (
        (ZnComplexationWorkChain, 'complexation'),
        (SlabAdsorptionWorkChain, 'adsorption'),
        (SolvationShellWorkChain, 'solvation'),
    ):
        content = yaml.safe_load(workchain.get_protocol_filepath().read_text())
        assert list(workchain.get_available_protocols()) == list(content['protocols'])
        assert workchain.get_default_protocol() == content['default_protocol']
        assert workchain.get_protocol_inputs()['dft' if command != 'solvation' else 'md']
        # The CLI offers exactly the file's protocols, and its default is the file's.
        (option,) = [p for p in cmd_root.commands[command].params if p.name == 'protocol']
        assert list(option.type.choices) == list(content['protocols'])
        assert option.default == content['default_protocol']
