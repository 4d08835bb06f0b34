"""The calculator conformance suite: what every WorkChain of aiida-znadditive relies on, checked on one adapter.

:class:`CalculatorConformance` holds the tests; a subclass provides the fixture ``calculator`` that returns the
adapter's entry-point name and its code (None for an engine that needs no code). The tests run the adapter with its
real engine through :class:`~aiida_znadditive.workchains.calculator.CalculatorWorkChain`, the door every WorkChain
uses, on water and fluoride: a finite energy in eV (checked by the size of a bond stretch, not just its sign), the
structure returned, a relaxation that reports the energy of the structure it returns, a single ion that "relaxes" as
its single point, frequencies in cm⁻¹ at a minimum, the interface's exit codes for a task it cannot do, and a code
check before anything runs. This repository runs the same class over every registered calculator
(``tests/calculators/test_conformance.py``), and its third-party package test runs it on an adapter installed from a
temporary folder.
"""

from __future__ import annotations

import math
from typing import ClassVar

import pytest
from aiida import orm
from aiida.engine import run_get_node
from ase import Atoms

from ..calculators.base import PROTOCOLS, TASKS, CalculatorError, load_calculator
from ..workchains.calculator import CalculatorWorkChain


def water(r_oh: float) -> orm.StructureData:
    """Water with both O-H bonds ``r_oh`` Å long, angle 104.52°, in a 10 Å box."""
    y, z = r_oh * math.sin(math.radians(52.26)), r_oh * math.cos(math.radians(52.26))
    return orm.StructureData(ase=Atoms('OH2', positions=[[0, 0, 0], [0, y, z], [0, -y, z]], cell=[10, 10, 10]))


def run_task(name: str, code: orm.AbstractCode | None, structure: orm.StructureData, **kwargs):
    """Run one task of calculator ``name`` through ``CalculatorWorkChain``; ``kwargs`` are further inputs as Python
    values (int -> Int, str -> Str) or nodes."""
    inputs = {'calculator': orm.Str(name), 'structure': structure, 'protocol': orm.Str('fast')}
    if code is not None:
        inputs['code'] = code
    inputs.update(
        {
            key: (v if isinstance(v, orm.Data) else orm.Int(v) if isinstance(v, int) else orm.Str(v))
            for key, v in kwargs.items()
        }
    )
    return run_get_node(CalculatorWorkChain, **inputs)


