"""Test helpers for packages that plug into aiida-znadditive: the calculator conformance suite as a pytest plugin.

A package with its own calculator adapter runs the promises every WorkChain relies on against its adapter, with its
own codes, by naming this module as a plugin in its ``conftest.py`` and subclassing the suite::

    # conftest.py
    pytest_plugins = ['aiida_znadditive.testing']

    # test_my_calculator.py
    import pytest
    from aiida_znadditive.testing import CalculatorConformance

    class TestMyCalculator(CalculatorConformance):
        @pytest.fixture
        def calculator(self, aiida_localhost):
            return 'my_engine', my_code_or_None

The plugin loads aiida-core's own fixtures (``aiida.tools.pytest_fixtures``: a temporary profile, ``aiida_localhost``),
so the package needs no AiiDA profile of its own.
"""

from .conformance import CalculatorConformance, water

pytest_plugins = ['aiida.tools.pytest_fixtures']

__all__ = ['CalculatorConformance', 'water']
