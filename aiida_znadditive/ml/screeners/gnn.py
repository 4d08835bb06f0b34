"""The ``gnn`` screener: a deep ensemble of graph networks (:mod:`aiida_znadditive.ml.models`) predicts orbital
energies in milliseconds, with the ensemble's spread as uncertainty, and thresholds on them judge each molecule.

It needs a trained checkpoint (``checkpoint``: the directory ``aiida-znadditive ml train --out`` wrote); without one
it raises :class:`~.base.ScreenerError` saying how to train one. Its predictions are the checkpoint's targets, in
the meta-database's names and units (``gap_ev``, ``homo_ev``, ``lumo_ev``, ...); their uncertainty is the ensemble's
standard deviation (None for a one-member ensemble). The provenance records the checkpoint's ``checkpoint_hash``.

Each molecule is judged as its dominant species at the electrolyte's pH (``ph``, default 4.5; None judges the SMILES
as written): acetic acid and glycine's zwitterion at pH 4.5, acetate at pH 7. That is the form the labeller
computed and the model learned, and the form the complexation WorkChain computes; :attr:`Screening.species` names it
where it differs from the input. A molecule without a species at that pH fails with the speciation's reason.

Criteria (defaults in :data:`DEFAULTS`, every one a setting):

- the molecule can be featurised (parsable; of a salt the largest fragment is judged, as by the ``rules`` screener);
- ``known_elements_only``: its heavy elements all occur in the training data (a QM9 model has seen H C N O F only;
  what it says of a sulfone is an extrapolation the ensemble spread does not reliably flag). A 2D ensemble fails
  such a molecule before its forward pass, without predictions (a screening funnel wastes no model time on a
  verdict known in advance: on MOSES a quarter of what reaches a QM9 model holds S, Cl or Br); a 3D ensemble, and
  any ensemble with ``known_elements_only`` off, predicts for it;
- orbital window, for **neutral** molecules, as the ``xtb`` screener judges it (ions are exempt: their gas-phase
  orbitals are shifted by their charge): HOMO ≤ ``homo_max``, LUMO ≥ ``lumo_min``, gap ≥ ``gap_min``, and the
  optional ``homo_min``, ``lumo_max``, ``gap_max``. ``'auto'`` takes the thresholds of the checkpoint's level of
  theory, because GFN2 orbital energies lie several eV below DFT ones:

  - DFT (QM9's B3LYP, PCQM4Mv2, MP molecules): the ``rules`` screener's HOMO ≤ −5.6 eV and gap ≥ 4.5 eV (and LUMO ≥ −2.0
    eV when ``lumo_min`` is 'auto'). QM9's own B3LYP values place common additives well inside (ethylene glycol
    −7.06/+1.59 eV, ethylene carbonate −7.99/+1.09, acetone −6.62/−0.24, pyridine −6.85/−0.61, gaps 6.2-9.1 eV) and fail
    easily oxidised aromatics (aniline HOMO −5.42, hydroquinone −5.39 eV), easily reduced nitro and dicarbonyl compounds
    (nitrobenzene LUMO −2.34, diacetyl −2.25, glyoxal −3.03 eV); the gap floor catches conjugated dicarbonyls and dyes
    (glyoxal 4.23, diacetyl 4.30 eV) while phenol (5.99) and benzaldehyde (5.23 eV) pass it;
  - GFN2-xTB (our ``znadditive-xtb`` labels): the ``xtb`` screener's ``homo_max`` and ``gap_min``;
  - no LUMO floor by default at either level: being reduced at the anode is how interphase-forming additives work
    (saccharin, trimethyl phosphate), so reducibility is a term of the objective
    (:mod:`~aiida_znadditive.ml.screeners.mechanism_terms`), not a rejection; set ``lumo_min`` to judge it here
    (the easily reduced groups that only waste charge, nitro, azo, quinones, are the ``rules`` screener's alerts);
  - mixed or unknown: no orbital window unless given;
- ``windows``: ``{target: [low, high]}`` for any other target of the checkpoint (None for an open end), for all
  molecules, e.g. ``{'dipole_debye': [2.0, None]}``;
- the gate is a probability, not a spread: each judged bound is passed with the chance P = Φ(±(bound − mean)/σ)
  under a normal error with the **calibrated** σ (the ensemble's std times the checkpoint's per-target scale from
  ``uncertainty.json``, :mod:`~aiida_znadditive.ml.models.uncertainty`; the raw std where it has none); a molecule
  fails only when the chance that it lies inside every bound (their product) is below ``min_pass_probability``
  (default 0.05): confidently outside. A molecule the model is unsure of passes, with that chance as the
  prediction ``pass_probability``, so that a funnel sends it on to computation instead of dropping it silently;
  and a molecule of the training data, which the model knows, never fails for being unknown;
- ``max_uncertainty`` (default None, off): a hard ceiling on the calibrated σ of every judged target, for a user
  who wants only molecules the model knows.

Score (higher is better, also for failed molecules with a prediction): a lower confidence bound of ``score_target``
(``'auto'``: ``gap_ev`` when predicted, else the first target), mean − ``score_kappa`` × σ (calibrated): a wider gap
(more electrochemically stable) ranks higher, and an uncertain prediction ranks lower.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from pathlib import Path

from rdkit import Chem

from ... import __version__
from ...structures.speciation import DEFAULT_PH, SpeciationError, check_ph, speciate
from .base import Screener, ScreenerError, Screening

_PERIODIC_TABLE = Chem.GetPeriodicTable()

# Bump when a criterion, a default threshold or the score changes: the version recorded with promoted candidates.
# 2: a 2D ensemble fails unknown elements before predicting; 3: molecules judged as their species at `ph`;
# 4: a calibrated probability gate instead of a spread ceiling, no LUMO floor by default
GNN_SCREENER_VERSION = '4'

DEFAULTS: dict = {
    # The checkpoint directory (`aiida-znadditive ml train --out DIR`); required.
    'checkpoint': None,
    # Orbital window for neutral molecules: 'auto' (by the checkpoint's level of theory), a number, or None (off).
    'homo_min': None,
    'homo_max': 'auto',
    'lumo_min': None,
    'lumo_max': None,
    'gap_min': 'auto',
    'gap_max': None,
    # Further windows {target: [low, high]} on any predicted target, for every molecule.
    'windows': {},
    # A molecule fails when the calibrated chance that it lies inside every judged bound is below this.
    'min_pass_probability': 0.05,
    # Largest calibrated std accepted for a judged target, in its unit; None (default) disables.
    'max_uncertainty': None,
    # Heavy elements must occur in the training data.
    'known_elements_only': True,
    # Score: lower confidence bound mean - kappa * std of this target ('auto': gap_ev, else the first target).
    'score_target': 'auto',
    'score_kappa': 1.0,
    # SMILES per prediction batch.
    'batch_size': 1024,
    # pH of the electrolyte: molecules are judged as their dominant species there; None: as written.
    'ph': DEFAULT_PH,
}
# Orbital window settings -> the target they judge.
_ORBITAL = {
    'homo_min': ('homo_ev', 'min'),
    'homo_max': ('homo_ev', 'max'),
    'lumo_min': ('lumo_ev', 'min'),
    'lumo_max': ('lumo_ev', 'max'),
    'gap_min': ('gap_ev', 'min'),
    'gap_max': ('gap_ev', 'max'),
}
# What each bound means for the electrolyte, in the reasons.
_MEANING = {
    ('homo_ev', 'max'): 'easily oxidised',
    ('homo_ev', 'min'): 'HOMO below the window',
    ('lumo_ev', 'min'): 'easily reduced',
    ('lumo_ev', 'max'): 'LUMO above the window',
    ('gap_ev', 'min'): 'narrow HOMO-LUMO gap',
    ('gap_ev', 'max'): 'gap above the window',
}
_LABELS = {'homo_ev': 'HOMO', 'lumo_ev': 'LUMO', 'gap_ev': 'HOMO-LUMO gap'}
_UNKNOWN = 'outside what the model knows'


def level_thresholds(family: str) -> dict[str, float]:
    """The 'auto' orbital thresholds of a level-of-theory family (``'dft'``, ``'gfn2'``; others: none)."""
    if family == 'dft':
        from .rules import DEFAULTS as RULES

        # The rules screener's window for meta-database (DFT) values, and a gap floor (see the module docstring).
        return {'homo_max': RULES['homo_ev_max'], 'lumo_min': RULES['lumo_ev_min'], 'gap_min': 4.5}
    if family == 'gfn2':
        from .xtb import DEFAULTS as XTB  # imported only here: the xtb screener loads ASE and AiiDA's helpers

        # The xtb screener's LUMO floor is off by default; -7.5 eV is the value it had, for 'auto'.
        return {'homo_max': XTB['homo_max'], 'lumo_min': -7.5, 'gap_min': XTB['gap_min']}
    return {}


def _orbital_bounds(merged: dict, targets: list[str], automatic: dict[str, float]) -> list[tuple]:
    """The orbital window of ``merged`` settings as bounds; resolves ``'auto'`` in ``merged`` to its number."""
    bounds = []
    for key, (target, side) in _ORBITAL.items():
        value = merged[key]
        if value == 'auto':
            value = merged[key] = automatic.get(key) if target in targets else None
        if value is None:
            continue
        if target not in targets:
            raise ScreenerError(f'{key} is set but the checkpoint does not predict {target} ({", ".join(targets)})')
        bounds.append((target, side, float(value), True))
    return bounds


def _window_bounds(merged: dict, targets: list[str]) -> list[tuple]:
    """The ``windows`` setting as bounds (for every molecule); stores the windows as lists in ``merged``."""
    bounds = []
    windows = dict(merged['windows'] or {})
    for target, window in windows.items():
        if target not in targets:
            raise ScreenerError(f'windows: the checkpoint does not predict {target} ({", ".join(targets)})')
        try:
            low, high = window
        except (TypeError, ValueError):
            raise ScreenerError(f'windows[{target!r}] must be [low, high], got {window!r}') from None
        bounds += [
            (target, side, float(value), False) for side, value in (('min', low), ('max', high)) if value is not None
        ]
    merged['windows'] = {target: list(window) for target, window in windows.items()}
    return bounds


class GnnScreener(Screener):
    """Predictions of a GNN ensemble checkpoint and thresholds on them; see the module docstring."""

    name = 'gnn'
    version = f'{__version__}+gnn.{GNN_SCREENER_VERSION}'

    def __init__(self, **settings) -> None:
        unknown = sorted(set(settings) - set(DEFAULTS))
        if unknown:
            raise ScreenerError(f'Unknown `gnn` setting(s) {", ".join(unknown)}; known: {", ".join(DEFAULTS)}')
        merged = {**DEFAULTS, **settings}
        if not merged['checkpoint']:
            raise ScreenerError(
                'The gnn screener needs a trained model checkpoint (setting `checkpoint`). Train one with\n'
                '  aiida-znadditive ml train --data qm9 --targets gap,homo,lumo --out MODEL_DIR\n'
                "and use load_screener('gnn', checkpoint='MODEL_DIR')."
            )
        from ..models.ensemble import CheckpointError, load_checkpoint

        try:
            self.ensemble = load_checkpoint(merged['checkpoint'])
        except (CheckpointError, OSError, KeyError, RuntimeError, ValueError) as error:
            raise ScreenerError(f'Cannot load the gnn checkpoint {merged["checkpoint"]}: {error}') from None
        merged['checkpoint'] = str(Path(merged['checkpoint']))
        targets = self.ensemble.target_names
        family = self.ensemble.config.get('level_of_theory', {}).get('family', 'unknown')
        # (target, 'min'|'max', value, neutral molecules only)
        self.bounds: list[tuple[str, str, float, bool]] = _orbital_bounds(merged, targets, level_thresholds(family))
        self.bounds += _window_bounds(merged, targets)
        score_target = merged['score_target']
        if score_target == 'auto':
            score_target = 'gap_ev' if 'gap_ev' in targets else targets[0]
        if score_target not in targets:
            raise ScreenerError(f'score_target {score_target} is not predicted ({", ".join(targets)})')
        merged['score_target'] = score_target
        if merged['max_uncertainty'] is not None and merged['max_uncertainty'] <= 0:
            raise ScreenerError(f'max_uncertainty must be positive or None, got {merged["max_uncertainty"]}')
        if not 0 <= float(merged['min_pass_probability']) < 1:
            raise ScreenerError(f'min_pass_probability must be in [0, 1), got {merged["min_pass_probability"]}')
        self.sigma_scale = dict(self.ensemble.uncertainty_scale)
        if int(merged['batch_size']) < 1:
            raise ScreenerError('batch_size must be at least 1')
        if merged['ph'] is not None:
            try:
                merged['ph'] = check_ph(merged['ph'])
            except ValueError as error:
                raise ScreenerError(f'gnn setting ph: {error}') from None
        self.training_elements = set(self.ensemble.config.get('training_elements', []))
        self._training_numbers = {_PERIODIC_TABLE.GetAtomicNumber(symbol) for symbol in self.training_elements}
        super().__init__(**merged)

    @property
    def checkpoint_hash(self) -> str:
        return self.ensemble.checkpoint_hash

    def provenance(self) -> dict:
        config = self.ensemble.config
        return {
            **super().provenance(),
            'checkpoint_hash': self.ensemble.checkpoint_hash,
            'model': {
                'architecture': config['model']['architecture'],
                'members': len(self.ensemble),
                'targets': list(self.ensemble.target_names),
                'level_of_theory': config.get('level_of_theory', {}),
                'data': {key: config['data'].get(key) for key in ('kind', 'sources', 'limit', 'fingerprint')},
            },
        }

    def screen(self, smiles: Sequence[str], rows: Sequence[dict] | None = None) -> list[Screening]:
        if rows is not None and len(rows) != len(smiles):
            raise ValueError(f'{len(smiles)} SMILES but {len(rows)} rows.')
        if self.settings['ph'] is None:
            return self._screen_as_written(smiles, rows)
        species, judged = self._speciate(smiles)
        # A 3D ensemble's rows carry geometries of the molecule as written: only those of unchanged molecules fit.
        judged_rows = None if rows is None else [rows[i] if species[i][1] else {} for i in judged]
        screenings = self._screen_as_written([species[i][0] for i in judged], judged_rows)
        return self._merge(smiles, species, dict(zip(judged, screenings, strict=True)))

    def _speciate(self, smiles: Sequence[str]) -> tuple[list, list[int]]:
        """Each input's (species, unchanged, reason) at the setting's pH, and the indices of those with a species."""
        species = [_species(text, self.settings['ph']) for text in smiles]
        return species, [index for index, (form, _, _) in enumerate(species) if form is not None]

    def _merge(self, smiles: Sequence[str], species: list, screened: dict[int, Screening]) -> list[Screening]:
        """Each input's screening, as its input SMILES, with the species it was judged as (failed speciations fail)."""
        results = []
        for index, text in enumerate(smiles):
            form, unchanged, reason = species[index]
            if form is None:
                reason = f'no species at pH {self.settings["ph"]}: {reason}'
                results.append(Screening(smiles=text, passed=False, reasons=[reason]))
                continue
            results.append(dataclasses.replace(screened[index], smiles=text, species=None if unchanged else form))
        return results

    def _screen_as_written(self, smiles: Sequence[str], rows: Sequence[dict] | None = None) -> list[Screening]:
        if self.ensemble.kind == '2d':  # featurised here, so that the element check runs before the forward pass
            from ..models.featurize import encode_many

            encoded = self._known_elements(encode_many(smiles, self.ensemble.max_heavy_atoms))
            batch_size = int(self.settings['batch_size'])
            predictions = self.ensemble.predict_encoded(list(smiles), encoded, batch_size=batch_size)
            return [self._judge(prediction) for prediction in predictions]
        predictions = self.ensemble.predict_smiles(
            list(smiles), batch_size=int(self.settings['batch_size']), rows=list(rows) if rows else None
        )
        return [self._judge(prediction) for prediction in predictions]

    def screen_parsed(
        self, smiles: Sequence[str], mols: Sequence | None = None, rows: Sequence[dict] | None = None
    ) -> tuple[list[Screening], list]:
        """:meth:`screen`, featurising the molecules an earlier screener parsed (see :meth:`.Screener.screen_parsed`)
        instead of parsing their SMILES again: the same encoding, so the same predictions. A 3D ensemble, which
        needs geometries, screens as :meth:`screen` does."""
        if mols is None or self.ensemble.kind != '2d':
            return self.screen(smiles, rows), list(mols) if mols is not None else [None] * len(smiles)
        if len(mols) != len(smiles):
            raise ValueError(f'{len(smiles)} SMILES but {len(mols)} molecules.')
        if self.settings['ph'] is not None:
            # The parsed molecule is reused where the species is the molecule itself; the others are parsed anew.
            species, judged = self._speciate(smiles)
            screenings, _ = self._screen_parsed_as_written(
                [species[i][0] for i in judged], [mols[i] if species[i][1] else None for i in judged]
            )
            return self._merge(smiles, species, dict(zip(judged, screenings, strict=True))), list(mols)
        return self._screen_parsed_as_written(smiles, mols)

    def _screen_parsed_as_written(self, smiles: Sequence[str], mols: Sequence) -> tuple[list[Screening], list]:
        from ..models.featurize import FeaturizeError, encode_many, encode_parsed

        limit = self.ensemble.max_heavy_atoms
        encoded: list = [None] * len(smiles)
        unparsed = [index for index, mol in enumerate(mols) if mol is None]
        for index, result in zip(unparsed, encode_many([smiles[i] for i in unparsed], limit), strict=True):
            encoded[index] = result
        for index, mol in enumerate(mols):
            if mol is None:
                continue
            try:
                encoded[index] = encode_parsed(mol, limit)
            except FeaturizeError as error:
                encoded[index] = error.reason
            except Exception as error:  # as encode_many: a corner case must not stop the batch
                encoded[index] = f'featurisation failed ({type(error).__name__}: {error})'
        predictions = self.ensemble.predict_encoded(list(smiles), self._known_elements(encoded))
        return [self._judge(prediction) for prediction in predictions], list(mols)

    def _known_elements(self, encoded: list) -> list:
        """``encoded`` with each molecule holding an element outside the training data replaced by that reason
        (with ``known_elements_only``; a string in ``encoded`` is already a reason)."""
        if not (self.settings['known_elements_only'] and self._training_numbers):
            return encoded
        known = self._training_numbers
        checked = []
        for item in encoded:
            numbers = known if isinstance(item, str) else set(item.atomic_numbers.tolist())
            if numbers <= known:
                checked.append(item)
            else:
                checked.append(self._unknown_reason(_PERIODIC_TABLE.GetElementSymbol(int(z)) for z in numbers - known))
        return checked

    def _unknown_reason(self, unknown) -> str:
        known = ', '.join(sorted(self.training_elements))
        return f'element(s) {", ".join(sorted(unknown))} not in the training data ({known})'

    def _judge(self, prediction) -> Screening:
        if prediction.values is None:
            return Screening(smiles=prediction.smiles, passed=False, reasons=[prediction.reason])
        settings = self.settings
        values, std = prediction.values, prediction.std
        reasons = []
        if settings['known_elements_only'] and self.training_elements:
            unknown = set(prediction.elements) - self.training_elements
            if unknown:  # a 3D ensemble's molecule (a 2D one's failed before its forward pass)
                reasons.append(self._unknown_reason(unknown))
        judged = {settings['score_target']}
        sigma = {key: (None if value is None else value * self.sigma_scale.get(key, 1.0)) for key, value in std.items()}
        outside, chance = [], 1.0
        for target, side, value, neutral_only in self.bounds:
            if neutral_only and prediction.charge != 0:
                continue  # an ion's gas-phase orbitals are shifted by its charge: the window says nothing of it
            judged.add(target)
            predicted = values[target]
            inside = _inside_probability(predicted, sigma.get(target), side, value)
            chance *= inside
            label = _LABELS.get(target, target)
            unit = self.ensemble.units.get(target, '')
            meaning = _MEANING.get((target, side), 'outside the window')
            sign = '>' if side == 'max' else '<'
            if (side == 'max' and predicted > value) or (side == 'min' and predicted < value):
                outside.append(f'{label} {predicted:.2f} {unit} {sign} {value:.2f} {unit}: {meaning}')
        if chance < settings['min_pass_probability']:
            reasons += [f'{reason} (chance inside {chance:.2f})' for reason in outside]
        limit = settings['max_uncertainty']
        if limit is not None:
            for target in sorted(judged):
                spread = sigma.get(target)
                if spread is not None and spread > limit:
                    unit = self.ensemble.units.get(target, '')
                    reasons.append(f'calibrated std of {target} {spread:.2f} {unit} > {limit:.2f} {unit}: {_UNKNOWN}')
        target = settings['score_target']
        score = values[target] - settings['score_kappa'] * (sigma.get(target) or 0.0)
        predicted = {key: float(value) for key, value in values.items()}
        if self.bounds:
            predicted['pass_probability'] = float(chance)
        return Screening(
            smiles=prediction.smiles,
            passed=not reasons,
            score=float(score) if math.isfinite(score) else None,
            predictions=predicted,
            uncertainty={key: (None if sigma.get(key) is None else float(sigma[key])) for key in predicted},
            reasons=reasons,
        )

    @classmethod
    def for_tests(cls, directory: str | Path) -> GnnScreener:
        """A screener with a tiny 2-member D-MPNN ensemble (gap, HOMO, LUMO) trained on 200 QM9 molecules for a
        few epochs (seconds; trained once per process) and written under ``directory``."""
        path = Path(directory) / 'gnn-test-checkpoint'
        _tiny_test_ensemble().save(path)
        return cls(checkpoint=str(path))