class CalculatorConformance:
    """The suite; subclass it and provide the fixture ``calculator`` -> ``(entry-point name, code or None)``."""

    #: calculator name -> ``settings`` for the relaxation tests, where the energy a relaxation reports is read by the
    #: same code at every level of theory, so a cheaper method of the same engine tests it as well
    relax_settings: ClassVar[dict[str, dict]] = {}
    #: calculator name -> ``settings`` for the energy-unit test: it checks the unit by the size of a bond stretch, so
    #: a smaller box or grid of the same method answers it as well as the protocol's
    energy_settings: ClassVar[dict[str, dict]] = {}

    @pytest.fixture
    def calculator(self):
        pytest.fail('a CalculatorConformance subclass must provide the fixture `calculator`: (name, code or None)')

    @pytest.fixture(autouse=True)
    def _profile(self, aiida_profile):
        """Every test needs the temporary profile of aiida-core's fixtures."""
        return aiida_profile

    def _settings(self, name: str, table: dict[str, dict] | None = None) -> dict:
        settings = (self.relax_settings if table is None else table).get(name)
        return {'settings': orm.Dict(settings)} if settings else {}

    def test_energy_in_ev_and_structure_returned(self, calculator):
        """Stretching both O-H bonds of water by 0.1 Å costs 0.3-0.7 eV (O-H force constant ~7.8 mdyn/Å,
        anharmonic). The same number in Hartree would be ~0.015 and in kcal/mol ~10: the window checks the unit."""
        name, code = calculator
        energies = []
        for r_oh in (0.9572, 1.0572):
            results, node = run_task(name, code, water(r_oh), **self._settings(name, self.energy_settings))
            assert node.is_finished_ok, node.exit_message
            assert math.isfinite(results['energy'].value)
            assert len(results['structure'].sites) == 3
            energies.append(results['energy'].value)
        assert 0.3 < energies[1] - energies[0] < 0.7, energies

    def test_a_relaxation_reports_the_energy_of_its_relaxed_structure(self, calculator):
        """The energy a relaxation returns is the single point of the structure it returns, not of the one it
        started from. Water with both O-H bonds 0.05 Å too long relaxes 0.05-0.2 eV downhill (2 x ½k(0.05 Å)² ≈
        0.12 eV with k ~7.8 mdyn/Å)."""
        name, code = calculator
        if 'relax' not in load_calculator(name).tasks:
            pytest.skip(f'{name} does not relax')
        settings = self._settings(name)
        stretched, _ = run_task(name, code, water(1.0072), **settings)
        relaxed, node = run_task(name, code, water(1.0072), task='relax', **settings)
        assert node.is_finished_ok, node.exit_message
        again, _ = run_task(name, code, relaxed['structure'], **settings)
        assert relaxed['energy'].value == pytest.approx(again['energy'].value, abs=2e-3)
        assert 0.05 < stretched['energy'].value - relaxed['energy'].value < 0.2

    def test_a_single_ion_relaxes_as_its_single_point(self, calculator):
        """A halide (F-, a ligand of the calibration table) has no geometry to optimise; its relaxation ends as its
        single point, with the structure returned unchanged, not as an optimiser's failure."""
        name, code = calculator
        if 'relax' not in load_calculator(name).tasks:
            pytest.skip(f'{name} does not relax')
        fluoride = orm.StructureData(ase=Atoms('F', positions=[[5.0, 5.0, 5.0]], cell=[10, 10, 10]))
        results, node = run_task(name, code, fluoride, task='relax', charge=-1)
        assert node.is_finished_ok, node.exit_message
        assert math.isfinite(results['energy'].value)
        assert results['structure'].get_ase().get_positions().tolist() == [[pytest.approx(5.0, abs=1e-6)] * 3]

    def test_frequencies_in_wavenumbers_at_a_minimum(self, calculator):
        """A calculator that declares `frequencies` relaxes first and returns water's 3 vibrations in cm⁻¹: the
        bend above 1000 and the stretches below 4200 (in eV they would be below 0.5, in Hartree far below 1)."""
        name, code = calculator
        if 'frequencies' not in load_calculator(name).tasks:
            pytest.skip(f'{name} computes no frequencies')
        results, node = run_task(name, code, water(1.0572), task='frequencies')
        assert node.is_finished_ok, node.exit_message
        frequencies = results['frequencies'].get_array('frequencies')
        assert len(frequencies) == 3
        assert 1000 < frequencies[0] < 2000 and 3000 < frequencies[1] <= frequencies[2] < 4200
        stretched, relaxed = water(1.0572).get_ase(), results['structure'].get_ase()
        assert relaxed.get_distance(0, 1) < stretched.get_distance(0, 1) - 0.05

    @pytest.mark.parametrize(
        ('kwargs', 'exit_status'),
        [({'multiplicity': 2}, 204), ({'task': 'md'}, 202), ({'charge': 20}, 205), ({'solvent': 'mercury'}, 206)],
    )
    def test_bad_input_gives_exit_code(self, calculator, kwargs, exit_status):
        """Each impossible request ends with the interface's exit code before the engine runs."""
        name, code = calculator
        if kwargs.get('task') == 'md' and 'md' in load_calculator(name).tasks:
            pytest.skip(f'{name} does MD')
        _, node = run_task(name, code, water(0.9572), **kwargs)
        assert node.exit_status == exit_status, node.exit_message
        assert node.exit_message
        assert not node.called  # rejected before anything ran

    def test_tasks_and_protocols_declared(self, calculator):
        """Only the interface's tasks; every protocol resolves (a protocol file next to the adapter, or its own)."""
        name, _ = calculator
        adapter = load_calculator(name)
        assert set(adapter.tasks) <= set(TASKS)
        for protocol in PROTOCOLS:
            assert adapter.protocol(protocol)

    def test_parent_folder_only_where_the_engine_restarts(self, calculator, aiida_localhost):
        name, _ = calculator
        adapter = load_calculator(name)
        folder = orm.RemoteData(computer=aiida_localhost, remote_path='/tmp')
        if adapter.restarts:
            adapter.check_parent_folder(folder)
        else:
            with pytest.raises(CalculatorError, match='does not continue') as error:
                adapter.check_parent_folder(folder)
            assert error.value.reason == 'unsupported_restart'
        adapter.check_parent_folder(None)

    def test_the_code_is_checked_before_anything_runs(self, calculator, aiida_localhost):
        """An engine that needs a code ends with exit 241 without one; one that needs none refuses a code (it would
        be named in the provenance but never run) with exit 200."""
        name, code = calculator
        adapter = load_calculator(name)
        if adapter.requires_code:
            assert code is not None, f'{name} needs a code: the `calculator` fixture must give one'
            _, node = run_task(name, None, water(0.9572))
            assert node.exit_status == CalculatorWorkChain.exit_codes.ERROR_MISSING_CODE.status == 241
        else:
            stray = orm.InstalledCode(
                computer=aiida_localhost, filepath_executable='/bin/true', label=f'{name}-stray'
            ).store()
            _, node = run_task(name, stray, water(0.9572))
            assert node.exit_status == CalculatorWorkChain.exit_codes.ERROR_INCOMPATIBLE_CODE.status == 200
        assert name in node.exit_message
        assert not node.called
