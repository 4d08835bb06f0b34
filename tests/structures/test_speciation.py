"""Speciation of additives at the electrolyte's pH: dimorphite-dl's states for real additives, salts and errors.

Expected species are the literature's dominant microspecies (pKa values in the comments); where dimorphite-dl's own
class pKa is wrong, the module's PKA_OVERRIDES correct it and the test says so.
"""

import math
from pathlib import Path

import pytest
from rdkit import Chem

from aiida_znadditive.structures import speciation
from aiida_znadditive.structures.ligands import find_donors, parse_ligand
from aiida_znadditive.structures.speciation import (
    DEFAULT_PH,
    SpeciationError,
    Species,
    speciate,
    speciate_many,
)


def canonical(smiles: str) -> str:
    return Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


@pytest.mark.parametrize(
    ('name', 'smiles', 'ph', 'species', 'charge'),
    [
        # acetic acid pKa 4.76 (override 4.8; dimorphite-dl's class value 3.46 gave acetate): 36 % acetate at pH 4.5,
        # so the neutral acid dominates; acetate from pH 4.8 up. Glycolic acid (pKa 3.83) is glycolate at 4.5.
        ('acetic acid', 'CC(=O)O', 4.5, 'CC(=O)O', 0),
        ('acetic acid', 'CC(=O)O', 7.0, 'CC(=O)[O-]', -1),
        ('glycolic acid', 'OCC(=O)O', 4.5, 'OCC(=O)[O-]', -1),
        ('dodecanoic acid', 'CCCCCCCCCCCC(=O)O', 4.5, 'CCCCCCCCCCCC(=O)O', 0),
        # Polycarboxylic acids take their measured stepwise pKa values (overrides; dimorphite-dl's independent sites at
        # 3.46 made every one of them a fully deprotonated anion at pH 4.5).
        # malonic acid pKa 2.83, 5.69: hydrogen malonate at pH 4.5, malonate2- at pH 7.
        ('malonic acid', 'OC(=O)CC(=O)O', 4.5, 'O=C([O-])CC(=O)O', -1),
        ('malonic acid', 'OC(=O)CC(=O)O', 7.0, 'O=C([O-])CC(=O)[O-]', -2),
        # succinic acid pKa 4.21, 5.64; oxalic acid 1.25, 4.27 (oxalate2- at pH 4.5).
        ('succinic acid', 'OC(=O)CCC(=O)O', 4.5, 'O=C([O-])CCC(=O)O', -1),
        ('oxalic acid', 'OC(=O)C(=O)O', 4.5, 'O=C([O-])C(=O)[O-]', -2),
        # citric acid pKa 3.13 (the central carboxyl), 4.76, 6.40: H2Cit- at pH 4.5, Cit3- at pH 7.
        ('citric acid', 'OC(=O)CC(O)(CC(=O)O)C(=O)O', 4.5, 'O=C(O)CC(O)(CC(=O)O)C(=O)[O-]', -1),
        ('citric acid', 'OC(=O)CC(O)(CC(=O)O)C(=O)O', 7.0, 'O=C([O-])CC(O)(CC(=O)[O-])C(=O)[O-]', -3),
        # omega-amino acids: beta-alanine carboxyl pKa 3.55, 4-aminobutyric 4.03, 6-aminohexanoic 4.43 (the alkanoic
        # override's 4.8 made them cations); zwitterions at pH 4.5.
        ('beta-alanine', 'NCCC(=O)O', 4.5, '[NH3+]CCC(=O)[O-]', 0),
        ('4-aminobutyric acid', 'NCCCC(=O)O', 4.5, '[NH3+]CCCC(=O)[O-]', 0),
        ('6-aminohexanoic acid', 'NCCCCCC(=O)O', 4.5, '[NH3+]CCCCCC(=O)[O-]', 0),
        # glutamic acid pKa 2.19, 4.25 (side chain), 9.67: Glu- at pH 4.5 (64 % of it).
        ('glutamic acid', 'NC(CCC(=O)O)C(=O)O', 4.5, '[NH3+]C(CCC(=O)[O-])C(=O)[O-]', -1),
        # Polyamines (overrides): cyclen log K(H) about 10.6, 9.6, 1.5, 0.8 is +2 at pH 4.5 (independent sites made it
        # +4); diethylenetriamine 9.84, 9.02, 4.23 is +2 at pH 4.5; ethylenediamine 9.92, 6.85 is +1 at pH 7.
        ('cyclen', 'C1CNCCNCCNCCN1', 4.5, 'C1C[NH2+]CCNCC[NH2+]CCN1', 2),
        ('diethylenetriamine', 'NCCNCCN', 4.5, '[NH3+]CCNCC[NH3+]', 2),
        ('ethylenediamine', 'NCCN', 4.5, '[NH3+]CC[NH3+]', 2),
        ('ethylenediamine', 'NCCN', 7.0, 'NCC[NH3+]', 1),
        # an amide N takes no proton, so N-acetyl-beta-alanine is a plain alkanoic acid (4.8: neutral at pH 4.5).
        ('N-acetyl-beta-alanine', 'CC(=O)NCCC(=O)O', 4.5, 'CC(=O)NCCC(=O)O', 0),
        # glycine pKa 2.34 (COOH) and 9.60 (NH3+): the zwitterion from pH 3 to 9.
        ('glycine', 'NCC(=O)O', 4.5, '[NH3+]CC(=O)[O-]', 0),
        ('ethylamine', 'CCN', 4.5, 'CC[NH3+]', 1),
        # EDTA pKa 0.0, 1.5, 2.0, 2.66, 6.16, 10.24: H2EDTA2- from pH 2.7 to 6.2, with both protons on the N (the
        # carboxylates are far more acidic than the ammoniums), which is dimorphite-dl's species.
        (
            'EDTA',
            'OC(=O)CN(CC(=O)O)CCN(CC(=O)O)CC(=O)O',
            4.5,
            'O=C([O-])C[NH+](CC[NH+](CC(=O)[O-])CC(=O)[O-])CC(=O)[O-]',
            -2,
        ),
        ('DMSO', 'CS(C)=O', 4.5, 'CS(C)=O', 0),
        ('methanol', 'CO', 4.5, 'CO', 0),
        ('ethylene glycol', 'OCCO', 4.5, 'OCCO', 0),
        # saccharin N-H pKa 1.6.
        ('saccharin', 'O=C1NS(=O)(=O)c2ccccc21', 4.5, 'O=C1[N-]S(=O)(=O)c2ccccc21', -1),
        # pyridinium pKa 5.23 (override; dimorphite-dl's generic 4.35 gave neutral pyridine at pH 4.5).
        ('pyridine', 'c1ccncc1', 4.5, 'c1cc[nH+]cc1', 1),
        ('pyridine', 'c1ccncc1', 7.0, 'c1ccncc1', 0),
        # imidazolium pKa 6.99 (override, as for pyridine).
        ('imidazole', 'c1c[nH]cn1', 4.5, 'c1c[nH]c[nH+]1', 1),
        ('imidazole', 'c1c[nH]cn1', 7.5, 'c1c[nH]cn1', 0),
        # H3PO4 pKa 2.15, 7.20: H2PO4- at pH 4.5.
        ('phosphoric acid', 'OP(=O)(O)O', 4.5, 'O=P([O-])(O)O', -1),
    ],
)
def test_dominant_species(name, smiles, ph, species, charge):
    result = speciate(smiles, ph)
    assert result.smiles == canonical(species), name
    assert result.charge == charge
    assert result.ph == ph
    assert result.input_smiles == smiles
    assert result.spectators == ()
    assert result.tool.startswith('dimorphite-dl 2.')


