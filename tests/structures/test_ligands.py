"""Ligand handling: SMILES checks, Zn2+ donor atoms, conformers and chelating pairs, on real additive molecules."""

import numpy as np
import pytest
from rdkit import Chem

from aiida_znadditive.structures import ligands
from aiida_znadditive.structures.ligands import (
    Donor,
    LigandError,
    chelating_pairs,
    dropped_fragments,
    embed_conformers,
    find_donors,
    net_charge,
    parse_ligand,
    require_donors,
    symmetry_unique,
)

ELEMENTS = ('C', 'H', 'N', 'O', 'S', 'P', 'F', 'Cl')


def parse(smiles: str) -> Chem.Mol:
    return parse_ligand(smiles, ELEMENTS, max_heavy_atoms=30)


def donors_of(smiles: str) -> list[tuple[int, str, str, bool]]:
    return [(d.index, d.element, d.kind, d.anionic) for d in find_donors(parse(smiles))]


@pytest.mark.parametrize(
    ('smiles', 'expected'),
    [
        ('CO', [(1, 'O', 'hydroxyl O', False)]),
        # DMSO binds through O; the sulfoxide S (no free lone pair towards Zn in the S=O ylide) is not a donor.
        ('CS(C)=O', [(3, 'O', 'sulfoxide O', False)]),
        ('C[S+](C)[O-]', [(3, 'O', 'sulfoxide O', False)]),  # charge-separated DMSO: same donor, still neutral
        ('CC(=O)[O-]', [(2, 'O', 'carboxylate O', True), (3, 'O', 'carboxylate O', True)]),
        ('c1ccncc1', [(3, 'N', 'pyridine N', False)]),
        ('c1cc[nH]c1', []),  # pyrrole N: its lone pair is part of the aromatic sextet
        ('c1cnc[nH]1', [(2, 'N', 'pyridine N', False)]),  # imidazole: N3 only
        ('CNC(C)=O', [(4, 'O', 'carbonyl O', False)]),  # N-methylacetamide: the amide N is not a donor
        ('C[N+](C)(C)C', []),  # tetramethylammonium
        ('OCCO', [(0, 'O', 'hydroxyl O', False), (3, 'O', 'hydroxyl O', False)]),
        # Glycine: amine N and acid C=O; the acid OH is not a donor.
        ('NCC(=O)O', [(0, 'N', 'amine N', False), (3, 'O', 'carbonyl O', False)]),
        ('CC#N', [(2, 'N', 'nitrile N', False)]),
        ('CCOCC', [(2, 'O', 'ether O', False)]),
        # Ethyl acetate: the carbonyl O; the ester's single-bonded O is conjugated with C=O and not a donor.
        ('CCOC(C)=O', [(5, 'O', 'carbonyl O', False)]),
        # Trimethyl phosphate binds through P=O; the P-O-C oxygens are ester O, not donors.
        ('COP(=O)(OC)OC', [(3, 'O', 'phosphate O', False)]),
        ('OP(=O)([O-])OC', [(2, 'O', 'phosphate O', True), (3, 'O', 'phosphate O', True)]),
        ('CS(=O)(=O)[O-]', [(i, 'O', 'sulfonate O', True) for i in (2, 3, 4)]),
        ('CS(C)(=O)=O', [(3, 'O', 'sulfonyl O', False), (4, 'O', 'sulfonyl O', False)]),
        ('[O-][N+](=O)[O-]', [(i, 'O', 'nitrate O', True) for i in (0, 2, 3)]),
        ('CC[N+](=O)[O-]', []),  # nitro O are too weak to count
        ('C[NH3+]', []),  # protonated amine
        ('CN(C)C', [(1, 'N', 'amine N', False)]),
        ('Nc1ccccc1', []),  # aniline N is conjugated with the ring (sp2), not an sp3 amine
        ('O', [(0, 'O', 'water O', False)]),
        ('[OH-]', [(0, 'O', 'hydroxide O', True)]),
        ('C[O-]', [(1, 'O', 'alkoxide O', True)]),
        ('[O-]c1ccccc1', [(0, 'O', 'phenoxide O', True)]),
        ('CSC', [(1, 'S', 'thioether S', False)]),
        ('CS', [(1, 'S', 'thiol S', False)]),
        ('c1ccsc1', []),  # thiophene S is aromatic
        ('C1CCOC1', [(3, 'O', 'ether O', False)]),
    ],
)
def test_find_donors(smiles, expected):
    assert donors_of(smiles) == expected


