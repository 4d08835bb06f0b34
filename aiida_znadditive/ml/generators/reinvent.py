"""The ``reinvent`` generator: a pretrained SELFIES language model (:mod:`.lm`) steered by reinforcement learning.

Method: Olivecrona et al., "Molecular de-novo design through deep reinforcement learning", *J. Cheminform.* 9, 48
(2017), with the diversity filter of REINVENT 2.0 (Blaschke et al., *J. Chem. Inf. Model.* 60, 5918 (2020));
written here from the papers' description, no code of theirs is used. The *prior* is the pretrained model, the
*agent* a copy of it that learns. Each step:

1. the agent samples ``batch_size`` molecules; identical token sequences are kept once (a repeat would weigh twice in
   the loss);
2. each decoded molecule gets a reward in [0, 1]: its fitness (the scalarised desirability, whatever the selection)
   through ``context.budget``. An empty decoding or a molecule breaking the constraints gets 0 without a scorer call;
   a molecule scored before gets its cached fitness, free; a failed molecule gets 0; one beyond the budget is left
   out of the update;
3. the diversity filter (``scaffold_bucket``, REINVENT 2.0's ``IdenticalMurckoScaffold``): once ``scaffold_bucket``
   molecules of one Bemis-Murcko scaffold earned a reward of at least ``scaffold_min_reward``, further new molecules
   of that scaffold get 0, which pushes the agent to other scaffolds (all acyclic molecules share the empty
   scaffold). The fitness recorded for a molecule is never changed: the filter acts on the learning signal only;
4. the agent is pulled toward the *augmented likelihood* ``log P_prior(x) + sigma · reward(x)``: loss
   ``mean((augmented − log P_agent(x))²)``, one Adam step. The prior term keeps the agent near the chemistry it
   learned; ``sigma`` sets how far a reward of 1 may move it;
5. experience replay: the ``replay_size`` best molecules seen (by reward after the filter) are kept with their
   tokens; ``replay_sample`` of them, drawn with probability proportional to the reward, join each update.

``steer=False`` samples the prior without learning (the "before steering" model, also a baseline: what the
pretrained model finds by chance under the same budget). The run stops when the budget is spent, after ``max_steps``
steps, or after ``stall_steps`` batches in a row without a new molecule to score (the agent collapsed onto molecules
already scored, or every sample breaks the constraints). Deterministic for a seed: sampling and replay draws come
from one ``torch.Generator`` seeded with the run's seed, and the update is deterministic on a CPU.

Reward scale: the fitness is in [0, 1] as REINVENT's scores are, so REINVENT 2.0's ``sigma`` of 128 carries over.
Its learning rate of 1e-4 suits thousands of steps of a 3 × 512 network; this platform's budgets are a few hundred
to a few thousand scorer calls (tens of steps), so the default is 5e-4, the value the PMO benchmark (Gao et al.,
"Sample efficiency matters", NeurIPS 2022) runs REINVENT with under a 10,000-call budget.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import ClassVar

import torch
from rdkit import Chem
from rdkit.Chem.Scaffolds import MurckoScaffold

from ... import __version__
from .base import Generator, RunContext, StopRun
from .errors import GeneratorError
from .lm import PAD, LanguageModel, default_checkpoint, file_sha256, load_model, pad_sequences

REINVENT_VERSION = '1'


class ScaffoldFilter:
    """REINVENT 2.0's identical-Murcko-scaffold diversity filter (module docstring, step 3)."""

    def __init__(self, bucket_size: int, min_reward: float) -> None:
        self.bucket_size = bucket_size
        self.min_reward = min_reward
        self.buckets: dict[str, set[str]] = {}

    def __call__(self, smiles: str, reward: float) -> float:
        """The reward ``smiles`` earns for learning: 0 once its scaffold's bucket is full of other molecules."""
        if reward < self.min_reward:
            return reward
        bucket = self.buckets.setdefault(murcko_scaffold(smiles), set())
        if smiles in bucket:
            return reward
        if len(bucket) >= self.bucket_size:
            return 0.0
        bucket.add(smiles)
        return reward


def murcko_scaffold(smiles: str) -> str:
    """Canonical SMILES of the Bemis-Murcko scaffold (empty for an acyclic molecule)."""
    return Chem.MolToSmiles(MurckoScaffold.GetScaffoldForMol(Chem.MolFromSmiles(smiles)))


