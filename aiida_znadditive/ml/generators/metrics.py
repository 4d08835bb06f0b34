"""Metrics of a set of generated molecules, with the MOSES definitions (Polykovskiy et al., *Front. Pharmacol.* 11,
565644 (2020)) and PoseBusters checks of their 3D conformers (Buttenschoen et al., *Chem. Sci.* 15, 3130 (2024)).

All take SMILES as given (a generator's output, a file). A SMILES is *valid* when RDKit reads and sanitises it;
molecules are compared by RDKit canonical SMILES. Fingerprints are Morgan, radius 2, 1024 bits (MOSES'), and the
Tanimoto similarity of two empty fingerprints is 1 (as in MOSES).

- ``validity``: valid / all;
- ``uniqueness``: distinct canonical SMILES / valid;
- ``novelty``: distinct valid molecules not in the training set / distinct valid molecules;
- ``int_div1``, ``int_div2``: internal diversity, 1 − mean Tanimoto over all ordered pairs of the valid molecules
  (self-pairs included, as in MOSES), and 1 − √mean(T²) (IntDiv2);
- ``snn``: mean over valid molecules of the Tanimoto similarity to the nearest reference molecule;
- ``frag``: cosine similarity of the BRICS fragment counts of valid and reference molecules;
- ``scaf``: cosine similarity of the Bemis-Murcko scaffold counts (scaffolds with at least ``min_rings`` rings,
  MOSES: 2; NaN when either set has none: acyclic and one-ring molecules, common among additives, have none);
- ``sa_mean``, ``sa_median``: SA score (Ertl & Schuffenhauer; 1 easy .. 10 hard) of the valid molecules, the
  ``rules`` screener's implementation;
- ``plausible_3d``: share of valid molecules (a seeded sample of at most ``max_3d``) whose ETKDG conformer, MMFF94
  (else UFF) minimised, passes every PoseBusters ``mol`` check: sanitisation, InChI, connectivity, no radicals, bond
  lengths and angles within the distance-geometry bounds, no internal steric clash, flat aromatic rings, non-flat
  saturated rings, flat double bonds, and an internal energy at most 100 times that of an ensemble of 50 relaxed
  ETKDG conformers. A molecule RDKit cannot embed fails. ``pb.<check>``: the share that passes each check.
"""

from __future__ import annotations

import dataclasses
import math
import random
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
from rdkit import Chem
from rdkit.Chem import AllChem, rdDistGeom, rdFingerprintGenerator
from rdkit.Chem.Scaffolds import MurckoScaffold
from rdkit.rdBase import BlockLogs

#: One line per metric, in the order the table prints them.
DEFINITIONS = {
    'n': 'molecules given',
    'validity': 'valid / all (RDKit parses and sanitises)',
    'uniqueness': 'distinct canonical SMILES / valid',
    'novelty': 'distinct valid not in the training set / distinct valid',
    'int_div1': '1 - mean Tanimoto (Morgan r2 1024) over all pairs of valid',
    'int_div2': '1 - sqrt(mean Tanimoto^2) over all pairs of valid',
    'snn': 'mean Tanimoto to the nearest reference molecule',
    'frag': 'cosine similarity of BRICS fragment counts vs reference',
    'scaf': 'cosine similarity of Bemis-Murcko scaffold counts vs reference',
    'sa_mean': 'mean SA score (1 easy .. 10 hard)',
    'sa_median': 'median SA score',
    'plausible_3d': 'share of conformers passing every PoseBusters check',
}

_FINGERPRINTS = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)


def to_mols(smiles: Iterable[str]) -> list[Chem.Mol | None]:
    """RDKit molecule of each SMILES, None where it is not valid (empty, unreadable, not sanitisable)."""
    mols = []
    with BlockLogs():
        for item in smiles:
            mol = None
            if isinstance(item, str) and item.strip():
                try:
                    mol = Chem.MolFromSmiles(item)
                except Exception:  # RDKit raises on some malformed input
                    mol = None
            mols.append(mol if mol is not None and mol.GetNumAtoms() else None)
    return mols