def _inside_probability(mean: float, sigma: float | None, side: str, bound: float) -> float:
    """The chance, under N(mean, sigma²), of lying on the allowed side of ``bound`` (1 or 0 without a sigma)."""
    margin = (bound - mean) if side == 'max' else (mean - bound)
    if not sigma:
        return float(margin >= 0)
    return 0.5 * (1.0 + math.erf(margin / (sigma * math.sqrt(2.0))))


@functools.lru_cache(maxsize=100_000)
def _species(smiles: str, ph: float) -> tuple[str | None, bool, str | None]:
    """(species SMILES or None, whether it is the molecule as written, why there is none) of ``smiles`` at ``ph``;
    cached because a generator proposes the same molecules again and again."""
    try:
        species = speciate(smiles, ph)
    except SpeciationError as error:
        if error.reason == 'invalid_smiles':
            return smiles, True, None  # judged as written: the featuriser names what is wrong with it
        return None, False, str(error)
    # The species can differ from the input without a change from the neutral form (acetate given, acid judged).
    return species.smiles, species.smiles == Chem.CanonSmiles(smiles), None


@functools.cache
def _tiny_test_ensemble():
    import torch

    from ..models.data import load_dataset
    from ..models.train import TrainSettings, train_ensemble

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny batches: threads only add overhead, and the result does not depend on them
    try:
        data = load_dataset('qm9', targets='gap,homo,lumo', limit=200)
        settings = TrainSettings(
            model='2d', hidden=32, depth=2, ensemble=2, epochs=4, batch_size=32, lr=3e-3, split='random', seed=0
        )
        return train_ensemble(data, settings, log=lambda line: None).ensemble
    finally:
        torch.set_num_threads(threads)
