"""Deep ensembles of graph networks: batched prediction with uncertainty, and checkpoints with a content hash.

An :class:`Ensemble` is M networks of one architecture trained from different random initialisations and data
orders (Lakshminarayanan et al., NeurIPS 2017). Its prediction is the members' mean; its uncertainty the members'
standard deviation (population, ddof 0), in the target's units. The spread grows where the training data did not
pin the function down (unfamiliar chemistry, larger molecules than seen): a warning sign, not a calibrated error
bar, and it misses errors all members share (the level of theory, systematic bias of the data).

A checkpoint is a directory:

- ``config.json``: architecture and hyperparameters, targets and units, normalisation, split method and seed,
  training data (source, version, path, limit, fingerprint), training settings, metrics, library versions;
- ``model.pt``: ``{'members': [state_dict, ...]}`` (tensors only: loaded with ``weights_only=True``);
- ``split.json``: the train/validation/test indices into the training data;
- ``hash.txt``: ``checkpoint_hash``, the sha256 over the bytes of the three files above (name, length and content
  of each, in that order). The loader recomputes it and refuses a checkpoint whose files changed; a screener
  records it in the provenance of every candidate it promotes.

Files written later (``parity_test.png``, ``evaluation.json``, ``uncertainty.json``) are derived and not part of the
hash. Saving is deterministic: the same ensemble saved twice gives the same bytes, hence the same hash.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import itertools
import json
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from rdkit import Chem
from torch import nn

from ..database.schema import PROPERTIES
from .featurize import (
    DEFAULT_MAX_HEAVY_ATOMS,
    EncodedMolecule,
    FeaturizeError,
    collate_2d,
    collate_3d,
    conformer_3d,
    encode_many,
    row_to_3d,
)
from .splits import Split
from .uncertainty import read_scales

__all__ = (
    'FORMAT',
    'HASHED_FILES',
    'CheckpointError',
    'Ensemble',
    'Prediction',
    'PredictionBatch',
    'build_model',
    'checkpoint_hash',
    'load_checkpoint',
)

FORMAT = 'aiida-znadditive-gnn-ensemble'
FORMAT_VERSION = 1
HASHED_FILES = ('config.json', 'model.pt', 'split.json')
HASH_FILE = 'hash.txt'
MODEL_KINDS = ('2d', '3d')
# Molecules per forward pass in prediction. On a CPU core, small batches keep the [edges, hidden] tensors of the
# D-MPNN in cache: measured with DMPNN.predict (3 x 128 wide, MOSES, one loaded core), 128 runs about 15 % faster per
# molecule than 256 and twice as fast as 512; below 128 nothing is gained.
MODEL_BATCH = 128
_PERIODIC_TABLE = Chem.GetPeriodicTable()


class CheckpointError(ValueError):
    """A checkpoint directory that is missing, incomplete, of another format, or changed since it was written."""


def build_model(model: dict, n_targets: int) -> nn.Module:
    """A fresh network of ``model`` (``{'kind': '2d'|'3d', 'hyperparameters': {...}}``) with ``n_targets`` outputs."""
    kind, hyperparameters = model['kind'], dict(model.get('hyperparameters', {}))
    if kind == '2d':
        from .gnn2d import DMPNN

        return DMPNN(n_targets, **hyperparameters)
    if kind == '3d':
        from .gnn3d import SchNet3D

        return SchNet3D(n_targets, **hyperparameters)
    raise CheckpointError(f'Unknown model kind `{kind}`; known: {", ".join(MODEL_KINDS)}')


def _plain(value):
    """``value`` with numpy scalars and arrays as Python numbers and lists, NaN as None: what JSON can hold."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def _hash_bytes(contents: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in HASHED_FILES:
        data = contents[name]
        digest.update(f'{name}\0{len(data)}\0'.encode())  # name and length: no two file sets hash alike by shifting
        digest.update(data)
    return digest.hexdigest()


