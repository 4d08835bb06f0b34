"""MD trajectories from CP2K runs: the frames of each run's files, and the calcfunction that splices a chain of runs
(the engine-neutral splicing is :mod:`aiida_znadditive.analysis.trajectory`)."""

from __future__ import annotations

import re

import numpy as np
from aiida import orm
from aiida.engine import calcfunction
from ase.units import Hartree

from ...analysis.trajectory import Frames, splice, to_trajectory

TRAJECTORY_FILE = 'aiida-pos-1.xyz'
ENERGY_FILE = 'aiida-1.ener'
RESTART_FILE = 'aiida-1.restart'
OUTPUT_FILE = 'aiida.out'
SCF_WARNING = 'SCF run NOT converged'

_COMMENT = re.compile(r'i\s*=\s*(\d+),\s*time\s*=\s*([-\d.Ee+]+),\s*E\s*=\s*([-\d.Ee+]+)')
_MD_STEP = re.compile(r'&MD\b.*?STEP_START_VAL\s+(\d+).*?&END MD', re.DOTALL | re.IGNORECASE)


def parse_xyz_frames(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Steps, times (fs), positions (Å) and energies (Hartree) of CP2K's ``-pos-1.xyz`` (``i = .., time = .., E = ..``).

    A frame cut short (a run killed while writing) is dropped.
    """
    lines = text.splitlines()
    steps, times, energies, positions = [], [], [], []
    cursor = 0
    while cursor < len(lines):
        header = lines[cursor].strip()
        if not header:
            cursor += 1
            continue
        n_atoms = int(header)
        block = lines[cursor + 2 : cursor + 2 + n_atoms]
        match = _COMMENT.search(lines[cursor + 1]) if cursor + 1 < len(lines) else None
        if match is None or len(block) < n_atoms:
            break
        try:
            frame = np.array([[float(value) for value in line.split()[1:4]] for line in block])
        except (ValueError, IndexError):
            break
        if frame.shape != (n_atoms, 3):
            break
        steps.append(int(match.group(1)))
        times.append(float(match.group(2)))
        energies.append(float(match.group(3)))
        positions.append(frame)
        cursor += 2 + n_atoms
    return np.array(steps, dtype=int), np.array(times), np.array(positions), np.array(energies)


def parse_temperatures(text: str) -> dict[int, float]:
    """Step -> temperature (K) from CP2K's ``.ener`` file (columns: step, time, kinetic, temperature, ...)."""
    temperatures = {}
    for line in text.splitlines():
        fields = line.split()
        if fields and not line.lstrip().startswith('#') and len(fields) >= 4:
            temperatures[int(fields[0])] = float(fields[3])
    return temperatures


def restart_step(restart_text: str) -> int:
    """The MD step a CP2K restart file continues from (0 when it holds no MD section)."""
    match = _MD_STEP.search(restart_text)
    return int(match.group(1)) if match else 0


def unconverged_scf_steps(retrieved: orm.FolderData) -> int:
    """How many SCF runs of a CP2K run ended unconverged (CP2K 2023 warns and goes on)."""
    if OUTPUT_FILE not in retrieved.base.repository.list_object_names():
        return 0
    return retrieved.base.repository.get_object_content(OUTPUT_FILE).count(SCF_WARNING)


def read_frames(retrieved: orm.FolderData) -> Frames | None:
    """The frames of one CP2K run from its retrieved files, or None when it wrote none."""
    names = retrieved.base.repository.list_object_names()
    if TRAJECTORY_FILE not in names:
        return None
    steps, times, positions, energies = parse_xyz_frames(retrieved.base.repository.get_object_content(TRAJECTORY_FILE))
    if not len(steps):
        return None
    temperatures = {}
    if ENERGY_FILE in names:
        temperatures = parse_temperatures(retrieved.base.repository.get_object_content(ENERGY_FILE))
    return Frames(
        steps=steps,
        times=times / 1000.0,
        positions=positions,
        energies=energies * Hartree,
        temperatures=np.array([temperatures.get(step, np.nan) for step in steps]),
    )


@calcfunction
def join_md_runs(structure: orm.StructureData, **retrieved: orm.FolderData) -> dict:
    """The MD trajectory of a chain of CP2K runs (keys ``run_<i>`` in the order they ran) and its last frame.

    Outputs: ``trajectory`` (cell of ``structure``: NVT) and ``energy`` (potential energy of the last frame, eV).
    """
    ordered = [retrieved[key] for key in sorted(retrieved, key=lambda key: int(key.rsplit('_', 1)[1]))]
    frames = splice([read_frames(folder) for folder in ordered])
    symbols = [structure.get_kind(site.kind_name).symbol for site in structure.sites]
    trajectory = to_trajectory(frames, symbols, np.array(structure.cell), structure.pbc)
    # Steps whose SCF did not converge, over all runs (including steps later redone): a quality flag to query.
    trajectory.base.attributes.set('unconverged_scf_steps', sum(unconverged_scf_steps(f) for f in ordered))
    return {'trajectory': trajectory, 'energy': orm.Float(float(frames.energies[-1]))}