@pytest.mark.parametrize(
    ('smiles', 'n_unique'),
    [('CC(=O)[O-]', 1), ('CS(=O)(=O)[O-]', 1), ('OP(=O)([O-])OC', 1), ('OCCO', 1), ('NCC(=O)O', 2), ('CC(O)CO', 2)],
)
def test_symmetry_unique(smiles, n_unique):
    mol = parse(smiles)
    donors = find_donors(mol)
    unique = symmetry_unique(mol, donors)
    assert len(unique) == n_unique
    assert unique[0] == donors[0]  # the first of each class is kept


def test_no_donor_is_an_error_only_when_required():
    mol = parse('C[N+](C)(C)C')
    assert find_donors(mol) == []
    with pytest.raises(LigandError, match='no O, N or S') as info:
        require_donors(mol)
    assert info.value.reason == 'no_donor'
    assert require_donors(parse('CO')) == [Donor(index=1, element='O', kind='hydroxyl O', anionic=False)]


@pytest.mark.parametrize(
    ('smiles', 'reason', 'message'),
    [
        ('C1CC', 'invalid_smiles', 'cannot parse'),
        ('C(C)(C)(C)(C)C', 'invalid_smiles', 'cannot parse'),  # pentavalent carbon fails sanitisation
        ('[CH3]', 'radical', 'unpaired electrons on C0'),
        ('C[Si](C)(C)C', 'unsupported_elements', 'Si'),
        ('[O-2]', 'impossible_charge', 'O0 \\(-2\\)'),
        ('C[N+2]', 'impossible_charge', 'N1 \\(\\+2\\)'),
        # DTPA5- and triprotonated diethylenetriamine: beyond the -4..+2 window (EDTA4- and PO4 3- are inside it).
        ('O=C([O-])CN(CC(=O)[O-])CCN(CC(=O)[O-])CCN(CC(=O)[O-])CC(=O)[O-]', 'impossible_charge', 'net charge -5'),
        ('[NH3+]CC[NH2+]CC[NH3+]', 'impossible_charge', 'net charge \\+3'),
        ('C' * 31, 'too_large', '31 heavy atoms'),
    ],
)
def test_parse_ligand_rejects(smiles, reason, message):
    with pytest.raises(LigandError, match=message) as info:
        parse(smiles)
    assert info.value.reason == reason
    assert info.value.smiles == smiles
    assert repr(smiles) in str(info.value)


def test_parse_ligand_keeps_largest_fragment_of_a_salt():
    mol = parse('[Na+].CC(=O)[O-]')
    assert Chem.MolToSmiles(Chem.RemoveHs(mol)) == 'CC(=O)[O-]'
    assert dropped_fragments(mol) == ['[Na+]']
    assert net_charge(mol) == -1
    assert mol.GetNumAtoms() == 7  # explicit hydrogens: C2H3O2
    assert dropped_fragments(parse('CO')) == []


def test_parse_ligand_allowed_elements_and_charges():
    # Sulfate (-2) and the glycine zwitterion (0) are chemically normal; their ±1 atoms are fine.
    assert net_charge(parse('[O-]S([O-])(=O)=O')) == -2
    assert net_charge(parse('[NH3+]CC(=O)[O-]')) == 0
    with pytest.raises(LigandError, match='unsupported element\\(s\\) P, S') as info:
        parse_ligand('COP(=O)(OC)SC', ['C', 'O'], 30)
    assert info.value.reason == 'unsupported_elements'
    # A string of symbols is read element by element, so 'Cl' stays one element.
    assert parse_ligand('ClCCO', 'C, O Cl', 30).GetNumHeavyAtoms() == 4
    assert parse_ligand('ClCCO', 'COCl', 30).GetNumHeavyAtoms() == 4
    with pytest.raises(LigandError, match='element\\(s\\) Cl'):
        parse_ligand('ClCCO', 'CO', 30)


