"""The ``mechanisms`` screener: how well an additive can work in an aqueous zinc cell by any of the mechanisms that
published additives use (solvation sheath, surface adsorption, H-bond disruption, interphase, pH buffer,
surfactant), each judged on its species at the electrolyte's pH; the terms and their reasons are in
:mod:`~aiida_znadditive.ml.screeners.mechanism_terms`.

Score: each mechanism term times the solubility that mechanism needs (raised to ``solubility_weight``), scaled by its
weight (``weights``), combined as the best mechanism plus 30 % of the second (:func:`.mechanism_terms.combine`), times
the synthesis factor raised to ``synthesis_weight`` and the persistence factor (a group that water or acid destroys,
:data:`.mechanism_terms.LABILE_GROUPS`) raised to ``persistence_weight``. A molecule is failed only when it lies outside
what the platform treats, never for one mechanism's weakness:

- unparseable, no species at ``ph`` (charge outside -4..+2), a radical;
- elements outside ``allowed_elements``; heavy atoms outside ``min_heavy_atoms``..``max_heavy_atoms`` (of the
  additive; a salt's counter-ions are spectators);
- an oxidant (peroxide), which zinc metal reduces on contact.

With ``checkpoint`` (a ``gnn`` model folder; the ZIB objective gives the shipped ``zib_xtb`` model) the solvation
term reads the model's calibrated exchange free energy and the interphase term its LUMO (neutral species only: an
ion's gas-phase orbitals are shifted by its charge), each with the ensemble's uncertainty scaled by the checkpoint's
uncertainty calibration where it has one. Without it the stated fallbacks of the terms apply.

Predictions: ``mechanism.<name>`` (each term), ``solubility.<name>`` (its solubility factor), ``synthesis``,
``persistence``, ``labile.<group>`` (1 for each labile group found), ``esol_logs``, ``sa_score`` and the model's values;
the species judged is in :attr:`Screening.species` where it differs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

from rdkit import Chem
from rdkit.Chem import Descriptors as RDDescriptors
from rdkit.Chem.MolStandardize import rdMolStandardize
from rdkit.rdBase import BlockLogs

from ... import __version__
from ...structures.ligands import main_fragment
from ...structures.speciation import DEFAULT_PH, SpeciationError, check_ph, site_pkas, speciate
from . import mechanism_terms as terms
from .base import Screener, ScreenerError, Screening
from .rule_alerts import REDOX_ALERTS

MECHANISMS_VERSION = '3'  # 2: the persistence factor; 3: beta-lactones and four-membered imides are labile

DEFAULTS: dict = {
    # A gnn checkpoint folder whose predictions the solvation and interphase terms read; None: descriptors only.
    'checkpoint': None,
    'ph': DEFAULT_PH,
    # Weight of each mechanism, in [0, 1]. A pH buffer counts half: two of the published additives act mainly so,
    # and dimorphite-dl's site table puts a pKa near 4.5-6.5 on most aromatic and basic N, so the term is broad.
    # The others count 0.95, so that a perfect mechanism leaves room for the second-best to order molecules (no ties).
    'weights': {**dict.fromkeys(terms.MECHANISMS, 0.95), 'ph_buffer': 0.5},
    'solubility_weight': 1.0,
    'synthesis_weight': 0.5,
    'persistence_weight': 1.0,
    'allowed_elements': ['H', 'B', 'C', 'N', 'O', 'F', 'Si', 'P', 'S', 'Cl', 'Br', 'I'],
    'min_heavy_atoms': 2,
    'max_heavy_atoms': 40,
}
# The rules screener's peroxide alert: the one redox group that fails a molecule here (zinc reduces it on contact).
_OXIDANT = Chem.MolFromSmarts(next(smarts for name, smarts, _ in REDOX_ALERTS if name == 'peroxide'))
_DG = 'zn_exchange_free_energy_calibrated_ev'
_LUMO = 'lumo_ev'


class MechanismsScreener(Screener):
    """Mechanism-aware desirability of an additive (module docstring)."""

    name = 'mechanisms'
    version = f'{__version__}+mechanisms.{MECHANISMS_VERSION}'

    def __init__(self, **settings) -> None:
        unknown = sorted(set(settings) - set(DEFAULTS))
        if unknown:
            raise ScreenerError(f'Unknown `mechanisms` setting(s) {", ".join(unknown)}; known: {", ".join(DEFAULTS)}')
        merged = {**DEFAULTS, **settings}
        weights = {**DEFAULTS['weights'], **(settings.get('weights') or {})}
        bad = sorted(set(weights) - set(terms.MECHANISMS))
        if bad:
            raise ScreenerError(f'weights: unknown mechanism(s) {", ".join(bad)}; known: {", ".join(terms.MECHANISMS)}')
        for name, value in weights.items():
            if not (isinstance(value, int | float) and 0 <= value <= 1):
                raise ScreenerError(f'weights[{name!r}] must be in [0, 1], got {value!r}')
        merged['weights'] = weights
        try:
            merged['ph'] = check_ph(merged['ph'])
        except ValueError as error:
            raise ScreenerError(f'mechanisms setting ph: {error}') from None
        self.model = None
        if merged['checkpoint']:
            from .gnn import GnnScreener

            # Predictions only: no window, no uncertainty gate; the species is computed here, once.
            open_window = dict.fromkeys(('homo_max', 'lumo_min', 'gap_min'))
            self.model = GnnScreener(checkpoint=str(merged['checkpoint']), ph=None, max_uncertainty=None, **open_window)
            merged['checkpoint'] = self.model.settings['checkpoint']
        self._allowed = frozenset(merged['allowed_elements'])
        super().__init__(**merged)

    def provenance(self) -> dict:
        provenance = super().provenance()
        if self.model is not None:
            provenance['checkpoint_hash'] = self.model.checkpoint_hash
        return provenance

    def screen(self, smiles: Sequence[str], rows: Sequence[dict] | None = None) -> list[Screening]:
        prepared = [self._prepare(text) for text in smiles]
        judged = [index for index, item in enumerate(prepared) if not isinstance(item, str)]
        predictions: dict[int, Screening] = {}
        if self.model is not None and judged:
            screened = self.model.screen([prepared[i][0] for i in judged])
            predictions = dict(zip(judged, screened, strict=True))
        results = []
        for index, text in enumerate(smiles):
            item = prepared[index]
            if isinstance(item, str):
                results.append(Screening(smiles=text, passed=False, score=0.0, reasons=[item]))
                continue
            results.append(self._judge(text, *item, predictions.get(index)))
        return results

    def _prepare(self, smiles: str):
        """(species SMILES, species mol, neutral mol as added) or the reason it is outside the domain."""
        return _prepare(
            smiles,
            self.settings['ph'],
            self._allowed,
            self.settings['min_heavy_atoms'],
            self.settings['max_heavy_atoms'],
        )

    def _judge(self, smiles: str, species: str, mol: Chem.Mol, added: Chem.Mol, model: Screening | None) -> Screening:
        d = terms.describe(mol, added)
        values, sigmas = {}, {}
        if model is not None and model.predictions:
            values = dict(model.predictions)
            sigmas = dict(model.uncertainty)  # calibrated by the gnn screener
        lumo = values.get(_LUMO) if d.charge == 0 else None
        mechanism = {
            'solvation_sheath': terms.solvation_sheath(d, values.get(_DG), sigmas.get(_DG)),
            'surface_adsorption': terms.surface_adsorption(d),
            'hbond_disruption': terms.hbond_disruption(d),
            'interphase_former': terms.interphase_former(d, lumo, sigmas.get(_LUMO)),
            'ph_buffer': terms.ph_buffer(site_pkas(species), self.settings['ph']),
            'surfactant': terms.surfactant(d),
        }
        settings = self.settings
        # Each mechanism at the solubility it needs (a surfactant works at millimolar, a co-solvent at molar).
        soluble = {name: terms.solubility(d, name) ** settings['solubility_weight'] for name in mechanism}
        synthesis = terms.synthesis(d)
        combined = terms.combine(
            {name: value * soluble[name] for name, value in mechanism.items()}, settings['weights']
        )
        persistence = terms.persistence(d)
        score = combined * synthesis ** settings['synthesis_weight'] * persistence ** settings['persistence_weight']
        predictions = {f'mechanism.{name}': value for name, value in mechanism.items()}
        predictions |= {f'solubility.{name}': value for name, value in soluble.items()}
        predictions |= {'synthesis': synthesis, 'persistence': persistence}
        predictions |= {f'labile.{name}': 1.0 for name in d.labile}  # which group marked it down
        predictions |= {'esol_logs': d.esol_logs, 'sa_score': d.sa_score}
        predictions |= {key: value for key, value in values.items() if math.isfinite(value)}
        uncertainty = {key: sigmas.get(key) for key in predictions}  # None: a descriptor, or no spread
        return Screening(
            smiles=smiles,
            passed=True,
            score=float(score),
            predictions=predictions,
            uncertainty=uncertainty,
            species=None if species == Chem.CanonSmiles(smiles) else species,
        )


@functools.lru_cache(maxsize=100_000)
def _prepare(smiles: str, ph: float, allowed: frozenset, min_heavy: int, max_heavy: int):  # noqa: PLR0911 - a reason each
    """See :meth:`MechanismsScreener._prepare`; cached because a generator proposes the same molecules again."""
    with BlockLogs():
        mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) else None
    if mol is None or mol.GetNumAtoms() == 0:
        return f'unreadable SMILES {smiles!r}'
    fragments = Chem.GetMolFrags(mol, asMols=True, sanitizeFrags=True)
    main = fragments[main_fragment(fragments)]
    foreign = sorted({atom.GetSymbol() for atom in main.GetAtoms()} - allowed)
    if foreign:
        return f'element(s) {", ".join(foreign)} outside the allowed elements'
    heavy = main.GetNumHeavyAtoms()
    if not min_heavy <= heavy <= max_heavy:
        return f'{heavy} heavy atoms, outside {min_heavy}..{max_heavy}'
    if RDDescriptors.NumRadicalElectrons(main):
        return 'a radical'
    if main.HasSubstructMatch(_OXIDANT):
        return 'an oxidant (peroxide), reduced by zinc metal on contact'
    try:
        species = speciate(smiles, ph)
    except SpeciationError as error:
        return f'no species at pH {ph}: {error}'
    with BlockLogs():
        added = rdMolStandardize.Uncharger().uncharge(main)
    return species.smiles, Chem.MolFromSmiles(species.smiles), added
