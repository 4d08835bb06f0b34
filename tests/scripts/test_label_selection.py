"""The molecule selection of ``scripts/label_xtb.py``: quota classes, the quota draw and the curated lists.

RDKit and dimorphite-dl only (no labels are computed, no data set is read): a few seconds.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / 'scripts' / 'label_xtb.py'


@pytest.fixture(scope='module')
def label_xtb():
    spec = importlib.util.spec_from_file_location('label_xtb', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def settings(label_xtb):
    return label_xtb.LabelSettings()  # the labeller's defaults: species at pH 4.5


@pytest.mark.parametrize(
    ('smiles', 'expected'),
    [
        ('CSc1ccccc1', (['sulfur'], 0, False)),
        ('OCCCl', (['halogen'], 0, False)),
        ('OCCO', (['chelator'], 0, False)),  # 1,2-diol: a 5-membered chelate ring
        ('CC(=O)CC(C)=O', (['chelator'], 0, False)),  # beta-diketone: a 6-membered one
        ('C1COCCO1', ([], 0, False)),  # 1,4-dioxane: both O in one six-membered ring
        ('OC(=O)c1ccccc1', (['ionic'], -1, False)),  # benzoate (pKa 4.20): its two O hang on one C, no chelate
        ('CC(=O)O', ([], 0, False)),  # acetic acid (pKa 4.76): mostly the neutral acid at pH 4.5
        ('OC(=O)CC(=O)O', (['ionic', 'chelator'], -1, False)),  # hydrogen malonate (pKa 2.83, 5.69)
        ('NCC(=O)O', (['ionic'], 0, True)),  # glycine: zwitterion, the ammonium N is no donor
        ('C[N+](C)(C)CC(=O)[O-]', (['ionic'], 0, True)),  # betaine
        ('O=[N+]([O-])c1ccc(O)cc1', ([], 0, False)),  # 4-nitrophenol: the nitro charges are bonded, no zwitterion
        ('CCCN', (['ionic'], 1, False)),  # propylammonium at pH 4.5
        ('Brc1ccc(S(N)(=O)=O)cc1', (['sulfur', 'halogen'], 0, False)),
    ],
)
def test_profile_classes(label_xtb, settings, smiles, expected):
    """Quota classes, net charge and zwitterion flag of the species at pH 4.5."""
    found = label_xtb.profile(smiles, settings)
    assert (found['classes'], found['charge'], found['zwitterion']) == expected


def test_profile_rejects_what_the_draw_cannot_use(label_xtb, settings):
    assert label_xtb.profile('CCCCCCCCCCCCCCCCCO', settings, label_xtb.ADDITIVE_ELEMENTS, 16) is None  # 17 heavy
    assert label_xtb.profile('C[Si](C)(C)O', settings, label_xtb.ADDITIVE_ELEMENTS, 16) is None  # Si
    assert label_xtb.profile('CCCN', settings)['donors'] == 0  # an ammonium at pH 4.5: no donor left


def test_draw_additive_fills_quotas_and_keeps_caps(label_xtb, settings, monkeypatch, caplog):
    monkeypatch.setattr(label_xtb, 'QUOTAS', {'sulfur': 3, 'halogen': 3})
    monkeypatch.setattr(label_xtb, 'CAPS', {'Br': 2})
    monkeypatch.setattr(label_xtb, 'QUOTA_BASIS', 10)
    plain = [('C' * k + 'O', f'plain:{k}') for k in range(1, 13)] + [
        ('C' * k + 'OC', f'ether:{k}') for k in range(1, 9)
    ]
    sulfur = [('CS' + 'C' * k, f'sulfur:{k}') for k in range(1, 5)]
    chloro = [('Cl' + 'C' * k + 'O', f'chloro:{k}') for k in range(2, 6)]
    bromo = [('Br' + 'C' * k + 'O', f'bromo:{k}') for k in range(2, 8)]
    candidates = plain + sulfur + chloro + bromo
    taken = {label_xtb.inchikey('CSCC', settings)}  # already selected elsewhere: never drawn again
    for seed in (1, 2, 3):
        chosen, quotas = label_xtb.draw_additive(candidates, 10, 16, seed, set(taken), settings=settings)
        ids = [source_id for _, source_id, _ in chosen]
        assert len(chosen) == 10
        assert 'sulfur:2' not in ids
        assert quotas['sulfur']['drawn'] >= 3
        assert quotas['halogen']['drawn'] >= 3
        assert quotas['Br']['drawn'] == sum(source_id.startswith('bromo') for source_id in ids) <= 2
    # Quotas that cannot be met keep their places free and say so.
    with caplog.at_level(logging.WARNING, logger='label_xtb'):
        chosen, quotas = label_xtb.draw_additive(plain + sulfur, 10, 16, 1, set(), settings=settings)
    assert quotas['halogen']['drawn'] == 0
    assert len(chosen) == 7  # three places kept for the halogen quota
    assert 'quotas short' in caplog.text


def test_curated_molecules_are_labelled_once_each(label_xtb, settings):
    keys = {}
    for name, smiles in {**label_xtb.CURATED, **label_xtb.PHOSPHORUS}.items():
        key = label_xtb.inchikey(smiles, settings)
        assert key is not None, name
        assert key not in keys, f'{name} is the same species as {keys.get(key)}'
        keys[key] = name
    assert all('P' in label_xtb.profile(smiles, settings)['elements'] for smiles in label_xtb.PHOSPHORUS.values())


def test_order(label_xtb):
    assert label_xtb.group_order('qm9, moses,additive,curated') == ('qm9', 'moses', 'additive', 'curated')
    with pytest.raises(Exception, match='once'):
        label_xtb.group_order('curated,additive,moses')
