"""Zn2+ exchange energies and free energies of a ligand at the cheap level: GFN2-xTB in ALPB water, every mode.

The reaction is the exchange of n waters of the hexaaqua ion for the ligand's n donors,

    [Zn(H2O)6]2+ + L  ->  [Zn(H2O)6-n(L)]2+q + n H2O

- ``ΔE`` = E(complex) + n E(H2O) - E(hexaaqua) - E(L): ALPB energies of structures relaxed in ALPB water (the
  definition of :func:`aiida_znadditive.analysis.energies.exchange_energy_value`).
- ``ΔG`` = ΔE + ΔG_therm + (n - 1) RT ln(24.46) + (n - w) RT ln(55.34), the cluster-continuum free energy of
  Bryantsev, Diallo and Goddard (J. Phys. Chem. B 2008, 112, 9709):

  - ΔG_therm: the species' quasi-RRHO thermal corrections (Grimme's entropy, Head-Gordon's enthalpy; 100 cm⁻¹;
    :mod:`aiida_znadditive.analysis.thermochemistry`) from GFN2 Hessians in ALPB water, 1 atm, 298.15 K;
  - RT ln(24.46) per species from 1 atm to 1 mol/L: the reaction makes 1 + n species from 2;
  - RT ln(55.34) per water: the released waters are the solvent at 55.34 mol/L, not solutes at 1 M. A stability
    constant K1 = [ZnL]/([Zn][L]) leaves water's activity out, so this is the term that makes ΔG comparable with
    -RT ln K1. ``w`` = 1 when the ligand is itself water, which is then solvent on both sides: water's ΔG is 0.

  So chelation gains what it should: each water a ligand releases adds its translational and rotational entropy
  (through ΔG_therm), corrected from the gas to the liquid.

Which modes: every mode that :func:`~aiida_znadditive.structures.chelates.place_binding_mode` can place is relaxed
from ``starts`` starting complexes (the lowest start that passes its checks counts); each relaxed complex passes
:func:`~aiida_znadditive.structures.quality.check_complex` or is dropped with its problems (a proton that moved, a
donor that left, a water that drifted off). ``ΔE`` is the lowest over the passing modes; for ``ΔG`` the lowest-ΔE
passing mode of each denticity is relaxed further (``thermo_fmax``) and gets a Hessian (the denticities differ most
in the waters they release, the modes of one denticity mostly in ΔE), and the lowest ΔG wins.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cache

from ase import Atoms
from rdkit import Chem

from aiida_znadditive.analysis.calibration import Calibration
from aiida_znadditive.analysis.calibration import shipped_calibration as load_shipped_calibration
from aiida_znadditive.analysis.energies import exchange_energy_value
from aiida_znadditive.analysis.thermochemistry import ThermoError, exchange_standard_state
from aiida_znadditive.ml.labels.gfn2 import Deadline, minimum_with_thermo, relax
from aiida_znadditive.ml.labels.settings import LabelSettings
from aiida_znadditive.structures.chelates import all_binding_modes, starting_complexes
from aiida_znadditive.structures.ligands import find_donors, net_charge
from aiida_znadditive.structures.quality import check_complex, check_ligand
from aiida_znadditive.structures.zinc_aqua import ZN_O_EXPERIMENT, zn_aqua_atoms

# Same water start as structures.candidates.WATER_GEOMETRY (experimental gas-phase geometry); copied so that this
# module does not import AiiDA's calcfunction machinery in every worker process.
WATER_POSITIONS = ((0.0, 0.0, 0.0), (0.0, 0.7572, 0.5865), (0.0, -0.7572, 0.5865))


@cache
def shipped_calibration() -> dict:
    """The calibration of ΔG against measured stability constants that ships with the package for the labeller's
    level (see :mod:`aiida_znadditive.ml.shipped`)."""
    return load_shipped_calibration('gfn2_xtb')


def calibrated(delta_g: float, denticity: int, charge: int, settings: LabelSettings) -> float | None:
    """ΔG calibrated with the shipped fit, or None when ``settings`` are not those it was fitted for (the pH aside:
    the fit is for given species, and the pH only decides which species that is)."""
    calibration = shipped_calibration()
    if dataclasses.replace(settings, ph=None).source_version != calibration['settings']:
        return None
    return Calibration.from_dict(calibration).apply(delta_g, charge, denticity)


@dataclass(frozen=True)
class Species:
    """A relaxed species: ALPB energy (eV), its thermal correction (eV; None when free energies are off)."""

    atoms: Atoms
    energy: float
    thermal: float | None


@dataclass(frozen=True)
class ModeResult:
    """One binding mode: ΔE, ΔG (eV; None where not computed) and the QC problems that dropped it (empty: kept)."""

    label: str
    denticity: int
    delta_e: float | None
    delta_g: float | None = None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class BindingResult:
    """All modes of one ligand; ``best`` is the mode of the lowest ΔG (or ΔE without free energies)."""

    modes: tuple[ModeResult, ...]
    note: str = ''
    best: ModeResult | None = field(default=None)

    def row(self) -> dict:
        """The label columns: ``zn_exchange_energy_ev`` (lowest ΔE), ``zn_exchange_free_energy_ev`` (ΔG of the best
        mode), ``zn_binding_mode``, ``zn_denticity``, ``zn_modes_rejected`` and ``zn_binding_note``."""
        passing = [mode for mode in self.modes if not mode.problems and mode.delta_e is not None]
        rejected = [mode for mode in self.modes if mode.problems]
        notes = [self.note] if self.note else []
        notes += [f'{mode.label}: {"; ".join(mode.problems)}' for mode in rejected]
        return {
            'zn_exchange_energy_ev': min((mode.delta_e for mode in passing), default=None),
            'zn_exchange_free_energy_ev': None if self.best is None else self.best.delta_g,
            'zn_binding_mode': None if self.best is None else self.best.label,
            'zn_denticity': None if self.best is None else self.best.denticity,
            'zn_modes_rejected': len(rejected),
            'zn_binding_note': ' | '.join(notes) or None,
        }


def _species(atoms: Atoms, charge: int, settings: LabelSettings, deadline: Deadline) -> Species:
    relaxed, energy, _ = relax(atoms, charge, settings, solvent=settings.solvent, deadline=deadline)
    if not settings.free_energy:
        return Species(relaxed, energy, None)
    relaxed, energy, thermo = minimum_with_thermo(
        relaxed, charge, settings, solvent=settings.solvent, deadline=deadline
    )
    return Species(relaxed, energy, thermo.gibbs_correction)


@cache
def references(settings: LabelSettings) -> tuple[Species, Species]:
    """[Zn(H2O)6]2+ and H2O relaxed (and their thermal corrections) in the settings' solvent, once per process."""
    deadline = Deadline(float('inf'), 'reference')
    hexaaqua = _species(zn_aqua_atoms(ZN_O_EXPERIMENT), 2, settings, deadline)
    water = _species(Atoms('OH2', positions=WATER_POSITIONS), 0, settings, deadline)
    return hexaaqua, water


