"""The ``rules`` screener: real descriptor values, each rule's failure and reason, bad input, order, processes."""

from __future__ import annotations

import importlib.metadata
import math

import pytest
from rdkit import Chem
from rdkit.Chem import FilterCatalog

from aiida_znadditive.ml.screeners.base import ScreenerError, load_screener
from aiida_znadditive.ml.screeners.rule_alerts import AlertCatalog
from aiida_znadditive.ml.screeners.rules import DEFAULTS, RULES_VERSION, RulesScreener

ETHYLENE_GLYCOL = 'OCCO'
IBUPROFEN = 'CC(C)Cc1ccc(cc1)C(C)C(=O)O'
PARACETAMOL = 'CC(=O)Nc1ccc(O)cc1'
# 5-benzylidene rhodanine: the textbook PAINS 'ene_rhod' (Baell & Holloway 2010), logP 2.2 so it passes the cheap rules.
BENZYLIDENE_RHODANINE = 'O=C1NC(=S)SC1=Cc1ccccc1'


@pytest.fixture(scope='module')
def rules() -> RulesScreener:
    return RulesScreener()


def screen_one(screener: RulesScreener, smiles: str, row: dict | None = None):
    return screener.screen([smiles], None if row is None else [row])[0]


def test_loaded_from_the_entry_point_with_its_version():
    screener = load_screener('rules')
    assert isinstance(screener, RulesScreener)
    assert screener.version.endswith(f'+rules.{RULES_VERSION}')
    provenance = screener.provenance()
    assert provenance['screener'] == 'rules'
    assert provenance['settings'] == DEFAULTS


def test_ethylene_glycol_passes_with_its_descriptors(rules):
    """Crippen logP −1.03 (Wildman & Crippen 1999), TPSA 40.46 Å² (2 × 20.23, Ertl 2000), two hydroxyl donors."""
    result = screen_one(rules, ETHYLENE_GLYCOL)
    assert result.passed, result.reasons
    assert result.reasons == []
    assert result.predictions['logp'] == pytest.approx(-1.03, abs=0.05)
    assert result.predictions['tpsa_a2'] == pytest.approx(40.46, abs=0.01)
    assert result.predictions['n_donors'] == 2
    assert result.predictions['heavy_atoms'] == 4
    assert result.predictions['charge'] == 0
    assert result.predictions['sa_score'] == pytest.approx(2.28, abs=0.05)
    assert result.predictions['n_tox_alerts'] == 0
    assert set(result.uncertainty) == set(result.predictions)
    assert all(value is None for value in result.uncertainty.values())
    # logP ≤ 0, SA ≤ 3.5, two donors, no alert: every desirability term is 1.
    assert result.score == pytest.approx(1.0)


def test_sa_score_of_known_drugs(rules):
    """RDKit's sascorer (Ertl & Schuffenhauer 2009): paracetamol 1.41, a very easy molecule."""
    result = screen_one(rules, PARACETAMOL)
    assert result.passed, result.reasons
    assert result.predictions['sa_score'] == pytest.approx(1.41, abs=0.05)
    assert result.predictions['logp'] == pytest.approx(1.35, abs=0.05)


def test_score_combines_the_soft_criteria(rules):
    """DMSO: logP ≈ 0 and SA 3.1 give 1, one donor 0.7: score 0.7 ** (1/4); a Brenk alert costs a factor 0.8."""
    dmso = screen_one(rules, 'CS(C)=O')
    assert dmso.passed
    assert dmso.score == pytest.approx(0.7**0.25, abs=1e-6)
    # Trimethyl phosphate: Brenk 'phosphor' is a penalty, not a failure (phosphates are classic additives).
    phosphate = screen_one(rules, 'COP(=O)(OC)OC')
    assert phosphate.passed
    assert phosphate.predictions['n_tox_alerts'] == 1
    without_alerts = screen_one(RulesScreener(tox_alerts='off'), 'COP(=O)(OC)OC')
    assert phosphate.score == pytest.approx(without_alerts.score * 0.8**0.25, rel=1e-9)
    assert 0 < phosphate.score < without_alerts.score <= 1


