"""Quality control of relaxed complexes as a calcfunction: the graph shows which relaxed structures were checked,
against which ligand, and why a binding mode was dropped (see :mod:`aiida_znadditive.structures.quality`)."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction
from ase.data import chemical_symbols

from ..structures.ligands import parse_ligand
from ..structures.quality import check_complex, check_ligand

# No element or size limit here: the ligand was accepted when its complexes were built, and the same SMILES gives the
# same atom order as then.
_ANY_ELEMENT = tuple(chemical_symbols[1:])


@calcfunction
def check_relaxed_complexes(binding_modes: orm.Dict, **structures: orm.StructureData) -> orm.Dict:
    """Problems of each relaxed structure: complexes (keys of ``binding_modes``' modes, ``complex_<j>``) and free
    ligand conformers (keys starting with ``ligand``).

    ``binding_modes`` is the output of ``build_complexation_candidates``: its ``smiles`` is the ligand as the
    structures were built (species included), and each mode's ``donor_indices_in_complex`` and ``displaced_waters``
    say where its donors and the ligand sit. Returns ``problems`` (key -> list of problems, empty when it passed) and
    ``passed`` (the keys without problems, sorted).
    """
    modes = {mode['structure']: mode for mode in binding_modes['modes'] if mode.get('placed')}
    mol = _ligand(binding_modes['smiles'])
    problems = {}
    for key, structure in structures.items():
        if key.startswith('ligand'):
            found = check_ligand(structure.get_ase(), mol)
        else:
            mode = modes[key]
            offset = 1 + 3 * (6 - mode['displaced_waters'])
            found = check_complex(structure.get_ase(), mol, offset, mode['donor_indices_in_complex'])
        problems[key] = [str(problem) for problem in found]
    return orm.Dict({'problems': problems, 'passed': sorted(key for key, found in problems.items() if not found)})


def _ligand(smiles: str):
    return parse_ligand(smiles, _ANY_ELEMENT, 10_000)