def is_water(mol: Chem.Mol) -> bool:
    """Whether the ligand is a neutral water molecule."""
    return Chem.MolToSmiles(Chem.RemoveHs(mol)) == 'O'


def exchange_free_energy(
    complex_: Species,
    ligand: Species,
    references_: tuple[Species, Species],
    displaced: int,
    *,
    temperature: float,
    water_ligand: bool,
) -> float:
    """ΔG of the exchange (eV) from the four species' energies and thermal corrections (module docstring)."""
    hexaaqua, water = references_
    thermal = complex_.thermal + displaced * water.thermal - hexaaqua.thermal - ligand.thermal
    delta_e = exchange_energy_value(complex_.energy, ligand.energy, hexaaqua.energy, water.energy, displaced)
    return delta_e + thermal + exchange_standard_state(displaced, temperature, ligand_is_water=water_ligand)


def _water(settings: LabelSettings) -> BindingResult:
    """Water replacing a water: the complex is the hexaaqua ion itself, so ΔE and ΔG are 0 by definition (relaxing a
    separately built [Zn(H2O)5(H2O)]2+ would find another of its flat minima, 0.03 eV away)."""
    mode = ModeResult('monodentate water O(0)', 1, 0.0, 0.0 if settings.free_energy else None)
    return BindingResult((mode,), best=mode)


def _free_ligand(mol: Chem.Mol, starts: list[Atoms], settings: LabelSettings, deadline: Deadline):
    """The lowest of the ligand's starts relaxed in the solvent that is still the species built; (species, problems of
    the lowest start when none passes). A zwitterion such as glycine's is no minimum in the gas phase (its proton
    returns to the carboxylate), so the gas-phase geometry is not enough of a start: the force-field conformers are
    tried too."""
    charge = net_charge(mol)
    relaxed = (_species(start, charge, settings, deadline) for start in starts)
    return _lowest_passing([(species, _check_ligand(mol, species.atoms)) for species in relaxed])


def _lowest_passing(candidates: list[tuple[Species, tuple[str, ...]]]) -> tuple[Species, tuple[str, ...]]:
    """The lowest-energy (species, problems) among those without problems; when none passes, the lowest one, whose
    problems are then reported."""
    return min(candidates, key=lambda candidate: (bool(candidate[1]), candidate[0].energy))


def _place(mol, conformers, donors, settings: LabelSettings, modes: dict) -> list:
    """(mode, starting complexes) of every mode that can be placed; the others go to ``modes`` with the reason."""
    placed = []
    for mode in all_binding_modes(mol, conformers, donors, max_denticity=settings.max_denticity):
        try:
            starts = starting_complexes(mol, conformers, mode, zn_donor=settings.zn_donor, starts=settings.starts)
        except ValueError as error:  # too bulky for this mode: the WorkChain drops it too
            modes[mode.label] = ModeResult(mode.label, mode.denticity, None, problems=(f'not placed: {error}',))
            continue
        placed.append((mode, starts))
    return placed


