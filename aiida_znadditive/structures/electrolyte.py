"""The periodic starting box of an AIMD run: one Zn2+, its counter-ions, waters and additive molecules, by packmol.

Zn2+ sits at the box centre inside a fixed first shell: [Zn(H2O)6]2+ (``start='hydrated'``) or the Zn2+ complex with
one additive molecule already bound in place of one or two waters (``start='bound'``, built as in the complexation
WorkChain). Everything else is packed by packmol around it, outside a sphere that keeps the first shell free at the
start. Packmol 20.14 has no periodic packing (no ``pbc`` keyword), so molecules are packed in the box shrunk by
``tolerance/2`` on every side: periodic images are then at least ``tolerance`` apart too. A first shell that reaches
out of that region (a bound additive in a small box) is kept clear of the packed molecules across the boundary by
giving packmol its periodic images as a second fixed structure. The packed box is checked again under the minimum
image convention before it is returned.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from aiida import orm
from aiida.engine import ExitCode, calcfunction
from ase import Atoms
from ase.io import read, write
from rdkit import Chem
from rdkit.rdBase import BlockLogs

from .complexes import build_best_complex, enumerate_binding_modes
from .ligands import LigandError, embed_conformers, find_donors, net_charge, parse_ligand, require_donors
from .zinc_aqua import WATER_HOH, WATER_OH, zn_aqua_atoms

COUNTER_IONS = {
    'sulfate': '[O-]S(=O)(=O)[O-]',
    'chloride': '[Cl-]',
    'triflate': '[O-]S(=O)(=O)C(F)(F)F',
    'perchlorate': '[O-]Cl(=O)(=O)=O',
    'acetate': 'CC(=O)[O-]',
}
STARTS = ('hydrated', 'bound')
ZN_CHARGE = 2
# The elements the solvation protocol's methods (GFN-xTB, PBE with MOLOPT basis sets) cover.
DEFAULT_ELEMENTS = ('H', 'B', 'C', 'N', 'O', 'F', 'Si', 'P', 'S', 'Cl', 'Br', 'I')
# g/mol per (g/cm^3 * Å^3): Avogadro's number times 1e-24 cm^3/Å^3.
AVOGADRO_CM3 = 0.602214076
# Radii (Å) of the sphere about Zn2+ that every atom of a packed molecule stays outside (packmol applies a constraint to
# each atom, so no allowance for the molecule's own size is needed). Waters: beyond the fixed first shell (Zn-O 2.09 Å,
# its hydrogens reach 2.7 Å). Counter-ions and additives: beyond the first shell's O plus an O...X contact of ~2.4 Å,
# so that neither starts as a (contact-ion-pair) ligand; whether they enter the shell is for the MD to find out.
WATER_EXCLUSION = 3.0
SOLUTE_EXCLUSION = 4.5
# Packed contacts may come out a little below packmol's tolerance (it stops at a small residual violation); closer than
# this fraction of it is a failed packing.
CONTACT_FRACTION = 0.8
# How far (Å) a molecule of a failed packing must miss a distance or constraint to be reported as not placed:
# packmol's own failures can be as slight as 1.9 Å contacts at a 2 Å tolerance.
MISS = 0.05
PACKMOL_TIMEOUT = 60
# GENCAN loops per packing phase. Feasible boxes at liquid density pack within ~30; a run stuck beyond that gained
# nothing from packmol's default of 200 per structure type (tested up to 800), but another seed helps (NEAR_MISS), and
# an impossible box fails in seconds rather than a minute.
PACKMOL_NLOOP = 100
# A failed run that left at most this fraction of the packed molecules (and at least one) unplaced is retried with
# another seed, up to PACKMOL_ATTEMPTS runs: about one feasible box in ten gets stuck with a seed. A box where many
# molecules do not fit fails at once.
NEAR_MISS = 0.1
PACKMOL_ATTEMPTS = 3
SEED_STRIDE = 1000
# Conformers embedded for an additive: the lowest in energy is packed; all are tried for the bound complex.
N_CONFORMERS = 10
# Largest counter-ion (heavy atoms) accepted as a SMILES: the salt's anion, not an additive.
MAX_COUNTER_ION_ATOMS = 20
SETTINGS_KEYS = (
    'n_waters',
    'n_additives',
    'counter_ion',
    'density',
    'start',
    'seed',
    'tolerance',
    'allowed_elements',
    'max_heavy_atoms',
)


class PackingError(ValueError):
    """packmol could not place the molecules in the box, or the packed box has a clash."""


class _NearMiss(PackingError):
    """packmol stopped with a few molecules unplaced: stuck in a local minimum that another seed usually avoids."""


@dataclass
class ElectrolyteBox:
    """A packed box: ``atoms`` (cubic, periodic, Zn at the centre) and where each molecule and donor atom is.

    ``groups`` and ``molecules`` have the keys 'water', 'counter_ion' and 'additive'; per molecule, ``groups`` lists
    the indices of its donor atoms (the O of a water; the O, or Cl, of a counter-ion; the donors of an additive by
    :func:`~aiida_znadditive.structures.ligands.find_donors`) and ``molecules`` all of its atoms.
    """

    atoms: Atoms
    charge: int
    zn_index: int
    groups: dict[str, list[list[int]]] = field(default_factory=dict)
    molecules: dict[str, list[list[int]]] = field(default_factory=dict)
    composition: dict = field(default_factory=dict)


@dataclass
class _Species:
    """One kind of packed molecule: its group name, SMILES, geometry, donor atoms (molecule indices) and charge."""

    name: str
    smiles: str
    atoms: Atoms
    donors: list[int]
    charge: int


def water_molecule() -> Atoms:
    """A water molecule at the experimental gas-phase geometry (O-H 0.9572 Å, 104.52°), O first."""
    half = WATER_HOH / 2
    positions = [
        [0.0, 0.0, 0.0],
        [WATER_OH * np.sin(half), 0.0, WATER_OH * np.cos(half)],
        [-WATER_OH * np.sin(half), 0.0, WATER_OH * np.cos(half)],
    ]
    return Atoms('OH2', positions=positions)


def box_length(mass: float, density: float) -> float:
    """Edge (Å) of the cubic box holding ``mass`` (g/mol) at ``density`` (g/cm^3)."""
    return (mass / (density * AVOGADRO_CM3)) ** (1.0 / 3.0)


def counter_ion_species(counter_ion: str | None, seed: int = 42) -> tuple[_Species | None, int]:
    """The counter-ion and how many of them neutralise Zn2+ (``None, 0`` for no counter-ion).

    ``counter_ion`` is a name of :data:`COUNTER_IONS` or the SMILES of an anion whose charge divides 2. Its SMILES is
    parsed directly rather than by ``parse_ligand``, whose ligand checks reject perchlorate (RDKit writes it as
    [Cl+3] with four [O-]); its elements are allowed whatever the additive's element list says.

    :raises ValueError: for an invalid SMILES, a salt of several fragments, or a charge that is not -1 or -2.
    """
    if counter_ion is None or counter_ion.strip().lower() in ('', 'none'):
        return None, 0
    smiles = COUNTER_IONS.get(counter_ion.strip().lower(), counter_ion.strip())
    with BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None or mol.GetNumAtoms() == 0:
        raise ValueError(
            f'Counter-ion {counter_ion!r} is neither a known name ({", ".join(COUNTER_IONS)}) nor a valid SMILES.'
        )
    if len(Chem.GetMolFrags(mol)) > 1:
        raise ValueError(f'Counter-ion {counter_ion!r} has several fragments: give the anion alone.')
    if mol.GetNumHeavyAtoms() > MAX_COUNTER_ION_ATOMS:
        raise ValueError(f'Counter-ion {counter_ion!r} has more than {MAX_COUNTER_ION_ATOMS} heavy atoms.')
    if any(atom.GetNumRadicalElectrons() for atom in mol.GetAtoms()):
        raise ValueError(f'Counter-ion {counter_ion!r} is a radical (open shell).')
    charge = net_charge(mol)
    if charge >= 0 or ZN_CHARGE % -charge:
        raise ValueError(
            f'Counter-ion {counter_ion!r} has charge {charge:+d}: it must be an anion of charge -1 or -2 '
            f'to neutralise Zn2+.'
        )
    mol = Chem.AddHs(mol)
    atoms = embed_conformers(mol, 1, seed=seed)[0]
    # The atoms a cation would bind: every O and any negatively charged atom (Cl- itself, N- of an imide).
    donors = [atom.GetIdx() for atom in mol.GetAtoms() if atom.GetSymbol() == 'O' or atom.GetFormalCharge() < 0]
    species = _Species('counter_ion', Chem.MolToSmiles(Chem.RemoveHs(mol)), _bare(atoms), donors, charge)
    return species, ZN_CHARGE // -charge


def _bare(atoms: Atoms) -> Atoms:
    """Symbols and positions only: the conformer's info (energies, force field) does not belong in the box."""
    return Atoms(numbers=atoms.numbers, positions=atoms.positions)