def test_logp_ceiling(rules):
    result = screen_one(rules, IBUPROFEN)
    assert not result.passed
    assert result.reasons == ['logP 3.07 above 3.00']
    assert result.predictions['logp'] == pytest.approx(3.07, abs=0.05)
    assert result.score == 0.0
    assert screen_one(RulesScreener(logp_max=3.5), IBUPROFEN).passed


def test_pains_compound_fails_with_the_pains_reason(rules):
    result = screen_one(rules, BENZYLIDENE_RHODANINE)
    assert not result.passed
    assert result.reasons == ['PAINS alert ene_rhod_A(235)']
    assert rules.alerts(BENZYLIDENE_RHODANINE)['pains'] == ['ene_rhod_A(235)']


def test_complete_reasons_evaluates_the_costly_rules_of_failed_molecules():
    """A rhodanine with a long chain fails logP; PAINS is only looked at when asked for complete reasons."""
    smiles = 'CCCCCCCC/C=C1/SC(=S)NC1=O'
    lean = screen_one(RulesScreener(), smiles)
    assert lean.reasons == ['logP 3.77 above 3.00']
    assert 'sa_score' not in lean.predictions
    complete = screen_one(RulesScreener(complete_reasons=True), smiles)
    assert complete.reasons == ['logP 3.77 above 3.00', 'PAINS alert ene_rhod_A(235)']
    assert 'sa_score' in complete.predictions


@pytest.mark.parametrize(
    ('smiles', 'alert'),
    [
        ('OC(=O)c1ccc(cc1)[N+](=O)[O-]', 'nitro'),
        ('Oc1ccc(O)cc1', 'hydroquinone-like'),
        ('Oc1ccccc1O', 'catechol-like'),
        ('OC(=O)CSSCC(=O)O', 'disulfide'),
        ('ICCO', 'alkyl bromide or iodide'),
        ('O=C1C=CC(=O)C=C1', 'para-quinone'),
        ('CC(C)(C)OOC(C)(C)CO', 'peroxide'),
        ('OC(=O)c1ccc(cc1)N=Nc1ccccc1', 'azo'),
        ('NNC(=O)c1ccncc1', None),  # a hydrazide is not a hydrazine
        ('CNNC', 'hydrazine'),
    ],
)
def test_redox_alerts(rules, smiles, alert):
    result = screen_one(rules, smiles)
    redox = [reason for reason in result.reasons if reason.startswith('redox alert')]
    if alert is None:
        assert redox == []
    else:
        assert any(reason.startswith(f'redox alert {alert}:') for reason in redox), result.reasons
        assert not result.passed
        assert screen_one(RulesScreener(redox_ignore=[alert]), smiles).reasons != result.reasons


def test_orbital_window_from_a_meta_database_row(rules):
    high_homo = screen_one(rules, ETHYLENE_GLYCOL, {'homo_ev': -5.1, 'lumo_ev': 1.0})
    assert high_homo.reasons == [
        'HOMO -5.10 eV above -5.60 eV: oxidised inside the window (below +1.0 V vs SHE)',
    ]
    low_lumo = screen_one(rules, ETHYLENE_GLYCOL, {'homo_ev': -7.0, 'lumo_ev': -2.5})
    assert low_lumo.reasons == ['LUMO -2.50 eV below -2.00 eV: reduced before Zn plating (above −0.76 V vs SHE)']
    # Missing or NaN values are not judged.
    assert screen_one(rules, ETHYLENE_GLYCOL, {'homo_ev': math.nan, 'smiles': 'OCCO'}).passed
    assert screen_one(RulesScreener(homo_ev_max=None), ETHYLENE_GLYCOL, {'homo_ev': -5.1}).passed


