"""Measured cell results as nodes: checked whole before anything is stored, found by InChIKey, imported once."""

from __future__ import annotations

import pytest
from aiida import orm
from click.testing import CliRunner

from aiida_znadditive.cli.root import cmd_root
from aiida_znadditive.orchestration.experiments import (
    GROUP,
    ExperimentFileError,
    experiments_for,
    import_experiments,
    read_experiments,
)

HEADER = (
    'smiles,name,concentration_M,electrolyte,cell_type,current_density_mA_cm2,capacity_mAh_cm2,cycle_life_h,'
    'coulombic_efficiency_percent,overpotential_mV,reference\n'
)
# Illustrative rows in the shape of the papers the known-additive table cites (values are test data, not quotes).
GOOD = HEADER + (
    'O=C1NS(=O)(=O)c2ccccc21,saccharin,0.01,2 M ZnSO4,Zn||Zn,10,10,550,,,https://doi.org/10.1002/adma.202100445\n'
    'CS(C)=O,DMSO,1.0,2 M ZnSO4,Zn||Cu,1,1,,99.5,,lab book 7 p. 12\n'
)


def experiments_count() -> int:
    return orm.QueryBuilder().append(orm.Dict, filters={'label': 'experiment'}).count()


def test_rows_become_nodes_found_by_inchikey_and_are_imported_once(aiida_profile_clean, tmp_path):
    path = tmp_path / 'cells.csv'
    path.write_text(GOOD)
    stored, present = import_experiments(path)
    assert (len(stored), present) == (2, 0)
    saccharin = experiments_for('CVHZOJJKTDOEJC-UHFFFAOYSA-N')
    assert len(saccharin) == 1
    assert saccharin[0]['cycle_life_h'] == 550.0 and saccharin[0]['reference'] == '10.1002/adma.202100445'
    assert 'coulombic_efficiency_percent' not in saccharin[0].get_dict()  # empty optional cells stay absent
    assert {node.uuid for node in orm.load_group(GROUP).nodes} >= {node.uuid for node in stored}
    again, present = import_experiments(path)
    assert (again, present) == ([], 2)
    assert experiments_count() == 2


def test_a_bad_file_names_every_bad_line_and_imports_nothing(aiida_profile, tmp_path):
    before = experiments_count()
    path = tmp_path / 'bad.csv'
    path.write_text(
        HEADER
        + 'CS(C)=O,DMSO,1.0,2 M ZnSO4,Zn||Cu,1,1,,120,,10.1021/jacs.0c09794\n'  # line 2: CE above 100 %
        + 'C1CC,,0.1,2 M ZnSO4,Zn||Zn,1,1,100,,,10.1021/jacs.0c09794\n'  # line 3: unreadable SMILES
        + 'CO,methanol,0.1,2 M ZnSO4,Zn||Zn,1,1,,,,10.1021/jacs.0c09794\n'  # line 4: nothing measured
        + 'CO,methanol,0.1,2 M ZnSO4,Zn||Zn,nan,1,100,,,10.1021\n'  # line 5: NaN current, a broken DOI
        + 'CCO,ethanol,0.1,2 M ZnSO4,Zn||Zn,1,1,200,,,10.1021/jacs.0c09794\n'  # line 6: good, not imported either
    )
    with pytest.raises(ExperimentFileError) as error:
        read_experiments(path)
    problems = error.value.problems
    assert problems[0].startswith('line 2, coulombic_efficiency_percent: 120 is outside [0, 100]')
    assert problems[1].startswith('line 3, smiles: RDKit cannot read')
    assert problems[2].startswith('line 4: no measured value')
    assert problems[3].startswith('line 5, current_density_mA_cm2:') and problems[4].startswith('line 5, reference:')
    assert len(problems) == 5
    result = CliRunner().invoke(cmd_root, ['experiments', 'import', str(path)])
    assert result.exit_code == 1
    assert 'line 3, smiles' in result.output and 'nothing imported' in result.output
    assert experiments_count() == before


def test_a_wrong_header_is_named(aiida_profile, tmp_path):
    path = tmp_path / 'header.csv'
    path.write_text('smile,concentration_M\nCO,1\n')
    with pytest.raises(ExperimentFileError) as error:
        read_experiments(path)
    assert 'line 1: unknown column `smile`' in error.value.problems
    assert 'line 1: missing column `reference`' in error.value.problems


def test_the_command_imports_and_says_how_many(aiida_profile_clean, tmp_path):
    path = tmp_path / 'cells.csv'
    path.write_text(GOOD)
    result = CliRunner().invoke(cmd_root, ['experiments', 'import', str(path)])
    assert result.exit_code == 0, result.output
    assert f'2 experiment(s) imported into group {GROUP}, 0 already there' in result.output
