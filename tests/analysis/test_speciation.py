"""The speciation calcfunction: a stored node records the species, its charge, the pH and the tool."""

from __future__ import annotations

import pytest
from aiida import orm
from aiida.plugins import CalculationFactory

from aiida_znadditive.analysis.speciation import (
    EXIT_IMPOSSIBLE_CHARGE,
    EXIT_INVALID_PH,
    EXIT_INVALID_SMILES,
    speciate_additive,
)
from aiida_znadditive.structures.speciation import PKA_OVERRIDES, tool_version


def test_speciate_additive_stores_the_species(aiida_profile):
    result, node = speciate_additive.run_get_node(orm.Str('[Na+].CC(=O)[O-]'), orm.Float(7.0))
    assert node.is_finished_ok
    assert node.is_stored
    assert isinstance(result, orm.Dict)
    assert result.is_stored
    content = result.get_dict()
    assert content['input_smiles'] == '[Na+].CC(=O)[O-]'
    assert content['smiles'] == 'CC(=O)[O-]'
    assert content['charge'] == -1
    assert content['ph'] == 7.0
    assert content['spectators'] == ['[Na+]']
    assert content['changes'] == ['carboxylic acid O deprotonated (pKa 4.8 override: alkanoic acid)']
    assert content['tool'] == f'dimorphite-dl {tool_version()}'
    assert content['tool_version'] == tool_version()
    assert [entry['name'] for entry in content['pka_overrides']] == [entry.name for entry in PKA_OVERRIDES]
    # The provenance links the species to the SMILES and pH it was computed from.
    assert {link.link_label for link in node.base.links.get_incoming().all()} == {'smiles', 'ph'}
    assert node.base.links.get_outgoing().one().node.uuid == result.uuid


def test_entry_point_is_registered(aiida_profile):
    assert CalculationFactory('znadditive.speciate_additive') is speciate_additive


@pytest.mark.parametrize(
    ('smiles', 'ph', 'status', 'message'),
    [
        ('C1CC', 4.5, EXIT_INVALID_SMILES, 'cannot parse'),
        ('OS(=O)(=O)CC(S(=O)(=O)O)C(S(=O)(=O)O)C(S(=O)(=O)O)CS(=O)(=O)O', 4.5, EXIT_IMPOSSIBLE_CHARGE, 'net charge -5'),
        ('CCO', 15.0, EXIT_INVALID_PH, 'pH 15.0'),
    ],
)
def test_bad_input_is_an_exit_code(aiida_profile, smiles, ph, status, message):
    _, node = speciate_additive.run_get_node(orm.Str(smiles), orm.Float(ph))
    assert node.is_failed
    assert node.exit_status == status
    assert message in node.exit_message