def test_bad_input_fails_alone_and_the_batch_keeps_its_order(rules):
    batch = [
        ETHYLENE_GLYCOL,
        '[Se]',
        'C1CC(',  # unclosed ring and branch
        'O' + 'C' * 59,  # 60 heavy atoms
        'C[N+](C)(C)CC[N+](C)(C)CC[N+](C)(C)CO',  # net charge +3
        'C' * 20000,  # far too long to be parsed at all
        '',
        'CS(C)=O',
        'CC[Se]CCO',
    ]
    results = rules.screen(batch)
    assert [result.smiles for result in results] == batch
    assert [result.passed for result in results] == [True, False, False, False, False, False, False, True, False]
    assert results[1].reasons == ['element(s) Se not allowed', '1 heavy atoms below 2']
    assert results[2].reasons == ['unparseable SMILES (RDKit cannot sanitise it)']
    assert results[2].score is None
    assert results[3].reasons == ['60 heavy atoms above 40']
    assert 'net charge +3 outside -4..+2' in results[4].reasons
    assert results[5].reasons[0].startswith('SMILES of 20000 characters, too large')
    assert results[6].reasons == ['empty or non-string SMILES']
    assert results[8].reasons == ['element(s) Se not allowed']
    for result in results:
        assert all(isinstance(reason, str) and reason for reason in result.reasons)


def test_charges_radicals_and_donors(rules):
    assert screen_one(rules, 'OC(=O)CCC(=O)[O-]').passed  # hydrogen succinate −1
    assert screen_one(rules, 'C[N+](C)(C)CCO').passed  # choline +1
    assert screen_one(rules, '[O-]S(=O)(=O)CCS(=O)(=O)[O-]').passed  # a disulfonate −2
    assert screen_one(rules, 'C[N+](C)(C)CC[N+](C)(C)CCO').passed  # a diammonium +2: acts at the surface
    trication = screen_one(rules, 'C[N+](C)(C)CC[N+](C)(C)CC[N+](C)(C)CO')
    assert trication.reasons == ['net charge +3 outside -4..+2']
    assert screen_one(rules, '[O-]C(=O)CC(O)(CC([O-])=O)C([O-])=O').passed  # citrate3-, a published additive
    assert screen_one(rules, 'C[CH2]').reasons[0] == 'radical on C1 (open shell)'
    assert screen_one(rules, 'CCCC').reasons == ['0 Zn2+ donor atom(s), fewer than 1']


def test_ions_are_judged_as_ions():
    """A salt dissolves as ions: Crippen logP, an atom-contribution model of neutral molecules, says nothing of its
    solubility, and a cation (a tetraalkylammonium shield) needs no Zn2+ donor. A neutral molecule is still judged."""
    rules = RulesScreener()
    sds = screen_one(rules, '[Na+].CCCCCCCCCCCCOS(=O)(=O)[O-]')
    assert sds.predictions['logp'] > 3 and sds.passed, sds.reasons
    assert screen_one(rules, 'CCCC[N+](CCCC)(CCCC)CCCC').passed
    assert screen_one(rules, 'CCCCCCCCCCCCO').reasons == ['logP 3.90 above 3.00']  # dodecanol


def test_salt_is_judged_by_its_largest_fragment(rules):
    """As the complexation WorkChain: the counter-ion is dropped, so Na+ is no unknown element here."""
    result = screen_one(rules, '[Na+].CC(=O)[O-]')
    assert result.passed, result.reasons
    assert result.predictions['charge'] == -1


def test_tox_alerts_as_failures_and_opt_in_nih():
    fail = screen_one(RulesScreener(tox_alerts='fail'), 'COP(=O)(OC)OC')
    assert fail.reasons == ['toxicity/reactivity alert phosphor (BRENK)']
    with_nih = RulesScreener(tox_catalogs=['BRENK', 'NIH'])
    assert 'crown_ether' in with_nih.alerts('C1COCCOCCOCCOCCOCCO1')['tox']