def test_default_ph_is_that_of_a_zinc_sulfate_electrolyte():
    assert DEFAULT_PH == 4.5
    assert speciate('CC(=O)O').ph == 4.5


def test_changes_name_what_was_protonated():
    assert speciate('OCC(=O)O').changes == ('carboxylic acid O deprotonated',)
    assert speciate('CC(=O)O').changes == ()  # the alkanoic acid override keeps acetic acid neutral at pH 4.5
    assert sorted(speciate('NCC(=O)O').changes) == ['amine N protonated', 'carboxylic acid O deprotonated']
    edta = speciate('OC(=O)CN(CC(=O)O)CCN(CC(=O)O)CC(=O)O').changes
    assert sorted(edta) == ['amine N protonated'] * 2 + ['carboxylic acid O deprotonated'] * 4
    assert speciate('CS(C)=O').changes == ()
    # The override is named in the change, so a reader sees where the pKa came from.
    assert speciate('c1ccncc1').changes == ('aromatic N protonated (pKa 5.23 override: pyridine)',)
    # Imidazolium is symmetric; the change is one N gaining a proton, not a tautomer shift.
    assert speciate('c1c[nH]cn1').changes == ('aromatic N protonated (pKa 6.99 override: imidazole)',)


def test_protonated_amines_are_not_offered_as_donors():
    donors = find_donors(parse_ligand(speciate('NCC(=O)O').smiles, 'CHNO', 20))
    assert {donor.kind for donor in donors} == {'carboxylate O'}
    assert find_donors(parse_ligand(speciate('CCN').smiles, 'CHN', 20)) == []


