"""Both engines of this package against aiida-znadditive's calculator conformance suite."""

import pytest

from aiida_znadditive.testing import CalculatorConformance


class TestTbliteAse(CalculatorConformance):
    @pytest.fixture
    def calculator(self):
        return 'tblite_ase', None  # runs in the AiiDA process: no code


class TestXtbSinglePoint(CalculatorConformance):
    @pytest.fixture
    def calculator(self, xtb_code):
        return 'xtb_sp', xtb_code
