"""The ``rules`` screener: cheap chemistry rules a zinc-battery chemist applies before any calculation.

Each SMILES is parsed once; of a multi-fragment SMILES (a salt) only the largest fragment is judged, as
:func:`~aiida_znadditive.structures.ligands.parse_ligand` keeps it for the complexation WorkChain. Criteria run
cheapest first:

- elements: H B C N O F Si P S Cl Br I (what def2 basis sets, GFN2-xTB and the complexation WorkChain cover);
- heavy atoms: 2 to 40 (an additive, not an ion or a polymer);
- net charge −2 to +1, no atom beyond ±1, no radical (what the WorkChain takes);
- water solubility: Crippen logP ≤ 3.0 (TPSA reported, with an optional minimum);
- Zn2+ donors: at least one O/N/S donor as :func:`~aiida_znadditive.structures.ligands.find_donors` finds them;
- redox window: no group reduced above Zn2+/Zn or oxidised below the cathode's potential (:data:`REDOX_ALERTS`);
- orbital window: HOMO ≤ −5.6 eV and LUMO ≥ −2.0 eV, when a meta-database row gives them;
- synthetic accessibility: SA score ≤ 4.5 (Ertl & Schuffenhauer, RDKit Contrib);
- PAINS A/B/C: no match (mostly redox cyclers and chelating dyes: parasitic redox in a cell);
- Brenk (NIH opt-in): a score penalty of 0.8 per alert (or a failure, or off): toxicity and reactivity.

Elements and size are checked first: a molecule that fails them is not a molecule this platform can treat, and
nothing else is computed for it. With ``complete_reasons=False`` (the default, for throughput) the costly criteria
(SA score, PAINS, Brenk/NIH) run only for molecules that passed every cheap criterion, so a failed molecule's reasons
list every cheap criterion it failed but not, say, a PAINS alert; ``complete_reasons=True`` evaluates everything.

The score of a passed molecule is a Derringer desirability, the geometric mean of four terms in (0, 1]:

- logP: 1 at logP ≤ 0 (freely water-miscible), falling linearly to 0.5 at the logP ceiling;
- SA score: 1 at SA ≤ 3.5, falling linearly to 0.5 at the SA ceiling;
- donors: 0.7 with one Zn2+ donor, 1 with two or more (a chelate can form);
- alerts: ``tox_penalty`` to the power of the number of Brenk/NIH alerts.

A failed molecule scores 0 (a hard criterion's desirability is 0), an unparseable one ``None``.
"""

from __future__ import annotations

import collections
import math
import multiprocessing
import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import FilterCatalog, rdMolDescriptors
from rdkit.rdBase import BlockLogs

from ... import __version__
from ...structures.ligands import find_donors
from .base import Screener, ScreenerError, Screening

# Bump when a rule, a threshold default or the score changes: the version recorded with promoted candidates.
RULES_VERSION = '1'