def _bound_complex(mol: Chem.Mol, smiles: str, conformers: list[Atoms]):
    """The complex with the additive in the first shell: its first binding mode that fits, monodentate first.

    :raises LigandError: 'no_donor' when the additive has no donor; 'too_large' when no mode can be placed without
        clashing with the remaining waters.
    """
    donors = require_donors(mol)
    modes = enumerate_binding_modes(mol, conformers, donors, max_denticity=2)
    # enumerate_binding_modes lists monodentate modes first; the stable sort keeps that order within a denticity.
    modes = sorted(modes, key=lambda mode: mode.denticity != 1)
    errors = []
    for mode in modes:
        try:
            return mode, build_best_complex(conformers, mode)
        except ValueError as error:
            errors.append(str(error))
    raise LigandError(smiles, 'too_large', f'fits no binding mode on [Zn(H2O)6]2+: {errors[0]}')


def pack_electrolyte(
    n_waters: int,
    additive: str | None = None,
    n_additives: int = 0,
    *,
    counter_ion: str | None = 'sulfate',
    density: float = 1.0,
    start: str = 'hydrated',
    seed: int = 42,
    tolerance: float = 2.0,
    allowed_elements: Iterable[str] | str = DEFAULT_ELEMENTS,
    max_heavy_atoms: int = 20,
    workdir: str | Path | None = None,
) -> ElectrolyteBox:
    """Pack one Zn2+ with its counter-ions, ``n_waters`` waters and ``n_additives`` additive molecules.

    The box is cubic, with the edge that gives the whole content the mass ``density``. Atom order: Zn (index 0), the
    rest of the fixed first shell (waters as O, H, H; for ``start='bound'`` then the bound additive), then the packed
    waters, counter-ions and additives, in that order.

    :param n_waters: all waters, the first-shell ones included.
    :param additive: SMILES of the additive (``None`` for none); ignored when ``n_additives`` is 0.
    :param n_additives: number of additive molecules, the bound one included.
    :param counter_ion: a name in :data:`COUNTER_IONS`, an anion's SMILES, or ``None``/'none' for a charged box.
    :param density: g/cm^3 of the whole box.
    :param start: 'hydrated' ([Zn(H2O)6]2+ fixed at the centre) or 'bound' (one additive already in the first shell).
    :param seed: packmol and RDKit random seed: the same seed gives the same box.
    :param tolerance: packmol's minimum distance (Å) between atoms of different molecules, periodic images included.
    :param allowed_elements: elements the additive may contain (hydrogen always).
    :param max_heavy_atoms: largest additive accepted.
    :param workdir: folder for packmol's input, output and log (kept); a temporary folder if ``None``.
    :raises ValueError: for inconsistent settings; :class:`LigandError` for an unusable additive;
        :class:`PackingError` when packmol cannot place the molecules or the result has a clash.
    """
    _check_settings(n_waters, additive, n_additives, start=start, density=density, tolerance=tolerance)
    additive = additive if n_additives else None
    additive_species, additive_mol, conformers = None, None, []
    if additive:
        additive_mol = parse_ligand(additive, allowed_elements, max_heavy_atoms)
        conformers = embed_conformers(additive_mol, N_CONFORMERS, seed=seed)
        donors = [donor.index for donor in find_donors(additive_mol)]
        charge = net_charge(additive_mol)
        additive_species = _Species('additive', additive, _bare(conformers[0]), donors, charge)
    ion, n_ions = counter_ion_species(counter_ion, seed)

    groups: dict[str, list[list[int]]] = {'water': [], 'counter_ion': [], 'additive': []}
    molecules: dict[str, list[list[int]]] = {'water': [], 'counter_ion': [], 'additive': []}
    bound_mode = None
    if start == 'hydrated':
        shell, n_shell_waters = zn_aqua_atoms(), 6
    else:
        bound_mode, geometry = _bound_complex(additive_mol, additive, conformers)
        # The complex is Zn, its remaining waters (O, H, H each), then the additive from ligand_offset.
        shell, n_shell_waters = _bare(geometry.atoms), (geometry.ligand_offset - 1) // 3
        groups['additive'].append([geometry.ligand_offset + index for index in additive_species.donors])
        molecules['additive'].append(list(geometry.ligand_indices))
    for water in range(n_shell_waters):
        groups['water'].append([1 + 3 * water])
        molecules['water'].append([1 + 3 * water, 2 + 3 * water, 3 + 3 * water])
    if n_waters < n_shell_waters:
        raise ValueError(f'n_waters ({n_waters}) is fewer than the {n_shell_waters} waters of the first shell.')

    water = _Species('water', 'O', water_molecule(), [0], 0)
    packed = [(water, n_waters - n_shell_waters), (ion, n_ions), (additive_species, n_additives - bool(bound_mode))]
    packed = [(species, count) for species, count in packed if species is not None and count > 0]

    mass = float(shell.get_masses().sum()) + sum(float(s.atoms.get_masses().sum()) * n for s, n in packed)
    length = box_length(mass, density)
    _check_shell_fits(shell, length, tolerance)
    # In a small box the exclusion sphere is capped at the packing region's half-width: the molecules then keep to
    # its corners (still outside the first shell) rather than packmol being asked for an empty region.
    half_width = length / 2 - tolerance / 2
    radii = {
        species.name: min(WATER_EXCLUSION if species.name == 'water' else SOLUTE_EXCLUSION, half_width)
        for species, _ in packed
    }
    atoms, version, packmol_seed = _run_packmol(
        shell, packed, radii, length=length, density=density, tolerance=tolerance, seed=seed, workdir=workdir
    )
    offset = len(shell)
    for species, count in packed:
        for _ in range(count):
            groups[species.name].append([offset + donor for donor in species.donors])
            molecules[species.name].append(list(range(offset, offset + len(species.atoms))))
            offset += len(species.atoms)
    _check_contacts(atoms, molecules, len(shell), tolerance)

    charge = ZN_CHARGE + n_ions * (ion.charge if ion else 0)
    charge += n_additives * (additive_species.charge if additive_species else 0)
    composition = {
        'n_waters': n_waters,
        'n_first_shell_waters': n_shell_waters,
        'counter_ion': counter_ion if ion else None,
        'counter_ion_smiles': ion.smiles if ion else None,
        'n_counter_ions': n_ions,
        'additive': additive,
        'n_additives': n_additives,
        'n_bound_additives': 1 if bound_mode else 0,
        'bound_mode': bound_mode.label if bound_mode else None,
        'start': start,
        'n_atoms': len(atoms),
        'mass': mass,
        'box_length': length,
        'density': density,
        'tolerance': tolerance,
        'exclusion_radii': radii,
        'seed': seed,
        'packmol_seed': packmol_seed,
        'packmol': version,
    }
    return ElectrolyteBox(atoms, int(charge), 0, groups, molecules, composition)