def checkpoint_hash(directory: str | os.PathLike) -> str:
    """The sha256 of a checkpoint's files as they are on disk now (see the module docstring)."""
    directory = Path(directory)
    missing = [name for name in HASHED_FILES if not (directory / name).is_file()]
    if missing:
        raise CheckpointError(f'{directory}: not a model checkpoint (missing {", ".join(missing)})')
    return _hash_bytes({name: (directory / name).read_bytes() for name in HASHED_FILES})


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f'.{path.name}.tmp')
    temporary.write_bytes(data)
    os.replace(temporary, path)


@dataclasses.dataclass
class Prediction:
    """One molecule's prediction: ``values`` and ``std`` by target (None where it could not be predicted, with
    ``reason``); ``charge`` and ``elements`` (heavy atoms) of the featurised molecule, for applicability checks."""

    smiles: str
    values: dict[str, float] | None
    std: dict[str, float | None] | None
    reason: str | None = None
    charge: int | None = None
    elements: list[str] | None = None


@dataclasses.dataclass
class PredictionBatch:
    """Predictions of a batch as arrays: ``mean`` and ``std`` ``[molecules, targets]`` (NaN rows where a molecule
    failed, its reason in ``reasons`` by position); ``molecules`` the featurised ones (None where failed)."""

    smiles: list[str]
    mean: np.ndarray
    std: np.ndarray
    reasons: dict[int, str]
    molecules: list[EncodedMolecule | None]


