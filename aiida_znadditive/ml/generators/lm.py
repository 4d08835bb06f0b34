"""The SELFIES language model of the ``reinvent`` generator: a recurrent network that writes a molecule token by token.

Method: the prior of REINVENT (Olivecrona et al., "Molecular de-novo design through deep reinforcement learning",
*J. Cheminform.* 9, 48 (2017); Blaschke et al., "REINVENT 2.0", *J. Chem. Inf. Model.* 60, 5918 (2020)): a GRU
trained by maximum likelihood on a library, here on SELFIES (Krenn et al., *Mach. Learn.: Sci. Technol.* 1, 045024
(2020)) rather than SMILES: every token string decodes to a valid molecule, so no sample is lost to the grammar.

- **molecules**: RDKit canonical SMILES without stereochemistry (the scorers work on 2D graphs), kekulised (SELFIES
  has no aromatic tokens), then ``selfies.encoder`` and ``selfies.split_selfies``. A molecule RDKit cannot read, the
  encoder rejects, or with more than ``max_tokens`` tokens is skipped and counted by reason; repeats are skipped.
- **vocabulary**: ``<pad>``, ``<bos>``, ``<eos>``, then the sorted SELFIES tokens of the training data.
- **network**: token embedding → ``layers`` × ``hidden`` GRU → linear logits over the vocabulary (``<pad>`` and
  ``<bos>`` masked out: never written). REINVENT's prior is 3 × 512; the default here, 64-wide embeddings and
  3 × 256, has about 1M parameters (a 4 MB checkpoint) and sees a few hundred thousand molecules in half an hour on
  two CPU cores.
- **pretraining** (:func:`pretrain`): teacher forcing; loss the negative log-likelihood of each molecule (sum over
  its tokens, ``<eos>`` included, in nats) averaged over the batch; Adam; gradient norm clipping; a seeded validation
  subset whose mean NLL is logged with the throughput every ``log_every`` steps and at the end of each epoch. It stops
  after ``epochs`` or when the time budget (training only, encoding excluded) runs out. Deterministic for a seed
  (weights from ``torch.manual_seed``, order from a seeded shuffle) and a given number of steps.
- **sampling** (:meth:`LanguageModel.sample`): batched ancestral sampling from ``softmax(logits / temperature)``;
  each sample comes with its log-likelihood under the model (temperature 1, what reinforcement learning needs:
  :meth:`LanguageModel.likelihood` of the same tokens gives the same number) and its decoded canonical SMILES
  (None for an empty decoding).
- **checkpoint**: one file, ``torch.save`` of ``{format, format_version, config, vocabulary, state_dict, record}``
  written from memory (so the bytes do not depend on the file name: the same model saved twice hashes alike) and
  loaded with ``weights_only=True``. Its sha256 is the model's identity in the provenance of generated molecules.
  The default checkpoint is :func:`default_checkpoint`, made by ``aiida-znadditive gen pretrain``.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import importlib.metadata
import io
import math
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import selfies as sf
import torch
from rdkit import Chem
from torch import nn

from ... import __version__
from .constraints import canonical, parse
from .errors import GeneratorError

FORMAT = 'znadditive-selfies-lm'
FORMAT_VERSION = 1
SPECIAL_TOKENS = ('<pad>', '<bos>', '<eos>')
PAD, BOS, EOS = range(len(SPECIAL_TOKENS))


def default_checkpoint() -> Path:
    """The shipped model file (``aiida_znadditive/ml/shipped/selfies_lm/model.pt``, see :mod:`..shipped`): what
    ``gen pretrain`` writes by default and the ``reinvent`` generator loads by default."""
    from ..shipped import SHIPPED

    return SHIPPED / 'selfies_lm' / 'model.pt'


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


# -- molecules as tokens ---------------------------------------------------------------------------------------------


def selfies_tokens(smiles: str) -> tuple[list[str] | None, str | None]:
    """The SELFIES tokens of a molecule (see the module docstring), or None and why it cannot be encoded."""
    mol = parse(smiles)
    if mol is None:
        return None, 'unreadable SMILES'
    Chem.RemoveStereochemistry(mol)
    try:
        Chem.Kekulize(mol, clearAromaticFlags=True)
        encoded = sf.encoder(Chem.MolToSmiles(mol, kekuleSmiles=True))
    except Exception:  # RDKit's kekulisation or the SELFIES encoder rejects the molecule
        return None, 'not encodable as SELFIES'
    if not encoded:
        return None, 'not encodable as SELFIES'
    return list(sf.split_selfies(encoded)), None


def decode_selfies(text: str) -> str | None:
    """RDKit canonical SMILES of a SELFIES string (None when it decodes to nothing)."""
    try:
        smiles = sf.decoder(text)
    except sf.DecoderError:
        return None
    return canonical(smiles) if smiles else None


class Vocabulary:
    """Token ↔ id: the special tokens (:data:`SPECIAL_TOKENS`) first, then the SELFIES tokens in the given order."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self.tokens = [*SPECIAL_TOKENS, *tokens]
        self.ids = {token: index for index, token in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def selfies_tokens(self) -> list[str]:
        return self.tokens[len(SPECIAL_TOKENS) :]

    def encode(self, tokens: Sequence[str]) -> list[int] | None:
        """Ids of ``tokens`` (``<eos>`` not added); None when one is not in the vocabulary."""
        ids = [self.ids.get(token) for token in tokens]
        return None if None in ids else ids

    def decode(self, ids: Iterable[int]) -> str:
        """The SELFIES string of ``ids`` up to the first ``<eos>``."""
        text = []
        for index in ids:
            if index == EOS:
                break
            if index >= len(SPECIAL_TOKENS):
                text.append(self.tokens[index])
        return ''.join(text)


@dataclasses.dataclass
class TokenCorpus:
    """Encoded molecules as one flat id array with offsets (compact for a million molecules)."""

    vocabulary: Vocabulary
    flat: np.ndarray
    offsets: np.ndarray
    read: int
    skipped: Counter

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def batch(self, indices: Sequence[int]) -> torch.Tensor:
        """Padded ``[len(indices), longest + 1]`` ids, each molecule followed by ``<eos>``."""
        starts, ends = self.offsets[indices], self.offsets[np.asarray(indices) + 1]
        out = np.full((len(indices), int((ends - starts).max()) + 1), PAD, dtype=np.int64)
        for row, (start, end) in enumerate(zip(starts, ends, strict=True)):
            out[row, : end - start] = self.flat[start:end]
            out[row, end - start] = EOS
        return torch.from_numpy(out)


def encode_corpus(smiles: Iterable[str], max_tokens: int, log: Callable[[str], None]) -> TokenCorpus:
    """Encode a library (see the module docstring); the vocabulary is its tokens, sorted."""
    provisional: dict[str, int] = {}
    flat: list[int] = []
    offsets = [0]
    skipped: Counter = Counter()
    seen: set[str] = set()
    read = 0
    for read, item in enumerate(smiles, start=1):
        tokens, reason = selfies_tokens(item)
        if tokens is not None and len(tokens) > max_tokens:
            tokens, reason = None, f'more than {max_tokens} tokens'
        if tokens is None:
            skipped[reason] += 1
            continue
        key = ''.join(tokens)
        if key in seen:
            skipped['repeated'] += 1
            continue
        seen.add(key)
        flat.extend(provisional.setdefault(token, len(provisional)) for token in tokens)
        offsets.append(len(flat))
        if read % 100_000 == 0:
            log(f'encoded {read:,} molecules ({len(offsets) - 1:,} kept)')
    ordered = sorted(provisional)
    remap = np.empty(max(len(provisional), 1), dtype=np.int32)
    for rank, token in enumerate(ordered, start=len(SPECIAL_TOKENS)):
        remap[provisional[token]] = rank
    return TokenCorpus(
        vocabulary=Vocabulary(ordered),
        flat=remap[np.asarray(flat, dtype=np.int64)] if flat else np.zeros(0, dtype=np.int32),
        offsets=np.asarray(offsets, dtype=np.int64),
        read=read,
        skipped=skipped,
    )


def pad_sequences(sequences: Sequence[torch.Tensor]) -> torch.Tensor:
    """1D id tensors (of different lengths) as one ``[n, longest]`` tensor padded with ``<pad>``."""
    return nn.utils.rnn.pad_sequence(list(sequences), batch_first=True, padding_value=PAD)


# -- the network and the model ---------------------------------------------------------------------------------------


class SelfiesGRU(nn.Module):
    """Embedding → GRU → logits; ``<pad>`` and ``<bos>`` get −∞ (no sequence ever writes them)."""

    def __init__(self, vocabulary_size: int, embedding: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocabulary_size, embedding, padding_idx=PAD)
        self.gru = nn.GRU(embedding, hidden, num_layers=layers, batch_first=True)
        self.output = nn.Linear(hidden, vocabulary_size)
        never = torch.zeros(vocabulary_size, dtype=torch.bool)
        never[[PAD, BOS]] = True
        self.register_buffer('never', never, persistent=False)

    def forward(self, tokens: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        hidden, state = self.gru(self.embedding(tokens), state)
        return self.output(hidden).masked_fill(self.never, -math.inf), state


@dataclasses.dataclass
class Samples:
    """What :meth:`LanguageModel.sample` drew: ``sequences`` ``[n, longest]`` (ids after ``<bos>``, ending with
    ``<eos>`` unless cut at ``max_tokens``, then ``<pad>``), their ``log_likelihoods`` ``[n]`` under the model, and
    the decoded canonical ``smiles`` (None for an empty molecule)."""

    sequences: torch.Tensor
    log_likelihoods: torch.Tensor
    smiles: list[str | None]


class LanguageModel:
    """A SELFIES language model: vocabulary, network, configuration, training record and checkpoint hash."""

    def __init__(
        self,
        vocabulary: Vocabulary,
        config: dict,
        network: SelfiesGRU,
        record: dict | None = None,
        checkpoint_hash: str | None = None,
    ) -> None:
        self.vocabulary = vocabulary
        self.config = config
        self.network = network
        self.record = record or {}
        self.checkpoint_hash = checkpoint_hash

    @classmethod
    def build(cls, vocabulary: Vocabulary, config: dict) -> LanguageModel:
        network = SelfiesGRU(len(vocabulary), config['embedding'], config['hidden'], config['layers'])
        return cls(vocabulary, dict(config), network)

    def copy(self) -> LanguageModel:
        """An independent copy (the agent REINVENT trains, starting from the prior)."""
        return LanguageModel(
            self.vocabulary, dict(self.config), copy.deepcopy(self.network), self.record, self.checkpoint_hash
        )

    def likelihood(self, sequences: torch.Tensor) -> torch.Tensor:
        """Log-likelihood ``[n]`` of each padded id sequence (ids after ``<bos>``), ``<pad>`` ignored; differentiable
        unless called under ``torch.no_grad``."""
        inputs = torch.cat([torch.full_like(sequences[:, :1], BOS), sequences[:, :-1]], dim=1)
        logits, _ = self.network(inputs)
        token_log_probs = logits.log_softmax(-1).gather(2, sequences.unsqueeze(2)).squeeze(2)
        return torch.where(sequences != PAD, token_log_probs, 0.0).sum(1)

    @torch.no_grad()
    def nll(self, sequences: torch.Tensor, batch_size: int = 512) -> float:
        """Mean negative log-likelihood per molecule (nats) of padded id sequences."""
        total = sum(
            -self.likelihood(sequences[start : start + batch_size]).sum().item()
            for start in range(0, len(sequences), batch_size)
        )
        return total / max(1, len(sequences))

    @torch.no_grad()
    def sample(
        self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None, batch_size: int = 512
    ) -> Samples:
        """``n`` molecules drawn in batches of ``batch_size`` (see the module docstring); ``generator`` makes the
        draws reproducible."""
        chunks = [
            self._sample_batch(min(batch_size, n - start), temperature, generator) for start in range(0, n, batch_size)
        ]
        rows = [row for sequences, _ in chunks for row in sequences]
        sequences = pad_sequences(rows) if rows else torch.zeros((0, 1), dtype=torch.long)
        log_likelihoods = torch.cat([values for _, values in chunks]) if chunks else torch.zeros(0)
        smiles = [decode_selfies(self.vocabulary.decode(row.tolist())) for row in sequences]
        return Samples(sequences, log_likelihoods, smiles)

    def _sample_batch(
        self, n: int, temperature: float, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        previous = torch.full((n, 1), BOS, dtype=torch.long)
        state = None
        finished = torch.zeros(n, dtype=torch.bool)
        log_likelihoods = torch.zeros(n)
        written = []
        for _ in range(int(self.config['max_tokens']) + 1):
            logits, state = self.network(previous, state)
            logits = logits[:, -1]
            token = torch.multinomial((logits / temperature).softmax(-1), 1, generator=generator).squeeze(1)
            token = token.masked_fill(finished, PAD)
            log_prob = logits.log_softmax(-1).gather(1, token.unsqueeze(1)).squeeze(1)
            log_likelihoods += torch.where(finished, 0.0, log_prob)
            written.append(token)
            finished |= token == EOS
            if finished.all():
                break
            previous = token.unsqueeze(1)
        return torch.stack(written, dim=1), log_likelihoods

    def save(self, path: str | os.PathLike) -> str:
        """Write the checkpoint file (atomically) and return its sha256, also kept as ``checkpoint_hash``."""
        payload = {
            'format': FORMAT,
            'format_version': FORMAT_VERSION,
            'config': self.config,
            'vocabulary': self.vocabulary.selfies_tokens,
            'state_dict': self.network.state_dict(),
            'record': self.record,
        }
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        data = buffer.getvalue()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f'.{path.name}.tmp')
        temporary.write_bytes(data)
        os.replace(temporary, path)
        self.checkpoint_hash = hashlib.sha256(data).hexdigest()
        return self.checkpoint_hash


def load_model(path: str | os.PathLike | None = None) -> LanguageModel:
    """The model in checkpoint ``path`` (default: :func:`default_checkpoint`); :class:`GeneratorError` when there is
    none or it is not a readable checkpoint of this format."""
    path = Path(path) if path is not None else default_checkpoint()
    if not path.is_file():
        raise GeneratorError(
            f'no SELFIES language model at {path}: train one with `aiida-znadditive gen pretrain` '
            '(or give the generator setting checkpoint=PATH)'
        )
    data = path.read_bytes()
    try:
        payload = torch.load(io.BytesIO(data), map_location='cpu', weights_only=True)
    except Exception as error:  # a truncated, foreign or tampered file: torch raises many kinds
        raise GeneratorError(f'{path} is not a readable model checkpoint ({type(error).__name__}: {error})') from None
    if not isinstance(payload, dict) or payload.get('format') != FORMAT:
        raise GeneratorError(f'{path} is not a {FORMAT} checkpoint (made by `aiida-znadditive gen pretrain`)')
    if payload['format_version'] > FORMAT_VERSION:
        raise GeneratorError(f'{path}: checkpoint format {payload["format_version"]} is newer than this code')
    model = LanguageModel.build(Vocabulary(payload['vocabulary']), payload['config'])
    try:
        model.network.load_state_dict(payload['state_dict'])
    except RuntimeError as error:
        raise GeneratorError(f'{path}: weights do not fit the configuration ({error})') from None
    model.record = payload['record']
    model.checkpoint_hash = hashlib.sha256(data).hexdigest()
    return model


# -- pretraining -----------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class LMSettings:
    """Model size and training settings of :func:`pretrain` (see the module docstring)."""

    embedding: int = 64
    hidden: int = 256
    layers: int = 3
    # Longest SELFIES kept (MOSES molecules need at most about 70 tokens).
    max_tokens: int = 100
    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 1e-3
    # A long, rare molecule can give a recurrent network a gradient spike; its norm is clipped to this.
    clip_norm: float = 5.0
    # Molecules held out for the validation NLL (at most a tenth of the data).
    validation_size: int = 1000
    log_every: int = 200

    def __post_init__(self) -> None:
        for name in ('embedding', 'hidden', 'layers', 'max_tokens', 'epochs', 'batch_size', 'validation_size'):
            if int(getattr(self, name)) < 1:
                raise GeneratorError(f'language model setting {name} must be at least 1')
        if not (self.learning_rate > 0 and self.clip_norm > 0 and self.log_every >= 1):
            raise GeneratorError('learning_rate and clip_norm must be positive, log_every at least 1')

    def model_config(self) -> dict:
        return {key: getattr(self, key) for key in ('embedding', 'hidden', 'layers', 'max_tokens')}


def versions() -> dict:
    """Library versions a model depends on (recorded in its checkpoint)."""
    return {
        'aiida-znadditive': __version__,
        'torch': str(torch.__version__),
        # The distribution's version: selfies' own __version__ lags its releases (2.1.1 reports 2.1.0).
        'selfies': importlib.metadata.version('selfies'),
        'rdkit': importlib.metadata.version('rdkit'),
    }


def pretrain(
    smiles: Iterable[str],
    settings: LMSettings | None = None,
    time_budget_s: float | None = None,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> LanguageModel:
    """Train a language model on ``smiles`` (see the module docstring); its ``record`` says what was done."""
    settings = settings or LMSettings()
    log = log or (lambda line: None)
    started = time.monotonic()
    corpus = encode_corpus(smiles, settings.max_tokens, log)
    skipped = ', '.join(f'{count:,} {reason}' for reason, count in corpus.skipped.most_common()) or 'none'
    log(
        f'encoded {len(corpus):,} of {corpus.read:,} molecules (skipped: {skipped}), '
        f'{len(corpus.vocabulary) - len(SPECIAL_TOKENS)} SELFIES tokens, {time.monotonic() - started:.0f} s'
    )
    if len(corpus) < 2:
        raise GeneratorError(f'{len(corpus)} molecule(s) could be encoded; a language model needs at least 2')

    rng = random.Random(seed)
    order = list(range(len(corpus)))
    rng.shuffle(order)
    held_out = min(settings.validation_size, max(1, len(order) // 10))
    validation, training = corpus.batch(order[:held_out]), order[held_out:]
    torch.manual_seed(seed)
    model = LanguageModel.build(corpus.vocabulary, settings.model_config())
    initial_nll = model.nll(validation)
    log(f'{len(training):,} training and {held_out:,} validation molecules; validation NLL {initial_nll:.2f} untrained')
    done = _train(model, corpus, training, validation, settings=settings, time_budget_s=time_budget_s, rng=rng, log=log)
    model.record = {
        'molecules': {
            'read': corpus.read,
            'encoded': len(corpus),
            'skipped': dict(corpus.skipped.most_common()),
            'training': len(training),
            'validation': held_out,
        },
        'vocabulary_size': len(corpus.vocabulary),
        'parameters': sum(parameter.numel() for parameter in model.network.parameters()),
        **done,
        'validation_nll_initial': initial_nll,
        'seconds': time.monotonic() - started,
        'seed': seed,
        'settings': dataclasses.asdict(settings),
        'versions': versions(),
    }
    log(f'stopped after {done["stopped"]}: validation NLL {initial_nll:.2f} -> {done["validation_nll"]:.2f}')
    return model


def _train(
    model: LanguageModel,
    corpus: TokenCorpus,
    training: list[int],
    validation: torch.Tensor,
    *,
    settings: LMSettings,
    time_budget_s: float | None,
    rng: random.Random,
    log: Callable[[str], None],
) -> dict:
    """Teacher-forced maximum likelihood over ``training`` (reshuffled each epoch) until the epochs or the time
    budget run out; what was done, for the record."""
    optimizer = torch.optim.Adam(model.network.parameters(), lr=settings.learning_rate)
    started = time.monotonic()
    steps = seen = 0
    window: list[float] = []

    def progress(where: str) -> None:
        elapsed = time.monotonic() - started
        train_nll = sum(window) / len(window) if window else math.nan
        log(
            f'{where}: step {steps:,}, train NLL {train_nll:.2f}, validation NLL {model.nll(validation):.2f}, '
            f'{seen / max(elapsed, 1e-9):.0f} molecules/s, {elapsed:.0f} s'
        )
        window.clear()

    stopped = f'{settings.epochs} epochs'
    for epoch in range(1, settings.epochs + 1):
        rng.shuffle(training)
        for start in range(0, len(training), settings.batch_size):
            batch = corpus.batch(training[start : start + settings.batch_size])
            loss = -model.likelihood(batch).mean()
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.network.parameters(), settings.clip_norm)
            optimizer.step()
            steps += 1
            seen += len(batch)
            window.append(loss.item())
            if steps % settings.log_every == 0:
                progress(f'epoch {epoch}')
            if time_budget_s is not None and time.monotonic() - started >= time_budget_s:
                stopped = f'time budget of {time_budget_s:g} s'
                break
        else:
            progress(f'epoch {epoch} done')
            continue
        break
    return {
        'steps': steps,
        'epochs': seen / len(training),
        'stopped': stopped,
        'validation_nll': model.nll(validation),
        'seconds_training': time.monotonic() - started,
    }