def _check_settings(
    n_waters: int, additive: str | None, n_additives: int, *, start: str, density: float, tolerance: float
) -> None:
    """Raise ValueError for settings no box can be built from."""
    if start not in STARTS:
        raise ValueError(f'start must be one of {STARTS}, got {start!r}.')
    if not density > 0 or not tolerance > 0:
        raise ValueError(f'density ({density} g/cm^3) and tolerance ({tolerance} Å) must be positive.')
    if n_waters < 0 or n_additives < 0:
        raise ValueError(f'Molecule counts must not be negative (n_waters {n_waters}, n_additives {n_additives}).')
    if n_additives and not additive:
        raise ValueError(f'n_additives is {n_additives} but no additive SMILES was given.')
    if start == 'bound' and not (additive and n_additives):
        raise ValueError("start='bound' needs an additive (and n_additives >= 1) to put in the first shell.")


def _check_shell_fits(shell: Atoms, length: float, tolerance: float) -> None:
    """The fixed shell, centred in the box, must stay ``tolerance`` away from its own periodic images."""
    periodic = Atoms(numbers=shell.numbers, positions=shell.positions + length / 2, cell=[length] * 3, pbc=True)
    mic = periodic.get_all_distances(mic=True)
    # A pair whose minimum-image distance is shorter than the direct one meets across the boundary.
    across = periodic.get_all_distances() - mic > 1e-6
    closest = float(mic[across].min()) if across.any() else np.inf
    if closest < tolerance:
        raise PackingError(
            f'the first shell would come {closest:.2f} Å close to its own periodic image in the {length:.2f} Å box '
            f'(tolerance {tolerance:g} Å): use more waters (a larger box) or a smaller additive.'
        )


