"""The learned generator: the SELFIES language model (:mod:`~aiida_znadditive.ml.generators.lm`) and REINVENT on top of
it (:mod:`~aiida_znadditive.ml.generators.reinvent`), with ``gen pretrain`` and ``gen run --generator reinvent``.

One tiny model (1 × 64 GRU, trained for a few CPU seconds on 500 MOSES molecules) serves every test."""

from __future__ import annotations

import csv
import importlib.metadata
import json
import random

import pytest
import torch
from click.testing import CliRunner
from rdkit import Chem

from aiida_znadditive.cli import cmd_root
from aiida_znadditive.ml.generators import Constraints, GeneratorError, Objective, load_generator
from aiida_znadditive.ml.generators import reinvent as reinvent_module
from aiida_znadditive.ml.generators.library import sample_library
from aiida_znadditive.ml.generators.lm import (
    LMSettings,
    Vocabulary,
    decode_selfies,
    file_sha256,
    load_model,
    pretrain,
    selfies_tokens,
)
from aiida_znadditive.ml.generators.reinvent import ReplayBuffer, ScaffoldFilter

TINY = LMSettings(
    embedding=16, hidden=64, layers=1, max_tokens=60, epochs=8, batch_size=32, learning_rate=1e-2, validation_size=50
)
OPEN = Constraints(elements=('H', 'C', 'N', 'O', 'F', 'S', 'Cl', 'Br'), logp_max=None, sa_max=None)


def nitrogens(smiles: str) -> float:
    return float(sum(atom.GetSymbol() == 'N' for atom in Chem.MolFromSmiles(smiles).GetAtoms()))


NITROGENS = Objective(nitrogens, desirability={'kind': 'larger', 'low': 0, 'high': 6}, name='nitrogens')


pytestmark = pytest.mark.usefixtures('one_torch_thread')


@pytest.fixture(scope='module')
def training_smiles():
    molecules = sample_library('moses:test', 500, random.Random(0))
    return [*molecules, molecules[0], 'not a molecule', 'C' * 70]  # a repeat, an unreadable one, one too long


@pytest.fixture(scope='module')
def tiny(training_smiles, tmp_path_factory):
    """The tiny model, trained once (8 epochs, about 2 s of CPU; no time budget, which would make it depend on the
    machine's load), its file and its progress lines."""
    lines = []
    model = pretrain(training_smiles, TINY, seed=0, log=lines.append)
    path = tmp_path_factory.mktemp('lm') / 'model.pt'
    model.save(path)
    return model, path, lines


def reinvent(checkpoint, **settings):
    return load_generator('reinvent', checkpoint=str(checkpoint), batch_size=32, **settings)


# -- the language model ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    'smiles', ['OCC(O)CO', 'c1ccncc1', 'CC(=O)[O-]', 'C[N+](C)(C)C', 'O=C1OCCO1', 'FC(F)(F)S(=O)(=O)N', 'Brc1ccsc1']
)
def test_selfies_round_trip(smiles):
    tokens, reason = selfies_tokens(smiles)
    assert reason is None and tokens
    vocabulary = Vocabulary(sorted(set(tokens)))
    ids = vocabulary.encode(tokens)
    assert min(ids) >= 3  # after <pad>, <bos>, <eos>
    assert decode_selfies(vocabulary.decode([*ids, 2, 5, 6])) == Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


def test_tokens_of_bad_input():
    assert selfies_tokens('C1CC') == (None, 'unreadable SMILES')
    assert selfies_tokens('') == (None, 'unreadable SMILES')
    assert Vocabulary(['[C]']).encode(['[C]', '[N]']) is None
    assert selfies_tokens('C[C@H](N)O')[0] == selfies_tokens('CC(N)O')[0]  # stereochemistry dropped


def test_pretraining_lowers_the_validation_nll(tiny):
    model, _, lines = tiny
    record = model.record
    assert record['molecules'] == {
        'read': 503,
        'encoded': 500,
        'skipped': {'repeated': 1, 'unreadable SMILES': 1, 'more than 60 tokens': 1},
        'training': 450,
        'validation': 50,
    }
    assert record['stopped'] == '8 epochs' and record['steps'] == 8 * 15 and record['epochs'] == 8.0
    # Untrained: about ln(vocabulary) nats per token, ~110 per molecule; trained: well under half of that.
    assert record['validation_nll_initial'] > 90
    assert record['validation_nll'] < 0.55 * record['validation_nll_initial']
    assert record['versions']['selfies'] == importlib.metadata.version('selfies') and record['seed'] == 0
    assert any('molecules/s' in line and 'validation NLL' in line for line in lines)


