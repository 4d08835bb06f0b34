"""aiida-cp2k's base parser without its trajectory: the frames of a CP2K run are read once, by this adapter.

aiida-cp2k's ``Cp2kBaseParser`` reads the positions file of every run into an ``output_trajectory`` (positions and
forces of every frame, stored in the repository), and :func:`.trajectory.read_frames` reads the same file again for
the frames the WorkChains use (with times and temperatures from the energy file). Nothing of this package reads
``output_trajectory`` (the restart WorkChain does not even expose it), so each MD segment parsed and stored its
frames twice. This parser keeps everything else of the base parser (the output parameters, the final structure from
the restart file, the exit codes).
"""

from __future__ import annotations

from aiida_cp2k.parsers import Cp2kBaseParser


class Cp2kFramesOnceParser(Cp2kBaseParser):
    """``Cp2kBaseParser`` that leaves the trajectory to :func:`.trajectory.read_frames`."""

    def _parse_trajectory(self, structure):
        return None