class ReplayBuffer:
    """The best molecules seen, by reward (REINVENT's experience replay; module docstring, step 5)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: dict[str, tuple[float, torch.Tensor]] = {}

    def add(self, smiles: str, reward: float, sequence: torch.Tensor) -> None:
        if smiles in self.entries or reward <= 0:
            return
        self.entries[smiles] = (reward, sequence[sequence != PAD])
        if len(self.entries) > self.size:
            # Python's sort is stable: among equal rewards, the molecule seen first stays.
            ranked = sorted(self.entries.items(), key=lambda item: -item[1][0])
            self.entries = dict(ranked[: self.size])

    def sample(self, n: int, generator: torch.Generator) -> tuple[list[torch.Tensor], list[float]]:
        """Up to ``n`` entries drawn without replacement, with probability proportional to the reward."""
        if n <= 0 or not self.entries:
            return [], []
        entries = list(self.entries.values())
        weights = torch.tensor([reward for reward, _ in entries], dtype=torch.double)
        picks = torch.multinomial(weights, min(n, len(entries)), replacement=False, generator=generator)
        return [entries[index][1] for index in picks.tolist()], [entries[index][0] for index in picks.tolist()]


class ReinventGenerator(Generator):
    """REINVENT on a SELFIES language model; see the module docstring. Settings: :attr:`DEFAULTS`."""

    name = 'reinvent'
    DEFAULTS: ClassVar[dict] = {
        # The pretrained model (`aiida-znadditive gen pretrain`); None: aiida_znadditive/ml/shipped/selfies_lm/model.pt.
        'checkpoint': None,
        # False: sample the prior, no learning (the model before steering).
        'steer': True,
        'batch_size': 64,
        'sigma': 128.0,
        'learning_rate': 5e-4,
        # Sampling temperature (1: the model's own distribution; lower: more conservative molecules).
        'temperature': 1.0,
        'replay_size': 100,
        'replay_sample': 10,
        # Molecules per Murcko scaffold rewarded before the scaffold earns 0 (None or 0: no diversity filter), and
        # the reward from which a molecule counts toward its scaffold's bucket (REINVENT 2.0: 25 and 0.4).
        'scaffold_bucket': 25,
        'scaffold_min_reward': 0.4,
        'max_steps': 1000,
        'stall_steps': 10,
    }

    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        for key in ('batch_size', 'max_steps', 'stall_steps'):
            if int(self.settings[key]) < 1:
                raise GeneratorError(f'`reinvent` setting {key} must be at least 1')
        for key in ('replay_size', 'replay_sample'):
            if int(self.settings[key]) < 0:
                raise GeneratorError(f'`reinvent` setting {key} must be 0 or more')
        for key in ('sigma', 'learning_rate', 'temperature'):
            value = float(self.settings[key])
            if not (math.isfinite(value) and value > 0):
                raise GeneratorError(f'`reinvent` setting {key} must be a positive number, got {value!r}')
        bucket = self.settings['scaffold_bucket']
        if bucket is not None and int(bucket) < 0:
            raise GeneratorError('`reinvent` setting scaffold_bucket must be 0 or more (or None: no filter)')
        self.model: LanguageModel | None = None

    @property
    def checkpoint(self) -> Path:
        given = self.settings['checkpoint']
        return Path(given) if given is not None else default_checkpoint()

    @property
    def version(self) -> str:
        """The code version and the first 12 hex digits of the model's sha256: which model made a molecule."""
        if self.model is not None:
            digest = self.model.checkpoint_hash
        else:
            digest = file_sha256(self.checkpoint) if self.checkpoint.is_file() else None
        model = f'.lm.{digest[:12]}' if digest else '.lm.none'
        return f'{__version__}+reinvent.{REINVENT_VERSION}{model}'

    def generate(self, *args, **kwargs):
        """As :meth:`Generator.generate`, after loading the model: a missing or broken checkpoint raises
        :class:`GeneratorError` before anything is scored."""
        self.model = load_model(self.checkpoint)
        return super().generate(*args, **kwargs)

    def run(self, context: RunContext) -> tuple[str, str]:
        settings = self.settings
        budget = context.budget
        steer = bool(settings['steer'])
        origin = 'reinvent' if steer else 'prior'
        generator = torch.Generator().manual_seed(context.seed)
        learner = _Learner.start(self.model, settings, generator) if steer else None
        agent = learner.agent if learner is not None else self.model
        bucket = settings['scaffold_bucket']
        diversity = ScaffoldFilter(int(bucket), float(settings['scaffold_min_reward'])) if bucket else None
        verdicts: dict[str, bool] = {}  # constraint checks (SA score, logP) are costly: once per molecule
        stalled = 0
        for step in range(1, int(settings['max_steps']) + 1):
            if budget.should_stop:
                return 'budget', 'budget spent'
            samples = agent.sample(int(settings['batch_size']), float(settings['temperature']), generator)
            sequences, smiles = _unique_sequences(samples.sequences, samples.smiles)
            calls_before = budget.calls
            rewards = _rewards(smiles, context, step=step, origin=origin, verdicts=verdicts, diversity=diversity)
            stalled = stalled + 1 if budget.calls == calls_before else 0
            if stalled >= int(settings['stall_steps']):
                raise StopRun(
                    'stalled',
                    f'{stalled} batches in a row without a new molecule to score (all repeats or discarded: '
                    f'{context.discard_summary()}); the agent collapsed or the constraints are too tight',
                )
            if learner is not None and not budget.should_stop:
                learner.update(sequences, smiles, rewards)
        return 'generations', f'{settings["max_steps"]} steps done (max_steps)'


