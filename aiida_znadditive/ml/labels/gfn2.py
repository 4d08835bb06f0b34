"""The GFN2-xTB engine of the labeller: tblite single points, LBFGS relaxations, Hessians and thermal corrections.

In-process (tblite's Python API and its ASE calculator), so that a worker of the labelling pool computes a molecule
without starting programs; every failure becomes a :class:`~aiida_znadditive.ml.labels.settings.LabelError`.
"""

from __future__ import annotations

import time

import numpy as np
from ase import Atoms
from ase.data import atomic_masses
from ase.units import Bohr, Hartree, kB

from aiida_znadditive.analysis.thermochemistry import (
    Thermo,
    finite_difference_hessian,
    normal_modes,
    rotational_symmetry_number,
    thermochemistry,
)
from aiida_znadditive.ml.labels.settings import LabelError, LabelSettings

# Saddle-point escapes before a structure is given up on, and the largest atomic displacement of each (Å): enough to
# leave a 200i cm⁻¹ saddle, small enough to stay in the binding mode.
SADDLE_ESCAPES = 2
SADDLE_STEP = 0.3


class Deadline:
    """Raises ``LabelError('timeout')`` once ``seconds`` have passed since it was made."""

    def __init__(self, seconds: float, smiles: str) -> None:
        self.end = time.monotonic() + seconds
        self.seconds = seconds
        self.smiles = smiles

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise LabelError('timeout', f'over {self.seconds:g} s', smiles=self.smiles)


def unpaired(numbers: np.ndarray, charge: int) -> int:
    """Unpaired electrons of the lowest spin state: 0 for an even electron count, 1 for an odd one."""
    return int((int(np.sum(numbers)) - charge) % 2)


def api_calculator(numbers, positions, charge: int, settings: LabelSettings, solvent: str | None):
    """A tblite calculator (positions in Å) with the settings' accuracy, smearing and iteration limit."""
    from tblite.interface import Calculator

    calc = Calculator(
        settings.method,
        np.asarray(numbers),
        np.asarray(positions, dtype=float) / Bohr,
        charge=float(charge),
        uhf=unpaired(np.asarray(numbers), charge),
    )
    calc.set('verbosity', 0)
    calc.set('accuracy', settings.accuracy)
    calc.set('temperature', settings.electronic_temperature * kB / Hartree)
    calc.set('max-iter', settings.max_iterations)
    if solvent:
        calc.add('alpb-solvation', solvent)
    return calc


def singlepoint(numbers, positions, charge: int, settings: LabelSettings, solvent: str | None, *, smiles: str):
    try:
        return api_calculator(numbers, positions, charge, settings, solvent).singlepoint()
    except Exception as error:  # tblite raises TBLiteRuntimeError (a RuntimeError) when the SCF does not converge
        raise LabelError('scf_failed', f'{type(error).__name__}: {error}', smiles=smiles) from None


def relax(
    atoms: Atoms,
    charge: int,
    settings: LabelSettings,
    *,
    solvent: str | None,
    deadline: Deadline,
    fmax: float | None = None,
) -> tuple[Atoms, float, bool]:
    """LBFGS relaxation with tblite to ``fmax`` (default: the settings'); the relaxed copy, energy (eV), converged."""
    from ase.calculators.calculator import CalculationFailed, InputError
    from ase.optimize import LBFGS
    from tblite.ase import TBLite

    work = Atoms(numbers=atoms.numbers, positions=atoms.positions)
    work.calc = TBLite(
        method=settings.method,
        charge=charge,
        multiplicity=unpaired(work.numbers, charge) + 1,
        accuracy=settings.accuracy,
        electronic_temperature=settings.electronic_temperature,
        max_iterations=settings.max_iterations,
        solvation=('alpb', solvent) if solvent else None,
        verbosity=0,
    )
    optimiser = LBFGS(work, logfile=None)
    # Checked after every step: the only place a long relaxation hands control back to Python.
    optimiser.attach(deadline.check, interval=1)
    try:
        converged = bool(optimiser.run(fmax=fmax or settings.fmax, steps=settings.max_steps))
        energy = float(work.get_potential_energy())
    except (CalculationFailed, InputError) as error:
        raise LabelError('scf_failed', f'relaxation: {error}', smiles=deadline.smiles) from None
    work.calc = None
    return work, energy, converged