def _describe(species: _Species, count: int) -> str:
    return f'{count} {species.name} ({species.smiles})' if species.name != 'water' else f'{count} water'


def _run_packmol(
    shell: Atoms,
    packed: list[tuple[_Species, int]],
    radii: dict[str, float],
    *,
    length: float,
    density: float,
    tolerance: float,
    seed: int,
    workdir: str | Path | None,
) -> tuple[Atoms, str, int]:
    """Run packmol; return the packed atoms (cell and pbc set), its version string and the seed that worked.

    A near miss (see :class:`_NearMiss`) is retried with the seeds ``seed + SEED_STRIDE * k``: a fixed sequence, so
    the same ``seed`` still gives the same box. All attempts together get :data:`PACKMOL_TIMEOUT` seconds.
    """
    deadline = time.monotonic() + PACKMOL_TIMEOUT
    settings = {'length': length, 'density': density, 'tolerance': tolerance, 'deadline': deadline}
    with contextlib.ExitStack() as stack:
        if workdir is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix='znadditive-packmol-')))
        else:
            folder = Path(workdir)
            folder.mkdir(parents=True, exist_ok=True)
        seeds = [seed + SEED_STRIDE * attempt for attempt in range(PACKMOL_ATTEMPTS)]
        for attempt_seed in seeds:
            try:
                atoms, version = _run_packmol_in(folder, shell, packed, radii, seed=attempt_seed, **settings)
            except _NearMiss as error:
                near_miss = error
                continue
            return atoms, version, attempt_seed
    raise PackingError(f'{near_miss} (seeds {", ".join(map(str, seeds))} tried)')


