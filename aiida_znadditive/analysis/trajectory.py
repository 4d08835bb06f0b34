"""MD trajectories, whatever engine made them: frames, splicing of restarted runs, and TrajectoryData.

A segment of MD may take several engine runs (walltime, SCF or crash restarts), and a campaign several segments. Each
run continues from a restart file, which may be older than the run's last frame when the run crashed. Splicing
keeps, for every step number, the frame of the *latest* run that reached it: a run starting at step ``s`` cuts the
frames at and after ``s`` of all earlier runs, so frames that were later redone are dropped, never duplicated.
An engine's adapter reads its own files into :class:`Frames` (CP2K: :mod:`.calculators.cp2k.trajectory`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from aiida import orm
from aiida.engine import calcfunction


@dataclass
class Frames:
    """Frames of one run: step numbers, times (ps), positions (Å), potential energies (eV), temperatures (K)."""

    steps: np.ndarray
    times: np.ndarray
    positions: np.ndarray
    energies: np.ndarray
    temperatures: np.ndarray

    def __len__(self) -> int:
        return len(self.steps)

    def select(self, mask: np.ndarray) -> Frames:
        return Frames(*(getattr(self, name)[mask] for name in self.__dataclass_fields__))


def splice(runs: list[Frames]) -> Frames:
    """One trajectory from runs in the order they ran; a later run replaces the frames from its first step on."""
    runs = [run for run in runs if run is not None and len(run)]
    if not runs:
        raise ValueError('No MD frames to splice.')
    spliced = runs[0]
    for run in runs[1:]:
        kept = spliced.select(spliced.steps < run.steps[0])
        spliced = Frames(
            *(np.concatenate([getattr(kept, name), getattr(run, name)]) for name in Frames.__dataclass_fields__)
        )
    return spliced


def frames_from_trajectory(trajectory: orm.TrajectoryData) -> Frames:
    return Frames(
        steps=trajectory.get_stepids(),
        times=trajectory.get_times(),
        positions=trajectory.get_positions(),
        energies=trajectory.get_array('energies'),
        temperatures=trajectory.get_array('temperatures'),
    )


def to_trajectory(frames: Frames, symbols: list[str], cell: np.ndarray, pbc=(True, True, True)) -> orm.TrajectoryData:
    """TrajectoryData with positions (Å), cells (Å), times (ps), step ids and the arrays energies (eV), temperatures."""
    trajectory = orm.TrajectoryData()
    trajectory.set_trajectory(
        symbols=symbols,
        positions=frames.positions,
        stepids=frames.steps,
        cells=np.repeat(np.asarray(cell)[None], len(frames), axis=0),
        times=frames.times,
        pbc=pbc,
    )
    trajectory.set_array('energies', frames.energies)
    trajectory.set_array('temperatures', frames.temperatures)
    return trajectory


@calcfunction
def join_trajectories(**trajectories: orm.TrajectoryData) -> orm.TrajectoryData:
    """One trajectory from MD segments (keys ``segment_<i>`` in the order they ran), spliced by step number."""
    ordered = [trajectories[key] for key in sorted(trajectories, key=lambda key: int(key.rsplit('_', 1)[1]))]
    frames = splice([frames_from_trajectory(trajectory) for trajectory in ordered])
    first = ordered[0]
    trajectory = to_trajectory(frames, first.symbols, first.get_cells()[0], first.pbc)
    unconverged = sum(segment.base.attributes.get('unconverged_scf_steps', 0) for segment in ordered)
    trajectory.base.attributes.set('unconverged_scf_steps', unconverged)
    return trajectory