def test_samples_are_valid_and_their_likelihoods_agree(tiny):
    model, _, _ = tiny
    samples = model.sample(300, generator=torch.Generator().manual_seed(1), batch_size=128)
    assert samples.sequences.shape[0] == len(samples.smiles) == 300
    written = [model.vocabulary.decode(row.tolist()) for row in samples.sequences]
    non_empty = [smiles for text, smiles in zip(written, samples.smiles, strict=True) if text]
    assert len(non_empty) >= 0.95 * 300
    assert sum(smiles is not None for smiles in non_empty) >= 0.95 * len(non_empty)
    assert len(set(non_empty)) >= 0.9 * len(non_empty)  # a language model, not a lookup table
    torch.testing.assert_close(model.likelihood(samples.sequences), samples.log_likelihoods, atol=1e-4, rtol=0)

    again = model.sample(300, generator=torch.Generator().manual_seed(1), batch_size=128)
    other = model.sample(300, generator=torch.Generator().manual_seed(2), batch_size=128)
    assert again.smiles == samples.smiles and other.smiles != samples.smiles
    cool = model.sample(300, temperature=0.6, generator=torch.Generator().manual_seed(1))
    assert cool.log_likelihoods.mean() > samples.log_likelihoods.mean() + 5  # likelier molecules when cooler


def test_checkpoint_round_trip(tiny, tmp_path):
    model, path, _ = tiny
    assert model.checkpoint_hash == file_sha256(path)
    loaded = load_model(path)
    assert loaded.checkpoint_hash == model.checkpoint_hash
    assert loaded.vocabulary.tokens == model.vocabulary.tokens and loaded.record == model.record
    samples = model.sample(50, generator=torch.Generator().manual_seed(3))
    assert torch.equal(loaded.likelihood(samples.sequences), model.likelihood(samples.sequences))
    assert loaded.save(tmp_path / 'elsewhere.pt') == model.checkpoint_hash  # same model, same bytes, any name

    with pytest.raises(GeneratorError, match='gen pretrain'):
        load_model(tmp_path / 'missing.pt')
    (tmp_path / 'broken.pt').write_bytes(path.read_bytes()[:1000])
    with pytest.raises(GeneratorError, match='not a readable model checkpoint'):
        load_model(tmp_path / 'broken.pt')
    torch.save({'weights': torch.zeros(2)}, tmp_path / 'foreign.pt')
    with pytest.raises(GeneratorError, match='not a znadditive-selfies-lm checkpoint'):
        load_model(tmp_path / 'foreign.pt')


# -- REINVENT ----------------------------------------------------------------------------------------------------------


def test_scaffold_filter_and_replay_buffer():
    diversity = ScaffoldFilter(bucket_size=2, min_reward=0.4)
    assert diversity('Cc1ccccc1', 0.9) == 0.9
    assert diversity('Oc1ccccc1', 0.8) == 0.8
    assert diversity('Nc1ccccc1', 0.7) == 0.0  # benzene's bucket holds two molecules already
    assert diversity('Cc1ccccc1', 0.9) == 0.9  # a member keeps its reward
    assert diversity('Fc1ccccc1', 0.3) == 0.3  # below min_reward: not counted, not filtered
    assert diversity('OC1CCCCC1', 0.7) == 0.7  # another scaffold

    replay = ReplayBuffer(size=2)
    for smiles, reward in (('CCO', 0.2), ('CCN', 0.9), ('CCC', 0.0), ('CCS', 0.5)):
        replay.add(smiles, reward, torch.tensor([5, 6, 2, 0, 0]))
    assert {smiles: entry[0] for smiles, entry in replay.entries.items()} == {'CCN': 0.9, 'CCS': 0.5}
    rows, rewards = replay.sample(5, torch.Generator().manual_seed(0))
    assert sorted(rewards) == [0.5, 0.9] and all(row.tolist() == [5, 6, 2] for row in rows)


def test_steering_raises_the_reward_over_the_prior(tiny):
    _, path, _ = tiny
    model_hash = tiny[0].checkpoint_hash

    def run(steer):
        result = reinvent(path, steer=steer, learning_rate=3e-3).generate(NITROGENS, OPEN, budget=320, seed=0)
        assert result.calls == 320 and result.stopped_by == 'budget'
        assert result.version.endswith(f'.lm.{model_hash[:12]}')
        assert all(OPEN.check(molecule.smiles) == [] for molecule in result.molecules)
        fitness = [molecule.fitness for molecule in result.molecules]
        return result, sum(fitness[160:]) / 160

    prior, prior_late = run(steer=False)
    steered, steered_late = run(steer=True)
    assert {molecule.origin for molecule in prior.molecules} == {'prior'}
    assert {molecule.origin for molecule in steered.molecules} == {'reinvent'}
    assert steered.molecules[-1].generation > 10  # steps of 32 samples
    # Measured (seeds 0-3): the prior's last 160 calls average 0.38-0.39 (2.3 nitrogens), the agent's 0.71-0.78.
    # learning_rate 3e-3, not the default 5e-4: the tiny model has only ten steps to learn in.
    assert steered_late >= prior_late + 0.15


