"""Parser for :class:`~aiida_znadditive.calculators.xtb.calculation.XtbCalculation`.

Results come from ``xtbout.json`` (GFN1/GFN2: energy in Hartree, orbital energies in eV, dipole in e·bohr) and
from the stdout (version, wall time, GFN-FF energy, convergence and error messages). The ``parameters`` output:

- ``total_energy`` (eV, with ``total_energy_units``), ``homo``, ``lumo`` and ``gap`` (eV; None for GFN-FF);
- ``dipole_moment`` (Debye, norm, about the centre of mass; None for GFN-FF), ``partial_charges`` (e);
- ``method``, ``solvent``, ``charge``, ``multiplicity``, ``xtb_version``, ``wall_time`` (s);
- ``converged_geometry`` (bool for a relax or frequency task, None for a single point) and ``units``;
- ``xtb_rrho_correction`` (eV): xtb's own G(RRHO) of a frequency task, for cross-checks (None otherwise).

A frequency task (``--ohess``) also gives ``frequencies``: the vibrational wavenumbers of ``vibspectrum`` without the
3 translations and 3 (2 linear) rotations, which xtb projects out and lists as zeros.

A relax that ran out of cycles still gets its ``structure`` and ``parameters`` outputs so that a restart can
continue from the last geometry."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
from aiida.engine import ExitCode
from aiida.orm import ArrayData, Dict, StructureData, TrajectoryData
from aiida.parsers.parser import Parser
from ase import Atoms
from ase.units import Bohr, Hartree

from aiida_znadditive.calculators.xtb.calculation import DEFAULT_PARAMETERS, XtbCalculation

# 1 e·bohr in Debye (CODATA); xtb's JSON dipole is in e·bohr, its stdout table in Debye.
AU_TO_DEBYE = 2.541746
HARTREE_PER_BOHR2_TO_EV_PER_A2 = Hartree / Bohr**2  # the hessian file is in atomic units
# Below this an orbital counts as empty: Fermi smearing at 300 K leaves ~1e-10 in the LUMO of a normal molecule.
OCCUPATION_THRESHOLD = 1e-3

SCC_FAILURE_MESSAGES = (
    'Self consistent charge iterator did not converge',
    'convergence criteria cannot be satisfied within',
    'SCF not converged',
)
GEOMETRY_CONVERGED = 'GEOMETRY OPTIMIZATION CONVERGED'
GEOMETRY_FAILED = 'FAILED TO CONVERGE GEOMETRY OPTIMIZATION'

VERSION_PATTERN = re.compile(r'\*\s*xtb version\s+(\S+)')
TOTAL_ENERGY_PATTERN = re.compile(r'\|\s*TOTAL ENERGY\s+(-?\d+\.\d+)\s*Eh')
# xtb's own thermal correction of a frequency task (its RRHO variant: free rotors below 50 cm⁻¹, 1 atm).
RRHO_PATTERN = re.compile(r'::\s*G\(RRHO\) contrib\.\s+(-?\d+\.\d+)\s*Eh')
WALL_TIME_PATTERN = re.compile(
    r'^\s*total:\s*\n\s*\*\s*wall-time:\s*(\d+)\s*d,\s*(\d+)\s*h,\s*(\d+)\s*min,\s*([\d.]+)\s*sec', re.MULTILINE
)
# xtb 6.x prints `-N- message` lines under `[ERROR] Program stopped due to fatal error`; -1- was raised first.
ERROR_STACK_PATTERN = re.compile(r'^\s*-(\d+)-\s*(.+?)\s*$')


def first_error(stdout: str, stderr: str) -> str | None:
    """Return the first error xtb raised, or None when it terminated normally.

    xtb 6.x lists its error stack below an ``[ERROR]`` banner, older versions print ``#ERROR!`` lines; stderr
    carries ``abnormal termination of xtb`` either way.
    """
    lines = stdout.splitlines()
    for index, line in enumerate(lines):
        if line.startswith('[ERROR]'):
            stack = []
            for following in lines[index + 1 :]:
                match = ERROR_STACK_PATTERN.match(following)
                if match is None:
                    break
                stack.append((int(match.group(1)), match.group(2)))
            return min(stack)[1] if stack else line.strip()
        if line.lstrip().startswith('#ERROR!'):
            return line.strip()
    if 'abnormal termination' in stderr:
        return 'abnormal termination of xtb (no error message in the stdout)'
    return None


def read_xyz_frames(text: str) -> list[tuple[list[str], np.ndarray, float | None]]:
    """Read the frames of an xtb XYZ file: symbols, positions (Å) and the energy (Hartree) from the comment line.

    xtb's comment line (`` energy: -5.07 gnorm: 0.0001 xtb: 6.5.1 (unknown)``) is not extended XYZ, so this reads
    the file itself rather than through ASE.
    """
    frames = []
    lines = text.splitlines()
    position = 0
    while position < len(lines) and lines[position].strip():
        natoms = int(lines[position])
        comment = lines[position + 1].split()
        energy = float(comment[comment.index('energy:') + 1]) if 'energy:' in comment else None
        rows = [line.split() for line in lines[position + 2 : position + 2 + natoms]]
        symbols = [row[0] for row in rows]
        positions = np.array([[float(value) for value in row[1:4]] for row in rows])
        frames.append((symbols, positions, energy))
        position += natoms + 2
    return frames


def read_vibspectrum(text: str, column: int = -4) -> np.ndarray:
    """One column of a Turbomole-format ``vibspectrum`` file, in the file's order: the wavenumbers (cm⁻¹, the
    default) or, with ``column=-3``, the IR intensities (km/mol).

    Rows are ``mode [symmetry] wavenumber intensity IR RAMAN``; the symmetry label is blank for the projected modes,
    so the columns are counted from the end of the row.
    """
    values = []
    for line in text.splitlines():
        fields = line.split()
        if not fields or line.lstrip().startswith(('$', '#')):
            continue
        values.append(float(fields[column]))
    return np.array(values)


def vibrational_modes(wavenumbers: np.ndarray, atoms: Atoms) -> np.ndarray:
    """The indices of the 3N-6 (3N-5 for a linear molecule) vibrations, by ascending wavenumber: the 6 (5) entries
    closest to zero, which xtb writes for the projected translations and rotations, are dropped."""
    from aiida_znadditive.analysis.thermochemistry import n_vibrations

    count = n_vibrations(atoms.get_masses(), atoms.positions)
    external = len(wavenumbers) - count
    kept = np.sort(np.argsort(np.abs(wavenumbers), kind='stable')[external:])
    return kept[np.argsort(wavenumbers[kept], kind='stable')]


def vibrational_frequencies(wavenumbers: np.ndarray, atoms: Atoms) -> np.ndarray:
    """The 3N-6 (3N-5 for a linear molecule) vibrational wavenumbers, ascending (:func:`vibrational_modes`)."""
    return wavenumbers[vibrational_modes(wavenumbers, atoms)]


def read_hessian(text: str, n_atoms: int) -> np.ndarray:
    """The Cartesian Hessian (3N x 3N, eV/Å²) of xtb's Turbomole-format ``hessian`` file (Hartree/bohr²)."""
    body = text.split('$hessian', 1)[1].split('$', 1)[0]
    values = np.array(body.split(), dtype=float)
    size = 3 * n_atoms
    if values.size != size * size:
        raise ValueError(f'{values.size} Hessian elements for {n_atoms} atoms (expected {size * size})')
    hessian = values.reshape(size, size) * HARTREE_PER_BOHR2_TO_EV_PER_A2
    return 0.5 * (hessian + hessian.T)