def _valid(smiles_or_mols: Sequence) -> list[Chem.Mol]:
    if smiles_or_mols and all(isinstance(item, Chem.Mol) for item in smiles_or_mols):
        return list(smiles_or_mols)
    return [mol for mol in to_mols(smiles_or_mols) if mol is not None]


def _canonical_set(mols: Iterable[Chem.Mol]) -> set[str]:
    return {Chem.MolToSmiles(mol) for mol in mols}


def validity(smiles: Sequence[str]) -> float:
    """Share of ``smiles`` that are valid (NaN for an empty list)."""
    if not smiles:
        return math.nan
    mols = to_mols(smiles)
    return sum(mol is not None for mol in mols) / len(mols)


def uniqueness(smiles: Sequence[str]) -> float:
    """Distinct canonical SMILES among the valid molecules / valid molecules (NaN without any)."""
    mols = _valid(smiles)
    return len(_canonical_set(mols)) / len(mols) if mols else math.nan


def novelty(smiles: Sequence[str], training: Iterable[str]) -> float:
    """Distinct valid molecules absent from ``training`` (compared by canonical SMILES) / distinct valid ones."""
    generated = _canonical_set(_valid(smiles))
    if not generated:
        return math.nan
    # One training molecule at a time: the 1.58M MOSES training molecules held as RDKit objects take > 24 GB.
    known = set()
    with BlockLogs():
        for item in training:
            mol = item if isinstance(item, Chem.Mol) else to_mols([item])[0]
            if mol is not None:
                known.add(Chem.MolToSmiles(mol))
    return len(generated - known) / len(generated)


def fingerprints(mols: Sequence[Chem.Mol]) -> np.ndarray:
    """Morgan r2 1024-bit fingerprints as a (n, 1024) uint8 array."""
    out = np.zeros((len(mols), 1024), dtype=np.uint8)
    for row, mol in enumerate(mols):
        out[row] = _FINGERPRINTS.GetFingerprintAsNumPy(mol)
    return out


def _tanimoto_rows(x: np.ndarray, y: np.ndarray, batch: int = 2000):
    """Yield (start, Tanimoto block of rows x[start:start+batch] against all of y)."""
    y = y.astype(np.float32)
    y_counts = y.sum(axis=1)
    for start in range(0, len(x), batch):
        block = x[start : start + batch].astype(np.float32)
        shared = block @ y.T
        union = block.sum(axis=1)[:, None] + y_counts[None, :] - shared
        with np.errstate(invalid='ignore', divide='ignore'):
            similarity = shared / union
        similarity[union == 0] = 1.0
        yield start, similarity


def internal_diversity(smiles: Sequence[str], p: int = 1) -> float:
    """MOSES IntDiv_p: 1 − (mean over all ordered pairs of valid molecules, self-pairs included, of T^p)^(1/p)."""
    mols = _valid(smiles)
    if not mols:
        return math.nan
    fps = fingerprints(mols)
    total = 0.0
    for _, block in _tanimoto_rows(fps, fps):
        total += float((block.astype(np.float64) ** p).sum())
    return 1.0 - (total / len(mols) ** 2) ** (1.0 / p)


def snn(smiles: Sequence[str], reference: Sequence[str]) -> float:
    """Mean over valid molecules of the largest Tanimoto similarity to a reference molecule."""
    mols, ref = _valid(smiles), _valid(reference)
    if not mols or not ref:
        return math.nan
    gen_fps, ref_fps = fingerprints(mols), fingerprints(ref)
    best = np.zeros(len(mols))
    for start, block in _tanimoto_rows(gen_fps, ref_fps):
        best[start : start + len(block)] = block.max(axis=1)
    return float(best.mean())


def cosine_similarity(first: Counter, second: Counter) -> float:
    """Cosine similarity of two count vectors keyed by name (NaN if either is empty), as MOSES' ``cos_similarity``."""
    if not first or not second:
        return math.nan
    keys = sorted(set(first) | set(second))
    a = np.array([first.get(key, 0) for key in keys], dtype=float)
    b = np.array([second.get(key, 0) for key in keys], dtype=float)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def scaffold(mol: Chem.Mol, min_rings: int = 2) -> str | None:
    """Canonical SMILES of the Bemis-Murcko scaffold, None when it has fewer than ``min_rings`` rings (MOSES)."""
    try:
        core = MurckoScaffold.GetScaffoldForMol(mol)
    except (ValueError, RuntimeError):
        return None
    smiles = Chem.MolToSmiles(core)
    if not smiles or core.GetRingInfo().NumRings() < min_rings:
        return None
    return smiles