def test_settings_are_checked():
    with pytest.raises(ScreenerError, match='Unknown `rules` setting'):
        RulesScreener(logp_maximum=2)
    with pytest.raises(ScreenerError, match='tox_alerts'):
        RulesScreener(tox_alerts='maybe')
    with pytest.raises(ScreenerError, match='redox alert'):
        RulesScreener(redox_ignore=['nitrate'])
    with pytest.raises(ScreenerError, match='filter catalog'):
        RulesScreener(pains_catalogs=['PAINS_Z']).screen([ETHYLENE_GLYCOL])
    with pytest.raises(ScreenerError, match='rows'):
        RulesScreener().screen(['CO', 'CCO'], rows=[{}])


def test_worker_processes_give_the_same_screenings(rules):
    batch = [ETHYLENE_GLYCOL, 'C1CC(', IBUPROFEN, BENZYLIDENE_RHODANINE, '[Se]', 'CS(C)=O', PARACETAMOL] * 3
    rows = [{'homo_ev': -5.0 if i % 4 == 0 else None} for i in range(len(batch))]
    serial = rules.screen(batch, rows)
    parallel = rules.screen(batch, rows, processes=2, chunk_size=4)
    assert parallel == serial
    streamed = list(rules.iter_screen(iter(batch), iter(rows), chunk_size=5))
    assert streamed == serial


# Molecules with PAINS, Brenk and NIH alerts (and some without), to check the pre-screen against FilterCatalog.
ALERT_MOLECULES = [
    BENZYLIDENE_RHODANINE,
    'Oc1ccccc1O',
    'O=C1C=CC(=O)C=C1',
    'CN(C)c1ccc(C=Cc2ccccc2)cc1',
    'Nc1ccc(N=Nc2ccccc2)cc1',
    'O=C(Cl)c1ccccc1',
    'C=CC(=O)OC',
    'CC(=O)OO',
    'O=[N+]([O-])c1ccc(Cl)c([N+](=O)[O-])c1',
    'C1COCCOCCOCCOCCOCCO1',
    'OCC(O)C(O)C(O)C(O)C(O)C(O)CO',
    'FC(F)(F)S(=O)(=O)[O-]',
    'N#CC(C#N)=Cc1ccc(O)cc1',
    'S=C=Nc1ccccc1',
    'CC1=CC(=O)c2ccccc2C1=O',
    'Oc1ccc(cc1)N=Nc1ccc(O)cc1',
    'c1ccc2cc3ccccc3cc2c1',
    IBUPROFEN,
    PARACETAMOL,
    ETHYLENE_GLYCOL,
]


def moses_sample(count: int) -> list[str]:
    """The first ``count`` MOSES SMILES when molsets' data file is installed, else none."""
    import csv
    import gzip
    from itertools import islice

    try:
        path = importlib.metadata.distribution('molsets').locate_file('moses/dataset/data/train.csv.gz')
        with gzip.open(path, 'rt') as handle:
            return [row[0] for row in islice(csv.reader(handle), 1, count + 1)]
    except (importlib.metadata.PackageNotFoundError, FileNotFoundError):
        return []


def test_prescreened_alerts_equal_filter_catalog():
    """The fingerprint pre-screen must only skip work: same matches as RDKit's FilterCatalog, entry for entry."""
    names = ['PAINS_A', 'PAINS_B', 'PAINS_C', 'BRENK', 'NIH']
    params = FilterCatalog.FilterCatalogParams()
    for name in names:
        params.AddCatalog(getattr(FilterCatalog.FilterCatalogParams.FilterCatalogs, name))
    reference = FilterCatalog.FilterCatalog(params)
    catalog = AlertCatalog(names)
    assert len(catalog) == reference.GetNumEntries()
    hits = 0
    for smiles in ALERT_MOLECULES + moses_sample(1000):
        mol = Chem.MolFromSmiles(smiles)
        expected = sorted(match.GetDescription() for match in reference.GetMatches(mol))
        found = sorted(description for _, description in catalog.matches(mol))
        assert found == expected, smiles
        with_kinds = catalog.matches(mol, kinds=AlertCatalog.kinds(mol))  # the atom-kind pre-screen as well
        assert sorted(description for _, description in with_kinds) == expected, smiles
        hits += len(found)
    assert hits > 40  # the molecules above do exercise the catalogs


