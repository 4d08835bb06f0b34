"""RDKit standardisation: identity columns, the fragment rule for salts, and the reasons molecules are refused."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from aiida_znadditive.ml.database.standardise import (
    MoleculeError,
    StandardiseSettings,
    standardise,
    standardise_many,
    standardise_mol,
)


def test_water_identity():
    assert standardise('O') == {
        'inchikey': 'XLYOFNOQVPJJNP-UHFFFAOYSA-N',
        'smiles': 'O',
        'formula': 'H2O',
        'charge': 0,
        'elements': ['H', 'O'],
        'heavy_atoms': 1,
        'n_atoms': 3,
    }


def test_canonical_smiles_and_counts():
    record = standardise('OC(=O)c1ccccc1OC(C)=O')  # aspirin, written in a non-canonical order
    assert record['smiles'] == 'CC(=O)Oc1ccccc1C(=O)O'
    assert record['inchikey'] == 'BSYNRYMUTXBXSQ-UHFFFAOYSA-N'
    assert record['formula'] == 'C9H8O4'
    assert (record['heavy_atoms'], record['n_atoms']) == (13, 21)


@pytest.mark.parametrize(
    'smiles', ['[Na+].CC(=O)[O-]', 'CC(=O)[O-].[Na+]', 'CC(=O)O[Na]', 'CC(=O)[O-].CC(=O)[O-].[Zn+2]']
)
def test_salts_keep_the_organic_ion_with_its_charge(smiles):
    record = standardise(smiles)
    assert record['smiles'] == 'CC(=O)[O-]'
    assert record['charge'] == -1
    assert record['formula'] == 'C2H3O2-'
    assert record['inchikey'] == 'QTBSBXVTEAMEQO-UHFFFAOYSA-M'


def test_inorganic_salt_keeps_largest_fragment():
    record = standardise('[Zn+2].[O-]S(=O)(=O)[O-]')
    assert (record['smiles'], record['charge'], record['formula']) == ('O=S(=O)([O-])[O-]', -2, 'O4S-2')


def test_cation_additive_and_zwitterion_are_not_neutralised():
    assert standardise('C[N+](C)(C)C')['charge'] == 1
    zwitterion = standardise('[NH3+]CC(=O)[O-]')
    assert zwitterion['smiles'] == '[NH3+]CC(=O)[O-]'
    assert zwitterion['charge'] == 0
    # Standard InChI puts glycine and its zwitterion under one key: the unique view merges them.
    assert zwitterion['inchikey'] == standardise('NCC(=O)O')['inchikey']


def test_fragment_choice_does_not_depend_on_order():
    assert standardise('CCO.O')['smiles'] == standardise('O.CCO')['smiles'] == 'CCO'
    # Equal size: the first canonical SMILES wins, whichever comes first in the input.
    assert standardise('CCN.CCO')['smiles'] == standardise('CCO.CCN')['smiles']


def test_keep_fragments_and_elements_settings():
    with pytest.raises(MoleculeError, match='element Na not allowed'):
        standardise('[Na+].CC(=O)[O-]', {'fragments': 'keep'})
    settings = StandardiseSettings(fragments='keep', allowed_elements={'C', 'H', 'O', 'Na'})
    record = standardise('[Na+].CC(=O)[O-]', settings)
    assert (record['charge'], record['formula'], record['elements']) == (0, 'C2H3NaO2', ['C', 'H', 'Na', 'O'])


def test_neutralise_option():
    assert standardise('CC(=O)[O-]', {'neutralise': True})['smiles'] == 'CC(=O)O'


@pytest.mark.parametrize(
    ('smiles', 'reason', 'key'),
    [
        ('', 'empty SMILES', 'empty SMILES'),
        ('C1CC(', 'unparseable SMILES', 'unparseable SMILES'),
        ('[Xx]C', 'unparseable SMILES', 'unparseable SMILES'),
        ('CN(C)(C)(C)C', 'sanitisation failed: Explicit valence for atom # 1 N', 'sanitisation failed'),
        ('C[Se]C', 'element Se not allowed', 'element Se not allowed'),
        ('*C', 'element * not allowed', 'element * not allowed'),
        ('C' * 120, 'too large: 120 heavy atoms', 'too large'),
        ('C' * 3000, 'too large: SMILES of 3000 characters', 'too large'),
    ],
)
def test_refused_with_reason(smiles, reason, key):
    with pytest.raises(MoleculeError) as error:
        standardise(smiles)
    assert error.value.reason.startswith(reason)
    assert error.value.key == key


def test_max_heavy_atoms_setting():
    with pytest.raises(MoleculeError, match='too large: 6 heavy atoms'):
        standardise('c1ccccc1', {'max_heavy_atoms': 5})


def test_bad_settings():
    with pytest.raises(ValueError, match='fragments'):
        StandardiseSettings(fragments='smallest')
    with pytest.raises(ValueError, match='max_heavy_atoms'):
        StandardiseSettings(max_heavy_atoms=0)


def test_standardise_many_returns_reasons_in_order():
    results = standardise_many(['O', 'C1CC(', 'C[Se]C'])
    assert results[0]['inchikey'] == 'XLYOFNOQVPJJNP-UHFFFAOYSA-N'
    assert results[1:] == [('unparseable SMILES', 'unparseable SMILES'), ('element Se not allowed',) * 2]


def test_mol_with_3d_geometry():
    mol = Chem.AddHs(Chem.MolFromSmiles('CCO'))
    AllChem.EmbedMolecule(mol, randomSeed=1)
    record = standardise_mol(mol)
    assert record['smiles'] == 'CCO'
    assert record['atomic_numbers'] == [6, 6, 8, 1, 1, 1, 1, 1, 1]
    assert record['positions'].dtype == np.float32
    np.testing.assert_allclose(record['positions'].reshape(-1, 3), mol.GetConformer().GetPositions(), atol=1e-5)


def test_mol_salt_geometry_is_the_kept_fragment():
    mol = Chem.AddHs(Chem.MolFromSmiles('CC(=O)[O-].[Na+]'))
    AllChem.EmbedMolecule(mol, randomSeed=1)
    record = standardise_mol(mol)
    assert record['charge'] == -1
    assert sorted(record['atomic_numbers']) == [1, 1, 1, 6, 6, 8, 8]


def test_mol_2d_has_no_geometry():
    mol = Chem.MolFromSmiles('CCO')
    AllChem.Compute2DCoords(mol)
    assert 'positions' not in standardise_mol(mol)
