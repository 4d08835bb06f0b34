"""Generation metrics (MOSES definitions, PoseBusters checks) on small hand-made sets with known answers, and
``aiida-znadditive gen metrics``."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest
from click.testing import CliRunner
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from aiida_znadditive.cli import cmd_root
from aiida_znadditive.ml.generators import metrics
from aiida_znadditive.ml.generators.library import read_smiles_file
from aiida_znadditive.ml.screeners.descriptors import sa_score

TWO_RINGS = ['c1ccc2ccccc2c1', 'C1CCC2CCCCC2C1', 'c1ccc2[nH]ccc2c1']


def tanimoto(first: str, second: str) -> float:
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    a, b = (generator.GetFingerprint(Chem.MolFromSmiles(smiles)) for smiles in (first, second))
    return DataStructs.TanimotoSimilarity(a, b)


def test_validity_uniqueness_novelty():
    assert metrics.validity(['C', 'X']) == 0.5
    assert metrics.validity(['C1CC', '', 'CCO', 'c1ccccc1']) == 0.5
    assert math.isnan(metrics.validity([]))
    assert metrics.uniqueness(['CCO', 'OCC', 'C']) == pytest.approx(2 / 3)  # CCO and OCC are one molecule
    assert metrics.uniqueness(['CCO', 'X']) == 1.0  # over valid molecules only
    assert metrics.novelty(['CCO', 'CCN', 'CCN'], training=['OCC', 'X']) == 0.5  # distinct: CCO known, CCN new
    assert metrics.novelty(['CCO'], training=[]) == 1.0


def test_internal_diversity():
    assert metrics.internal_diversity(['c1ccccc1O'] * 4) == 0.0
    assert metrics.internal_diversity(['c1ccccc1O', 'Oc1ccccc1']) == 0.0
    t = tanimoto('CCO', 'c1ccncc1')
    # All four ordered pairs, self-pairs included (MOSES): mean T = (1 + 1 + t + t) / 4.
    assert metrics.internal_diversity(['CCO', 'c1ccncc1', 'X']) == pytest.approx(1 - (2 + 2 * t) / 4)
    assert metrics.internal_diversity(['CCO', 'c1ccncc1'], p=2) == pytest.approx(1 - math.sqrt((2 + 2 * t**2) / 4))


def test_similarity_to_a_reference():
    assert metrics.snn(TWO_RINGS, TWO_RINGS) == pytest.approx(1.0)
    assert metrics.snn(['CCO'], ['CCO', 'c1ccncc1']) == pytest.approx(1.0)
    assert metrics.snn(['CCO'], ['c1ccncc1']) == pytest.approx(tanimoto('CCO', 'c1ccncc1'))
    assert metrics.scaffold_similarity(TWO_RINGS, TWO_RINGS) == pytest.approx(1.0)
    with_ether = [*TWO_RINGS, 'CCOc1ccccc1']
    assert metrics.fragment_similarity(with_ether, with_ether) == pytest.approx(1)
    # Substituents do not change a Bemis-Murcko scaffold: naphthol and methylnaphthalene share naphthalene's.
    assert metrics.scaffold_similarity(['Oc1ccc2ccccc2c1', 'Cc1ccc2ccccc2c1'], ['c1ccc2ccccc2c1']) == pytest.approx(1)
    assert metrics.scaffold_similarity(['c1ccc2ccccc2c1'], ['C1CCC2CCCCC2C1']) == 0.0
    # One-ring molecules have no scaffold with MOSES' two-ring minimum: undefined, unless the minimum is lowered.
    assert math.isnan(metrics.scaffold_similarity(['c1ccccc1O'], ['c1ccccc1N']))
    assert metrics.scaffold_similarity(['c1ccccc1O'], ['c1ccccc1N'], min_rings=1) == pytest.approx(1.0)
    # Cosine similarity of count vectors: (1,1,0) against (2,0,0) = 2 / (sqrt 2 * 2).
    assert metrics.cosine_similarity(Counter(a=1, b=1), Counter(a=2)) == pytest.approx(1 / math.sqrt(2))
    assert math.isnan(metrics.cosine_similarity(Counter(), Counter(a=1)))
    # BRICS cuts an aryl alkyl ether on both sides of the oxygen: ethyl, the ether oxygen and phenyl.
    counts = metrics.fragment_counts([Chem.MolFromSmiles('CCOc1ccccc1')] * 2)
    assert counts == Counter({'[4*]CC': 2, '[3*]O[3*]': 2, '[16*]c1ccccc1': 2})


def test_sa_score_is_the_rules_one():
    scores = metrics.sa_scores(['CCO', 'X', 'c1ccccc1O'])
    assert scores == [sa_score(Chem.MolFromSmiles('CCO')), sa_score(Chem.MolFromSmiles('c1ccccc1O'))]


def test_plausible_conformers_pass_and_distorted_ones_fail():
    result = metrics.plausibility_3d(['CCO', 'c1ccncc1', 'OCC(O)CO', 'X'], max_molecules=10)
    assert result.n == 3 and result.passed == 3 and result.fraction == 1.0 and result.failures == []
    assert all(rate == 1.0 for rate in result.checks.values())

    stretched = metrics.embed(Chem.MolFromSmiles('CCO'))
    conformer = stretched.GetConformer()
    first, second = np.array(conformer.GetAtomPosition(0)), np.array(conformer.GetAtomPosition(1))
    conformer.SetAtomPosition(1, (first + 1.8 * (second - first)).tolist())  # C-C from 1.5 to 2.7 Å
    puckered = metrics.embed(Chem.MolFromSmiles('c1ccccc1'))
    conformer = puckered.GetConformer()
    normal = np.cross(
        *(np.array(conformer.GetAtomPosition(i)) - np.array(conformer.GetAtomPosition(0)) for i in (2, 4))
    )
    for index in (0, 3):  # a boat: two para atoms 0.8 Å out of the ring plane
        position = np.array(conformer.GetAtomPosition(index))
        conformer.SetAtomPosition(index, (position + 0.8 * normal / np.linalg.norm(normal)).tolist())
    stretched_checks, puckered_checks = metrics.posebusters_checks([stretched, puckered])
    assert stretched_checks['bond_lengths'] is False
    assert puckered_checks['aromatic_ring_flatness'] is False
    assert stretched_checks['sanitization'] and puckered_checks['all_atoms_connected']


def test_compute_and_format_metrics():
    values = metrics.compute_metrics(
        ['CCO', 'OCC', 'c1ccncc1', 'X'], reference=TWO_RINGS, training=['CCO'], conformers=False
    )
    assert values['n'] == 4 and values['validity'] == 0.75 and values['uniqueness'] == pytest.approx(2 / 3)
    assert values['novelty'] == 0.5
    assert math.isnan(values['scaf'])  # no two-ring scaffold among the generated
    assert 'plausible_3d' not in values
    table = metrics.format_metrics(values)
    assert 'validity' in table and '0.750' in table
    assert [line.split()[:2] for line in table.splitlines() if line.startswith('scaf')] == [['scaf', 'n/a']]
    empty = metrics.compute_metrics(['X'], conformers=True)
    assert empty['validity'] == 0.0 and math.isnan(empty['plausible_3d']) and math.isnan(empty['int_div1'])


def test_read_smiles_files(tmp_path):
    smi = tmp_path / 'set.smi'
    smi.write_text('SMILES\nCCO ethanol\n# a comment\n\nX\n')
    assert read_smiles_file(smi) == ['CCO', 'X']
    table = tmp_path / 'set.csv'
    table.write_text('call,Smiles,fitness\n1,CCO,0.5\n2,,\n3,c1ccncc1,0.1\n')
    assert read_smiles_file(table) == ['CCO', '', 'c1ccncc1']


def test_cli_metrics(tmp_path):
    generated = tmp_path / 'generated.smi'
    generated.write_text('CCO\nX\n')
    reference = tmp_path / 'reference.smi'
    reference.write_text('\n'.join(TWO_RINGS))
    run = CliRunner().invoke
    result = run(
        cmd_root,
        ['gen', 'metrics', str(generated), '--reference', str(reference), '--training', str(generated), '--no-3d'],
    )
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[1] for line in result.output.splitlines()[1:]}
    assert rows['validity'] == '0.500' and rows['uniqueness'] == '1.000' and rows['novelty'] == '0.000'
    assert rows['int_div1'] == '0.000' and rows['scaf'] == 'n/a'
    result = run(cmd_root, ['gen', 'metrics', str(generated), '--json', '--max-3d', '5'])
    assert result.exit_code == 0, result.output
    values = json.loads(result.output)
    assert values['validity'] == 0.5 and values['plausible_3d'] == 1.0  # ethanol passes every check
    result = run(cmd_root, ['gen', 'metrics', str(generated), '--reference', 'moses:nope'])
    assert result.exit_code == 1 and "unknown MOSES split 'nope'" in result.output