def zn_exchange(
    mol: Chem.Mol, conformers: list[Atoms], ligand: Atoms, settings: LabelSettings, deadline: Deadline
) -> BindingResult | None:
    """Every placeable binding mode of ``mol`` relaxed, checked and ranked (module docstring); None without a donor.

    :param conformers: the ligand's ETKDG conformers (the rigid placements start from them).
    :param ligand: the ligand's relaxed gas-phase geometry, in the atom order of ``mol``.
    """
    donors = find_donors(mol)
    if not donors:
        return None
    if is_water(mol):
        return _water(settings)
    modes: dict[str, ModeResult] = {}
    placed = _place(mol, conformers, donors, settings, modes)
    if not placed:
        return BindingResult(tuple(modes.values()), note='no binding mode could be placed')

    # Energies first, without Hessians: every mode is relaxed and checked, and only the survivors get thermal terms.
    electronic = dataclasses.replace(settings, free_energy=False)
    free_ligand, problems = _free_ligand(mol, [ligand, *conformers], electronic, deadline)
    if problems:
        return BindingResult(tuple(modes.values()), note=f'free ligand changed on relaxation: {problems[0]}')
    relaxed = _relax_modes(mol, placed, free_ligand, modes, settings=electronic, deadline=deadline)
    if not relaxed:
        return BindingResult(tuple(modes.values()), note='every relaxed mode failed its quality checks')
    return _free_energies(mol, relaxed, free_ligand, modes, settings=settings, deadline=deadline)


def _check_ligand(mol: Chem.Mol, atoms: Atoms) -> tuple[str, ...]:
    return tuple(map(str, check_ligand(atoms, mol)))


def _check(mol: Chem.Mol, mode, atoms: Atoms) -> tuple[str, ...]:
    """The quality problems of a relaxed complex of ``mode`` (built as Zn, its 6 - n waters, then the ligand)."""
    offset = 1 + 3 * (6 - mode.denticity)
    return tuple(map(str, check_complex(atoms, mol, offset, [offset + index for index in mode.donors])))


def _relax_modes(mol, placed, free_ligand: Species, modes: dict, *, settings: LabelSettings, deadline: Deadline):
    """(ΔE, mode, relaxed complex) of the placed modes that pass their quality checks, lowest ΔE first; every mode's
    result goes to ``modes``."""
    charge = net_charge(mol)
    hexaaqua, water = references(settings)
    relaxed = []
    for mode, starts in placed:
        complexes = (_species(geometry.atoms, 2 + charge, settings, deadline) for geometry in starts)
        complex_, problems = _lowest_passing([(species, _check(mol, mode, species.atoms)) for species in complexes])
        delta_e = exchange_energy_value(
            complex_.energy, free_ligand.energy, hexaaqua.energy, water.energy, mode.denticity
        )
        modes[mode.label] = ModeResult(mode.label, mode.denticity, delta_e, problems=problems)
        if not problems:
            relaxed.append((delta_e, mode, complex_))
    return sorted(relaxed, key=lambda entry: entry[0])


def _free_energies(mol, relaxed, free_ligand: Species, modes: dict, *, settings: LabelSettings, deadline: Deadline):
    """ΔG of the lowest-ΔE mode of each denticity (module docstring); ``modes`` is updated in place. Without free
    energies, the lowest-ΔE mode is the best."""
    if not settings.free_energy:
        return BindingResult(tuple(modes.values()), best=modes[relaxed[0][1].label])
    charge = net_charge(mol)
    try:
        ligand_thermo = _species(free_ligand.atoms, charge, settings, deadline)
    except ThermoError as error:
        return BindingResult(tuple(modes.values()), note=f'free ligand: {error}')
    # As for the complexes below: the tighter relaxation and a push out of a saddle point move the ligand too.
    if problems := _check_ligand(mol, ligand_thermo.atoms):
        return BindingResult(tuple(modes.values()), note=f'free ligand changed on relaxation: {problems[0]}')
    references_ = references(settings)
    scored: list[ModeResult] = []
    for delta_e, mode, complex_ in relaxed:
        if any(done.denticity == mode.denticity for done in scored):
            continue
        try:
            thermo = _species(complex_.atoms, 2 + charge, settings, deadline)
        except ThermoError as error:
            modes[mode.label] = ModeResult(mode.label, mode.denticity, delta_e, problems=(f'imaginary_modes: {error}',))
            continue
        # The tighter relaxation, and a push out of a saddle point, move the structure: checked again.
        if problems := _check(mol, mode, thermo.atoms):
            modes[mode.label] = ModeResult(mode.label, mode.denticity, delta_e, problems=problems)
            continue
        delta_g = exchange_free_energy(
            thermo,
            ligand_thermo,
            references_,
            mode.denticity,
            temperature=settings.temperature,
            water_ligand=is_water(mol),
        )
        modes[mode.label] = ModeResult(mode.label, mode.denticity, delta_e, delta_g)
        scored.append(modes[mode.label])
    best = min(scored, key=lambda mode: mode.delta_g, default=None)
    note = '' if best is not None else 'no mode reached a checked minimum for its thermal terms (see each mode)'
    return BindingResult(tuple(modes.values()), note=note, best=best)
