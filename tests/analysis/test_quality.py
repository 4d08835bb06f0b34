"""The quality-check calcfunction: relaxed structures that are still what was built pass, changed ones are named."""

from __future__ import annotations

import numpy as np
from aiida import orm

from aiida_znadditive.analysis.quality import check_relaxed_complexes
from aiida_znadditive.structures.candidates import build_complexation_candidates


def test_built_structures_pass_and_changed_ones_are_named(aiida_profile):
    settings = {
        'allowed_elements': ['H', 'C', 'N', 'O'],
        'max_heavy_atoms': 10,
        'conformers': 2,
        'seed': 42,
        'zn_donor': 2.1,
        'max_denticity': 2,
    }
    candidates = build_complexation_candidates(orm.Str('NCC(=O)[O-]'), orm.Dict(settings))
    modes = candidates['binding_modes']
    chelate = next(mode for mode in modes['modes'] if mode['placed'] and mode['denticity'] == 2)
    built = candidates[chelate['structure']]
    # The glycinate pulled 1.5 Å off Zn along its N donor: both donors leave, Zn keeps only its four waters.
    moved = built.get_ase()
    offset = 1 + 3 * (6 - chelate['displaced_waters'])
    donor = moved.positions[chelate['donor_indices_in_complex'][0]]
    moved.positions[offset:] += 1.5 * donor / np.linalg.norm(donor)
    result = check_relaxed_complexes(
        modes, ligand_0=candidates['ligand_0'], **{chelate['structure']: orm.StructureData(ase=moved)}
    )
    assert result.creator.process_type.endswith('znadditive.check_relaxed_complexes')
    problems = result['problems']
    assert problems['ligand_0'] == []
    assert any(problem.startswith('donor_detached') for problem in problems[chelate['structure']])
    assert any('4 atoms bound to Zn, 6 built' in problem for problem in problems[chelate['structure']])
    assert result['passed'] == ['ligand_0']
    assert check_relaxed_complexes(modes, **{chelate['structure']: built})['passed'] == [chelate['structure']]