def scaffold_counts(mols: Iterable[Chem.Mol], min_rings: int = 2) -> Counter:
    counts = Counter(scaffold(mol, min_rings) for mol in mols)
    counts.pop(None, None)
    return counts


def fragment_counts(mols: Iterable[Chem.Mol]) -> Counter:
    """Counts of the BRICS fragments (SMILES with their labelled attachment points), as MOSES' ``compute_fragments``."""
    counts: Counter = Counter()
    for mol in mols:
        counts.update(Chem.MolToSmiles(Chem.FragmentOnBRICSBonds(mol)).split('.'))
    return counts


def scaffold_similarity(smiles: Sequence[str], reference: Sequence[str], min_rings: int = 2) -> float:
    return cosine_similarity(scaffold_counts(_valid(reference), min_rings), scaffold_counts(_valid(smiles), min_rings))


def fragment_similarity(smiles: Sequence[str], reference: Sequence[str]) -> float:
    return cosine_similarity(fragment_counts(_valid(reference)), fragment_counts(_valid(smiles)))


def sa_scores(smiles: Sequence[str]) -> list[float]:
    from ..screeners.rules import sa_score

    return [sa_score(mol) for mol in _valid(smiles)]


# -- 3D plausibility -------------------------------------------------------------------------------------------------

#: PoseBusters' ``mol`` checks, by the column names of its short report.
POSEBUSTERS_CHECKS = (
    'sanitization',
    'inchi_convertible',
    'all_atoms_connected',
    'no_radicals',
    'bond_lengths',
    'bond_angles',
    'internal_steric_clash',
    'aromatic_ring_flatness',
    'non-aromatic_ring_non-flatness',
    'double_bond_flatness',
    'internal_energy',
)


def embed(mol: Chem.Mol, seed: int = 0) -> Chem.Mol | None:
    """One conformer with hydrogens: ETKDGv3 (seeded), then MMFF94 minimisation (UFF where MMFF has no parameters);
    None when RDKit cannot embed the molecule."""
    mol = Chem.AddHs(mol)
    parameters = rdDistGeom.ETKDGv3()
    parameters.randomSeed = seed
    with BlockLogs():
        if rdDistGeom.EmbedMolecule(mol, parameters) != 0:
            parameters.useRandomCoords = True
            if rdDistGeom.EmbedMolecule(mol, parameters) != 0:
                return None
        try:
            if AllChem.MMFFHasAllMoleculeParams(mol):
                AllChem.MMFFOptimizeMolecule(mol, maxIters=2000)
            elif AllChem.UFFHasAllMoleculeParams(mol):
                AllChem.UFFOptimizeMolecule(mol, maxIters=2000)
        except Exception:  # a force-field failure leaves the ETKDG geometry, which the checks then judge
            pass
    return mol


def posebusters_checks(mols: Sequence[Chem.Mol]) -> list[dict[str, bool]]:
    """PoseBusters' ``mol`` checks of each molecule's first conformer: {check: passed} (a check PoseBusters could
    not run counts as failed)."""
    if not mols:
        return []
    from posebusters import PoseBusters

    with warnings.catch_warnings(), BlockLogs():
        warnings.simplefilter('ignore')
        table = PoseBusters(config='mol', max_workers=0).bust(list(mols), None, None, full_report=False)
    out = []
    for _, row in table.iterrows():
        checks = {}
        for name in POSEBUSTERS_CHECKS:
            value = row.get(name)
            checks[name] = bool(value) if value is not None and not _isnan(value) else False
        out.append(checks)
    if len(out) != len(mols):
        raise RuntimeError(f'PoseBusters returned {len(out)} rows for {len(mols)} molecules')
    return out


def _isnan(value) -> bool:
    try:
        return math.isnan(value)
    except TypeError:
        return False


