"""``build_complexation_candidates``: the structures a complexation study starts from, multidentate modes included."""

from __future__ import annotations

import numpy as np
from aiida import orm
from ase import Atoms

from aiida_znadditive.analysis.speciation import speciate_additive
from aiida_znadditive.protocols import resolve_protocol
from aiida_znadditive.structures.candidates import build_complexation_candidates, prepare_ligand
from aiida_znadditive.structures.quality import check_complex

EDTA = 'OC(=O)CN(CC(=O)O)CCN(CC(=O)O)CC(=O)O'


def protocol_settings(**complex_) -> orm.Dict:
    """The ligand and complex settings the WorkChain passes, from the default protocol."""
    _, settings = resolve_protocol('complexation')
    return orm.Dict({**settings['ligand'], **settings['complex'], **complex_})


def test_edta_at_ph_10_gets_a_hexadentate_complex(aiida_profile):
    """EDTA at pH 10 is EDTA4- (dimorphite-dl: four carboxylates, both amines neutral); with the
    protocol's max_denticity its N2O4 mode, the one of [Zn(EDTA)]2-, is placed with no water left on Zn."""
    species = speciate_additive(orm.Str(EDTA), orm.Float(10.0))
    assert species['charge'] == -4
    outputs = build_complexation_candidates(species, protocol_settings())
    modes = outputs['binding_modes']
    assert modes['smiles'] == species['smiles']
    assert modes['ligand_charge'] == -4
    placed = [mode for mode in modes['modes'] if mode['placed']]
    hexadentate = [mode for mode in placed if mode['denticity'] == 6]
    assert hexadentate, [mode['label'] for mode in modes['modes']]
    mode = hexadentate[0]
    assert sorted(mode['elements']) == ['N', 'N', 'O', 'O', 'O', 'O']
    assert mode['displaced_waters'] == 6
    assert mode['charge'] == -2
    atoms = outputs[mode['structure']].get_ase()
    assert atoms.get_chemical_formula(mode='hill') == 'C10H12N2O8Zn'
    assert np.allclose(atoms.get_distances(0, mode['donor_indices_in_complex']), 2.1, atol=0.15)
    # The starting geometry passes the checks applied to relaxed complexes: it is the species it claims to be.
    mol, _ = prepare_ligand(species['smiles'], protocol_settings().get_dict())
    offset = len(atoms) - mol.GetNumAtoms()
    assert check_complex(Atoms(atoms), mol, offset, mode['donor_indices_in_complex']) == []
    # Every denticity from one to six is represented: the chelate modes come on top of the rigid ones.
    assert {mode['denticity'] for mode in placed} == {1, 2, 3, 4, 5, 6}


def test_a_smiles_is_taken_as_written_and_max_denticity_limits_the_modes(aiida_profile):
    """A Str is built as written (no speciation); max_denticity 2 keeps EDTA4- to mono- and bidentate modes."""
    edta4 = 'O=C([O-])CN(CC(=O)[O-])CCN(CC(=O)[O-])CC(=O)[O-]'
    outputs = build_complexation_candidates(orm.Str(edta4), protocol_settings(max_denticity=2))
    modes = outputs['binding_modes']
    assert modes['smiles'] == edta4
    assert {mode['denticity'] for mode in modes['modes'] if mode['placed']} <= {1, 2}
