"""The ``xtb`` screener: the GFN2-xTB labeller (:mod:`aiida_znadditive.ml.labels.xtb`) with pass/fail thresholds.

Each candidate is labelled with :func:`~aiida_znadditive.ml.labels.xtb.label_molecule` (seconds to a minute per
molecule, most of it the Zn2+ exchange energy), unless its meta-database row already holds labels of the same
``source_version`` (same tblite, same settings): then those are used as they are. Labels are also kept in a
per-process cache, so screening the same molecule twice computes it once. The predictions are the labels, in the
meta-database's names and units (``homo_ev``, ``lumo_ev``, ``gap_ev``, ``dipole_debye``, ``ip_ev``, ``ea_ev``,
``solvation_free_energy_ev``, ``zn_exchange_energy_ev``, ``total_energy_ev``). Their uncertainty is None: GFN2-xTB's
error against experiment depends on the chemistry far more than a single number could say (its vertical IPs, for
one, are off by about 5 eV in a constant way that does not matter for ranking, see the labeller).

Criteria (defaults in :data:`DEFAULTS`, every one a setting):

- the molecule can be labelled (parsable, elements GFN2 covers, not a radical, not too large, SCF converges);
- it has a Zn2+ exchange energy: an O/N/S donor, and a binding mode that can be placed on [Zn(H2O)6]2+;
- the exchange energy ΔE lies in [``exchange_min``, ``exchange_max``] = [-1.0, +0.5] eV. Above: the molecule cannot
  compete with water for Zn2+ (a 1 M additive against 55 M water gains ln 55 kT = 0.1 eV from mass action; the other
  0.4 eV are the margin of a one-complex GFN2/ALPB model: DMSO -0.10, ethylene glycol +0.32, diglyme +0.52 eV here).
  Below: it holds Zn2+ so tightly that plating must strip it first (sulfate, a dianion that forms contact ion pairs,
  lies at -1.1 eV; acetate at -0.48 eV passes);
- orbital window, for **neutral** molecules: HOMO ≤ ``homo_max`` (-9.0 eV), gap ≥ ``gap_min`` (2.5 eV) and,
  only when set, LUMO ≥ ``lumo_min`` (off by default, -7.5 eV below is what it was: being reduced at plating zinc is
  how interphase-forming additives such as saccharin work, so reducibility is a term of the ZIB objective, not a
  rejection). GFN2 orbital energies are not electrode potentials (GFN2 puts the C=O π* of acetone at
  -6.8 eV and compresses gaps), so the thresholds are relative to known additives at the same level, chosen to fail
  only molecules clearly more reducible or oxidisable than every common co-solvent: the lowest LUMOs of stable
  additives are pyridine -6.8, acetone -6.8 and FEC -6.7 eV, benzotriazole -7.4 eV, while benzaldehyde (-8.0),
  nitrobenzene (-8.8), maleic anhydride (-9.9), p-benzoquinone (-9.9; gap 1.4 eV) and saccharin (-8.3 eV, known to be
  reduced at plating Zn) fall below. The highest HOMOs of stable additives are tetramethylurea -10.0 and thiourea
  -9.15 eV; triethylamine (-9.2) is just inside, so the HOMO test only catches strong donors (electron-rich amines and
  extended π systems): hydroquinone (-10.1) and thiols (-10.1) are not caught — the ``rules`` screener's redox
  alerts are the check for those. Ions are exempt: their gas-phase orbitals are shifted by their charge (acetate's
  HOMO lies at -4.2 eV, a pyridinium's LUMO at -12.8 eV), so the window says nothing about them.

Score (higher is better, also for failed molecules that have a ΔE): -ΔE down to ``exchange_min``, then falling again
(a tent peaking at the window's lower edge): the stronger a molecule competes with water for Zn2+, the better, up to
the point where it binds too strongly.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from ..labels.xtb import PROPERTY_COLUMNS, SOURCE, LabelError, LabelSettings, label_molecule
from .base import Screener, ScreenerError, Screening

# Bump when a criterion, a default threshold or the score changes: the version recorded with promoted candidates.
XTB_SCREENER_VERSION = '2'  # 2: no LUMO floor by default

DEFAULTS: dict = {
    'exchange_min': -1.0,
    'exchange_max': 0.5,
    'lumo_min': None,
    'homo_max': -9.0,
    'gap_min': 2.5,
    # LabelSettings fields to override (e.g. {'conformers': 1, 'timeout_s': 120}); the exchange energy must stay on.
    'labels': {},
    # Use the labels of a given meta-database row when its source and source_version match these settings.
    'use_rows': True,
}
# Labels computed in this process, by (SMILES, source_version): a LabelError is remembered like a row.
_CACHE: OrderedDict[tuple[str, str], dict | LabelError] = OrderedDict()
_CACHE_SIZE = 4096


class XtbScreener(Screener):
    """GFN2-xTB labels and thresholds on them; see the module docstring for the criteria and the score."""

    name = 'xtb'
    version = XTB_SCREENER_VERSION

    def __init__(self, **settings) -> None:
        unknown = set(settings) - set(DEFAULTS)
        if unknown:
            raise ScreenerError(f'Unknown xtb screener settings: {", ".join(sorted(unknown))}')
        merged = {**DEFAULTS, **settings}
        try:
            self.label_settings = LabelSettings.coerce(merged['labels'])
        except (TypeError, ValueError) as error:
            raise ScreenerError(f'Bad label settings for the xtb screener: {error}') from None
        if not self.label_settings.exchange_energy:
            raise ScreenerError('The xtb screener needs the Zn2+ exchange energy: `exchange_energy` must stay True.')
        if merged['exchange_min'] >= merged['exchange_max']:
            raise ScreenerError('exchange_min must be below exchange_max.')
        super().__init__(**merged)

    def provenance(self) -> dict:
        return {**super().provenance(), 'source_version': self.label_settings.source_version}

    def screen(self, smiles: Sequence[str], rows: Sequence[dict] | None = None) -> list[Screening]:
        if rows is not None and len(rows) != len(smiles):
            raise ValueError(f'{len(smiles)} SMILES but {len(rows)} rows.')
        return [self._screen_one(item, rows[index] if rows else None) for index, item in enumerate(smiles)]

    def labels(self, smiles: str, row: dict | None = None) -> dict:
        """The label row of one molecule: from ``row`` when it holds our labels, else the cache, else computed.

        :raises LabelError: when the molecule cannot be labelled.
        """
        version = self.label_settings.source_version
        if (
            self.settings['use_rows']
            and row
            and row.get('source') == SOURCE
            and row.get('source_version') == version
            and all(key in row for key in PROPERTY_COLUMNS)
        ):
            return row
        key = (smiles, version)
        if key not in _CACHE:
            try:
                _CACHE[key] = label_molecule(smiles, self.label_settings)
            except LabelError as error:
                _CACHE[key] = error
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        _CACHE.move_to_end(key)
        cached = _CACHE[key]
        if isinstance(cached, LabelError):
            raise cached
        return cached

    def _screen_one(self, smiles: str, row: dict | None) -> Screening:
        try:
            labels = self.labels(smiles, row)
        except LabelError as error:
            return Screening(
                smiles=smiles, passed=False, reasons=[f'xTB labelling failed ({error.reason}): {error.detail}']
            )
        except Exception as error:  # never let one molecule stop a batch; the reason says what broke
            return Screening(smiles=smiles, passed=False, reasons=[f'xTB labelling failed: {type(error).__name__}'])
        predictions = {key: float(labels[key]) for key in PROPERTY_COLUMNS if labels.get(key) is not None}
        reasons, score = self._judge(predictions, int(labels.get('charge') or 0))
        return Screening(
            smiles=smiles,
            passed=not reasons,
            score=score,
            predictions=predictions,
            uncertainty=dict.fromkeys(predictions),
            reasons=reasons,
        )

    def _judge(self, values: dict[str, float], charge: int) -> tuple[list[str], float | None]:
        settings = self.settings
        reasons = []
        exchange = values.get('zn_exchange_energy_ev')
        score = None
        if exchange is None:
            reasons.append('no Zn2+ exchange energy: no O/N/S donor, or no binding mode fits on [Zn(H2O)6]2+')
        else:
            low, high = settings['exchange_min'], settings['exchange_max']
            score = -exchange if exchange >= low else exchange - 2.0 * low
            if exchange > high:
                reasons.append(f'Zn2+ exchange energy {exchange:+.2f} eV > {high:+.2f} eV: does not compete with water')
            elif exchange < low:
                reasons.append(f'Zn2+ exchange energy {exchange:+.2f} eV < {low:+.2f} eV: binds Zn2+ too strongly')
        if charge == 0:
            if settings['lumo_min'] is not None and values['lumo_ev'] < settings['lumo_min']:
                reasons.append(f'LUMO {values["lumo_ev"]:.2f} eV < {settings["lumo_min"]:.2f} eV: easily reduced')
            if values['homo_ev'] > settings['homo_max']:
                reasons.append(f'HOMO {values["homo_ev"]:.2f} eV > {settings["homo_max"]:.2f} eV: easily oxidised')
            if values['gap_ev'] < settings['gap_min']:
                reasons.append(f'HOMO-LUMO gap {values["gap_ev"]:.2f} eV < {settings["gap_min"]:.2f} eV')
        return reasons, score