@pytest.mark.parametrize(
    ('smiles', 'ph', 'species'),
    [
        # Hydrogen halides (HF pKa 3.17; HCl, HBr, HI strong acids): the halide in any Zn electrolyte, HF below 3.2.
        ('[F-]', 4.5, '[F-]'),
        ('F', 2.0, 'F'),
        ('[Na+].[Cl-]', 4.5, '[Cl-]'),
        ('[Cl-]', 1.0, '[Cl-]'),
        ('[K+].[Br-]', 4.5, '[Br-]'),
        ('[I-]', 4.5, '[I-]'),
        # Ammonia (ammonium pKa 9.25): NH4+ at pH 4.5 (no lone pair for Zn2+), NH3 only in alkaline electrolytes.
        ('N', 4.5, '[NH4+]'),
        ('[NH4+].[Cl-]', 4.5, '[NH4+]'),
        ('N', 11.0, 'N'),
        # Carbonic acid (apparent pKa1 6.35, pKa2 10.33): neutral in a ZnSO4 electrolyte, not carbonate2-.
        ('O=C(O)O', 4.5, 'O=C(O)O'),
        ('O=C([O-])[O-]', 8.3, 'O=C([O-])O'),
        ('[Na+].[Na+].O=C([O-])[O-]', 12.0, 'O=C([O-])[O-]'),
    ],
)
def test_inorganic_acids_and_ammonia(smiles, ph, species):
    """dimorphite-dl has no entries for these (a chloride salt came out as HCl, ammonium as NH3 at every pH)."""
    assert speciate(smiles, ph).smiles == species


@pytest.mark.parametrize('smiles', ['CC(=O)O', 'CC(=O)[O-]', '[Na+].CC(=O)[O-]', 'CC(=O)[O-].[K+]'])
def test_salt_and_acid_give_one_species(smiles):
    assert speciate(smiles, 7.0).smiles == 'CC(=O)[O-]'
    assert speciate(smiles, 4.5).smiles == 'CC(=O)O'


def test_sodium_dodecyl_sulfate():
    result = speciate('CCCCCCCCCCCCOS(=O)(=O)[O-].[Na+]')
    assert result.smiles == 'CCCCCCCCCCCCOS(=O)(=O)[O-]'
    assert result.charge == -1
    assert result.spectators == ('[Na+]',)
    assert result.changes == ('sulfate ester O deprotonated',)


@pytest.mark.parametrize(
    ('smiles', 'spectators'),
    [
        ('[Zn+2].[O-]S([O-])(=O)=O', ('[Zn+2]',)),
        ('[Na+].[Na+].[O-]S([O-])(=O)=O', ('[Na+]', '[Na+]')),
        ('OS(=O)(=O)O', ()),
    ],
)
def test_sulfate(smiles, spectators):
    # HSO4- pKa 1.99: sulfate dianion at pH 4.5 (override: dimorphite-dl has no inorganic sulfuric acid entry and
    # returned H2SO4).
    result = speciate(smiles)
    assert result.smiles == canonical('[O-]S([O-])(=O)=O')
    assert result.charge == -2
    assert result.spectators == spectators
    # Below pKa2, hydrogen sulfate.
    assert speciate(smiles, 1.0).smiles == canonical('OS([O-])(=O)=O')


