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


def test_open_sections_take_the_calculator_s_keys():
    _, settings = resolve_protocol('adsorption', overrides={'dft': {'settings': {'cutoff': 250}}})
    assert settings['dft']['settings']['cutoff'] == 250
    assert settings['dft']['task'] == 'relax'  # the rest of the section is kept
