"""Train/validation/test splits as index arrays: ``random``, or ``scaffold`` (Bemis–Murcko), deterministic in a seed.

A scaffold split keeps every molecule of one Bemis–Murcko scaffold (ring systems and the linkers between them,
side chains removed) in one split, so the test set holds chemotypes the model has not seen: a closer estimate of
the error on a new library than a random split, which flatters a model with near-duplicates of its training set.
Scaffold groups are assigned as in chemprop's balanced scaffold split: groups larger than half the test size go to
training first (a big group in the test set would make it one chemotype), the rest in a seeded random order,
filling training, then validation, then test. Acyclic molecules share the empty scaffold, one large group.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from rdkit import Chem
from rdkit.Chem.Scaffolds import MurckoScaffold
from rdkit.rdBase import BlockLogs

__all__ = ('SPLITS', 'Split', 'make_split', 'murcko_scaffold', 'random_split', 'scaffold_split')

SPLITS = ('random', 'scaffold')
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


@dataclasses.dataclass
class Split:
    """Indices (into the data set) of the training, validation and test molecules, each sorted."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    method: str
    seed: int
    fractions: tuple[float, float, float]

    def as_dict(self) -> dict:
        """Plain lists for ``split.json`` of a checkpoint."""
        return {
            'method': self.method,
            'seed': self.seed,
            'fractions': list(self.fractions),
            'train': self.train.tolist(),
            'val': self.val.tolist(),
            'test': self.test.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Split:
        return cls(
            np.asarray(data['train'], dtype=np.int64),
            np.asarray(data['val'], dtype=np.int64),
            np.asarray(data['test'], dtype=np.int64),
            data['method'],
            int(data['seed']),
            tuple(data['fractions']),
        )

    def sizes(self) -> dict[str, int]:
        return {'train': len(self.train), 'val': len(self.val), 'test': len(self.test)}


def _check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    if len(fractions) != 3 or any(value < 0 for value in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f'fractions must be three non-negative numbers summing to 1, got {fractions}')
    return tuple(float(value) for value in fractions)


def random_split(n: int, seed: int = 0, fractions: Sequence[float] = DEFAULT_FRACTIONS) -> Split:
    """A seeded random split of ``n`` molecules."""
    fractions = _check_fractions(fractions)
    order = np.random.default_rng(seed).permutation(n)
    n_train = round(fractions[0] * n)
    n_val = round(fractions[1] * n)
    parts = order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :]
    return Split(*(np.sort(part) for part in parts), method='random', seed=seed, fractions=fractions)


def murcko_scaffold(smiles: str) -> str:
    """The canonical SMILES of the Bemis–Murcko scaffold ('' for an acyclic molecule or an unreadable SMILES)."""
    with BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            return ''
        try:
            return MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False)
        except Exception:  # RDKit fails on a few odd valences; one group for those is as good as any
            return ''


def scaffold_split(smiles: Sequence[str], seed: int = 0, fractions: Sequence[float] = DEFAULT_FRACTIONS) -> Split:
    """A balanced Bemis–Murcko scaffold split (module docstring): every scaffold lies in exactly one split."""
    fractions = _check_fractions(fractions)
    groups: dict[str, list[int]] = {}
    for index, item in enumerate(smiles):
        groups.setdefault(murcko_scaffold(item), []).append(index)
    n = len(smiles)
    n_train, n_val = fractions[0] * n, fractions[1] * n
    # Sorted by scaffold first: dict order follows the data, and the seed alone must decide the order.
    ordered = [groups[key] for key in sorted(groups)]
    big = [group for group in ordered if len(group) > fractions[2] * n / 2]
    small = [group for group in ordered if len(group) <= fractions[2] * n / 2]
    rng = np.random.default_rng(seed)
    big = [big[i] for i in rng.permutation(len(big))]
    small = [small[i] for i in rng.permutation(len(small))]
    big.sort(key=len, reverse=True)  # stable: equal sizes keep the seeded order
    train: list[int] = []
    val: list[int] = []
    test: list[int] = []
    for group in big + small:
        if not train or len(train) + len(group) <= n_train:  # never an empty training set
            train += group
        elif len(val) + len(group) <= n_val:
            val += group
        else:
            test += group
    parts = (np.array(part, dtype=np.int64) for part in (train, val, test))
    return Split(*(np.sort(part) for part in parts), method='scaffold', seed=seed, fractions=fractions)


def make_split(
    method: str, smiles: Sequence[str], seed: int = 0, fractions: Sequence[float] = DEFAULT_FRACTIONS
) -> Split:
    """The split ``method`` (:data:`SPLITS`) of ``smiles``."""
    if method == 'random':
        return random_split(len(smiles), seed, fractions)
    if method == 'scaffold':
        return scaffold_split(smiles, seed, fractions)
    raise ValueError(f'Unknown split `{method}`; known: {", ".join(SPLITS)}')
