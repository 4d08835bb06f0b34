"""The ``rules`` screener: cheap chemistry rules a zinc-battery chemist applies before any calculation.

Each SMILES is parsed once; of a multi-fragment SMILES (a salt) only the largest fragment is judged, as
:func:`~aiida_znadditive.structures.ligands.parse_ligand` keeps it for the complexation WorkChain. Criteria run
cheapest first:

- elements: H B C N O F Si P S Cl Br I (what def2 basis sets, GFN2-xTB and the complexation WorkChain cover);
- heavy atoms: 2 to 40 (an additive, not an ion or a polymer);
- net charge −4 to +2, no atom beyond ±1, no radical (what the WorkChain takes);
- water solubility: Crippen logP ≤ 3.0 for a neutral molecule (an ion dissolves as a salt; TPSA reported, with an
  optional minimum);
- Zn2+ donors: for a neutral molecule or an anion, at least one O/N/S donor as
  :func:`~aiida_znadditive.structures.ligands.find_donors` finds them (a cation acts at the surface, not in the
  solvation shell);
- redox window: no group reduced above Zn2+/Zn or oxidised below the cathode's potential (:data:`REDOX_ALERTS`);
- orbital window: HOMO ≤ −5.6 eV and LUMO ≥ −2.0 eV, when a meta-database row gives them;
- synthetic accessibility: SA score ≤ 4.5 (Ertl & Schuffenhauer, RDKit Contrib);
- PAINS A/B/C: no match (mostly redox cyclers and chelating dyes: parasitic redox in a cell);
- Brenk (NIH opt-in): a score penalty of 0.8 per alert (or a failure, or off): toxicity and reactivity.

Elements and size are checked first: a molecule that fails them is not a molecule this platform can treat, and
nothing else is computed for it. With ``complete_reasons=False`` (the default, for throughput) the costly criteria
(SA score, PAINS, Brenk/NIH) run only for molecules that passed every cheap criterion, so a failed molecule's reasons
list every cheap criterion it failed but not, say, a PAINS alert; ``complete_reasons=True`` evaluates everything.

``stages`` splits the screener in two for a funnel that runs a model between the halves (:meth:`RulesScreener.split`,
:func:`~.cascade.defer_costly_rules`): ``'cheap'`` judges elements and size through the orbital window and nothing
costly; ``'costly'`` judges elements and size (the platform's domain, one substructure search) and then SA score,
PAINS and Brenk/NIH only. The costly half recomputes the cheap descriptors the score and predictions need (logP,
TPSA, donors: about 0.3 ms, for what reaches it), so on a molecule the cheap half passed it gives exactly the
:class:`~.base.Screening` of ``'all'`` (the default, both halves): same predictions, reasons and score. A cheap-half
pass scores the desirability with the costly terms at their best (SA and alert terms 1): an upper bound of the final
score. The stage is a setting, so it is recorded in the provenance; the label of a half-stage in a cascade is
``rules.cheap`` or ``rules.costly`` (:attr:`RulesScreener.label`).

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
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

from rdkit import Chem
from rdkit.Chem import rdMolDescriptors
from rdkit.rdBase import BlockLogs

from ... import __version__
from .base import Screener, ScreenerError, Screening
from .descriptors import AtomTable, CrippenLogP, atom_table, count_donors, parse_smiles
from .descriptors import sa_score as _sa_score
from .rule_alerts import (
    OXIDISED,
    REDOX_ALERTS,
    REDOX_PATTERNS,
    REDOX_SMARTS,
    REDUCED,
    USE_FINGERPRINT,
    AlertCatalog,
    alert_catalog,
    possible_redox_alerts,
)

# Bump when a rule, a threshold default or the score changes: the version recorded with promoted candidates.
RULES_VERSION = '2'  # 2: charges -4..+2, logP of neutral molecules only, no donor rule for cations, SA uncharged

DEFAULTS: dict = {
    # What the complexation WorkChain accepts (protocols/complexation.yaml) and def2 basis sets and GFN2-xTB cover.
    'allowed_elements': ['H', 'B', 'C', 'N', 'O', 'F', 'Si', 'P', 'S', 'Cl', 'Br', 'I'],
    # One heavy atom is water or an ion; above 40 (~550 Da) a molecule is no longer a cheap, mobile additive.
    'min_heavy_atoms': 2,
    'max_heavy_atoms': 40,
    # What the complexation WorkChain and the speciation accept: citrate3- and EDTA4- (published chelating
    # additives) down to -4, ammonium surfactants and diammonium ions up to +2.
    'min_charge': -4,
    'max_charge': 2,
    # Crippen logP: at ≤ 3 a neutral organic is soluble in water at the 0.1-1 M of additive use; None disables. An
    # ion is exempt: a salt dissolves as ions, which Crippen's atom contributions do not describe (sodium dodecyl
    # sulfate, a working surfactant additive, has logP 3.4 as its anion).
    'logp_max': 3.0,
    'logp_min': None,
    # TPSA (Å², N and O only) is reported; a minimum is optional (DMSO has 17, THF 9).
    'tpsa_min': None,
    # Zn2+-binding donors (O/N/S, as the complexation WorkChain finds them), for neutral molecules and anions; a cation
    # acts at the zinc surface (an electrostatic shield at the tips: tetraalkylammonium additives), not in the shell.
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
    # Which criteria this screener judges: 'all', only the 'cheap' ones (elements to orbital window) or only the
    # 'costly' ones (elements and size, then SA score, PAINS, Brenk/NIH), for a model between the two halves.
    'stages': 'all',
}
TOX_MODES = ('penalty', 'fail', 'off')
STAGES = ('all', 'cheap', 'costly')

# Wildman-Crippen logP, exactly RDKit's, with a per-process cache of atom environments (see descriptors.py).
_CRIPPEN = CrippenLogP()

# Hard size guard before parsing: no SMILES of a ≤ 40-heavy-atom molecule needs more characters than this per atom.
_CHARACTERS_PER_ATOM = 25


def _linear_desirability(value: float, ideal: float, limit: float | None, at_limit: float = 0.5) -> float:
    """1 at or below ``ideal``, falling linearly to ``at_limit`` at ``limit`` (clipped to [at_limit, 1])."""
    if limit is None or limit <= ideal or value <= ideal:
        return 1.0
    return max(at_limit, 1.0 - (1.0 - at_limit) * (value - ideal) / (limit - ideal))


def sa_score(mol: Chem.Mol) -> float:
    """Synthetic accessibility (1 easy .. 10 hard; Ertl & Schuffenhauer 2009): RDKit Contrib's ``sascorer`` score,
    computed with fewer Python calls (:func:`.descriptors.sa_score`; the same number)."""
    return _sa_score(mol)


def _any_of(smarts: Iterable[str]) -> Chem.Mol | None:
    """One query atom matching where any of the patterns matches with its first atom there (None for none)."""
    smarts = list(smarts)
    return Chem.MolFromSmarts('[' + ','.join(f'$({item})' for item in smarts) + ']') if smarts else None


def _foreign_atom_query(elements: frozenset[str]) -> Chem.Mol | None:
    """A query atom for any element outside ``elements`` (None when a symbol is not an element: then every
    molecule's symbols are compared)."""
    table = Chem.GetPeriodicTable()
    numbers = {table.GetElementSymbol(number): number for number in range(1, 119)}
    if not elements <= set(numbers):
        return None
    return Chem.MolFromSmarts('[' + ';'.join(f'!#{numbers[symbol]}' for symbol in sorted(elements)) + ']')


# -- the screener --------------------------------------------------------------------------------------------------


class RulesScreener(Screener):
    """Chemistry rules for aqueous zinc-battery additives; see the module docstring for every rule and default.

    ``screen(smiles, rows=None, processes=1)`` screens in ``processes`` worker processes when above 1 (chunked,
    order kept); :meth:`iter_screen` streams a long iterable (a whole library) the same way. :meth:`split` gives the
    cheap and the costly half (setting ``stages``), to run a model between them.
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
        if resolved['stages'] not in STAGES:
            raise ScreenerError(f'stages must be one of {STAGES}, got {resolved["stages"]!r}')
        if not 0 < resolved['tox_penalty'] <= 1:
            raise ScreenerError(f'tox_penalty must be in (0, 1], got {resolved["tox_penalty"]}')
        unknown_redox = sorted(set(resolved['redox_ignore']) - {name for name, _, _ in REDOX_ALERTS})
        if unknown_redox:
            raise ScreenerError(f'Unknown redox alert(s) {", ".join(unknown_redox)} in redox_ignore')
        super().__init__(**resolved)
        self._elements = frozenset(resolved['allowed_elements']) | {'H'}
        self._foreign = _foreign_atom_query(self._elements)
        self._redox = tuple(item for item in REDOX_PATTERNS if item[0] not in resolved['redox_ignore'])
        # Most molecules have no redox alert: one search for any of them first, each alert only after a hit.
        self._any_redox = _any_of(REDOX_SMARTS[name] for name, _, _ in self._redox)
        self._max_length = _CHARACTERS_PER_ATOM * max(40, resolved['max_heavy_atoms'])
        # Catalogs are built on first use: a worker process builds its own, and ``provenance()`` needs none.
        self._pains: AlertCatalog | None = None
        self._tox: AlertCatalog | None = None

    # -- public API ------------------------------------------------------------------------------------------------

    @property
    def label(self) -> str:
        """``rules``, or ``rules.cheap`` / ``rules.costly`` for a half (its stage label in a cascade)."""
        stages = self.settings['stages']
        return self.name if stages == 'all' else f'{self.name}.{stages}'

    def split(self) -> tuple[RulesScreener, RulesScreener]:
        """The cheap and the costly half of this screener (same settings otherwise), for a funnel that runs a model
        between them; on what the cheap half passes, the costly half gives this screener's screenings."""
        if self.settings['stages'] != 'all':
            raise ScreenerError(f'a rules screener with stages={self.settings["stages"]!r} is already a half')
        return type(self)(**{**self.settings, 'stages': 'cheap'}), type(self)(**{**self.settings, 'stages': 'costly'})

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
                return [self._screen_one(item, None if rows is None else rows[i])[0] for i, item in enumerate(smiles)]
        return list(self.iter_screen(smiles, rows, processes=processes, chunk_size=chunk_size))

    def screen_parsed(
        self, smiles: Sequence[str], mols: Sequence | None = None, rows: Sequence[dict] | None = None
    ) -> tuple[list[Screening], list[Chem.Mol | None]]:
        """:meth:`screen` in this process, using the molecules an earlier screener parsed (see
        :meth:`.Screener.screen_parsed`) and returning the molecules it parsed (the judged largest fragment; None
        where the SMILES could not be read)."""
        if rows is not None and len(rows) != len(smiles):
            raise ScreenerError(f'{len(rows)} rows given for {len(smiles)} SMILES')
        if mols is not None and len(mols) != len(smiles):
            raise ScreenerError(f'{len(mols)} molecules given for {len(smiles)} SMILES')
        with BlockLogs():
            results = [
                self._screen_one(item, None if rows is None else rows[i], None if mols is None else mols[i])
                for i, item in enumerate(smiles)
            ]
        return [screening for screening, _ in results], [mol for _, mol in results]

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
            return [self._screen_one(smiles, row)[0] for smiles, row in chunk]

    def _parse(self, smiles: str) -> Chem.Mol | Screening:
        """The judged molecule of ``smiles`` (its largest fragment), or the failed :class:`Screening` saying why."""
        if not isinstance(smiles, str) or not smiles.strip():
            return Screening(smiles=smiles, passed=False, reasons=['empty or non-string SMILES'])
        if len(smiles) > self._max_length:
            reason = f'SMILES of {len(smiles)} characters, too large to be an additive (limit {self._max_length})'
            return Screening(smiles=smiles, passed=False, reasons=[reason])
        mol = parse_smiles(smiles)  # MolFromSmiles without stereo perception, which no rule reads
        if mol is None or mol.GetNumAtoms() == 0:  # MolFromSmiles itself, for its reason (rare: no need for speed)
            try:
                mol = Chem.MolFromSmiles(smiles)
            except Exception as error:  # RDKit raises for some inputs (e.g. bad ring closures) as well
                return Screening(smiles=smiles, passed=False, reasons=[f'unparseable SMILES ({error})'])
            if mol is None or mol.GetNumAtoms() == 0:
                reason = 'unparseable SMILES (RDKit cannot sanitise it)'
                return Screening(smiles=smiles, passed=False, reasons=[reason])
        return _largest_fragment(mol) if '.' in smiles else mol

    def _screen_one(
        self, smiles: str, row: dict | None, mol: Chem.Mol | None = None
    ) -> tuple[Screening, Chem.Mol | None]:
        """The rules of ``stages`` for one SMILES, and the molecule judged (None if unreadable); never raises for a
        bad molecule (the reason says what is wrong). ``mol``: the molecule as :meth:`_parse` gives it, when already
        parsed."""
        settings = self.settings
        parsed_here = mol is None or not isinstance(smiles, str) or not smiles.strip() or len(smiles) > self._max_length
        if parsed_here:
            parsed = self._parse(smiles)
            if isinstance(parsed, Screening):
                return parsed, None
            mol = parsed
        elif '.' in smiles:
            mol = _largest_fragment(mol)  # a no-op on the largest fragment an earlier screener handed on

        reasons: list[str] = []
        predictions: dict[str, float] = {}
        # Elements and size, in every stage: a molecule failing these is outside what this platform treats; nothing
        # else is computed. One substructure search for a foreign element; the symbols are listed only for a
        # molecule that has one.
        if self._foreign is None or mol.HasSubstructMatch(self._foreign):
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
            return self._result(smiles, reasons, predictions, None), mol

        stages = settings['stages']
        # The costly half computes the cheap descriptors (its predictions and score need them) but judges none.
        # The atom table is left on a molecule parsed here, for the screeners after this one (gnn featurisation,
        # the costly half), which get the same molecule object handed on.
        table = atom_table(mol, keep=parsed_here)
        logp, n_donors = self._cheap_criteria(
            smiles, mol, row, predictions, reasons, table=table, judge=stages != 'costly'
        )
        if stages == 'cheap':
            # The desirability with the costly terms at their best: an upper bound of the final score.
            return self._result(smiles, reasons, predictions, self._score(logp, n_donors, None, 0)), mol
        if reasons and not settings['complete_reasons']:
            return self._result(smiles, reasons, predictions, None), mol
        sa, n_tox = self._costly_criteria(mol, table, predictions, reasons)
        if reasons:
            return self._result(smiles, reasons, predictions, None), mol
        return self._result(smiles, reasons, predictions, self._score(logp, n_donors, sa, n_tox)), mol

    def _cheap_criteria(  # noqa: PLR0912 - one rule a branch
        self,
        smiles: str,
        mol: Chem.Mol,
        row: dict | None,
        predictions: dict,
        reasons: list[str],
        *,
        table: AtomTable | None,
        judge: bool,
    ) -> tuple[float, int]:
        """Charge, logP, TPSA, donors, redox alerts and orbital window: their predictions and, when ``judge``, their
        reasons. ``table``: the molecule's atom table (read once for charges, logP and the alert pre-screen). Returns
        logP and the donor count."""
        settings = self.settings
        charge = Chem.GetFormalCharge(mol)
        predictions['charge'] = float(charge)
        if judge and not settings['min_charge'] <= charge <= settings['max_charge']:
            reasons.append(f'net charge {charge:+d} outside {settings["min_charge"]:+d}..{settings["max_charge"]:+d}')
        # Atom charges and radicals only come from bracket atoms (or CXSMILES extensions): without either, an
        # organic-subset atom is neutral and filled up with implicit hydrogens.
        if judge and ('[' in smiles or '|' in smiles):
            if table is not None and table.radicals is not None:  # charges and radicals from the table
                symbol = _symbol
                for index, (atom, radical) in enumerate(zip(table.atoms, table.radicals, strict=True)):
                    if abs(atom[2]) > 1:
                        reasons.append(f'formal charge {atom[2]:+d} on {symbol(atom[0])}{index}')
                    if radical:
                        reasons.append(f'radical on {symbol(atom[0])}{index} (open shell)')
            else:
                get_atom = mol.GetAtomWithIdx
                for index in range(mol.GetNumAtoms()):
                    atom = get_atom(index)
                    if abs(atom.GetFormalCharge()) > 1:
                        reasons.append(f'formal charge {atom.GetFormalCharge():+d} on {atom.GetSymbol()}{index}')
                    if atom.GetNumRadicalElectrons():
                        reasons.append(f'radical on {atom.GetSymbol()}{index} (open shell)')

        logp = _CRIPPEN(mol, table)
        predictions['logp'] = logp
        if judge and charge == 0 and settings['logp_max'] is not None and logp > settings['logp_max']:
            reasons.append(f'logP {logp:.2f} above {settings["logp_max"]:.2f}')
        if judge and settings['logp_min'] is not None and logp < settings['logp_min']:
            reasons.append(f'logP {logp:.2f} below {settings["logp_min"]:.2f}')
        tpsa = rdMolDescriptors.CalcTPSA(mol)
        predictions['tpsa_a2'] = tpsa
        if judge and settings['tpsa_min'] is not None and tpsa < settings['tpsa_min']:
            reasons.append(f'TPSA {tpsa:.1f} Å² below {settings["tpsa_min"]:.1f}')

        # The donors of find_donors (whose SMARTS count implicit hydrogens too: same donors as with AddHs), counted.
        n_donors = count_donors(mol, table)
        predictions['n_donors'] = float(n_donors)
        if not judge:
            return logp, n_donors
        if charge <= 0 and n_donors < settings['min_donors']:
            reasons.append(f'{n_donors} Zn2+ donor atom(s), fewer than {settings["min_donors"]}')
        if not settings['redox_alerts'] or self._any_redox is None:
            pass
        elif table is not None:  # only the alerts the table leaves possible
            possible = possible_redox_alerts(table)
            for name, pattern, why in self._redox:
                if name in possible and mol.HasSubstructMatch(pattern):
                    reasons.append(f'redox alert {name}: {why}')
        elif mol.HasSubstructMatch(self._any_redox):
            for name, pattern, why in self._redox:
                if mol.HasSubstructMatch(pattern):
                    reasons.append(f'redox alert {name}: {why}')
        if row is not None:
            reasons.extend(self._orbital_reasons(row))
        return logp, n_donors

    def _costly_criteria(
        self, mol: Chem.Mol, table: AtomTable | None, predictions: dict, reasons: list[str]
    ) -> tuple[float, int]:
        """SA score, PAINS and Brenk/NIH: their predictions and reasons; returns the SA score and the number of
        Brenk/NIH alerts (Brenk/NIH are skipped after a failure unless ``complete_reasons``)."""
        settings = self.settings
        # Of the molecule as bought or made: the score's fragment table knows few charged fragments, so citrate3-
        # scores 4.7 where citric acid scores 2.4.
        sa = sa_score(_uncharged(mol))
        predictions['sa_score'] = sa
        if settings['sa_max'] is not None and sa > settings['sa_max']:
            reasons.append(f'SA score {sa:.2f} above {settings["sa_max"]:.2f}')
        # Pre-screens shared by PAINS and Brenk/NIH: the pattern fingerprint and the kinds of the atoms (read after
        # both catalogs are built: they register the query atoms the kinds are asked about).
        pains_catalog, tox_catalog = self._pains_catalog(), self._tox_catalog()
        kinds = AlertCatalog.kinds(mol, table)
        words = AlertCatalog.fingerprint(mol) if kinds is None or USE_FINGERPRINT else None
        pains = pains_catalog.matches(mol, words, not settings['complete_reasons'], kinds)
        if pains:
            reasons.append(f'PAINS alert {", ".join(name for _, name in pains)}')
        if reasons and not settings['complete_reasons']:
            return sa, 0
        tox = tox_catalog.matches(mol, words, kinds=kinds)
        predictions['n_tox_alerts'] = float(len(tox))
        if tox and settings['tox_alerts'] == 'fail':
            reasons.append(f'toxicity/reactivity alert {", ".join(f"{name} ({catalog})" for catalog, name in tox)}')
        return sa, len(tox)

    def _score(self, logp: float, n_donors: int, sa: float | None, n_tox: int) -> float:
        """The Derringer desirability (module docstring); ``sa`` None: the SA term at its best, 1."""
        settings = self.settings
        terms = (
            _linear_desirability(logp, 0.0, settings['logp_max']),
            1.0 if sa is None else _linear_desirability(sa, 3.5, settings['sa_max']),
            1.0 if n_donors >= 2 else 0.7,
            settings['tox_penalty'] ** n_tox if settings['tox_alerts'] == 'penalty' else 1.0,
        )
        return math.prod(terms) ** (1 / len(terms))

    def _orbital_reasons(self, row: dict) -> list[str]:
        """HOMO/LUMO of the meta-database row against the window; missing or NaN values are not judged."""
        reasons = []
        homo, lumo = _finite(row.get('homo_ev')), _finite(row.get('lumo_ev'))
        limit = self.settings['homo_ev_max']
        if homo is not None and limit is not None and homo > limit:
            reasons.append(f'HOMO {homo:.2f} eV above {limit:.2f} eV: {OXIDISED}')
        limit = self.settings['lumo_ev_min']
        if lumo is not None and limit is not None and lumo < limit:
            reasons.append(f'LUMO {lumo:.2f} eV below {limit:.2f} eV: {REDUCED}')
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


_PERIODIC_TABLE = Chem.GetPeriodicTable()


def _symbol(number: int) -> str:
    """The element symbol of an atomic number, as ``Atom.GetSymbol`` gives it (dummy atoms never have a table)."""
    return _PERIODIC_TABLE.GetElementSymbol(number)


_UNCHARGER = None


def _uncharged(mol: Chem.Mol) -> Chem.Mol:
    """``mol`` neutralised where it has charged atoms (RDKit's Uncharger; a quaternary N stays charged)."""
    global _UNCHARGER  # noqa: PLW0603 - built once per process, on the first charged molecule
    if not any(atom.GetFormalCharge() for atom in mol.GetAtoms()):
        return mol
    if _UNCHARGER is None:
        from rdkit.Chem.MolStandardize import rdMolStandardize

        _UNCHARGER = rdMolStandardize.Uncharger()
    with BlockLogs():
        return _UNCHARGER.uncharge(mol)


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


__all__ = (
    'DEFAULTS',
    'REDOX_ALERTS',
    'RULES_VERSION',
    'STAGES',
    'AlertCatalog',
    'RulesScreener',
    'alert_catalog',
    'sa_score',
)