def _run_packmol_in(
    folder: Path,
    shell: Atoms,
    packed: list[tuple[_Species, int]],
    radii: dict[str, float],
    *,
    length: float,
    density: float,
    tolerance: float,
    seed: int,
    deadline: float,
) -> tuple[Atoms, str]:
    """One packmol run in ``folder`` with ``seed``; raise :class:`_NearMiss` when it failed but came close."""
    centre = length / 2
    low, high = tolerance / 2, length - tolerance / 2
    write(folder / 'shell.xyz', shell, format='xyz')
    # No 'center' for the shell: packmol then only translates it, so Zn (at the origin) lands exactly on the box
    # centre; 'center' would put the shell's geometric centre there, which is off Zn for a bound additive.
    lines = [
        f'tolerance {tolerance}',
        'filetype xyz',
        'output packed.xyz',
        f'seed {seed}',
        f'nloop {PACKMOL_NLOOP}',
        '',
        'structure shell.xyz',
        '  number 1',
        f'  fixed {centre:.6f} {centre:.6f} {centre:.6f} 0. 0. 0.',
        'end structure',
    ]
    for index, (species, count) in enumerate(packed):
        write(folder / f'{species.name}_{index}.xyz', species.atoms, format='xyz')
        lines += [
            '',
            f'structure {species.name}_{index}.xyz',
            f'  number {count}',
            f'  inside box {low:.6f} {low:.6f} {low:.6f} {high:.6f} {high:.6f} {high:.6f}',
            f'  outside sphere {centre:.6f} {centre:.6f} {centre:.6f} {radii[species.name]:.6f}',
            'end structure',
        ]
    images = shell_images(shell, length, tolerance)
    if len(images):
        # A shell reaching beyond the packing region (a bound additive in a small box) has periodic images within
        # reach of the packed molecules; packmol keeps clear of them as of any fixed molecule. Listed last, so they
        # are the tail of the output, cut off below.
        write(folder / 'shell_images.xyz', images, format='xyz')
        lines += ['', 'structure shell_images.xyz', '  number 1', '  fixed 0. 0. 0. 0. 0. 0.', 'end structure']
    (folder / 'pack.inp').write_text('\n'.join(lines) + '\n')
    output = folder / 'packed.xyz'
    output.unlink(missing_ok=True)
    names = ', '.join(_describe(species, count) for species, count in packed)
    where = f'a {length:.2f} Å box (density {density:g} g/cm^3, tolerance {tolerance:g} Å)'
    advice = 'lower the density, the number of molecules or the tolerance.'
    remaining = deadline - time.monotonic()
    timeout = PackingError(
        f'packmol did not place {names} around the first shell in {where} within {PACKMOL_TIMEOUT} s: {advice}'
    )
    if remaining <= 0:
        raise timeout
    try:
        with (folder / 'pack.inp').open() as stdin:
            result = subprocess.run(
                ['packmol'],
                check=False,
                stdin=stdin,
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=remaining,
            )
    except FileNotFoundError:
        raise PackingError('packmol is not installed (e.g. the Debian package `packmol`).') from None
    except subprocess.TimeoutExpired:
        raise timeout from None
    (folder / 'packmol.log').write_text(result.stdout + result.stderr)
    if 'unable to put the molecules' in result.stdout:
        # packmol's first phase: the molecules do not even fit the regions, whatever their distances.
        misfits = _misfit_types(result.stdout, packed) or names
        raise PackingError(
            f'packmol could not fit {misfits} into the packing region of {where}: the box less '
            f'{tolerance / 2:g} Å at each face, outside {_sphere_text(radii)} about Zn. Use more waters (a larger '
            f'box) or smaller molecules.'
        )
    failed = 'ENDED WITHOUT PERFECT PACKING' in result.stdout or 'Success!' not in result.stdout
    if result.returncode != 0 or failed or not output.exists():
        unplaced, n_unplaced = _unplaced(
            output, packed, radii, fixed=(len(shell), len(images)), length=length, tolerance=tolerance
        )
        message = (
            f'packmol could not place {unplaced or "all of " + names} around the first shell in {where} '
            f'(packmol exit status {result.returncode}): {advice}'
        )
        n_packed = sum(count for _, count in packed)
        if 0 < n_unplaced <= max(1, NEAR_MISS * n_packed):
            raise _NearMiss(message)
        raise PackingError(message)
    atoms = read(output, format='xyz')
    atoms = atoms[: len(atoms) - len(images)]
    expected = shell.get_chemical_symbols() + [
        symbol for species, count in packed for symbol in species.atoms.get_chemical_symbols() * count
    ]
    if atoms.get_chemical_symbols() != expected:
        raise PackingError(f'packmol wrote {len(atoms)} atoms in an unexpected order; expected {len(expected)}.')
    match = re.search(r'Version\s+(\S+)', result.stdout)
    atoms.set_cell([length] * 3)
    atoms.pbc = True
    return atoms, f'packmol {match.group(1) if match else "unknown"}'