def frontier_orbitals(energies: list[float], occupations: list[float]) -> tuple[float | None, float | None]:
    """Return the HOMO and LUMO energies (in the units of ``energies``): highest occupied orbital and the next."""
    occupied = [i for i, occupation in enumerate(occupations) if occupation > OCCUPATION_THRESHOLD]
    if not occupied:
        return None, None
    homo = occupied[-1]
    lumo = energies[homo + 1] if homo + 1 < len(energies) else None
    return energies[homo], lumo


def dipole_about_centre_of_mass(dipole: list[float], atoms: Atoms, charge: int) -> float:
    """Return the norm in Debye of xtb's dipole (e·bohr, about the coordinate origin) moved to the centre of mass.

    The dipole of an ion depends on the origin: xtb takes the origin of the input coordinates, so a Zn2+ complex
    centred in a 20 Å box would report ~170 D. About the centre of mass, the usual convention, it describes the
    molecule; for a neutral molecule the shift changes nothing.

    :param dipole: xtb's dipole vector in e·bohr.
    :param atoms: the geometry the dipole belongs to, positions in Å.
    :param charge: total charge in e.
    """
    centre = atoms.get_center_of_mass() / Bohr
    return float(np.linalg.norm(np.asarray(dipole) - charge * centre)) * AU_TO_DEBYE