@dataclasses.dataclass
class Plausibility:
    """3D plausibility of a sample of molecules: the share passing every check, and per check."""

    n: int
    passed: int
    embedding_failed: int
    checks: dict[str, float]
    failures: list[tuple[str, list[str]]]

    @property
    def fraction(self) -> float:
        return self.passed / self.n if self.n else math.nan


def plausibility_3d(smiles: Sequence[str], max_molecules: int = 100, seed: int = 0) -> Plausibility:
    """PoseBusters checks of one ETKDG+MMFF conformer per valid molecule (a seeded sample of ``max_molecules``)."""
    mols = _valid(smiles)
    if len(mols) > max_molecules:
        mols = random.Random(seed).sample(mols, max_molecules)
    embedded, names, failures = [], [], []
    for mol in mols:
        conformer = embed(mol, seed)
        if conformer is None:
            failures.append((Chem.MolToSmiles(mol), ['embedding']))
        else:
            embedded.append(conformer)
            names.append(Chem.MolToSmiles(mol))
    results = posebusters_checks(embedded)
    passed = 0
    totals = Counter()
    for name, checks in zip(names, results, strict=True):
        failed = [check for check, ok in checks.items() if not ok]
        totals.update(check for check, ok in checks.items() if ok)
        if failed:
            failures.append((name, failed))
        else:
            passed += 1
    n = len(mols)
    rates = {check: (totals[check] / n if n else math.nan) for check in POSEBUSTERS_CHECKS}
    return Plausibility(n=n, passed=passed, embedding_failed=n - len(embedded), checks=rates, failures=failures)


# -- all at once ---------------------------------------------------------------------------------------------------


def compute_metrics(
    generated: Sequence[str],
    reference: Sequence[str] | None = None,
    training: Sequence[str] | None = None,
    *,
    conformers: bool = True,
    max_3d: int = 100,
    seed: int = 0,
    scaffold_min_rings: int = 2,
) -> dict[str, float]:
    """Every metric of the module docstring that the inputs allow (reference: snn, frag, scaf; training:
    novelty; ``conformers``: plausible_3d and pb.<check>), by name; NaN where a metric is undefined."""
    generated = list(generated)
    mols = _valid(generated) if generated else []
    metrics: dict[str, float] = {'n': float(len(generated))}
    metrics['validity'] = len(mols) / len(generated) if generated else math.nan
    metrics['uniqueness'] = uniqueness(mols) if mols else math.nan
    if training is not None:
        metrics['novelty'] = novelty(mols, training) if mols else math.nan
    metrics['int_div1'] = internal_diversity(mols, 1) if mols else math.nan
    metrics['int_div2'] = internal_diversity(mols, 2) if mols else math.nan
    if reference is not None:
        ref = _valid(list(reference))
        metrics['snn'] = snn(mols, ref) if mols and ref else math.nan
        metrics['frag'] = cosine_similarity(fragment_counts(ref), fragment_counts(mols))
        metrics['scaf'] = cosine_similarity(
            scaffold_counts(ref, scaffold_min_rings), scaffold_counts(mols, scaffold_min_rings)
        )
    scores = sa_scores(mols) if mols else []
    metrics['sa_mean'] = float(np.mean(scores)) if scores else math.nan
    metrics['sa_median'] = float(np.median(scores)) if scores else math.nan
    if conformers:
        result = plausibility_3d(mols, max_3d, seed) if mols else None
        metrics['plausible_3d'] = result.fraction if result else math.nan
        for check in POSEBUSTERS_CHECKS:
            metrics[f'pb.{check}'] = result.checks[check] if result else math.nan
    return metrics


def format_metrics(metrics: dict[str, float]) -> str:
    """The metrics as an aligned table: name, value, definition."""
    lines = [f'{"metric":<38} {"value":>8}  definition']
    for name, value in metrics.items():
        definition = DEFINITIONS.get(name, '')
        if name.startswith('pb.'):
            definition = f'share passing PoseBusters {name[3:]}'
        if name == 'n':
            shown = f'{int(value):>8d}'
        elif math.isnan(value):
            shown = f'{"n/a":>8}'
        else:
            shown = f'{value:>8.3f}'
        lines.append(f'{name:<38} {shown}  {definition}')
    return '\n'.join(lines)