class Ensemble:
    """M trained networks, their normalisation and their configuration; see the module docstring.

    :param config: the checkpoint's ``config.json`` content (``model``, ``targets``, ``normalisation``, ...).
    :param members: the networks (set to evaluation mode here).
    :param split: the data split the members were trained on.
    """

    def __init__(self, config: dict, members: Sequence[nn.Module], split: Split | None = None) -> None:
        if not members:
            raise CheckpointError('An ensemble needs at least one member.')
        self.config = config
        self.members = list(members)
        for member in self.members:
            member.eval()
        self.split = split
        self.target_names: list[str] = list(config['targets'])
        self.kind: str = config['model']['kind']
        self.mean = np.asarray(config['normalisation']['mean'], dtype=np.float64)
        self.scale = np.asarray(config['normalisation']['std'], dtype=np.float64)
        self.max_heavy_atoms = int(config.get('featurizer', {}).get('max_heavy_atoms', DEFAULT_MAX_HEAVY_ATOMS))
        self.checkpoint_hash: str | None = None
        self.directory: Path | None = None
        # Per-target factors that make the spread a calibrated σ (``uncertainty.json``, :mod:`.uncertainty`); {}: none.
        self.uncertainty_scale: dict[str, float] = {}

    @property
    def units(self) -> dict[str, str]:
        return {name: PROPERTIES.get(name, ('', ''))[0] for name in self.target_names}

    def __len__(self) -> int:
        return len(self.members)

    # -- prediction ------------------------------------------------------------------------------------------------

    def _member_outputs(self, data) -> np.ndarray:
        """``[members, molecules, targets]`` in the targets' units."""
        with torch.inference_mode():
            # A member's `predict` where it has one (the D-MPNN: fewer operations, same numbers up to rounding).
            outputs = torch.stack([getattr(member, 'predict', member)(data) for member in self.members])
            outputs = outputs.double().numpy()
        return outputs * self.scale + self.mean

    def _reduce(self, outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        std = outputs.std(axis=0) if len(self.members) > 1 else np.full(outputs.shape[1:], np.nan)
        return outputs.mean(axis=0), std

    def predict_items(self, items: Sequence, batch_size: int = MODEL_BATCH) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std ``[molecules, targets]`` of featurised molecules: :class:`EncodedMolecule` for a 2D
        ensemble, ``(z, pos)`` geometries for a 3D one; ``batch_size`` molecules per forward pass."""
        collate = collate_2d if self.kind == '2d' else collate_3d
        means, stds = [], []
        for start in range(0, len(items), batch_size):
            mean, std = self._reduce(self._member_outputs(collate(items[start : start + batch_size])))
            means.append(mean)
            stds.append(std)
        if not means:
            empty = np.zeros((0, len(self.target_names)))
            return empty, empty.copy()
        return np.concatenate(means), np.concatenate(stds)

    def _geometry(self, smiles: str, row: dict | None) -> tuple[np.ndarray, np.ndarray]:
        if row:
            try:
                return row_to_3d(row)
            except FeaturizeError:
                pass  # no usable geometry in the row: embed one, as for a bare SMILES
        return conformer_3d(smiles, max_heavy_atoms=self.max_heavy_atoms)

    def predict_batches(
        self, smiles: Iterable[str], batch_size: int = 1024, rows: Iterable[dict | None] | None = None
    ) -> Iterator[PredictionBatch]:
        """Predictions for a stream of SMILES, ``batch_size`` at a time; a SMILES that cannot be featurised gets
        its reason and the others of its batch are predicted. ``rows`` (aligned with ``smiles``) give geometries to
        a 3D ensemble; without one, a 3D ensemble embeds an ETKDG/MMFF conformer (milliseconds per molecule)."""
        iterator = iter(smiles)
        row_iterator = iter(rows) if rows is not None else None
        n_targets = len(self.target_names)
        while True:
            chunk = list(itertools.islice(iterator, batch_size))
            if not chunk:
                return
            chunk_rows = list(itertools.islice(row_iterator, len(chunk))) if row_iterator else [None] * len(chunk)
            encoded = encode_many(chunk, self.max_heavy_atoms)
            reasons = {index: result for index, result in enumerate(encoded) if isinstance(result, str)}
            molecules: list[EncodedMolecule | None] = [None if isinstance(item, str) else item for item in encoded]
            items, positions = [], []
            for index, molecule in enumerate(molecules):
                if molecule is None:
                    continue
                if self.kind == '3d':
                    try:
                        items.append(self._geometry(chunk[index], chunk_rows[index]))
                    except FeaturizeError as error:
                        reasons[index] = error.reason
                        molecules[index] = None
                        continue
                else:
                    items.append(molecule)
                positions.append(index)
            mean = np.full((len(chunk), n_targets), np.nan)
            std = np.full((len(chunk), n_targets), np.nan)
            if items:
                mean[positions], std[positions] = self.predict_items(items)
            yield PredictionBatch(chunk, mean, std, reasons, molecules)

    def predict_smiles(
        self, smiles: Iterable[str], batch_size: int = 1024, rows: Iterable[dict | None] | None = None
    ) -> Iterator[Prediction]:
        """One :class:`Prediction` per SMILES of a stream, in order (batched as :meth:`predict_batches`)."""
        for batch in self.predict_batches(smiles, batch_size, rows):
            yield from self._predictions(batch)

    def predict_encoded(
        self, smiles: Sequence[str], molecules: Sequence[EncodedMolecule | str], batch_size: int = MODEL_BATCH
    ) -> list[Prediction]:
        """Predictions of a 2D ensemble for molecules featurised already (:func:`~.featurize.encode_parsed`), one per
        SMILES; a string in ``molecules`` is the reason that molecule could not be featurised. ``batch_size``
        molecules per forward pass."""
        if self.kind != '2d':
            raise CheckpointError('predict_encoded needs a 2D ensemble; a 3D one predicts from geometries')
        if len(smiles) != len(molecules):
            raise ValueError(f'{len(smiles)} SMILES but {len(molecules)} molecules')
        reasons = {index: item for index, item in enumerate(molecules) if isinstance(item, str)}
        encoded: list[EncodedMolecule | None] = [None if isinstance(item, str) else item for item in molecules]
        positions = [index for index, item in enumerate(encoded) if item is not None]
        n_targets = len(self.target_names)
        mean = np.full((len(smiles), n_targets), np.nan)
        std = np.full((len(smiles), n_targets), np.nan)
        if positions:
            mean[positions], std[positions] = self.predict_items([encoded[i] for i in positions], batch_size)
        return list(self._predictions(PredictionBatch(list(smiles), mean, std, reasons, encoded)))

    def _predictions(self, batch: PredictionBatch) -> Iterator[Prediction]:
        names = self.target_names
        for index, item in enumerate(batch.smiles):
            molecule = batch.molecules[index]
            if molecule is None:
                yield Prediction(item, None, None, batch.reasons[index])
                continue
            values = dict(zip(names, batch.mean[index].tolist(), strict=True))
            std = {
                name: (None if math.isnan(value) else value)
                for name, value in zip(names, batch.std[index].tolist(), strict=True)
            }
            elements = sorted({_PERIODIC_TABLE.GetElementSymbol(int(z)) for z in set(molecule.atomic_numbers.tolist())})
            yield Prediction(item, values, std, None, int(molecule.charge), elements)

    # -- checkpoints -----------------------------------------------------------------------------------------------

    def _contents(self) -> dict[str, bytes]:
        config = {key: value for key, value in self.config.items() if key != 'checkpoint_hash'}
        buffer = io.BytesIO()  # a buffer, not the file: torch names the archive after the file, and we rename
        torch.save({'members': [member.state_dict() for member in self.members]}, buffer)
        split = self.split.as_dict() if self.split is not None else {}
        return {
            'config.json': (json.dumps(_plain(config), indent=1, sort_keys=True) + '\n').encode(),
            'model.pt': buffer.getvalue(),
            'split.json': (json.dumps(split, separators=(',', ':'), sort_keys=True) + '\n').encode(),
        }

    def save(self, directory: str | os.PathLike) -> str:
        """Write the checkpoint into ``directory`` (created); its ``checkpoint_hash``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        contents = self._contents()
        digest = _hash_bytes(contents)
        (directory / HASH_FILE).unlink(missing_ok=True)  # a crash while writing leaves no valid-looking checkpoint
        for name, data in contents.items():
            _write_atomic(directory / name, data)
        _write_atomic(directory / HASH_FILE, f'{digest}\n'.encode())
        self.checkpoint_hash, self.directory = digest, directory
        return digest

    @classmethod
    def load(cls, directory: str | os.PathLike, verify: bool = True) -> Ensemble:
        """The ensemble of a checkpoint directory, with its ``checkpoint_hash``.

        :raises CheckpointError: not a checkpoint, another format, or (``verify``) files changed since written.
        """
        directory = Path(directory)
        if not directory.is_dir():
            raise CheckpointError(f'{directory}: no such checkpoint directory')
        hash_path = directory / HASH_FILE
        if not hash_path.is_file():
            raise CheckpointError(f'{directory}: not a model checkpoint (no {HASH_FILE})')
        contents = {}
        for name in HASHED_FILES:
            if not (directory / name).is_file():
                raise CheckpointError(f'{directory}: incomplete checkpoint (no {name})')
            contents[name] = (directory / name).read_bytes()
        digest = _hash_bytes(contents)
        recorded = hash_path.read_text().strip()
        if verify and digest != recorded:
            raise CheckpointError(
                f'{directory}: files changed since the checkpoint was written (hash {digest[:12]}, '
                f'recorded {recorded[:12]}); retrain, or load with verify=False'
            )
        config = json.loads(contents['config.json'])
        if config.get('format') != FORMAT:
            raise CheckpointError(f'{directory}: config.json is not a {FORMAT} checkpoint')
        if int(config.get('format_version', 0)) > FORMAT_VERSION:
            raise CheckpointError(f'{directory}: checkpoint format {config["format_version"]} is newer than this code')
        state = torch.load(io.BytesIO(contents['model.pt']), map_location='cpu', weights_only=True)
        members = []
        for member_state in state['members']:
            member = build_model(config['model'], len(config['targets']))
            member.load_state_dict(member_state)
            members.append(member)
        split_data = json.loads(contents['split.json'])
        ensemble = cls(config, members, Split.from_dict(split_data) if split_data else None)
        ensemble.checkpoint_hash, ensemble.directory = digest, directory
        ensemble.uncertainty_scale = read_scales(directory, digest)
        return ensemble


def load_checkpoint(directory: str | os.PathLike, verify: bool = True) -> Ensemble:
    """:meth:`Ensemble.load`."""
    return Ensemble.load(directory, verify)
