"""``best_binding_mode``: the WorkChain's best mode, chosen in a calcfunction from the energies that decide."""

from __future__ import annotations

import pytest
from aiida import orm

from aiida_znadditive.analysis.energies import best_binding_mode


def binding_modes() -> orm.Dict:
    def mode(index: int, denticity: int) -> dict:
        return {
            'label': f'mode {index}',
            'placed': True,
            'structure': f'complex_{index}',
            'donors': list(range(denticity)),
            'elements': ['O'] * denticity,
            'kinds': ['carboxylate O'] * denticity,
            'denticity': denticity,
            'displaced_waters': denticity,
            'charge': -2,
            'donor_indices_in_complex': list(range(denticity)),
            'min_contact': 2.0,
        }

    unplaced = {'label': 'mode x', 'placed': False, 'reason': 'clash'}
    return orm.Dict({'smiles': 'X', 'ligand_charge': -4, 'modes': [mode(0, 1), unplaced, mode(1, 6), mode(2, 3)]})


def test_lowest_energy_wins_and_its_creator_is_recorded(aiida_profile):
    result, node = best_binding_mode.run_get_node(
        binding_modes(), complex_0=orm.Float(-0.2), complex_1=orm.Float(-1.5), complex_2=orm.Float(-0.9)
    )
    assert node.is_finished_ok
    mode = result.get_dict()
    assert (mode['label'], mode['denticity'], mode['structure'], mode['exchange_energy']) == (
        'mode 1',
        6,
        'complex_1',
        -1.5,
    )
    assert 'min_contact' not in mode  # bookkeeping of the built structure stays in binding_modes
    assert result.creator.uuid == node.uuid


def test_modes_without_energy_are_not_chosen_and_ties_keep_the_first(aiida_profile):
    mode = best_binding_mode(binding_modes(), complex_2=orm.Float(-0.5), complex_0=orm.Float(-0.5))
    assert mode['structure'] == 'complex_0'


def test_an_energy_of_an_unknown_mode_is_an_error(aiida_profile):
    with pytest.raises(ValueError, match='complex_7'):
        best_binding_mode(binding_modes(), complex_7=orm.Float(-1.0))