# SMILES that take the unusual paths of the faster descriptors: salts, stereo, charges, hydrogen atoms, rings.
TRICKY = [
    '[Na+].CC(=O)[O-]',
    'C[C@H](F)C(F)(Cl)Br',
    'C1C[C@H](C)[C@H](C)[C@H](C)C1',
    'C1CC(C)C(C)C(C)C1',
    '[H]OC([H])([H])[H]',
    '[2H]OC',
    'C/C=C/C(O)=O',
    'C[S@](=O)CC',
    'C[N@]1CC1C',
    'CP(C)C',
    'C1CC2CCC1C2',
    'OC1CC2(CC2)C1',
    'C1CCCCCCCCCC1O',
    'O=[N+]([O-])c1ccccc1',
    '[O-]S(=O)(=O)CCS(=O)(=O)[O-]',
    'OO',
    'C[S+](C)[O-]',
    'C[N+](C)(C)CCO',
]


def test_faster_descriptors_equal_rdkit():
    """Crippen logP (cached environments), SA score and donor count are RDKit's, to the last bit, on MOSES.

    The molecules are parsed as the screener parses them (no stereo perception at parse time); the references are
    computed on ``Chem.MolFromSmiles`` molecules, as before the rewrite.
    """
    from rdkit.Chem import rdMolDescriptors
    from rdkit.Contrib.SA_Score import sascorer

    from aiida_znadditive.ml.screeners.descriptors import CrippenLogP, count_donors, parse_smiles, sa_score
    from aiida_znadditive.structures.ligands import find_donors

    smiles = ALERT_MOLECULES + TRICKY + moses_sample(2000)
    crippen = CrippenLogP()
    for item in smiles + smiles[:300]:  # the second time from the cache
        reference = Chem.MolFromSmiles(item)
        mol = parse_smiles(item)
        assert Chem.MolToSmiles(mol) == Chem.MolToSmiles(reference), item
        assert crippen(mol) == rdMolDescriptors.CalcCrippenDescriptors(reference)[0], item
        assert count_donors(mol) == len(find_donors(reference)), item
        assert abs(sa_score(mol) - sascorer.calculateScore(reference)) <= 1e-9, item
    assert crippen.hits > crippen.misses > 0  # the cache was used, and filled by RDKit


def test_rules_hand_on_the_molecules_they_judged(rules):
    smiles = ['OCCO', '[Na+].CC(=O)[O-]', 'C1CC(', 'CCCC']
    screenings, mols = rules.screen_parsed(smiles)
    assert screenings == rules.screen(smiles)
    assert [None if mol is None else Chem.MolToSmiles(mol) for mol in mols] == ['OCCO', 'CC(=O)[O-]', None, 'CCCC']
    # Given those molecules back, the same screenings.
    assert rules.screen_parsed(smiles, mols)[0] == screenings


def test_cheap_and_costly_halves_give_the_whole_screening():
    """On what the cheap half passes, the costly half gives the screening of the whole rules, field for field; what the
    cheap half fails it fails as the whole rules do (``complete_reasons=False``)."""
    smiles = ALERT_MOLECULES + TRICKY + ['CCCCCCCC/C=C1/SC(=S)NC1=O', '[Se]', 'C1CC(', ''] + moses_sample(500)
    for settings in ({}, {'tox_alerts': 'fail', 'sa_max': 3.0}):
        whole = RulesScreener(**settings)
        cheap, costly = whole.split()
        assert (cheap.label, costly.label, whole.label) == ('rules.cheap', 'rules.costly', 'rules')
        assert cheap.settings == {**whole.settings, 'stages': 'cheap'}
        assert costly.provenance()['settings']['stages'] == 'costly'
        expected = whole.screen(smiles)
        first, mols = cheap.screen_parsed(smiles)
        survivors = [index for index, screening in enumerate(first) if screening.passed]
        second, _ = costly.screen_parsed([smiles[i] for i in survivors], [mols[i] for i in survivors])
        assert costly.screen([smiles[i] for i in survivors]) == second  # parsing again: the same
        final = dict(zip(survivors, second, strict=True))
        for index, screening in enumerate(expected):
            if index not in final:
                assert first[index] == screening, smiles[index]
                continue
            assert final[index] == screening, smiles[index]
            # The cheap half's score: the desirability with the costly terms at their best, an upper bound.
            assert first[index].score >= (screening.score or 0.0)
            assert set(first[index].predictions) <= set(screening.predictions)
        assert any(not screening.passed for screening in second)  # the costly half does fail some
        assert sum(screening.passed for screening in expected) == sum(screening.passed for screening in second)