def test_species_is_frozen_and_serialisable():
    result = speciate('[Na+].CC(=O)[O-]', 7.0)
    assert isinstance(result, Species)
    with pytest.raises(AttributeError):
        result.charge = 0
    assert result.as_dict() == {
        'input_smiles': '[Na+].CC(=O)[O-]',
        'smiles': 'CC(=O)[O-]',
        'charge': -1,
        'ph': 7.0,
        'spectators': ['[Na+]'],
        'changes': ['carboxylic acid O deprotonated (pKa 4.8 override: alkanoic acid)'],
        'tool': result.tool,
    }


@pytest.mark.parametrize('smiles', ['C1CC', 'not a smiles', '', 'c1cccc1', None])
def test_invalid_smiles(smiles):
    with pytest.raises(SpeciationError) as info:
        speciate(smiles)
    assert info.value.reason == 'invalid_smiles'


def test_impossible_charge():
    # Mellitic acid (pKa 1.40, 2.19, 3.31, 4.78, 5.89, 6.96): six carboxylates at pH 8, net charge -6. At pH 4.5 the
    # phthalic-acid pairs give the measured -3.
    mellitic = 'OC(=O)c1c(C(=O)O)c(C(=O)O)c(C(=O)O)c(C(=O)O)c1C(=O)O'
    with pytest.raises(SpeciationError, match='net charge -6') as info:
        speciate(mellitic, 8.0)
    assert info.value.reason == 'impossible_charge'
    assert speciate(mellitic, 4.5).charge == -3
    # At pH 1 it is neutral, which is accepted.
    assert speciate('OC(=O)c1c(C(=O)O)c(C(=O)O)c(C(=O)O)c(C(=O)O)c1C(=O)O', 1.0).charge == 0


# The tool-failure tests use ethylamine: a molecule with a site that changes at the pH goes to dimorphite-dl (ethanol's
# neutral form is taken without it, see the shortcut's test at the end).
def test_no_species(monkeypatch):
    monkeypatch.setattr(speciation, '_protonate', lambda smiles, ph: [])
    with pytest.raises(SpeciationError, match=r'no protonation state at pH 4\.5') as info:
        speciate('CCN')
    assert info.value.reason == 'no_species'


def test_tool_failure_is_a_speciation_error(monkeypatch):
    def broken(smiles, ph):
        raise RuntimeError('site detection exploded')

    monkeypatch.setattr(speciation, '_protonate', broken)
    with pytest.raises(SpeciationError, match='site detection exploded') as info:
        speciate('CCN')
    assert info.value.reason == 'speciation_failed'
    assert isinstance(info.value, ValueError)


def test_unknown_reason_is_rejected():
    with pytest.raises(ValueError, match='Unknown speciation error reason'):
        SpeciationError('CCO', 'bad_reason', 'detail')


@pytest.mark.parametrize('ph', [-0.1, 14.5, math.nan, math.inf, 'acidic'])
def test_bad_ph_names_the_value(ph):
    with pytest.raises(ValueError, match=f'pH {ph!r}') as info:
        speciate('CCO', ph)
    assert not isinstance(info.value, SpeciationError)


def test_batch_goes_on_after_a_bad_molecule(monkeypatch):
    # A pentasulfonic acid: five sulfonates at pH 4.5, net charge -5.
    results = speciate_many(
        ['OCC(=O)O', 'C1CC', 'OS(=O)(=O)CC(S(=O)(=O)O)C(S(=O)(=O)O)C(S(=O)(=O)O)CS(=O)(=O)O', 'CCN']
    )
    assert [type(result) for result in results] == [Species, SpeciationError, SpeciationError, Species]
    assert [getattr(result, 'reason', None) for result in results] == [
        None,
        'invalid_smiles',
        'impossible_charge',
        None,
    ]
    assert results[0].smiles == 'O=C([O-])CO'
    assert results[3].smiles == 'CC[NH3+]'

    # A tool failure on one molecule does not stop the others either.
    protonate = speciation._protonate

    def fails_on_ethylamine(smiles, ph):
        if smiles == 'CCN':
            raise RuntimeError('boom')
        return protonate(smiles, ph)

    monkeypatch.setattr(speciation, '_protonate', fails_on_ethylamine)
    results = speciate_many(['CCN', 'OCC(=O)O'], 4.5)
    assert results[0].reason == 'speciation_failed'
    assert results[1].charge == -1