def hessian(atoms: Atoms, charge: int, settings: LabelSettings, *, solvent: str | None, deadline: Deadline):
    """Cartesian Hessian (eV/Å²) by central differences of tblite's analytic gradients, ``hessian_step`` Å apart.

    One calculator is reused, each SCF starting from the previous density: 6N gradients of a 40-atom complex take a
    few seconds.
    """
    calc = api_calculator(atoms.numbers, atoms.positions, charge, settings, solvent)
    state = {'result': None}

    def gradient(positions: np.ndarray) -> np.ndarray:
        deadline.check()
        calc.update(np.asarray(positions, dtype=float) / Bohr)
        try:
            state['result'] = calc.singlepoint(state['result']) if state['result'] is not None else calc.singlepoint()
        except Exception as error:  # an SCF that fails at a displaced geometry
            raise LabelError('scf_failed', f'Hessian: {error}', smiles=deadline.smiles) from None
        return np.asarray(state['result']['gradient']) * Hartree / Bohr

    return finite_difference_hessian(gradient, atoms.positions, step=settings.hessian_step)


def minimum_with_thermo(
    atoms: Atoms, charge: int, settings: LabelSettings, *, solvent: str | None, deadline: Deadline
) -> tuple[Atoms, float, Thermo]:
    """Relax to ``thermo_fmax``, take the Hessian and the quasi-RRHO thermal correction (1 atm ideal gas,
    ``settings.temperature``); (relaxed atoms, energy in eV, :class:`Thermo`).

    The Hessian is taken with the solvent model on, at the geometry relaxed with it: the usual choice for solutes
    whose geometry the solvent changes (ions, zwitterions). A relaxation that stops on a saddle point (pyridine's
    ring eclipsing a water, a hydroxide's proton between two waters: 200-600i cm⁻¹) is pushed down its largest
    imaginary mode by :data:`SADDLE_STEP` Å and relaxed again, up to :data:`SADDLE_ESCAPES` times; what is still a
    saddle after that raises ``ThermoError`` (reason 'imaginary_modes').
    """
    masses = atomic_masses[atoms.numbers]
    relaxed, energy = atoms, None
    for attempt in range(SADDLE_ESCAPES + 1):
        relaxed, energy, _ = relax(
            relaxed, charge, settings, solvent=solvent, deadline=deadline, fmax=settings.thermo_fmax
        )
        if len(relaxed) == 1:  # an ion such as Cl-: no vibrations, nothing to escape from
            frequencies = np.empty(0)
            break
        frequencies, modes = normal_modes(
            hessian(relaxed, charge, settings, solvent=solvent, deadline=deadline), masses, relaxed.positions
        )
        if frequencies[0] >= -settings.max_imaginary_cm or attempt == SADDLE_ESCAPES:
            break
        step = modes[:, 0].reshape(-1, 3)
        relaxed = relaxed.copy()
        relaxed.positions += SADDLE_STEP * step / np.max(np.linalg.norm(step, axis=1))
    thermo = thermochemistry(
        frequencies,
        masses,
        relaxed.positions,
        temperature=settings.temperature,
        symmetry_number=rotational_symmetry_number(relaxed.get_chemical_symbols(), relaxed.positions),
        spin_multiplicity=unpaired(relaxed.numbers, charge) + 1,
        scheme='qrrho',
        rotor_cutoff_cm=settings.rotor_cutoff_cm,
        max_imaginary_cm=settings.max_imaginary_cm,
    )
    return relaxed, energy, thermo