def shell_images(shell: Atoms, length: float, tolerance: float) -> Atoms:
    """The atoms of the fixed shell's 26 periodic images (shell centred in the box) that packed molecules can reach.

    Packed atoms lie at least ``tolerance/2`` inside every face, so an image atom further than ``tolerance/2`` outside
    the box is out of reach; 0.5 Å more allows for packmol's residual constraint violations.
    """
    reach = tolerance / 2 + 0.5
    positions = shell.positions + length / 2
    numbers, kept = [], []
    for shift in itertools.product((-1, 0, 1), repeat=3):
        if shift == (0, 0, 0):
            continue
        moved = positions + np.array(shift) * length
        near = np.all((moved > -reach) & (moved < length + reach), axis=1)
        numbers.extend(shell.numbers[near])
        kept.extend(moved[near])
    return Atoms(numbers=numbers, positions=np.array(kept).reshape(-1, 3))


def _sphere_text(radii: dict[str, float]) -> str:
    return ', '.join(f'{radius:.2f} Å ({name})' for name, radius in radii.items())


def _misfit_types(stdout: str, packed: list[tuple[_Species, int]]) -> str | None:
    """The packed species packmol was still moving when it gave up on the constraints, e.g. '2 additive (CCO)'.

    packmol numbers the free (not fixed) structures from 1 in input order in its 'Moving ... molecules of type' lines;
    the fixed shell comes first and the fixed shell images last, so free type ``k`` is ``packed[k - 1]``.
    """
    last = stdout.rsplit('Moving worst molecules', 1)[-1]
    types = sorted({int(k) for k in re.findall(r'Moving\s+\d+\s+molecules of type\s+(\d+)', last)})
    if not types or any(not 1 <= k <= len(packed) for k in types):
        return None
    return ', '.join(_describe(*packed[k - 1]) for k in types)


