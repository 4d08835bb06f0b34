"""The calculator contract a third-party package meets, without an engine: its protocol file lives next to its
adapter, and its entry-point name must be usable in AiiDA link labels."""

from __future__ import annotations

import importlib
import sys
import textwrap

import pytest

from aiida_znadditive.calculators.base import CalculatorError, load_calculator


def test_a_hyphenated_name_is_refused_with_the_reason():
    with pytest.raises(CalculatorError, match='`tblite-ase` is not a valid entry-point name') as error:
        load_calculator('tblite-ase')
    assert error.value.reason == 'unknown_calculator'


def test_the_protocol_file_is_found_next_to_the_adapter(tmp_path, monkeypatch):
    package = tmp_path / 'my_engines'
    package.mkdir()
    (package / '__init__.py').write_text('')
    (package / 'adapter.py').write_text(
        textwrap.dedent(
            """
            from aiida_znadditive.calculators.base import Calculator

            class ToyCalculator(Calculator):
                name = 'toy'
                tasks = ('singlepoint',)

                def get_builder(self, code, structure, task, *, overrides=None, options=None, parent_folder=None):
                    raise NotImplementedError

                def get_outputs(self, node, task):
                    raise NotImplementedError
            """
        )
    )
    (package / 'toy.yaml').write_text(
        'default_inputs: {cutoff: 100, options: {}}\nprotocols:\n  fast: {}\n  precise: {cutoff: 400}\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        toy = importlib.import_module('my_engines.adapter').ToyCalculator()
        assert toy.protocol('precise')['cutoff'] == 400
        assert toy.protocol('fast')['cutoff'] == 100
        with pytest.raises(CalculatorError, match='choose from fast, precise'):
            toy.protocol('moderate')
    finally:
        for name in [name for name in sys.modules if name.startswith('my_engines')]:
            del sys.modules[name]