def _rewards(
    smiles: list[str | None],
    context: RunContext,
    *,
    step: int,
    origin: str,
    verdicts: dict[str, bool],
    diversity: ScaffoldFilter | None,
) -> list[float | None]:
    """The learning reward of each sample (module docstring, steps 2-3); None: beyond the budget."""
    rewards: list[float | None] = [0.0] * len(smiles)
    wanted: dict[str, list[int]] = {}
    for index, molecule in enumerate(smiles):
        if molecule is None:
            context.admissible(None)  # counted as invalid
            continue
        if molecule not in verdicts:
            verdicts[molecule] = context.admissible(Chem.MolFromSmiles(molecule))
        if verdicts[molecule]:
            wanted.setdefault(molecule, []).append(index)
    if not wanted:
        return rewards
    records = context.budget.score(list(wanted), origin=origin, generation=step)
    for (molecule, indices), record in zip(wanted.items(), records, strict=True):
        if record is None:
            reward = None
        else:
            reward = 0.0 if record.failed else float(record.fitness)
            if diversity is not None:
                reward = diversity(molecule, reward)
        for index in indices:
            rewards[index] = reward
    return rewards


@dataclasses.dataclass
class _Learner:
    """The agent, the fixed prior and what updates the agent (module docstring, steps 4-5)."""

    agent: LanguageModel
    prior: LanguageModel
    optimizer: torch.optim.Optimizer
    replay: ReplayBuffer
    generator: torch.Generator
    sigma: float
    replay_sample: int

    @classmethod
    def start(cls, prior: LanguageModel, settings: dict, generator: torch.Generator) -> _Learner:
        agent = prior.copy()
        return cls(
            agent=agent,
            prior=prior,
            optimizer=torch.optim.Adam(agent.network.parameters(), lr=float(settings['learning_rate'])),
            replay=ReplayBuffer(int(settings['replay_size'])),
            generator=generator,
            sigma=float(settings['sigma']),
            replay_sample=int(settings['replay_sample']),
        )

    def update(self, sequences: torch.Tensor, smiles: list[str | None], rewards: list[float | None]) -> None:
        """One Adam step on the squared distance to the augmented likelihood, then the batch joins the replay
        buffer (after the step, as in REINVENT: a molecule is replayed from the next step on)."""
        keep = [index for index, reward in enumerate(rewards) if reward is not None]
        replayed, replay_rewards = self.replay.sample(self.replay_sample, self.generator)
        rows = [sequences[index] for index in keep] + replayed
        values = [rewards[index] for index in keep] + replay_rewards
        if rows:
            batch = pad_sequences(rows)
            with torch.no_grad():
                prior_likelihood = self.prior.likelihood(batch)
            augmented = prior_likelihood + self.sigma * torch.tensor(values)
            loss = (augmented - self.agent.likelihood(batch)).pow(2).mean()
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
        for index in keep:
            if smiles[index] is not None:
                self.replay.add(smiles[index], rewards[index], sequences[index])


def _unique_sequences(sequences: torch.Tensor, smiles: list[str | None]) -> tuple[torch.Tensor, list[str | None]]:
    """The samples with identical token sequences kept once, in the order first drawn."""
    first: dict[tuple[int, ...], int] = {}
    for index, row in enumerate(sequences.tolist()):
        first.setdefault(tuple(row), index)
    keep = list(first.values())
    return sequences[keep], [smiles[index] for index in keep]