def _unplaced(
    path: Path,
    packed: list[tuple[_Species, int]],
    radii: dict[str, float],
    *,
    fixed: tuple[int, int],
    length: float,
    tolerance: float,
) -> tuple[str | None, int]:
    """Which packed molecules of packmol's best (failed) solution clash or break a constraint, e.g. '3 of 6 water',
    and how many in all.

    A molecule counts as unplaced when it is more than :data:`MISS` Å closer than ``tolerance`` to another one (the
    fixed shell and its periodic images included), or more than :data:`MISS` Å outside its box or inside its exclusion
    sphere. ``(None, 0)`` if the file cannot be read or every molecule looks placed (the message then names them all).
    ``fixed`` holds the numbers of atoms of the fixed shell
    (the first in the file) and of its periodic images (the last).
    """
    if not path.exists():
        return None
    try:
        atoms = read(path, format='xyz')
    except Exception:
        return None
    sizes = [fixed[0]] + [len(species.atoms) for species, count in packed for _ in range(count)] + [fixed[1]]
    if len(atoms) != sum(sizes):
        return None, 0
    # The shell and its images are one fixed body (owner 0); packed molecules are 1, 2, ...
    owner = np.repeat(np.arange(len(sizes)), sizes)
    owner[owner == len(sizes) - 1] = 0
    positions = atoms.positions
    distances = np.linalg.norm(positions[:, None, :] - positions[None, :, :], axis=-1)
    distances[owner[:, None] == owner[None, :]] = np.inf
    centre = length / 2
    from_centre = np.linalg.norm(positions - centre, axis=1)
    low, high = tolerance / 2 - MISS, length - tolerance / 2 + MISS
    parts, molecule, total = [], 1, 0
    for species, count in packed:
        bad = 0
        for _ in range(count):
            mine = owner == molecule
            clash = distances[mine].min() < tolerance - MISS
            outside = (positions[mine] < low).any() or (positions[mine] > high).any()
            inside = (from_centre[mine] < radii[species.name] - MISS).any()
            bad += bool(clash or outside or inside)
            molecule += 1
        if bad:
            label = _describe(species, count).split(' ', 1)[1]
            parts.append(f'{bad} of {count} {label}')
            total += bad
    return ', '.join(parts) or None, total


