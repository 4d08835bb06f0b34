"""The periodic starting box of an AIMD run: one Zn2+, its counter-ions, waters and additive molecules, by packmol.

Zn2+ sits at the box centre inside a fixed first shell: [Zn(H2O)6]2+ (``start='hydrated'``) or the Zn2+ complex with
one additive molecule already bound (``start='bound'``, built as in the complexation WorkChain). Everything else is
packed by packmol around it, outside a sphere that keeps the first shell free at the start. Packmol 20.14 has no
periodic packing, so molecules are packed in the box shrunk by ``tolerance/2`` on every side: periodic images are
then at least ``tolerance`` apart too.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from aiida import orm
from aiida.engine import ExitCode, calcfunction
from ase import Atoms
from ase.io import read, write
from rdkit import Chem

from .complexes import build_best_complex, enumerate_binding_modes
from .ligands import LigandError, embed_conformers, find_donors, net_charge, parse_ligand
from .zinc_aqua import WATER_HOH, WATER_OH, zn_aqua_atoms

COUNTER_IONS = {
    'sulfate': '[O-]S(=O)(=O)[O-]',
    'chloride': '[Cl-]',
    'triflate': '[O-]S(=O)(=O)C(F)(F)F',
    'perchlorate': '[O-]Cl(=O)(=O)=O',
    'acetate': 'CC(=O)[O-]',
}
STARTS = ('hydrated', 'bound')
AVOGADRO_CM3 = 0.602214076  # g/mol per (g/cm^3 * Å^3)
#: Radii (Å) of the sphere around Zn2+ that packed molecules stay out of: waters beyond the first shell (Zn-O 2.09
#: Å + an O-O contact), ions and additives beyond the second shell's inner edge plus their own size.
WATER_EXCLUSION = 3.0
SOLUTE_EXCLUSION = 4.0
PACKMOL_TIMEOUT = 120


class PackingError(ValueError):
    """packmol could not place the molecules at this density."""


@dataclass
class ElectrolyteBox:
    """A packed box: ``atoms`` (cubic, periodic, Zn at the centre) and where each molecule and donor atom is."""

    atoms: Atoms
    charge: int
    zn_index: int
    groups: dict[str, list[list[int]]] = field(default_factory=dict)
    molecules: dict[str, list[list[int]]] = field(default_factory=dict)
    composition: dict = field(default_factory=dict)


def water_molecule() -> Atoms:
    half = WATER_HOH / 2
    return Atoms(
        'OH2',
        positions=[
            [0.0, 0.0, 0.0],
            [WATER_OH * np.sin(half), 0.0, WATER_OH * np.cos(half)],
            [-WATER_OH * np.sin(half), 0.0, WATER_OH * np.cos(half)],
        ],
    )


@dataclass
class _Species:
    name: str  # 'water', 'counter_ion', 'additive'
    atoms: Atoms
    donors: list[int]  # donor atom indices within the molecule
    charge: int


def _molecule(smiles: str, allowed_elements, max_heavy_atoms: int, seed: int, what: str) -> tuple[Chem.Mol, Atoms]:
    mol = parse_ligand(smiles, allowed_elements, max_heavy_atoms)
    conformers = embed_conformers(mol, 1, seed=seed)
    atoms = Atoms(conformers[0].numbers, conformers[0].positions)
    atoms.info['what'] = what
    return mol, atoms


def _counter_ion(counter_ion: str | None, seed: int) -> tuple[_Species | None, int]:
    """The counter-ion species and how many neutralise Zn2+ (0 for none)."""
    if counter_ion in (None, '', 'none'):
        return None, 0
    smiles = COUNTER_IONS.get(counter_ion, counter_ion)
    if Chem.MolFromSmiles(smiles) is None:
        known = ', '.join(COUNTER_IONS)
        raise ValueError(f'Counter-ion `{counter_ion}` is neither a known name ({known}) nor a valid SMILES.')
    mol = parse_ligand(smiles, [atom.GetSymbol() for atom in Chem.MolFromSmiles(smiles).GetAtoms()], 20)
    charge = net_charge(mol)
    if charge >= 0 or 2 % -charge:
        raise ValueError(f'Counter-ion `{counter_ion}` has charge {charge:+d}: it must be an anion of charge -1 or -2.')
    atoms = Atoms(*_first_conformer(mol, seed))
    donors = [atom.GetIdx() for atom in mol.GetAtoms() if atom.GetFormalCharge() < 0 or atom.GetSymbol() == 'O']
    return _Species('counter_ion', atoms, donors, charge), 2 // -charge


def _first_conformer(mol: Chem.Mol, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if mol.GetNumAtoms() == 1:
        return np.array([mol.GetAtomWithIdx(0).GetAtomicNum()]), np.zeros((1, 3))
    conformer = embed_conformers(mol, 1, seed=seed)[0]
    return conformer.numbers, conformer.positions


def box_length(mass: float, density: float) -> float:
    """Edge (Å) of the cubic box holding ``mass`` (g/mol) at ``density`` (g/cm^3)."""
    return (mass / (density * AVOGADRO_CM3)) ** (1.0 / 3.0)


def _first_shell(start: str, additive: _Species | None, additive_mol: Chem.Mol | None, seed: int):
    """The fixed first shell: its atoms (Zn first), water O indices, the bound additive's donor indices."""
    if start == 'hydrated':
        shell = zn_aqua_atoms()
        return shell, [[1 + 3 * water] for water in range(6)], [], []
    conformers = embed_conformers(additive_mol, 5, seed=seed)
    donors = find_donors(additive_mol)
    modes = enumerate_binding_modes(additive_mol, conformers, donors, max_denticity=2)
    if not modes:
        raise LigandError(Chem.MolToSmiles(additive_mol), 'no_donor', 'no binding mode to start from')
    mode = next((mode for mode in modes if mode.denticity == 1), modes[0])
    geometry = build_best_complex(conformers, mode)
    shell = geometry.atoms
    n_waters = (geometry.ligand_offset - 1) // 3
    waters = [[1 + 3 * water] for water in range(n_waters)]
    additive_atoms = list(range(geometry.ligand_offset, len(shell)))
    additive_donors = [[geometry.ligand_offset + donor.index for donor in donors]]
    return shell, waters, additive_donors, [additive_atoms]


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
    allowed_elements=('H', 'B', 'C', 'N', 'O', 'F', 'Si', 'P', 'S', 'Cl', 'Br', 'I'),
    max_heavy_atoms: int = 12,
    workdir: str | Path | None = None,
) -> ElectrolyteBox:
    """Pack one Zn2+ with counter-ions, ``n_waters`` waters (first shell included) and ``n_additives`` additives.

    :raises ValueError: for inconsistent settings; :class:`LigandError` for an unusable additive;
        :class:`PackingError` when packmol cannot place the molecules.
    """
    if start not in STARTS:
        raise ValueError(f'start must be one of {STARTS}, got `{start}`.')
    if density <= 0 or tolerance <= 0:
        raise ValueError('density and tolerance must be positive.')
    if additive and n_additives < 1:
        additive = None
    if start == 'bound' and not additive:
        raise ValueError("start='bound' needs an additive to put in the first shell.")
    additive_species, additive_mol = None, None
    if additive:
        additive_mol, additive_atoms = _molecule(additive, allowed_elements, max_heavy_atoms, seed, 'additive')
        donors = [donor.index for donor in find_donors(additive_mol)]
        additive_species = _Species('additive', additive_atoms, donors, net_charge(additive_mol))
    ion, n_ions = _counter_ion(counter_ion, seed)
    shell, shell_waters, shell_additive_donors, shell_additive_atoms = _first_shell(
        start, additive_species, additive_mol, seed
    )
    free_waters = n_waters - len(shell_waters)
    if free_waters < 0:
        raise ValueError(f'{n_waters} waters are fewer than the {len(shell_waters)} of the first shell.')
    free_additives = n_additives - len(shell_additive_donors) if additive_species else 0
    packed = [(_Species('water', water_molecule(), [0], 0), free_waters, WATER_EXCLUSION)]
    if ion:
        packed.append((ion, n_ions, SOLUTE_EXCLUSION + _radius(ion.atoms)))
    if additive_species and free_additives:
        packed.append((additive_species, free_additives, SOLUTE_EXCLUSION + _radius(additive_species.atoms)))
    packed = [entry for entry in packed if entry[1] > 0]

    mass = shell.get_masses().sum() + sum(species.atoms.get_masses().sum() * count for species, count, _ in packed)
    length = box_length(mass, density)
    atoms, version = _run_packmol(shell, packed, length, tolerance=tolerance, seed=seed, workdir=workdir)

    groups = {'water': list(shell_waters), 'counter_ion': [], 'additive': list(shell_additive_donors)}
    molecules = {
        'water': [[o, o + 1, o + 2] for [o] in shell_waters],
        'counter_ion': [],
        'additive': list(shell_additive_atoms),
    }
    offset = len(shell)
    for species, count, _ in packed:
        size = len(species.atoms)
        for _ in range(count):
            groups[species.name].append([offset + donor for donor in species.donors])
            molecules[species.name].append(list(range(offset, offset + size)))
            offset += size
    charge = (
        2 + n_ions * (ion.charge if ion else 0) + n_additives * (additive_species.charge if additive_species else 0)
    )
    _check_contacts(atoms, molecules, len(shell), tolerance)
    composition = {
        'n_waters': n_waters,
        'n_counter_ions': n_ions,
        'counter_ion': counter_ion if ion else None,
        'n_additives': n_additives if additive_species else 0,
        'additive': additive if additive_species else None,
        'start': start,
        'box_length': length,
        'density': density,
        'seed': seed,
        'tolerance': tolerance,
        'packmol': version,
    }
    return ElectrolyteBox(atoms, int(charge), 0, groups, molecules, composition)