def test_batch_with_a_bad_ph_raises_before_any_molecule():
    with pytest.raises(ValueError, match='pH 15'):
        speciate_many(['CCO'], 15)


@pytest.mark.parametrize('ph', [2.0, 4.5, 7.0, 10.0])
def test_the_shortcut_for_molecules_without_a_changing_site_gives_dimorphites_species(ph, monkeypatch):
    """`speciate` skips dimorphite-dl for a molecule none of whose site patterns changes at the pH (most of a library).
    On MOSES molecules, the known additives, their decoys and the
    polyprotic acids the species and the changes are those of dimorphite-dl's own run."""
    import csv
    import gzip
    from itertools import islice

    from aiida_znadditive.ml.database.importers.moses import moses_files

    with gzip.open(moses_files()['test'], 'rt') as handle:
        reader = csv.reader(handle)
        next(reader)
        molecules = [row[0] for row in islice(reader, 400)]
    data = Path(__file__).parents[2] / 'data'
    for table in ('benchmarks/known_additives.csv', 'benchmarks/decoys.csv', 'speciation/polyprotic_acids.csv'):
        with open(data / table, newline='') as handle:
            molecules += [row['smiles'] for row in csv.DictReader(handle)]

    def summary(results):
        return [
            ('error', result.reason) if isinstance(result, SpeciationError) else (result.smiles, result.changes)
            for result in results
        ]

    shortcut = summary(speciate_many(molecules, ph))
    skipped = sum(speciation._keeps_neutral_form(Chem.MolFromSmiles(item), ph) for item in molecules)
    monkeypatch.setattr(speciation, '_keeps_neutral_form', lambda neutral, ph: False)
    assert shortcut == summary(speciate_many(molecules, ph))
    assert skipped > len(molecules) // 4  # the shortcut is taken for a good part of them


def _azine_bases() -> list[dict]:
    import csv

    with open(Path(__file__).parents[2] / 'data' / 'speciation' / 'azine_bases.csv', newline='') as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize('ph', [4.5, 7.0])
@pytest.mark.parametrize('row', _azine_bases(), ids=lambda row: row['name'])
def test_aromatic_n_bases_are_protonated_exactly_when_their_measured_pka_is_above_the_ph(row, ph):
    """Picolines, aminopyridines, DMAP, methylimidazoles, benzimidazole and quinoline are cations in a ZnSO4
    electrolyte (dimorphite-dl's generic 4.35 made them neutral donors); chloro-, cyano- and amide-pyridines are not."""
    pka = float(row['pka'])
    if abs(pka - ph) < 0.2:
        pytest.skip(f'{row["name"]}: pKa {pka} within 0.2 of pH {ph}')
    species = speciate(row['smiles'], ph)
    assert species.charge == (1 if pka > ph else 0), (row['name'], species.smiles, species.changes)


@pytest.mark.parametrize(
    ('smiles', 'ph', 'charge'),
    [
        ('c1cnc2c(c1)ccc1cccnc12', 1.0, 1),  # 1,10-phenanthroline: one proton, even in strong acid
        ('c1cnc2c(c1)ccc1cccnc12', 4.5, 1),  # pKa1 4.86
        ('c1cnc2c(c1)ccc1cccnc12', 7.0, 0),
        ('c1ccc(-c2ccccn2)nc1', 3.0, 1),  # 2,2'-bipyridine: pKa1 4.35, the dication only below pH 0
        ('c1ccc(-c2ccccn2)nc1', 7.0, 0),
    ],
)
def test_two_pyridine_n_that_share_one_proton_take_one(smiles, ph, charge):
    """dimorphite-dl protonated both N of phenanthroline and bipyridine as independent sites (dications)."""
    species = speciate(smiles, ph)
    assert species.charge == charge, (species.smiles, species.changes)
    assert species.smiles.count('[nH+]') == charge