def test_the_costly_half_judges_only_the_costly_criteria(rules):
    costly = RulesScreener(stages='costly')
    # Ibuprofen fails logP, a cheap criterion: the costly half passes it, with the cheap descriptors predicted.
    ibuprofen = screen_one(costly, IBUPROFEN)
    assert ibuprofen.passed and ibuprofen.predictions['logp'] == screen_one(rules, IBUPROFEN).predictions['logp']
    assert screen_one(costly, BENZYLIDENE_RHODANINE).reasons == ['PAINS alert ene_rhod_A(235)']
    assert screen_one(RulesScreener(stages='cheap'), BENZYLIDENE_RHODANINE).passed
    # Elements and size, the platform's domain, are judged by both halves.
    assert screen_one(costly, '[Se]').reasons == ['element(s) Se not allowed', '1 heavy atoms below 2']
    with pytest.raises(ScreenerError, match='stages'):
        RulesScreener(stages='pains')
    with pytest.raises(ScreenerError, match='already a half'):
        costly.split()
    # Worker processes rebuild a half from its settings.
    assert costly.screen([IBUPROFEN, ETHYLENE_GLYCOL] * 3, processes=2, chunk_size=2) == costly.screen(
        [IBUPROFEN, ETHYLENE_GLYCOL] * 3
    )


# Molecules that take the unusual paths of the atom table read from RDKit's pickle: isotopes, radicals, stereo flags
# (chiral tags, double-bond stereo), charges, an atom map, a dummy atom, a dative bond, hydrogen atoms, salts, more
# than 255 atoms (another index size in the pickle).
PICKLE_EDGE_CASES = [
    '[13CH4]',
    '[2H]C',
    '[CH3]C',
    '[CH2]CO',
    'C[C@@H](O)/C=C/F',
    'F/C=C\\Cl',
    '[CH3:1]CO',
    '*CO',
    'C->[Zn]',
    '[NH4+]',
    'CC(C)(C)[O-]',
    '[O-][n+]1ccccc1',
    'O=[N+]([O-])[O-]',
    'C[Si](C)(C)OP(=O)(O)O',
    'OB(O)c1ccccc1',
    'C#N',
    'c1ccc2[nH]ccc2c1',
    '[Na+].c1ccccc1[O-]',
    'C12C3C4C1C5C2C3C45',
    'C' * 300,
]
# At least one molecule for each redox alert.
REDOX_MOLECULES = [
    'O=Nc1ccccc1',
    'CC(=O)C=[N+]=[N-]',
    'c1ccccc1[N+]#N',
    'CN=[N+]=[N-]',
    'CSSC',
    'O=C1C(=O)C=CC=C1',
    'BrCBr',
    'ClC(Cl)Cl',
    'OO',
    'ClN1C(=O)CCC1=O',
    'CN(C)Br',
    'Nc1ccc(O)cc1',
    'CNc1ccccc1O',
    'OC1=C(O)C(=O)OC1C(O)CO',
    'CNNC',
    'CN(C)O',
    'P(OC)(OC)OC',
    'OC(=O)c1ccc(cc1)[N+](=O)[O-]',
    'Oc1ccc(cc1)N=Nc1ccc(O)cc1',
    'O=C1C=CC(=O)C=C1',
    # near misses: aromatic N-N, N-O and S-S, hydrazides, oximes, a meta diol
    'c1cn[nH]c1',
    'c1conc1',
    'c1cnsn1',
    'NNC(=O)c1ccncc1',
    'ON=C(C)C',
    'Oc1cccc(O)c1',
]
# Molecules for each kind of Zn2+ donor (and none).
DONOR_MOLECULES = [
    'O',
    '[OH-]',
    'CC(=O)[O-]',
    'O=[N+]([O-])[O-]',
    'OP(=O)([O-])[O-]',
    'CP(C)(C)=O',
    'CS(=O)(=O)[O-]',
    'CS(C)(=O)=O',
    'CS(C)=O',
    'C[S+](C)[O-]',
    '[O-]c1ccccc1',
    'CC[O-]',
    'CC(C)=O',
    'CO',
    'C1CCOC1',
    'CN(C)C',
    'CC(=O)N(C)C',
    'CC=NC',
    'c1ccncc1',
    'CC#N',
    'C[S-]',
    'CS',
    'CSC',
    'CC(C)=S',
    'C[N+](C)(C)C',
    'c1ccoc1',
]