def _radius(atoms: Atoms) -> float:
    """Largest distance of an atom from the molecule's centre (Å)."""
    return (
        float(np.linalg.norm(atoms.positions - atoms.positions.mean(axis=0), axis=1).max()) if len(atoms) > 1 else 0.0
    )


def _run_packmol(shell: Atoms, packed, length: float, *, tolerance: float, seed: int, workdir) -> tuple[Atoms, str]:
    centre = length / 2
    low, high = tolerance / 2, length - tolerance / 2
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        path = Path(folder)
        write(path / 'shell.xyz', shell, format='xyz')
        lines = [
            f'tolerance {tolerance}',
            'filetype xyz',
            'output packed.xyz',
            f'seed {seed}',
            'structure shell.xyz',
            '  number 1',
            '  center',
            f'  fixed {centre:.4f} {centre:.4f} {centre:.4f} 0. 0. 0.',
            'end structure',
        ]
        for index, (species, count, requested) in enumerate(packed):
            # In a small box the exclusion sphere may not exceed the packing region: molecules go to the corners.
            exclusion = min(requested, high - centre)
            write(path / f'species_{index}.xyz', species.atoms, format='xyz')
            lines += [
                f'structure species_{index}.xyz',
                f'  number {count}',
                f'  inside box {low:.4f} {low:.4f} {low:.4f} {high:.4f} {high:.4f} {high:.4f}',
                f'  outside sphere {centre:.4f} {centre:.4f} {centre:.4f} {exclusion:.2f}',
                'end structure',
            ]
        (path / 'pack.inp').write_text('\n'.join(lines) + '\n')
        try:
            with (path / 'pack.inp').open() as stdin:
                result = subprocess.run(
                    ['packmol'],
                    stdin=stdin,
                    cwd=path,
                    capture_output=True,
                    text=True,
                    timeout=PACKMOL_TIMEOUT,
                    check=False,
                )
        except FileNotFoundError:
            raise PackingError('packmol is not installed (Debian package `packmol`).') from None
        except subprocess.TimeoutExpired:
            raise PackingError(f'packmol did not finish within {PACKMOL_TIMEOUT} s.') from None
        names = ', '.join(f'{count} {species.name}' for species, count, _ in packed)
        density_text = f'{length:.2f} Å box'
        if result.returncode != 0 or 'Success!' not in result.stdout or not (path / 'packed.xyz').exists():
            raise PackingError(
                f'packmol could not place {names} around the first shell in a {density_text} (tolerance '
                f'{tolerance} Å): lower the density or the number of molecules.'
            )
        atoms = read(path / 'packed.xyz', format='xyz')
        version = next((line.split()[-1] for line in result.stdout.splitlines() if 'Version' in line), 'unknown')
    atoms.set_cell([length] * 3)
    atoms.pbc = True
    return atoms, f'packmol {version}'