DEFAULTS: dict = {
    # What the complexation WorkChain accepts (protocols/complexation.yaml) and def2 basis sets and GFN2-xTB cover.
    'allowed_elements': ['H', 'B', 'C', 'N', 'O', 'F', 'Si', 'P', 'S', 'Cl', 'Br', 'I'],
    # One heavy atom is water or an ion; above 40 (~550 Da) a molecule is no longer a cheap, mobile additive.
    'min_heavy_atoms': 2,
    'max_heavy_atoms': 40,
    # Neutral molecules, mono- and dianions (carboxylates, sulfonates, HPO4 2-) and monocations (quaternary
    # ammonium surfactants that shield Zn tips); +2 and beyond compete with Zn2+ itself.
    'min_charge': -2,
    'max_charge': 1,
    # Crippen logP: at ≤ 3 a neutral organic is soluble in water at the 0.1-1 M of additive use; None disables.
    'logp_max': 3.0,
    'logp_min': None,
    # TPSA (Å², N and O only) is reported; a minimum is optional (DMSO has 17, THF 9).
    'tpsa_min': None,
    # Zn2+-binding donors (O/N/S, as the complexation WorkChain finds them).
    'min_donors': 1,
    # Group alerts for redox inside the aqueous Zn window (see REDOX_ALERTS); names to switch off one.
    'redox_alerts': True,
    'redox_ignore': [],
    # Orbital window, only when the meta-database row gives homo_ev/lumo_ev (gas-phase DFT, B3LYP-like): a HOMO
    # above −5.6 eV is oxidised like hydroquinone or aniline, a LUMO below −2.0 eV reduced like nitrobenzene.
    'homo_ev_max': -5.6,
    'lumo_ev_min': -2.0,
    # SA score (1 easy .. 10 hard); 4.5 keeps what a supplier sells or a one-to-three-step synthesis makes.
    'sa_max': 4.5,
    # PAINS: assay-interference motifs are mostly redox cyclers (quinones, catechols, ene-rhodanines) and
    # colloidal/chelating dyes, i.e. parasitic redox in an electrolyte: a failure.
    'pains_catalogs': ['PAINS_A', 'PAINS_B', 'PAINS_C'],
    # Brenk and NIH flag toxic and reactive groups for drug discovery; they also flag phosphates, sulfonates,
    # fluorinated chains and crown ethers, all classic electrolyte additives, so they only lower the score
    # ('penalty'); 'fail' makes any alert a failure, 'off' skips them. NIH is opt-in: its recursive SMARTS cost
    # about 1.5 ms per molecule (three times Brenk and PAINS together), and the groups of it that matter here
    # (aldehydes, azides, Michael acceptors, peroxides, hydrazines, thiols) are in Brenk or the redox alerts too.
    'tox_catalogs': ['BRENK'],
    'tox_alerts': 'penalty',
    'tox_penalty': 0.8,
    # Evaluate the costly criteria for molecules that already failed a cheap one (complete reasons, slower).
    'complete_reasons': False,
}
TOX_MODES = ('penalty', 'fail', 'off')

# Redox-window alerts: (name, SMARTS on the hydrogen-implicit molecule, why). The window of a mildly acidic aqueous
# Zn cell runs from Zn plating (−0.76 V vs SHE) to the top of MnO2/V2O5 cathodes (≈ +1.0 V vs SHE, 1.8 V vs Zn):
# a group reduced above −0.76 V is reduced at the anode before zinc plates (and by Zn metal itself); a group
# oxidised below ≈ +1.0 V is oxidised at the cathode on every charge. Both consume charge and the additive.
_REDUCED = 'reduced before Zn plating (above −0.76 V vs SHE)'
_OXIDISED = 'oxidised inside the window (below +1.0 V vs SHE)'
_OXIDANT = 'an oxidant, reduced by Zn metal'
# OH, NH2 or NH-alkyl on an arene: the electron-rich substituents of the aromatic reductants below.
_ELECTRON_RICH = '[OX2H1,$([NX3H2]),$([NX3H1][CX4])]'
REDOX_ALERTS: tuple[tuple[str, str, str], ...] = (
    ('nitro', '[$([NX3+](=O)[O-]),$([NX3](=O)=O)]', _REDUCED),  # ArNO2 ≈ −0.5 V at pH 4-5; Zn/acid reduces it
    ('nitroso', '[#6,#7][NX2]=O', _REDUCED),
    ('azo', '[#6][NX2]=[NX2][#6]', _REDUCED),  # azobenzene ≈ −0.3 V; Zn reduces it to hydrazo/aniline
    ('diazo', '[$([#6]=[N+]=[N-]),$([#6][N+]#N),$([#6]-[N]=[N+]=[N-])]', _REDUCED),  # diazo, diazonium, azide
    ('disulfide', '[SX2][SX2]', _REDUCED),  # RSSR/2 RSH ≈ −0.25 V
    ('para-quinone', '[#6X3]1(=O)[#6]=,:[#6][#6X3](=O)[#6]=,:[#6]1', _REDUCED),  # benzoquinone +0.7 V
    ('ortho-quinone', '[#6X3]1(=O)[#6X3](=O)[#6]=,:[#6][#6]=,:[#6]1', _REDUCED),
    ('alkyl bromide or iodide', '[CX4][Br,I]', _REDUCED),  # Zn inserts into C-Br/C-I (Barbier, Reformatsky)
    ('polyhalomethyl', '[CX4]([Cl,Br,I])[Cl,Br,I]', _REDUCED),  # CCl3/CHCl2 are dehalogenated by Zn
    ('peroxide', '[OX2,OX1-][OX2,OX1-]', _OXIDANT),
    ('N/O/S-halogen', '[#7,#8,#16][Cl,Br,I]', _OXIDANT),  # positive halogen (NCS, hypochlorite)
    # Para/ortho dihydroxy, aminohydroxy and diamino benzenes: hydroquinone +0.70 V, catechol +0.79 V, p-aminophenol
    # and p-phenylenediamine lower still. Benzene rings only: on electron-poor heteroarenes they are not reductants.
    ('hydroquinone-like', f'{_ELECTRON_RICH}c1ccc({_ELECTRON_RICH})cc1', _OXIDISED),
    ('catechol-like', f'{_ELECTRON_RICH}c1c({_ELECTRON_RICH})cccc1', _OXIDISED),
    ('enediol', '[OX2H1][#6]=[#6][OX2H1]', _OXIDISED),  # ascorbate-type reductones, +0.06 V
    ('hydrazine', '[NX3;!$(N[#6]=[O,S])][NX3;!$(N[#6]=[O,S])]', _OXIDISED),  # N2H4 ≈ −0.3 V
    ('hydroxylamine', '[NX3;!$(N[#6]=[O,S])][OX2H1]', _OXIDISED),
    ('phosphine or phosphite', '[PX3;+0]', _OXIDISED),  # P(III) is oxidised to P(V) (air, cathode)
)
_REDOX_PATTERNS = tuple((name, Chem.MolFromSmarts(smarts), why) for name, smarts, why in REDOX_ALERTS)

