"""Importers on real QM9 and MOSES data (from their wheels) and on small files in each other source's format."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aiida_znadditive.ml.database.importers import IMPORTERS, SkipLog, SourceError, read_source
from aiida_znadditive.ml.database.schema import BOHR3_TO_ANGSTROM3, HARTREE_TO_EV, empty_record

DATA = Path(__file__).parent.parent / 'data'
WATER = 'XLYOFNOQVPJJNP-UHFFFAOYSA-N'


def read(name: str, path=None, **options) -> tuple[list, SkipLog]:
    skips = SkipLog(name)
    return list(read_source(name, path, skips=skips, **options)), skips


def test_registry_names():
    assert set(IMPORTERS) == {'qm9', 'moses', 'pcqm4mv2', 'mp-molecules', 'sdf', 'smiles', 'generated', 'parquet'}


# -- QM9 ----------------------------------------------------------------------------------------------------------


def test_qm9_first_2000_real_rows():
    records, skips = read('qm9', limit=2000)
    assert skips.read == 2000
    assert len(records) == 2000 - skips.n_skipped
    methane, ammonia, water = records[:3]
    assert (methane['source'], methane['source_id'], methane['smiles']) == ('qm9', '1', 'C')
    assert methane['source_version'] == importlib.metadata.version('qm9pack')
    assert methane['homo_ev'] == pytest.approx(-0.3877 * HARTREE_TO_EV) == pytest.approx(-10.550, abs=5e-4)
    assert methane['lumo_ev'] == pytest.approx(0.1171 * 27.211386245988)
    assert methane['gap_ev'] == pytest.approx(0.5048 * 27.211386245988)
    assert methane['dipole_debye'] == 0.0
    assert methane['polarizability_a3'] == pytest.approx(13.21 * 0.529177210903**3) == pytest.approx(1.9575, abs=1e-4)
    assert methane['zpve_ev'] == pytest.approx(0.044749 * HARTREE_TO_EV)
    assert methane['total_energy_ev'] == pytest.approx((-40.47893 - 0.044749) * HARTREE_TO_EV)
    assert methane['atomic_numbers'] == [6, 1, 1, 1, 1]
    np.testing.assert_allclose(methane['positions'][:3], [-0.0126981359, 1.0858041578, 0.0080009958], rtol=1e-6)
    assert methane['positions'].shape == (15,)
    assert ammonia['dipole_debye'] == pytest.approx(1.6256)
    assert water['inchikey'] == WATER
    assert water['polarizability_a3'] == pytest.approx(6.31 * BOHR3_TO_ANGSTROM3)
    assert all(len(record['atomic_numbers']) == record['n_atoms'] for record in records)


def test_qm9_file_with_bad_rows(caplog):
    records, skips = read('qm9', DATA / 'qm9_small.csv')
    assert [record['source_id'] for record in records] == ['1', '2', '3', '4', '5', '6']
    assert skips.read == 8
    assert dict(skips.skipped) == {'unparseable SMILES': 1, 'SMILES does not match the geometry': 1}
    assert skips.examples['unparseable SMILES'] == ['7: unparseable SMILES (C1CC()']
    assert records[0]['source_version'].startswith('sha256:')
    assert 'qm9 skipped 7: unparseable SMILES' in caplog.text


@pytest.mark.parametrize(
    ('module', 'function', 'package'),
    [('qm9', 'qm9_files', 'qm9pack'), ('moses', 'moses_files', 'moses')],
)
def test_packaged_files_found_without_importing_the_package(module, function, package):
    code = (
        f'import sys; from aiida_znadditive.ml.database.importers.{module} import {function}; '
        f'files = {function}(); assert {package!r} not in sys.modules; print(len(files))'
    )
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '3'


# -- MOSES --------------------------------------------------------------------------------------------------------


def test_moses_real_train_rows():
    records, skips = read('moses', limit=1000)
    assert skips.read == 1000
    assert len(records) == 1000 - skips.n_skipped
    first = records[0]
    assert (first['source'], first['source_id']) == ('moses', 'train:0')
    assert first['source_version'] == importlib.metadata.version('molsets')
    assert first['smiles'] == 'CCCS(=O)c1ccc2[nH]c(=NC(=O)OC)[nH]c2c1'
    assert 'positions' not in first  # SMILES only: no geometry
    assert all(record['charge'] == 0 for record in records)


def test_moses_split_from_file_name_and_column(tmp_path):
    records, _ = read('moses', limit=5, splits=('test_scaffolds',))
    assert [record['source_id'] for record in records] == [f'test_scaffolds:{row}' for row in range(5)]
    path = tmp_path / 'dataset_v1.csv'
    path.write_text('SMILES,SPLIT\nCCO,train\nc1ccccc1,test\nC1CC(,test_scaffolds\n')
    records, skips = read('moses', path)
    assert [record['source_id'] for record in records] == ['train:0', 'test:1']
    assert dict(skips.skipped) == {'unparseable SMILES': 1}


# -- PCQM4Mv2 -----------------------------------------------------------------------------------------------------


def test_pcqm4mv2_csv_and_training_sdf():
    records, skips = read('pcqm4mv2', DATA / 'pcqm4mv2_small.csv', sdf=DATA / 'pcqm4mv2_small_train.sdf')
    by_id = {record['source_id']: record for record in records}
    assert sorted(by_id) == ['0', '1', '2', '4', '5']
    assert by_id['0']['gap_ev'] == pytest.approx(4.8215603516)
    assert len(by_id['0']['atomic_numbers']) == by_id['0']['n_atoms'] == 20  # paracetamol with hydrogens
    assert 'atomic_numbers' not in by_id['1']  # the SDF record 1 is another molecule: dropped, warned
    assert by_id['2']['atomic_numbers'] == [6] * 6 + [1] * 6
    assert by_id['4']['smiles'] == 'Cc1ccc([C@H]2[CH]c3cnccc3[N]C2=O)cc1'  # radicals stay radicals
    assert by_id['5']['gap_ev'] is None  # test-set rows have no gap
    assert dict(skips.skipped) == {'unparseable SMILES': 1}
    assert dict(skips.warnings) == {'SDF geometry does not match the SMILES, dropped': 1}


def test_pcqm4mv2_without_sdf_and_bad_header(tmp_path):
    records, _ = read('pcqm4mv2', DATA / 'pcqm4mv2_small.csv', limit=2)
    assert [record['source_id'] for record in records] == ['0', '1']
    bad = tmp_path / 'data.csv'
    bad.write_text('id,text\n1,CCO\n')
    with pytest.raises(SourceError, match=r'data.csv: not a PCQM4Mv2 CSV, no column idx, smiles'):
        read('pcqm4mv2', bad)


# -- Materials Project molecules ----------------------------------------------------------------------------------


def test_mp_molecules_json():
    records, skips = read('mp-molecules', DATA / 'mp_molecules.json')
    ec, acetate, water = records
    assert ec['source_id'] == '7e2f4c8a1b9d3e5f6a0c2b4d8e1f3a5c-C3H4O3-0-1'
    assert (ec['smiles'], ec['ip_ev'], ec['ea_ev']) == ('O=C1OCCO1', 11.42, -1.15)
    assert (ec['total_energy_ev'], ec['zpve_ev']) == (-9325.74, 2.07)
    assert len(ec['atomic_numbers']) == 10
    # No SMILES in the document: the identity comes from the geometry and the charge.
    assert (acetate['smiles'], acetate['charge'], acetate['ip_ev']) == ('CC(=O)[O-]', -1, 3.71)
    assert (water['source_id'], water['inchikey'], water['ip_ev'], water['ea_ev']) == ('mol-45701', WATER, 12.62, -1.87)
    assert water['atomic_numbers'] == [8, 1, 1]
    assert dict(skips.skipped) == {'element Se not allowed': 1, 'no SMILES and no geometry': 1}


def test_mp_molecules_solvent_and_json_lines():
    records, _ = read('mp-molecules', DATA / 'mp_molecules.json', solvent='SOLVENT=WATER')
    assert [record['ip_ev'] for record in records] == [8.05, None, 12.62]
    records, skips = read('mp-molecules', DATA / 'mp_molecules.jsonl')
    assert [record['source_id'] for record in records] == ['mol-45701', '7e2f4c8a1b9d3e5f6a0c2b4d8e1f3a5c-C3H4O3-0-1']
    assert dict(skips.skipped) == {'unreadable JSON': 1}


# -- SDF ----------------------------------------------------------------------------------------------------------


def test_pubchem_sdf_3d():
    records, skips = read('sdf', DATA / 'pubchem_small.sdf')
    assert [record['source_id'] for record in records] == ['pubchem:962', 'pubchem:7303', 'pubchem:517045']
    water, carbonate, acetate = records
    assert water['inchikey'] == WATER
    assert water['atomic_numbers'] == [8, 1, 1]
    assert carbonate['positions'].shape == (30,)
    assert (acetate['smiles'], acetate['charge'], len(acetate['atomic_numbers'])) == ('CC(=O)[O-]', -1, 7)
    assert dict(skips.skipped) == {'unparseable SDF record': 1, 'element Se not allowed': 1}
    assert skips.examples['unparseable SDF record'] == ['#4: unparseable SDF record']


def test_chembl_sdf_2d():
    records, _ = read('sdf', DATA / 'chembl_small.sdf')
    assert [(record['source_id'], record['inchikey']) for record in records] == [
        ('CHEMBL25', 'BSYNRYMUTXBXSQ-UHFFFAOYSA-N'),
        ('CHEMBL113', 'RYYVLZVUVIJVGH-UHFFFAOYSA-N'),
    ]
    assert all('positions' not in record for record in records)  # 2D drawings are no geometry


# -- SMILES files -------------------------------------------------------------------------------------------------


def test_smiles_lines():
    records, skips = read('smiles', DATA / 'additives.smi')
    assert [(record['source_id'], record['smiles'], record['charge']) for record in records] == [
        ('ethylene_carbonate', 'O=C1OCCO1', 0),
        ('sodium_acetate', 'CC(=O)[O-]', -1),
        ('tetramethylammonium_triflate', 'O=S(=O)([O-])C(F)(F)F', -1),  # the larger organic ion
        ('line 10', 'OCC(O)CO', 0),
    ]
    assert skips.read == 7
    assert dict(skips.skipped) == {'unparseable SMILES': 1, 'element Se not allowed': 1, 'too large': 1}
    assert skips.examples['too large'][0].startswith('long_alkane: too large: 120 heavy atoms')


def test_smiles_csv_with_property_column():
    records, skips = read('smiles', DATA / 'additives.csv')
    assert [(record['source_id'], record['smiles'], record['gap_ev']) for record in records] == [
        ('glycerol', 'OCC(O)CO', 7.1),
        ('water', 'O', None),
        ('ethanol', 'CCO', None),  # 'not a number' is no value
    ]
    assert skips.examples['unparseable SMILES'] == ['bad: unparseable SMILES (C1CC()']


def test_smiles_csv_without_smiles_column(tmp_path):
    path = tmp_path / 'list.csv'
    path.write_text('name,structure\nwater,O\n')
    with pytest.raises(SourceError, match=r'list.csv: no smiles column'):
        read('smiles', path)


# -- Parquet in the schema ----------------------------------------------------------------------------------------


def test_parquet_rows_cast_and_incomplete_rows_skipped(tmp_path):
    rows = [
        {**empty_record(), 'inchikey': WATER, 'smiles': 'O', 'formula': 'H2O', 'charge': 0, 'elements': ['H', 'O']},
        {**empty_record(), 'smiles': 'CCO', 'formula': 'C2H6O', 'charge': 0, 'elements': ['C', 'H', 'O']},
    ]
    for row in rows:
        row.update(heavy_atoms=1, n_atoms=3, source='znadditive-xtb', source_version='gfn2', source_id='x', gap_ev=9.5)
    # As the xTB labeller writes them: int32 counts, and without the columns it does not compute.
    table = pa.Table.from_pylist(rows).drop_columns(['zpve_ev', 'polarizability_a3'])
    table = table.set_column(3, 'charge', table.column('charge').cast(pa.int32()))
    pq.write_table(table, tmp_path / 'part-00000.parquet')
    tables, skips = read('parquet', tmp_path)
    (result,) = tables
    assert result.num_rows == 1
    assert result.schema.field('charge').type == pa.int16()
    assert result.column('zpve_ev').null_count == 1
    assert result.column('source').to_pylist() == ['znadditive-xtb']
    assert dict(skips.skipped) == {'missing identity or provenance': 1}


# -- molecules of a generator run ------------------------------------------------------------------------------


def test_generated_molecules_carry_their_generator_as_source(tmp_path):
    from aiida_znadditive.ml.generators import Constraints, Objective, load_generator
    from aiida_znadditive.ml.generators.objectives import heavy_atoms

    def picky(smiles: str) -> float:  # a scorer failing on one molecule of the run
        if smiles == 'CCCO':
            raise ValueError('no propanol')
        return heavy_atoms(smiles)

    seeds = ['CCO', 'CCCO', 'OCCO', 'CC(=O)O', 'COC', 'CCN']
    result = load_generator('random', seed_smiles=seeds).generate(
        Objective(scorer=picky, name='heavy'), Constraints(logp_max=None, sa_max=None), budget=6, seed=2
    )
    csv_path = result.write_csv(tmp_path / 'run.csv')
    (tmp_path / 'run.json').write_text(json.dumps(result.provenance()))
    records, skips = read('generated', csv_path)
    by_smiles = {record['smiles']: record for record in records}
    assert sorted(by_smiles) == sorted(set(seeds) - {'CCCO'})
    ethanol = by_smiles['CCO']
    assert ethanol['source'] == 'generated:random'
    assert ethanol['source_version'] == f'{result.version} seed 2'
    call = next(molecule.call for molecule in result.molecules if molecule.smiles == 'CCO')
    assert ethanol['source_id'] == f'call {call}' and ethanol['inchikey'] == 'LFQSCWFLJHTTHZ-UHFFFAOYSA-N'
    assert skips.read == 6 and dict(skips.skipped) == {'not scored': 1}

    (tmp_path / 'run.json').unlink()
    with pytest.raises(SourceError, match=r'run.json \(written by `gen run`\) is unreadable'):
        read('generated', csv_path)


# -- Bad input common to all ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('source', 'suffix'),
    [
        ('qm9', '.csv'),
        ('moses', '.csv'),
        ('pcqm4mv2', '.csv'),
        ('mp-molecules', '.json'),
        ('sdf', '.sdf'),
        ('smiles', '.smi'),
        ('parquet', '.parquet'),
    ],
)
def test_empty_file_gives_no_rows_and_a_message(tmp_path, source, suffix):
    path = tmp_path / f'empty{suffix}'
    path.touch()
    records, skips = read(source, path)
    assert records == []
    assert skips.messages == [f'{path}: empty file, no molecules']


@pytest.mark.parametrize('source', ['pcqm4mv2', 'mp-molecules', 'sdf', 'smiles', 'qm9', 'moses'])
def test_missing_file_is_named(tmp_path, source):
    with pytest.raises(SourceError, match=f'{tmp_path / "nothing.txt"}: no such file'):
        read(source, tmp_path / 'nothing.txt')