def test_atom_table_from_the_pickle_equals_rdkit():
    """The atom table read from RDKit's pickle holds RDKit's own values, atom by atom and bond by bond; and the
    molecules of a library are read from the pickle (a new pickle format would silently fall back to RDKit's calls,
    three times slower)."""
    from aiida_znadditive.ml.screeners.descriptors import AtomTable, atom_table, parse_smiles

    smiles = PICKLE_EDGE_CASES + TRICKY + ALERT_MOLECULES + moses_sample(2000)
    read = 0
    for item in smiles:
        for mol in (parse_smiles(item), Chem.MolFromSmiles(item)):
            table, reference = AtomTable.of(mol), AtomTable._from_rdkit(mol)
            if reference is None:  # hydrogen atoms, a dative bond
                assert table is None, item
                continue
            assert (table.atoms, table.bonds, table.neighbours) == (
                reference.atoms,
                reference.bonds,
                reference.neighbours,
            ), item
            if table.hybridisations is None:  # read through RDKit's calls: an atom map, a dummy atom, 300 atoms
                continue
            read += 1
            assert table.hybridisations == tuple(int(atom.GetHybridization()) for atom in mol.GetAtoms()), item
            assert table.radicals == tuple(atom.GetNumRadicalElectrons() for atom in mol.GetAtoms()), item
            assert table.conjugated == tuple(bond.GetIsConjugated() for bond in mol.GetBonds()), item
            assert table.rings == tuple(tuple(ring) for ring in mol.GetRingInfo().AtomRings()), item
    assert read >= 2 * (len(smiles) - 12)  # all but the few the reader leaves to RDKit
    # Kept on the molecule only when asked.
    mol = Chem.MolFromSmiles('OCCO')
    assert atom_table(mol) is not atom_table(mol)
    assert atom_table(mol, keep=True) is atom_table(mol)


def test_prescreened_donors_and_redox_alerts_equal_rdkit():
    """The donor count with its pre-screen (patterns searched one by one, only those whose atoms occur) is that of
    the recursive SMARTS; the redox alerts left possible by the atom table include every alert that matches."""
    from aiida_znadditive.ml.screeners.descriptors import AtomTable, count_donors, parse_smiles
    from aiida_znadditive.ml.screeners.rule_alerts import REDOX_ALERTS, possible_redox_alerts

    patterns = [(name, Chem.MolFromSmarts(smarts)) for name, smarts, _ in REDOX_ALERTS]
    matched = set()
    for item in DONOR_MOLECULES + REDOX_MOLECULES + PICKLE_EDGE_CASES + TRICKY + ALERT_MOLECULES + moses_sample(2000):
        for mol in (parse_smiles(item), Chem.MolFromSmiles(item)):
            table = AtomTable.of(mol)
            if table is None:
                continue
            assert count_donors(mol, table) == count_donors(mol), item
            matching = {name for name, pattern in patterns if mol.HasSubstructMatch(pattern)}
            assert matching <= possible_redox_alerts(table), item
            matched |= matching
    assert matched == {name for name, _, _ in REDOX_ALERTS}  # every alert was met