# Hard size guard before parsing: no SMILES of a ≤ 40-heavy-atom molecule needs more characters than this per atom.
_CHARACTERS_PER_ATOM = 25


def _linear_desirability(value: float, ideal: float, limit: float | None, at_limit: float = 0.5) -> float:
    """1 at or below ``ideal``, falling linearly to ``at_limit`` at ``limit`` (clipped to [at_limit, 1])."""
    if limit is None or limit <= ideal or value <= ideal:
        return 1.0
    return max(at_limit, 1.0 - (1.0 - at_limit) * (value - ideal) / (limit - ideal))


# -- alert catalogs with a fingerprint pre-screen ------------------------------------------------------------------


def _entry_query(entry: FilterCatalog.FilterCatalogEntry) -> Chem.Mol | None:
    """The query molecule of a SMARTS catalog entry, read from its serialisation; None when it cannot be read.

    RDKit's Python API does not expose an entry's pattern; its boost text archive holds the description and then
    the pickled query molecule, each length-prefixed. Failure only costs speed (the entry is then never skipped).
    """
    data = entry.Serialize()
    header = re.match(rb'\d+ serialization::archive \d+ [^\n]*\n[^\n]*\n\d+ \d+ \d+ (\d+) ', data)
    if header is None:
        return None
    start = header.end() + int(header.group(1)) + 1
    length = re.match(rb'(\d+) ', data[start:])
    if length is None:
        return None
    start += length.end()
    try:
        query = Chem.Mol(data[start : start + int(length.group(1))])
    except RuntimeError:
        return None
    return query if query.GetNumAtoms() else None


def _fingerprint_words(fingerprint: DataStructs.ExplicitBitVect) -> np.ndarray:
    return np.frombuffer(bytes.fromhex(DataStructs.BitVectToFPSText(fingerprint)), dtype=np.uint64)


