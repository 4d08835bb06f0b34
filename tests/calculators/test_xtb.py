"""Real xtb 6.5 runs through ``XtbCalculation`` on the project's xtb code, checked against known GFN-xTB numbers.

Reference numbers were measured by running the Debian xtb 6.5.1 binary by hand on the same geometries.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node
from aiida.plugins import CalculationFactory
from ase import Atoms
from ase.units import Hartree

from aiida_znadditive.analysis.geometry import first_shell
from aiida_znadditive.structures.zinc_aqua import zn_aqua_atoms

pytestmark = pytest.mark.integration

XtbCalculation = CalculationFactory('znadditive.xtb')

# Water at its experimental gas-phase geometry (r = 0.9572 Å, angle 104.52°), O at the origin.
WATER = Atoms('OH2', positions=[[0, 0, 0], [0, 0.7572, 0.5865], [0, -0.7572, 0.5865]])
# Stretched (O-H 1.14 and 1.03 Å) and opened up: several optimisation steps from the minimum, 23 mEh above it.
DISTORTED_WATER = Atoms('OH2', positions=[[0, 0, 0], [0, 0.9, 0.7], [0, -0.85, 0.6]])
# GFN2-xTB total energy of water at the experimental geometry (xtb 6.5.1 --gfn 2): -5.070371 Eh.
WATER_GFN2_ENERGY = -5.0704 * Hartree
ENERGY_TOLERANCE = 1e-3 * Hartree


@pytest.fixture
def xtb_code(znadditive_codes):
    return znadditive_codes['xtb']


def molecule(atoms: Atoms, box: float = 15.0) -> orm.StructureData:
    """A non-periodic StructureData of ``atoms`` centred in a cubic box of ``box`` Å (the box only travels along)."""
    atoms = atoms.copy()
    atoms.set_cell([box] * 3)
    atoms.center()
    atoms.pbc = False
    return orm.StructureData(ase=atoms)


def builder_for(code, structure: orm.StructureData, **parameters):
    builder = XtbCalculation.get_builder()
    builder.code = code
    builder.structure = structure
    builder.parameters = orm.Dict(parameters)
    builder.metadata.options.max_wallclock_seconds = 300
    return builder


def run_xtb(code, structure: orm.StructureData, **parameters):
    _, node = run_get_node(builder_for(code, structure, **parameters))
    return node


def oh_geometry(atoms: Atoms) -> tuple[float, float, float]:
    """Both O-H distances (Å) and the H-O-H angle (degrees) of a water with O first."""
    return atoms.get_distance(0, 1), atoms.get_distance(0, 2), atoms.get_angle(1, 0, 2)


def test_water_gfn2_single_point(xtb_code):
    """GFN2 water: -5.0704 Eh, HOMO-LUMO gap 14.6 eV, dipole 2.27 D (GFN2 overshoots the experimental 1.85 D)."""
    node = run_xtb(xtb_code, molecule(WATER))
    assert node.is_finished_ok, node.exit_message
    results = node.outputs.parameters.get_dict()
    assert results['total_energy_units'] == 'eV'
    assert results['total_energy'] == pytest.approx(WATER_GFN2_ENERGY, abs=ENERGY_TOLERANCE)
    assert results['homo'] < 0 < results['gap']
    assert results['gap'] == pytest.approx(results['lumo'] - results['homo'])
    assert 12.0 < results['gap'] < 17.0
    assert 2.0 < results['dipole_moment'] < 2.6
    charges = results['partial_charges']
    assert sum(charges) == pytest.approx(0.0, abs=1e-6)
    assert charges[0] < -0.4  # oxygen
    assert results['method'] == 'gfn2'
    assert results['solvent'] is None
    assert results['xtb_version'].startswith('6.')
    assert results['wall_time'] >= 0
    assert results['converged_geometry'] is None
    assert 'structure' not in node.outputs
    # `verdi calcjob res` prints the default output node
    from aiida.cmdline.commands.cmd_calcjob import calcjob_res
    from click.testing import CliRunner

    printed = CliRunner().invoke(calcjob_res, [str(node.pk)])
    assert printed.exit_code == 0, printed.output
    assert '"total_energy"' in printed.output


def test_water_gfnff_single_point(xtb_code):
    """GFN-FF writes no JSON: the energy (-0.3273 Eh) comes from the stdout, and there are no orbitals."""
    node = run_xtb(xtb_code, molecule(WATER), method='gfnff')
    assert node.is_finished_ok, node.exit_message
    results = node.outputs.parameters.get_dict()
    assert results['total_energy'] == pytest.approx(-0.3273 * Hartree, abs=ENERGY_TOLERANCE)
    assert results['homo'] is None
    assert len(results['partial_charges']) == 3


def test_water_gfn2_relax(xtb_code):
    """From a distorted start GFN2 finds O-H 0.959 Å and 107.2° (experiment 0.957 Å, 104.5°), 23 mEh lower."""
    start = molecule(DISTORTED_WATER)
    single_point = run_xtb(xtb_code, start)
    relax = run_xtb(xtb_code, start, task='relax', opt_level='tight')
    assert relax.is_finished_ok, relax.exit_message
    results = relax.outputs.parameters.get_dict()
    assert results['converged_geometry'] is True
    assert results['total_energy'] < single_point.outputs.parameters['total_energy']
    assert results['total_energy'] == pytest.approx(-5.0705 * Hartree, abs=ENERGY_TOLERANCE)

    structure = relax.outputs.structure
    first, second, angle = oh_geometry(structure.get_ase())
    assert 0.95 < first < 0.97
    assert second == pytest.approx(first, abs=1e-3)
    assert 103.0 < angle < 108.0
    assert structure.cell == start.cell
    assert structure.pbc == start.pbc

    energies = relax.outputs.trajectory.get_array('energies')
    assert energies[0] == pytest.approx(single_point.outputs.parameters['total_energy'], abs=1e-4)
    assert energies[-1] < energies[0]


def test_zn_hexaaqua_relax_in_water(xtb_code):
    """[Zn(H2O)6]2+ in ALPB water stays octahedral with six Zn-O at 1.99 Å (GFN2; experiment in water 2.09 Å).

    Energy -30.5576 Eh (xtb 6.5.1 --gfn 2 --chrg 2 --alpb water --opt from the 2.09 Å start).
    """
    node = run_xtb(xtb_code, molecule(zn_aqua_atoms(2.09), box=20.0), charge=2, task='relax', solvent='water')
    assert node.is_finished_ok, node.exit_message
    results = node.outputs.parameters.get_dict()
    assert results['solvent'] == 'water'
    assert results['total_energy'] == pytest.approx(-30.5576 * Hartree, abs=ENERGY_TOLERANCE)
    # Centrosymmetric: no dipole about the centre of mass, wherever the box puts the ion.
    assert results['dipole_moment'] < 0.1
    atoms = node.outputs.structure.get_ase()
    shell = first_shell(atoms.get_positions(), atoms.get_chemical_symbols(), cutoff=2.6)
    distances = [distance for _, distance in shell]
    assert len(distances) == 6
    assert all(1.9 < distance < 2.1 for distance in distances)
    assert np.mean(distances) == pytest.approx(1.99, abs=0.02)


def test_validator_rejects_impossible_multiplicity(xtb_code):
    """Water has 10 electrons: a doublet is impossible, a triplet is fine."""
    with pytest.raises(ValueError, match='parity of the electron count: 10 electrons'):
        run_get_node(builder_for(xtb_code, molecule(WATER), multiplicity=2))
    inputs = {'structure': molecule(WATER), 'parameters': orm.Dict({'multiplicity': 3})}
    assert XtbCalculation.validate_inputs(inputs, None) is None
    inputs['parameters'] = orm.Dict({'charge': 1, 'multiplicity': 2})
    assert XtbCalculation.validate_inputs(inputs, None) is None


@pytest.mark.parametrize(
    ('parameters', 'message'),
    [
        ({'functional': 'b3lyp'}, 'Unknown xtb parameter.*functional'),
        ({'method': 'gfn3'}, 'Unknown method `gfn3`'),
        ({'task': 'md'}, 'Unknown task `md`'),
        ({'opt_level': 'ultra'}, 'Unknown opt_level `ultra`'),
        ({'multiplicity': 0}, 'multiplicity must be an integer >= 1'),
    ],
)
def test_validator_rejects_bad_parameters(xtb_code, parameters, message):
    with pytest.raises(ValueError, match=message):
        run_get_node(builder_for(xtb_code, molecule(WATER), **parameters))


def test_geometry_not_converged_keeps_last_structure(xtb_code):
    """One optimisation cycle cannot converge a distorted water: exit 320, and the last geometry restarts it."""
    start = molecule(DISTORTED_WATER)
    node = run_xtb(xtb_code, start, task='relax', max_opt_cycles=1)
    assert node.exit_status == XtbCalculation.exit_codes.ERROR_GEOMETRY_NOT_CONVERGED.status
    assert node.outputs.parameters['converged_geometry'] is False
    moved = node.outputs.structure
    assert not np.allclose(moved.get_ase().positions, start.get_ase().positions)

    restart = run_xtb(xtb_code, moved, task='relax')
    assert restart.is_finished_ok, restart.exit_message
    assert restart.outputs.parameters['total_energy'] < node.outputs.parameters['total_energy']


def test_scc_not_converged(xtb_code):
    """xtb 6.5 stops (exit code 1, `.sccnotconverged`) when the SCC has not converged in one iteration."""
    node = run_xtb(xtb_code, molecule(WATER), max_iterations=1)
    assert node.exit_status == XtbCalculation.exit_codes.ERROR_SCF_NOT_CONVERGED.status


def test_unknown_solvent_aborts_with_xtb_message(xtb_code):
    """xtb checks the solvent name itself; its error reaches the exit message."""
    node = run_xtb(xtb_code, molecule(WATER), solvent='unobtainium')
    assert node.exit_status == XtbCalculation.exit_codes.ERROR_XTB_ABORTED.status
    assert "solvent: 'unobtainium' is not parametrized" in node.exit_message


# Water's fundamentals in the gas phase, cm⁻¹ (Shimanouchi, Tables of Molecular Vibrational Frequencies, NSRDS-NBS 39,
# 1972: bend 1595, symmetric stretch 3657, antisymmetric stretch 3756).
WATER_FUNDAMENTALS = (1595.0, 3657.0, 3756.0)


def test_water_frequencies_against_experiment_and_xtb_thermo(xtb_code):
    """A frequency task relaxes (--ohess tight) and gives 3N-6 = 3 wavenumbers, each within 5 % of the measured
    fundamentals (GFN2: 1540, 3644, 3653); the package's RRHO correction of them agrees with xtb's own to 1 meV."""
    from aiida_znadditive.analysis.free_energy import thermal_correction

    node = run_xtb(xtb_code, molecule(DISTORTED_WATER), task='frequencies', opt_level='tight')
    assert node.is_finished_ok, node.exit_message
    assert node.outputs.parameters['converged_geometry'] is True
    frequencies = node.outputs.frequencies.get_array('frequencies')
    assert len(frequencies) == 3
    for computed, measured in zip(frequencies, WATER_FUNDAMENTALS, strict=True):
        assert computed == pytest.approx(measured, rel=0.05)
    # Relaxed first: the distorted start is 23 mEh above the minimum the Hessian is taken at.
    assert node.outputs.parameters['total_energy'] == pytest.approx(-5.0705 * Hartree, abs=ENERGY_TOLERANCE)
    # No mode of water is below xtb's 50 or the package's 100 cm⁻¹ rotor cut-off, so both schemes are plain RRHO here.
    thermo = thermal_correction(node.outputs.frequencies, node.outputs.structure, orm.Dict({'scheme': 'qrrho'}))
    assert thermo['symmetry_number'] == 2
    assert thermo['gibbs_correction'] == pytest.approx(node.outputs.parameters['xtb_rrho_correction'], abs=1e-3)


def test_chloride_frequencies_are_empty(xtb_code):
    """An atom has no vibrations: the frequency task still succeeds, with an empty array."""
    node = run_xtb(xtb_code, molecule(Atoms('Cl')), task='frequencies', charge=-1, solvent='water')
    assert node.is_finished_ok, node.exit_message
    assert node.outputs.frequencies.get_array('frequencies').shape == (0,)


def test_a_hessian_at_a_saddle_point_is_redone_from_the_displaced_structure(xtb_code):
    """[ZnF(H2O)5]+ from the fluoride calibration run: `--ohess tight` ends on a saddle point of water rotations (modes
    of -159 and -136 cm⁻¹, so no free energy). The XtbRestartWorkChain behind every frequency task optimises again from
    xtb's structure displaced along those modes (`xtbhess.xyz`) and reaches a minimum with every mode real."""
    from ase.io import read

    from aiida_znadditive.calculators.base import Task
    from aiida_znadditive.calculators.xtb.restart import IMAGINARY_RESTART_CM
    from aiida_znadditive.workchains.calculator import CalculatorWorkChain, calculator_inputs

    atoms = read(Path(__file__).parent / 'data' / 'zn_fluoride_pentaaqua_saddle.xyz')
    task = Task(kind='frequencies', charge=1, protocol='fast', solvent='water')
    results, node = run_get_node(CalculatorWorkChain, **calculator_inputs('xtb', xtb_code, molecule(atoms), task))
    assert node.is_finished_ok, node.exit_message
    restart = next(child for child in node.called if child.process_label == 'XtbRestartWorkChain')
    runs = [child for child in restart.called if child.process_label == 'XtbCalculation']
    first = runs[0].outputs.frequencies.get_array('frequencies')
    assert first.min() < -100  # the saddle point the first Hessian found
    assert 'displaced_structure' in runs[0].outputs
    assert len(runs) >= 2 and runs[1].inputs.structure.uuid == runs[0].outputs.displaced_structure.uuid
    assert results['frequencies'].get_array('frequencies').min() > -IMAGINARY_RESTART_CM