def _check_contacts(atoms: Atoms, molecules: dict[str, list[list[int]]], shell_size: int, tolerance: float) -> None:
    """No two molecules (the fixed first shell counts as one) closer than 0.8 x tolerance, minimum image."""
    owner = np.zeros(len(atoms), dtype=int)
    packed = [molecule for group in molecules.values() for molecule in group if min(molecule) >= shell_size]
    for label, molecule in enumerate(packed, start=1):
        owner[molecule] = label
    distances = atoms.get_all_distances(mic=True)
    different = owner[:, None] != owner[None, :]
    closest = float(distances[different].min()) if different.any() else np.inf
    if closest < 0.8 * tolerance:
        raise PackingError(f'two molecules are {closest:.2f} Å apart (minimum image): packmol left a clash.')


@calcfunction
def build_solvation_box(settings: orm.Dict, additive: orm.Str | None = None) -> dict | ExitCode:
    """The packed box (``structure``) and its ``system`` (charge, zn_index, groups, molecules, composition).

    ``settings``: n_waters, n_additives, counter_ion, density, start, seed, tolerance, allowed_elements,
    max_heavy_atoms. Exit status 300: packmol failed; 301: unusable additive; 302: inconsistent settings.
    """
    options = settings.get_dict()
    try:
        box = pack_electrolyte(
            int(options['n_waters']),
            additive.value if additive is not None else None,
            int(options.get('n_additives', 1 if additive is not None else 0)),
            counter_ion=options.get('counter_ion', 'sulfate'),
            density=float(options.get('density', 1.0)),
            start=options.get('start', 'hydrated'),
            seed=int(options.get('seed', 42)),
            tolerance=float(options.get('tolerance', 2.0)),
            allowed_elements=options.get('allowed_elements', ['H', 'B', 'C', 'N', 'O', 'F', 'Si', 'P', 'S', 'Cl']),
            max_heavy_atoms=int(options.get('max_heavy_atoms', 12)),
        )
    except PackingError as error:
        return ExitCode(300, str(error))
    except LigandError as error:
        return ExitCode(301, str(error))
    except (ValueError, KeyError) as error:
        return ExitCode(302, f'invalid box settings: {error}')
    system = {
        'charge': box.charge,
        'zn_index': box.zn_index,
        'groups': box.groups,
        'molecules': box.molecules,
        'composition': box.composition,
    }
    return {'structure': orm.StructureData(ase=box.atoms), 'system': orm.Dict(system)}