class XtbParser(Parser):
    """Turn the files of an xtb job into ``parameters``, ``structure`` and ``trajectory`` outputs."""

    def read(self, filename: str) -> str | None:
        """Return the content of a retrieved file, or None when xtb did not write it."""
        try:
            return self.retrieved.base.repository.get_object_content(filename, mode='r')
        except FileNotFoundError:
            return None

    def parse(self, **kwargs: Any) -> ExitCode | None:
        """Parse the retrieved files; return the exit code of a failed job, None when it succeeded."""
        stdout = self.read(XtbCalculation.FILENAME_STDOUT)
        if stdout is None:
            # A scheduler error (walltime, out of memory) explains a missing stdout better than we can.
            scheduler = self.node.exit_status is not None
            return (
                ExitCode(self.node.exit_status, self.node.exit_message)
                if scheduler
                else self.exit_codes.ERROR_OUTPUT_STDOUT_MISSING
            )
        names = self.retrieved.base.repository.list_object_names()
        stderr = self.read(XtbCalculation.FILENAME_STDERR) or ''
        parameters = self.node.inputs.parameters.get_dict() if 'parameters' in self.node.inputs else {}
        settings = {**DEFAULT_PARAMETERS, **parameters}
        relax = settings['task'] in ('relax', 'frequencies')

        # The path up to a failure is worth keeping even when the job failed.
        log = self.read(XtbCalculation.FILENAME_OPT_LOG)
        if relax and log:
            self.out('trajectory', self.build_trajectory(log))

        failure = self.xtb_failure(stdout, stderr, names)
        if failure is not None:
            return failure

        # xtb writes the geometry its results belong to: the input for a single point, xtbopt.xyz for a relax.
        optimised = None
        if relax:
            text = self.read(XtbCalculation.FILENAME_OPT_STRUCTURE)
            optimised = self.build_structure(text) if text else None
        geometry = (optimised or self.node.inputs.structure).get_ase()

        results = self.parse_results(stdout, settings, geometry)
        if results is None:
            return self.exit_codes.ERROR_OUTPUT_JSON_MISSING

        converged = None
        if relax:
            if optimised is None:
                return self.exit_codes.ERROR_OUTPUT_STRUCTURE_MISSING
            self.out('structure', optimised)
            # A single atom has no geometry to optimise: xtb prints no convergence line for it.
            converged = len(geometry) == 1 or (
                GEOMETRY_CONVERGED in stdout
                and GEOMETRY_FAILED not in stdout
                and XtbCalculation.FILENAME_OPT_NOT_CONVERGED not in names
            )
        results['converged_geometry'] = converged
        if settings['task'] == 'frequencies' and (missing := self.parse_frequencies(geometry)) is not None:
            return missing
        self.out('parameters', Dict(results))

        # The structure and parameters are out already: a restart continues from the last geometry.
        return self.exit_codes.ERROR_GEOMETRY_NOT_CONVERGED if converged is False else None

    def parse_frequencies(self, geometry: Atoms) -> ExitCode | None:
        """Output the vibrational wavenumbers of ``vibspectrum`` (at ``geometry``); the exit code when it is missing."""
        spectrum = self.read(XtbCalculation.FILENAME_VIBSPECTRUM)
        if not spectrum:
            return self.exit_codes.ERROR_OUTPUT_FREQUENCIES_MISSING
        wavenumbers = read_vibspectrum(spectrum)
        modes = vibrational_modes(wavenumbers, geometry)
        frequencies = ArrayData()
        frequencies.set_array('frequencies', wavenumbers[modes])
        frequencies.set_array('ir_intensities', read_vibspectrum(spectrum, column=-3)[modes])
        self.out('frequencies', frequencies)
        # The Hessian is optional: the frequencies and thermochemistry need none, the mode analysis does.
        hessian_text = self.read(XtbCalculation.FILENAME_HESSIAN)
        if hessian_text:
            try:
                hessian = read_hessian(hessian_text, len(geometry))
            except (ValueError, IndexError) as error:
                self.logger.warning(f'the hessian file could not be read ({error}); no `hessian` output')
            else:
                node = ArrayData()
                node.set_array('hessian', hessian)
                self.out('hessian', node)
        displaced = self.read(XtbCalculation.FILENAME_HESS_DISPLACED)
        if displaced:
            self.out('displaced_structure', self.build_structure(displaced))
        return None

    def xtb_failure(self, stdout: str, stderr: str, names: list[str]) -> ExitCode | None:
        """Return the exit code for an xtb run that stopped early (SCC failure or another error), else None."""
        if XtbCalculation.FILENAME_SCC_NOT_CONVERGED in names or any(text in stdout for text in SCC_FAILURE_MESSAGES):
            return self.exit_codes.ERROR_SCF_NOT_CONVERGED
        error = first_error(stdout, stderr)
        if error is not None:
            return self.exit_codes.ERROR_XTB_ABORTED.format(error=error)
        return None

    def parse_results(self, stdout: str, settings: dict[str, Any], geometry: Atoms) -> dict[str, Any] | None:
        """Collect the ``parameters`` output; None when the energy is missing.

        :param geometry: the molecule the results belong to (positions in Å), for the dipole's centre of mass.
        """
        results: dict[str, Any] = {
            'method': settings['method'],
            'solvent': settings['solvent'],
            'charge': settings['charge'],
            'multiplicity': settings['multiplicity'],
            'homo': None,
            'lumo': None,
            'gap': None,
            'dipole_moment': None,
            'partial_charges': None,
        }
        if settings['method'] == 'gfnff':
            # GFN-FF has no orbitals and writes no JSON: the energy is in the stdout, the charges in a file.
            match = TOTAL_ENERGY_PATTERN.findall(stdout)
            if not match:
                return None
            results['total_energy'] = float(match[-1]) * Hartree
            charges = self.read(XtbCalculation.FILENAME_GFNFF_CHARGES)
            if charges:
                results['partial_charges'] = [float(value) for value in charges.split()]
        else:
            text = self.read(XtbCalculation.FILENAME_JSON)
            if not text:
                return None
            data = json.loads(text)
            results['total_energy'] = data['total energy'] * Hartree
            homo, lumo = frontier_orbitals(data['orbital energies/eV'], data['fractional occupation'])
            results['homo'], results['lumo'] = homo, lumo
            results['gap'] = lumo - homo if homo is not None and lumo is not None else None
            results['dipole_moment'] = dipole_about_centre_of_mass(data['dipole'], geometry, settings['charge'])
            results['partial_charges'] = data['partial charges']
            results['number_of_unpaired_electrons'] = data.get('number of unpaired electrons')
        results['total_energy_units'] = 'eV'
        rrho = RRHO_PATTERN.findall(stdout)
        results['xtb_rrho_correction'] = float(rrho[-1]) * Hartree if rrho else None

        version = VERSION_PATTERN.search(stdout)
        results['xtb_version'] = version.group(1) if version else None
        wall = WALL_TIME_PATTERN.search(stdout)
        results['wall_time'] = (
            ((int(wall.group(1)) * 24 + int(wall.group(2))) * 60 + int(wall.group(3))) * 60 + float(wall.group(4))
            if wall
            else None
        )
        results['units'] = {
            'total_energy': 'eV',
            'homo': 'eV',
            'lumo': 'eV',
            'gap': 'eV',
            'dipole_moment': 'Debye',
            'partial_charges': 'e',
            'wall_time': 's',
            'xtb_rrho_correction': 'eV',
        }
        return results

    def build_structure(self, text: str) -> StructureData:
        """Return the input structure with the positions of the last frame of ``text`` (cell, pbc and kinds kept)."""
        _, positions, _ = read_xyz_frames(text)[-1]
        structure = self.node.inputs.structure.clone()
        structure.reset_sites_positions(positions.tolist())
        return structure

    def build_trajectory(self, text: str) -> TrajectoryData:
        """Return the optimisation path in ``xtbopt.log`` with the energy (eV) of every step."""
        frames = read_xyz_frames(text)
        structure = self.node.inputs.structure
        trajectory = TrajectoryData()
        # Only the atoms move in xtb's optimiser; the cell is the input's in every frame.
        trajectory.set_trajectory(
            symbols=frames[0][0],
            positions=np.array([positions for _, positions, _ in frames]),
            stepids=np.arange(len(frames)),
            cells=np.array([structure.cell] * len(frames)),
            pbc=structure.pbc,
        )
        energies = [np.nan if energy is None else energy * Hartree for _, _, energy in frames]
        trajectory.set_array('energies', np.array(energies))
        return trajectory