def test_ligand_error_reasons_are_a_fixed_set():
    with pytest.raises(ValueError, match='Unknown ligand error reason'):
        LigandError('CO', 'bad_luck', 'whatever')


def bond_lengths(atoms, mol) -> np.ndarray:
    return np.array([atoms.get_distance(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in mol.GetBonds()])


def test_embed_conformers_deterministic_and_sane():
    mol = parse('NCC(=O)O')
    first = embed_conformers(mol, 8, seed=7)
    second = embed_conformers(mol, 8, seed=7)
    assert len(first) >= 1
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a.positions, b.positions)
    energies = [atoms.info['energy'] for atoms in first]
    assert energies == sorted(energies)
    assert first[0].info['force_field'] == 'MMFF94'
    assert first[0].info['charge'] == 0
    for atoms in first:
        # Same atom order as the molecule, hydrogens included.
        assert atoms.get_chemical_symbols() == [atom.GetSymbol() for atom in mol.GetAtoms()]
        lengths = bond_lengths(atoms, mol)
        assert lengths.min() > 0.95  # N-H, O-H ~1.01, 0.97 Å
        assert lengths.max() < 1.56  # C-C 1.52 Å
        assert atoms.get_distance(2, 3) == pytest.approx(1.22, abs=0.03)  # C=O


def test_embed_conformers_prunes_duplicates():
    # Methanol has one conformer up to methyl/hydroxyl rotation, which moves hydrogens only.
    assert len(embed_conformers(parse('CO'), 10)) == 1
    butanol = embed_conformers(parse('CCCCO'), 20)
    assert len(butanol) > 1
    assert len(butanol) < 20


def test_embed_conformers_falls_back_to_uff(monkeypatch):
    monkeypatch.setattr(ligands.AllChem, 'MMFFHasAllMoleculeParams', lambda mol: False)
    mol = parse('CS(=O)(=O)[O-]')
    conformers = embed_conformers(mol, 3)
    assert conformers[0].info['force_field'] == 'UFF'
    assert conformers[0].info['charge'] == -1
    lengths = bond_lengths(conformers[0], mol)
    assert lengths.min() > 1.0  # C-H
    assert lengths.max() < 1.9  # C-S
    assert conformers[0].get_distance(1, 2) == pytest.approx(1.45, abs=0.08)  # S-O


def test_embed_conformers_failure(monkeypatch):
    monkeypatch.setattr(ligands.AllChem, 'EmbedMultipleConfs', lambda *args, **kwargs: [])
    with pytest.raises(LigandError, match='could not embed') as info:
        embed_conformers(parse('CO'), 3)
    assert info.value.reason == 'embedding_failed'


def test_chelating_pairs_ethylene_glycol():
    mol = parse('OCCO')
    donors = find_donors(mol)
    conformers = embed_conformers(mol, 10)
    pairs = [chelating_pairs(atoms, mol, donors) for atoms in conformers]
    assert [(0, 3)] in pairs  # a gauche conformer, O...O ~2.8 Å: five-membered chelate ring
    for atoms, found in zip(conformers, pairs, strict=True):
        assert (found == [(0, 3)]) == (2.4 <= atoms.get_distance(0, 3) <= 3.3)


def test_chelating_pairs_ring_size():
    # The distance window wide open, only the bond count decides: 1,3-propanediol (O..O 4 bonds, six-membered ring)
    # chelates, 1,4-butanediol (5 bonds, seven-membered ring) does not.
    for smiles, expected in [('OCCCO', [(0, 4)]), ('OCCCCO', [])]:
        mol = parse(smiles)
        atoms = embed_conformers(mol, 1)[0]
        assert chelating_pairs(atoms, mol, find_donors(mol), 0.0, 100.0) == expected


def test_chelating_pairs_carboxylate_bite_too_short():
    mol = parse('CC(=O)[O-]')
    atoms = embed_conformers(mol, 1)[0]
    assert atoms.get_distance(2, 3) < 2.4  # O-C-O bite ~2.2 Å
    assert chelating_pairs(atoms, mol, find_donors(mol)) == []