def test_budget_respected_exactly_and_zero_budget(tiny):
    _, path, _ = tiny
    seen = []

    def counted(smiles: str) -> float:
        seen.append(smiles)
        return nitrogens(smiles)

    objective = Objective(counted, desirability={'kind': 'larger', 'low': 0, 'high': 6})
    for budget in (1, 7, 45):
        seen.clear()
        result = reinvent(path).generate(objective, OPEN, budget=budget, seed=2)
        assert result.calls == budget == len(result.molecules) == len(seen) == len(set(seen))
        assert result.stopped_by == 'budget'
        assert [molecule.call for molecule in result.molecules] == list(range(1, budget + 1))
    zero = reinvent(path).generate(objective, OPEN, budget=0)
    assert zero.stopped_by == 'zero-budget' and zero.molecules == [] and zero.calls == 0


def test_same_seed_same_molecules(tiny):
    _, path, _ = tiny

    def run(seed):
        return [
            molecule.smiles for molecule in reinvent(path).generate(NITROGENS, OPEN, budget=80, seed=seed).molecules
        ]

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_stalls_when_nothing_satisfies_the_constraints(tiny):
    _, path, _ = tiny
    carbon_giants = Constraints(elements=('H', 'C'), min_heavy_atoms=35, logp_max=None, sa_max=None)
    result = reinvent(path, stall_steps=3).generate(NITROGENS, carbon_giants, budget=50)
    assert result.stopped_by == 'stalled' and result.calls == 0
    assert '3 batches in a row without a new molecule' in result.stop_reason
    assert result.discarded['elements'] + result.discarded['heavy atoms'] >= 3 * 25


def test_missing_checkpoint_and_bad_settings(monkeypatch, tmp_path):
    monkeypatch.setattr(reinvent_module, 'default_checkpoint', lambda: tmp_path / 'model.pt')
    generator = load_generator('reinvent')  # loading the plugin needs no model (`gen list`)
    assert generator.version.endswith('+reinvent.1.lm.none')
    with pytest.raises(GeneratorError, match=r'no SELFIES language model at .*`aiida-znadditive gen pretrain`'):
        generator.generate(NITROGENS, OPEN, budget=5)
    for settings, message in (
        ({'sigma': 0}, 'sigma must be a positive number'),
        ({'batch_size': 0}, 'batch_size must be at least 1'),
        ({'temperature': -1}, 'temperature must be a positive number'),
        ({'beta': 1}, 'unknown `reinvent` setting'),
    ):
        with pytest.raises(GeneratorError, match=message):
            load_generator('reinvent', **settings)


# -- the command line --------------------------------------------------------------------------------------------------


def gen(*args):
    return CliRunner().invoke(cmd_root, ['gen', *map(str, args)], catch_exceptions=False)


def test_cli_pretrain_then_run(training_smiles, tmp_path):
    library = tmp_path / 'library.smi'
    library.write_text('smiles\n' + '\n'.join(training_smiles[:120]) + '\n')
    out = tmp_path / 'lm' / 'model.pt'
    size = ['--embedding', 8, '--hidden', 16, '--layers', 1, '--batch-size', 16]
    result = gen('pretrain', '--library', library, '--limit', 0, '--epochs', 2, *size, '--out', out)
    assert result.exit_code == 0, result.output
    assert 'validation NLL' in result.output and 'molecules/s' in result.output
    record = json.loads(out.with_suffix('.json').read_text())
    assert record['sha256'] == file_sha256(out) and record['steps'] == 2 * 7  # 108 training molecules, 16 a batch
    assert record['data'] == {'library': str(library), 'limit': None, 'sampled': 120}
    assert record['settings']['hidden'] == 16 and record['molecules']['encoded'] == 120

    csv_out = tmp_path / 'run.csv'
    objective = 'heavy_atoms,kind=larger,low=0,high=30'
    args = ['--generator', 'reinvent', '--setting', f'checkpoint={out}', '--setting', 'batch_size=8']
    constraints = ['--elements', 'H,C,N,O,F,S,Cl,Br', '--logp-max', 'none', '--sa-max', 'none']
    result = gen('run', *args, '--objective', objective, *constraints, '--budget', 12, '--out', csv_out)
    assert result.exit_code == 0, result.output
    assert 'stopped: budget of 12 scorer calls spent' in result.output
    rows = list(csv.DictReader(csv_out.open()))
    assert len(rows) == 12 and {row['origin'] for row in rows} == {'reinvent'}
    provenance = json.loads(csv_out.with_suffix('.json').read_text())
    assert provenance['version'].endswith(f'.lm.{record["sha256"][:12]}')


def test_cli_pretrain_bad_input(tmp_path):
    out = tmp_path / 'model.pt'
    result = gen('pretrain', '--library', tmp_path / 'nope.smi', '--out', out)
    assert result.exit_code == 1 and 'no such file' in result.output
    single = tmp_path / 'one.smi'
    single.write_text('CCO\nnot-a-smiles\n')
    result = gen('pretrain', '--library', single, '--limit', 0, '--out', out)
    assert result.exit_code == 1 and 'a language model needs at least 2' in result.output
    result = gen('pretrain', '--epochs', 0, '--out', out)
    assert result.exit_code == 2 and "Invalid value for '--epochs'" in result.output
    assert not out.exists()