class AlertCatalog:
    """Entries of RDKit FilterCatalogs, matched with a pattern-fingerprint pre-screen.

    A substructure can only match where every bit of its pattern fingerprint is set in the molecule's, so each
    entry is tried (with RDKit's own ``HasFilterMatch``, minimum/maximum counts included) only on molecules whose
    fingerprint covers its pattern's: the same matches as ``FilterCatalog.GetMatches``, about twice as fast on
    drug-like molecules because most PAINS patterns are never tried.
    """

    FP_SIZE = 2048

    def __init__(self, catalogs: Sequence[str]) -> None:
        self.entries: list[tuple[str, str, FilterCatalog.FilterCatalogEntry]] = []
        words = []
        for catalog in catalogs:
            try:
                which = getattr(FilterCatalog.FilterCatalogParams.FilterCatalogs, catalog)
            except AttributeError:
                raise ScreenerError(f'Unknown RDKit filter catalog `{catalog}`') from None
            params = FilterCatalog.FilterCatalogParams()
            params.AddCatalog(which)
            full = FilterCatalog.FilterCatalog(params)
            for index in range(full.GetNumEntries()):
                entry = full.GetEntryWithIdx(index)
                self.entries.append((catalog, entry.GetDescription(), entry))
                query = _entry_query(entry)
                if query is None:
                    words.append(np.zeros(self.FP_SIZE // 64, dtype=np.uint64))  # no bit: always tried
                else:
                    query.UpdatePropertyCache(strict=False)
                    words.append(_fingerprint_words(Chem.PatternFingerprint(query, fpSize=self.FP_SIZE)))
        self._words = np.stack(words) if words else np.zeros((0, self.FP_SIZE // 64), dtype=np.uint64)

    def __len__(self) -> int:
        return len(self.entries)

    @classmethod
    def fingerprint(cls, mol: Chem.Mol) -> np.ndarray:
        """The molecule's pattern fingerprint as uint64 words; compute it once for several catalogs."""
        return _fingerprint_words(Chem.PatternFingerprint(mol, fpSize=cls.FP_SIZE))

    def matches(
        self, mol: Chem.Mol, words: np.ndarray | None = None, first_only: bool = False
    ) -> list[tuple[str, str]]:
        """(catalog, description) of every entry matching ``mol``, in catalog order; only the first if asked.

        ``words``: the molecule's :meth:`fingerprint`, when already computed.
        """
        if not self.entries:
            return []
        if words is None:
            words = self.fingerprint(mol)
        candidates = np.flatnonzero(~(self._words & ~words).any(axis=1))
        found = []
        for index in candidates:
            catalog, description, entry = self.entries[index]
            if entry.HasFilterMatch(mol):
                found.append((catalog, description))
                if first_only:
                    break
        return found


_CATALOG_CACHE: dict[tuple[str, ...], AlertCatalog] = {}


def alert_catalog(catalogs: Sequence[str]) -> AlertCatalog:
    """The (per-process cached) :class:`AlertCatalog` of ``catalogs``; building one takes a fraction of a second."""
    key = tuple(catalogs)
    if key not in _CATALOG_CACHE:
        _CATALOG_CACHE[key] = AlertCatalog(key)
    return _CATALOG_CACHE[key]


def sa_score(mol: Chem.Mol) -> float:
    """Synthetic accessibility (1 easy .. 10 hard; Ertl & Schuffenhauer 2009) from RDKit's Contrib ``sascorer``."""
    from rdkit.Contrib.SA_Score import sascorer  # Contrib: imported on first use, loads its fragment table once

    return float(sascorer.calculateScore(mol))


# -- the screener --------------------------------------------------------------------------------------------------


class RulesScreener(Screener):
    """Chemistry rules for aqueous zinc-battery additives; see the module docstring for every rule and default.

    ``screen(smiles, rows=None, processes=1)`` screens in ``processes`` worker processes when above 1 (chunked,
    order kept); :meth:`iter_screen` streams a long iterable (a whole library) the same way.
    """

    name = 'rules'
    version = f'{__version__}+rules.{RULES_VERSION}'

    def __init__(self, **settings) -> None:
        unknown = sorted(set(settings) - set(DEFAULTS))
        if unknown:
            raise ScreenerError(f'Unknown `rules` setting(s) {", ".join(unknown)}; known: {", ".join(DEFAULTS)}')
        resolved = {**DEFAULTS, **settings}
        # Lists, not tuples or sets: the settings go into the provenance (an AiiDA Dict) as they are.
        for key in ('allowed_elements', 'redox_ignore', 'pains_catalogs', 'tox_catalogs'):
            resolved[key] = list(resolved[key])
        if resolved['tox_alerts'] not in TOX_MODES:
            raise ScreenerError(f'tox_alerts must be one of {TOX_MODES}, got {resolved["tox_alerts"]!r}')
        if not 0 < resolved['tox_penalty'] <= 1:
            raise ScreenerError(f'tox_penalty must be in (0, 1], got {resolved["tox_penalty"]}')
        unknown_redox = sorted(set(resolved['redox_ignore']) - {name for name, _, _ in REDOX_ALERTS})
        if unknown_redox:
            raise ScreenerError(f'Unknown redox alert(s) {", ".join(unknown_redox)} in redox_ignore')
        super().__init__(**resolved)
        self._elements = frozenset(resolved['allowed_elements']) | {'H'}
        self._redox = tuple(item for item in _REDOX_PATTERNS if item[0] not in resolved['redox_ignore'])
        self._max_length = _CHARACTERS_PER_ATOM * max(40, resolved['max_heavy_atoms'])
        # Catalogs are built on first use: a worker process builds its own, and ``provenance()`` needs none.
        self._pains: AlertCatalog | None = None
        self._tox: AlertCatalog | None = None

    # -- public API ------------------------------------------------------------------------------------------------

    def screen(
        self,
        smiles: Sequence[str],
        rows: Sequence[dict] | None = None,
        *,
        processes: int = 1,
        chunk_size: int = 1000,
    ) -> list[Screening]:
        """One :class:`Screening` per SMILES, in order; ``processes`` > 1 screens in worker processes."""
        if rows is not None and len(rows) != len(smiles):
            raise ScreenerError(f'{len(rows)} rows given for {len(smiles)} SMILES')
        if processes <= 1:
            with BlockLogs():  # RDKit's parse errors go to stderr; here they become reasons
                return [self._screen_one(item, None if rows is None else rows[i]) for i, item in enumerate(smiles)]
        return list(self.iter_screen(smiles, rows, processes=processes, chunk_size=chunk_size))

    def iter_screen(
        self,
        smiles: Iterable[str],
        rows: Iterable[dict] | None = None,
        *,
        processes: int = 1,
        chunk_size: int = 1000,
    ) -> Iterator[Screening]:
        """Screen an iterable lazily, ``chunk_size`` molecules at a time, in order; at most two chunks per worker
        are in flight, so a library of millions streams in bounded memory."""
        pairs = zip(smiles, rows, strict=True) if rows is not None else ((item, None) for item in smiles)
        chunks = iter(lambda: list(islice(pairs, chunk_size)), [])
        if processes <= 1:
            for chunk in chunks:
                yield from self._screen_chunk(chunk)
            return
        with multiprocessing.get_context().Pool(processes, _init_worker, (dict(self.settings),)) as pool:
            pending: collections.deque = collections.deque()
            for chunk in chunks:
                pending.append(pool.apply_async(_screen_in_worker, (chunk,)))
                if len(pending) >= 2 * processes:
                    yield from pending.popleft().get()
            while pending:
                yield from pending.popleft().get()

    def alerts(self, smiles: str) -> dict[str, list[str]]:
        """Every redox, PAINS and Brenk/NIH alert of ``smiles``'s largest fragment, by kind (for a chemist's look)."""
        with BlockLogs():
            mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            raise ValueError(f'RDKit cannot parse {smiles!r}')
        mol = _largest_fragment(mol)
        words = AlertCatalog.fingerprint(mol)
        return {
            'redox': [name for name, pattern, _ in self._redox if mol.HasSubstructMatch(pattern)],
            'pains': [name for _, name in self._pains_catalog().matches(mol, words)],
            'tox': [name for _, name in self._tox_catalog().matches(mol, words)],
        }

    # -- internals -------------------------------------------------------------------------------------------------

    def _pains_catalog(self) -> AlertCatalog:
        if self._pains is None:
            self._pains = alert_catalog(self.settings['pains_catalogs'])
        return self._pains

    def _tox_catalog(self) -> AlertCatalog:
        if self._tox is None:
            catalogs = self.settings['tox_catalogs'] if self.settings['tox_alerts'] != 'off' else []
            self._tox = alert_catalog(catalogs)
        return self._tox

    def _screen_chunk(self, chunk: list[tuple[str, dict | None]]) -> list[Screening]:
        with BlockLogs():
            return [self._screen_one(smiles, row) for smiles, row in chunk]

    def _screen_one(self, smiles: str, row: dict | None) -> Screening:  # noqa: PLR0911, PLR0912, PLR0915 - one rule a branch
        """All rules for one SMILES; never raises for a bad molecule (the reason says what is wrong)."""
        settings = self.settings
        if not isinstance(smiles, str) or not smiles.strip():
            return Screening(smiles=smiles, passed=False, reasons=['empty or non-string SMILES'])
        if len(smiles) > self._max_length:
            reason = f'SMILES of {len(smiles)} characters, too large to be an additive (limit {self._max_length})'
            return Screening(smiles=smiles, passed=False, reasons=[reason])
        try:
            mol = Chem.MolFromSmiles(smiles)
        except Exception as error:  # RDKit raises for some inputs (e.g. bad ring closures) as well
            return Screening(smiles=smiles, passed=False, reasons=[f'unparseable SMILES ({error})'])
        if mol is None or mol.GetNumAtoms() == 0:
            return Screening(smiles=smiles, passed=False, reasons=['unparseable SMILES (RDKit cannot sanitise it)'])
        if '.' in smiles:
            mol = _largest_fragment(mol)

        reasons: list[str] = []
        predictions: dict[str, float] = {}
        # Elements and size: a molecule failing these is outside what this platform treats; nothing else is computed.
        unknown = sorted({atom.GetSymbol() for atom in mol.GetAtoms()} - self._elements)
        if unknown:
            reasons.append(f'element(s) {", ".join(unknown)} not allowed')
        heavy = mol.GetNumHeavyAtoms()
        predictions['heavy_atoms'] = float(heavy)
        if heavy > settings['max_heavy_atoms']:
            reasons.append(f'{heavy} heavy atoms above {settings["max_heavy_atoms"]}')
        elif heavy < settings['min_heavy_atoms']:
            reasons.append(f'{heavy} heavy atoms below {settings["min_heavy_atoms"]}')
        if reasons:
            return self._result(smiles, reasons, predictions, None)

        charge = Chem.GetFormalCharge(mol)
        predictions['charge'] = float(charge)
        if not settings['min_charge'] <= charge <= settings['max_charge']:
            reasons.append(f'net charge {charge:+d} outside {settings["min_charge"]:+d}..{settings["max_charge"]:+d}')
        for atom in mol.GetAtoms():
            if abs(atom.GetFormalCharge()) > 1:
                reasons.append(f'formal charge {atom.GetFormalCharge():+d} on {atom.GetSymbol()}{atom.GetIdx()}')
            if atom.GetNumRadicalElectrons():
                reasons.append(f'radical on {atom.GetSymbol()}{atom.GetIdx()} (open shell)')

        logp, _ = rdMolDescriptors.CalcCrippenDescriptors(mol)
        predictions['logp'] = logp
        if settings['logp_max'] is not None and logp > settings['logp_max']:
            reasons.append(f'logP {logp:.2f} above {settings["logp_max"]:.2f}')
        if settings['logp_min'] is not None and logp < settings['logp_min']:
            reasons.append(f'logP {logp:.2f} below {settings["logp_min"]:.2f}')
        tpsa = rdMolDescriptors.CalcTPSA(mol)
        predictions['tpsa_a2'] = tpsa
        if settings['tpsa_min'] is not None and tpsa < settings['tpsa_min']:
            reasons.append(f'TPSA {tpsa:.1f} Å² below {settings["tpsa_min"]:.1f}')

        # find_donors' SMARTS count hydrogens with X/H, which include implicit ones: same donors as with AddHs.
        donors = find_donors(mol)
        predictions['n_donors'] = float(len(donors))
        if len(donors) < settings['min_donors']:
            reasons.append(f'{len(donors)} Zn2+ donor atom(s), fewer than {settings["min_donors"]}')

        if settings['redox_alerts']:
            for name, pattern, why in self._redox:
                if mol.HasSubstructMatch(pattern):
                    reasons.append(f'redox alert {name}: {why}')
        if row is not None:
            reasons.extend(self._orbital_reasons(row))

        if reasons and not settings['complete_reasons']:
            return self._result(smiles, reasons, predictions, None)

        # Costly criteria: SA score, PAINS, Brenk/NIH.
        sa = sa_score(mol)
        predictions['sa_score'] = sa
        if settings['sa_max'] is not None and sa > settings['sa_max']:
            reasons.append(f'SA score {sa:.2f} above {settings["sa_max"]:.2f}')
        words = AlertCatalog.fingerprint(mol)  # shared by the PAINS and the Brenk/NIH pre-screens
        pains = self._pains_catalog().matches(mol, words, first_only=not settings['complete_reasons'])
        if pains:
            reasons.append(f'PAINS alert {", ".join(name for _, name in pains)}')
        if reasons and not settings['complete_reasons']:
            return self._result(smiles, reasons, predictions, None)
        tox = self._tox_catalog().matches(mol, words)
        predictions['n_tox_alerts'] = float(len(tox))
        if tox and settings['tox_alerts'] == 'fail':
            reasons.append(f'toxicity/reactivity alert {", ".join(f"{name} ({catalog})" for catalog, name in tox)}')
        if reasons:
            return self._result(smiles, reasons, predictions, None)

        terms = (
            _linear_desirability(logp, 0.0, settings['logp_max']),
            _linear_desirability(sa, 3.5, settings['sa_max']),
            1.0 if len(donors) >= 2 else 0.7,
            settings['tox_penalty'] ** len(tox) if settings['tox_alerts'] == 'penalty' else 1.0,
        )
        score = math.prod(terms) ** (1 / len(terms))
        return self._result(smiles, reasons, predictions, score)

    def _orbital_reasons(self, row: dict) -> list[str]:
        """HOMO/LUMO of the meta-database row against the window; missing or NaN values are not judged."""
        reasons = []
        homo, lumo = _finite(row.get('homo_ev')), _finite(row.get('lumo_ev'))
        limit = self.settings['homo_ev_max']
        if homo is not None and limit is not None and homo > limit:
            reasons.append(f'HOMO {homo:.2f} eV above {limit:.2f} eV: {_OXIDISED}')
        limit = self.settings['lumo_ev_min']
        if lumo is not None and limit is not None and lumo < limit:
            reasons.append(f'LUMO {lumo:.2f} eV below {limit:.2f} eV: {_REDUCED}')
        return reasons

    @staticmethod
    def _result(smiles: str, reasons: list[str], predictions: dict, score: float | None) -> Screening:
        passed = not reasons
        return Screening(
            smiles=smiles,
            passed=passed,
            score=score if passed else 0.0,
            predictions=predictions,
            uncertainty=dict.fromkeys(predictions),  # rules are exact for their own definitions: no uncertainty
            reasons=reasons,
        )


def _largest_fragment(mol: Chem.Mol) -> Chem.Mol:
    """The fragment with the most heavy atoms (the first of equal ones), as ``parse_ligand`` keeps it."""
    fragments = Chem.GetMolFrags(mol, asMols=True, sanitizeFrags=True)
    if len(fragments) == 1:
        return mol
    return max(fragments, key=lambda fragment: fragment.GetNumHeavyAtoms())


def _finite(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


# -- worker processes ----------------------------------------------------------------------------------------------

_WORKER: RulesScreener | None = None


def _init_worker(settings: dict) -> None:
    global _WORKER  # noqa: PLW0603 - one screener per worker process, built once by the pool's initializer
    _WORKER = RulesScreener(**settings)


def _screen_in_worker(chunk: list[tuple[str, dict | None]]) -> list[Screening]:
    assert _WORKER is not None, 'worker not initialised'
    return _WORKER._screen_chunk(chunk)


__all__ = ('DEFAULTS', 'REDOX_ALERTS', 'RULES_VERSION', 'AlertCatalog', 'RulesScreener', 'alert_catalog', 'sa_score')