def _check_contacts(atoms: Atoms, molecules: dict[str, list[list[int]]], shell_size: int, tolerance: float) -> None:
    """No two molecules closer than :data:`CONTACT_FRACTION` x ``tolerance`` under the minimum image convention.

    The fixed first shell counts as one molecule (its Zn-O bonds are meant). A molecule's contact with its own
    periodic image counts too: a pair of its atoms whose minimum-image distance is shorter than the direct one.
    """
    owner = np.zeros(len(atoms), dtype=int)
    packed = [molecule for group in molecules.values() for molecule in group if min(molecule) >= shell_size]
    for label, molecule in enumerate(packed, start=1):
        owner[molecule] = label
    mic = atoms.get_all_distances(mic=True)
    direct = atoms.get_all_distances(mic=False)
    same = owner[:, None] == owner[None, :]
    close = mic < CONTACT_FRACTION * tolerance
    clash = close & (~same | (direct - mic > 1e-6))
    if clash.any():
        i, j = np.argwhere(clash)[0]
        raise PackingError(
            f'atoms {i} and {j} of different molecules (or periodic images) are {mic[i, j]:.2f} Å apart, less than '
            f'{CONTACT_FRACTION} x the {tolerance:g} Å tolerance: packmol left a clash.'
        )


@calcfunction
def build_solvation_box(settings: orm.Dict, additive: orm.Str | None = None) -> dict | ExitCode:
    """The packed box (``structure``) and its ``system`` (charge, zn_index, groups, molecules, composition).

    ``settings``: ``n_waters`` (required), ``n_additives`` (default 1 with an additive, else 0), ``counter_ion``,
    ``density``, ``start``, ``seed``, ``tolerance``, ``allowed_elements``, ``max_heavy_atoms``, as for
    :func:`pack_electrolyte`. Exit status 300: packmol failed; 301: unusable additive; 302: invalid settings.
    """
    options = settings.get_dict()
    unknown = sorted(set(options) - set(SETTINGS_KEYS))
    if unknown:
        return ExitCode(302, f'invalid box settings: unknown key(s) {", ".join(unknown)}.')
    try:
        box = pack_electrolyte(
            n_waters=int(options['n_waters']),
            additive=additive.value if additive is not None else None,
            n_additives=int(options.get('n_additives', 1 if additive is not None else 0)),
            counter_ion=options.get('counter_ion', 'sulfate'),
            density=float(options.get('density', 1.0)),
            start=options.get('start', 'hydrated'),
            seed=int(options.get('seed', 42)),
            tolerance=float(options.get('tolerance', 2.0)),
            allowed_elements=options.get('allowed_elements', DEFAULT_ELEMENTS),
            max_heavy_atoms=int(options.get('max_heavy_atoms', 20)),
        )
    except PackingError as error:
        return ExitCode(300, str(error))
    except LigandError as error:
        return ExitCode(301, str(error))
    except KeyError as error:
        return ExitCode(302, f'invalid box settings: missing {error}.')
    except (ValueError, TypeError) as error:
        return ExitCode(302, f'invalid box settings: {error}')
    system = {
        'charge': box.charge,
        'zn_index': box.zn_index,
        'groups': box.groups,
        'molecules': box.molecules,
        'composition': box.composition,
    }
    return {'structure': orm.StructureData(ase=box.atoms), 'system': orm.Dict(system)}
