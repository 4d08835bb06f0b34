"""Additives at the electrolyte's pH: the dominant microspecies that is actually built into a Zn2+ complex.

An additive is written as a neutral molecule or a salt (``CC(=O)O``, ``[Na+].CC(=O)[O-]``, ``ZnSO4``), but in a
ZnSO4 electrolyte at pH ~4.5 acetic acid is mostly acetate, an amine is an ammonium (not a donor) and sulfate is
SO4 2-. :func:`speciate` splits a salt into ions (the additive is the largest fragment, as in
:func:`~aiida_znadditive.structures.ligands.parse_ligand`; the counter-ions are recorded as spectators), neutralises
it and asks dimorphite-dl (Durrant lab; SMARTS-matched ionisable groups with tabulated pKa values) for the
protonation state at exactly the given pH.

dimorphite-dl is called with ``ph_min = ph_max = pH`` and ``precision = 0``: every site is protonated when its mean pKa
lies above the pH and deprotonated when below, so there is one output, the dominant microspecies in the site-by-site
(Henderson-Hasselbalch, no site-site coupling) approximation. A pKa exactly equal to the pH gives both states equal
weight; ``max_variants = 1`` then keeps the deprotonated one (dimorphite's tie rule), deterministically.

dimorphite-dl's class-averaged pKa values are wrong for a few species that matter here (plain alkanoic acids such as
acetic acid, 4.8 against the class's 3.46; pyridine; imidazole; sulfuric acid); :data:`PKA_OVERRIDES` corrects
them with measured values, fed to dimorphite-dl as SMARTS entries matched before its own (see the table's comments).
The plain polycarboxylic acids (oxalic, malonic, succinic, glutaric, adipic, phthalic and citric skeletons) get
their measured stepwise pKa values, since independent sites at one class value made malonic acid a dianion at pH 4.5.
Other acids with two or more carboxyls and no cationic site are coupled afterwards (:mod:`.acid_coupling`: a first
carboxylate raises the pKa of the next, so malic acid is HMal- at pH 4.5, not a dianion). Known remaining limits,
left as dimorphite-dl gives them: zwitterionic chelators keep independent sites, so they lose their last proton too
early or too late (EDTA is H2EDTA2- at pH 4.5, which is right, but also at pH 7, where HEDTA3- is dominant); H3PO4
at pH 7 gives
HPO4 2- (dimorphite's pKa2 6.5; measured 7.2, so H2PO4- is dominant there); substituted pyridines
and imidazoles other than those in the table (methyl-, amino- and dimethylaminopyridines, methylimidazoles,
benzimidazole, quinoline, isoquinoline) keep dimorphite's generic pyridine-type N pKa (4.35), right for
electron-poor rings and 1-3 units too low for electron-rich ones; HCl and HBr (a chloride or
bromide given alone) come out neutral, as dimorphite-dl has no entry for them.

Everything here is plain RDKit and dimorphite-dl; nothing creates AiiDA nodes
(:func:`aiida_znadditive.analysis.speciation.speciate_additive` is the calcfunction).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version

from rdkit import Chem
from rdkit.Chem.MolStandardize import rdMolStandardize
from rdkit.rdBase import BlockLogs

from .acid_coupling import CARBOXYLATE, couple_carboxyl_sites
from .ligands import MAX_NET_CHARGE, MIN_NET_CHARGE, main_fragment
from .pka_table import PKA_OVERRIDES, PkaOverride

__all__ = [
    'DEFAULT_PH',
    'PKA_OVERRIDES',
    'PkaOverride',
    'SpeciationError',
    'Species',
    'site_pkas',
    'speciate',
    'speciate_many',
]

#: pH of a mildly acidic ZnSO4 electrolyte (1-2 M ZnSO4 is pH 4-5 from Zn2+ hydrolysis).
DEFAULT_PH = 4.5
TOOL = 'dimorphite-dl'
REASONS = ('invalid_smiles', 'speciation_failed', 'no_species', 'impossible_charge')


# Names of ionisable groups for the human-readable changes, first match wins; the ionisable atom is the first atom
# of each pattern, matched on the neutral (uncharged) additive with explicit hydrogens.
_GROUP_PATTERNS = tuple(
    (kind, Chem.MolFromSmarts(smarts))
    for kind, smarts in (
        ('carboxylic acid O', '[OX2H1][CX3]=[OX1]'),
        ('sulfuric acid O', '[OX2H1][SX4](=O)(=O)[OX2H1]'),
        ('sulfate ester O', '[OX2H1][SX4](=O)(=O)O[#6]'),
        ('sulfonic acid O', '[OX2H1][SX4](=O)(=O)'),
        ('phosphoric acid O', '[OX2H1][PX4]=O'),
        ('phenol O', '[OX2H1]c'),
        ('hydroxyl O', '[OX2H1]'),
        ('thiol S', '[SX2H1]'),
        ('sulfonamide N', '[#7][SX4](=O)=O'),
        ('amide N', '[#7][CX3]=[O,S]'),
        ('aromatic N', '[n]'),
        ('amine N', '[NX3]'),
        ('imine N', '[NX2]'),
    )
)


class SpeciationError(ValueError):
    """An additive without a usable species at the pH; ``reason`` is one of :data:`REASONS`, ``smiles`` the input."""

    def __init__(self, smiles: str, reason: str, detail: str) -> None:
        if reason not in REASONS:
            raise ValueError(f'Unknown speciation error reason {reason!r}; expected one of {REASONS}.')
        self.smiles = smiles
        self.reason = reason
        super().__init__(f'Additive {smiles!r}: {detail}')


@dataclass(frozen=True)
class Species:
    """The dominant microspecies of an additive at ``ph``.

    ``smiles`` is the canonical RDKit SMILES of the additive (ligand fragment) in that state, ``charge`` its net
    charge, ``spectators`` the SMILES of the fragments dropped from a salt (in input order), ``changes`` what
    protonation changed relative to the neutral additive (e.g. 'carboxylic acid O deprotonated'), one entry per atom,
    and ``tool`` the program and version that chose the state.
    """

    input_smiles: str
    smiles: str
    charge: int
    ph: float
    spectators: tuple[str, ...]
    changes: tuple[str, ...]
    tool: str

    def as_dict(self) -> dict:
        """Plain JSON-able dict (lists, not tuples), as stored in an AiiDA Dict node."""
        return {
            'input_smiles': self.input_smiles,
            'smiles': self.smiles,
            'charge': self.charge,
            'ph': self.ph,
            'spectators': list(self.spectators),
            'changes': list(self.changes),
            'tool': self.tool,
        }


@cache  # read once: importlib.metadata costs about a millisecond, and a screening funnel speciates millions
def tool_version() -> str:
    """Installed dimorphite-dl version (part of the provenance: its pKa table changes between releases)."""
    return version('dimorphite-dl')


def check_ph(ph: float) -> float:
    """Return ``ph`` as a float; raise ValueError, naming the value, unless it is finite and within 0..14."""
    try:
        value = float(ph)
    except (TypeError, ValueError):
        raise ValueError(f'pH {ph!r} is not a number.') from None
    if not math.isfinite(value) or not 0.0 <= value <= 14.0:
        raise ValueError(f'pH {ph!r} is outside 0..14 (or not finite).')
    return value


@cache
def _pka_table():
    """dimorphite-dl's site table with :data:`PKA_OVERRIDES` first, so they claim their atoms before its own entries.

    Built once; dimorphite-dl's own table (a process-wide singleton) is read, never modified.
    """
    from dimorphite_dl.protonate.data import PKaData
    from dimorphite_dl.protonate.site import PKaDatum, SubstructureDatum

    class _Table:
        def __init__(self, entries):
            self._entries = entries

        def get_substructures(self):
            yield from self._entries

    overrides = [
        SubstructureDatum(
            name=f'znadditive_{entry.name.replace(" ", "_")}',
            smarts=entry.smarts,
            mol=Chem.MolFromSmarts(entry.smarts),
            # precision is 0, so the standard deviation is never used.
            pkas=[PKaDatum(idx_site=index, mean=pka, stdev=0.0) for index, pka in entry.sites],
        )
        for entry in PKA_OVERRIDES
    ]
    return _Table([*overrides, *PKaData().get_substructures()])


@cache
def _changing_patterns(ph: float) -> tuple[Chem.Mol, ...]:
    """The site patterns of :func:`_pka_table` with a site that leaves the neutral form at ``ph``.

    dimorphite-dl (precision 0) protonates a site whose pKa lies above the pH and deprotonates one whose pKa lies at
    or below it. On a nitrogen the protonated form is the cation, so its neutral form is the deprotonated one; on any
    other atom (and on the nitrogen of a site whose name carries ``*``, an acidic NH) the neutral form is the protonated
    one. A site whose atom the pattern leaves open (``[S,O]``) counts as changing. A molecule that matches none of
    these patterns, and has no charged atom left after neutralisation, keeps its neutral form whatever the others
    match: :func:`speciate` then skips dimorphite-dl.
    """
    changing = []
    for entry in _pka_table().get_substructures():
        for pka in entry.pkas:
            element = entry.mol.GetAtomWithIdx(pka.idx_site).GetAtomicNum()
            neutral_is_protonated = element != 7 or '*' in entry.name
            if element == 0 or (pka.mean <= ph if neutral_is_protonated else pka.mean > ph):
                changing.append(entry.mol)
                break
    return tuple(changing)


def _keeps_neutral_form(neutral: Chem.Mol, ph: float) -> bool:
    """Whether dimorphite-dl would return ``neutral`` unchanged at ``ph``: no site pattern that changes there matches
    (on explicit hydrogens, as dimorphite-dl matches). About 0.2 ms against 3 ms for dimorphite-dl's own run."""
    if any(atom.GetFormalCharge() for atom in neutral.GetAtoms()):
        return False  # a zwitterion the Uncharger cannot neutralise (a quaternary ammonium's phosphate) has sites
    with_hs = Chem.AddHs(neutral)  # that are not in their neutral form: dimorphite-dl decides
    return not any(with_hs.HasSubstructMatch(pattern) for pattern in _changing_patterns(ph))


def _protonate(smiles: str, ph: float) -> list[str]:
    """dimorphite-dl's dominant state(s) of ``smiles`` at exactly ``ph`` (see the module docstring)."""
    from dimorphite_dl.protonate.run import Protonate

    protonator = Protonate(
        smiles_input=[smiles],  # a list: a single string that names an existing file would be read as that file
        ph_min=ph,
        ph_max=ph,
        precision=0.0,
        max_variants=1,
    )
    # dimorphite-dl 2.x has no public hook for extra pKa entries; its site detector reads them from this attribute.
    protonator.site_detector.pka_data = _pka_table()
    return protonator.to_list()


def _override_sites(mol: Chem.Mol) -> dict[int, tuple[str, float]]:
    """Atoms of ``mol`` (explicit hydrogens) whose pKa comes from :data:`PKA_OVERRIDES`: index -> (name, pKa)."""
    sites: dict[int, tuple[str, float]] = {}
    for entry in PKA_OVERRIDES:
        pattern = Chem.MolFromSmarts(entry.smarts)
        for match in mol.GetSubstructMatches(pattern):
            for index, pka in entry.sites:
                sites.setdefault(match[index], (entry.name, pka))
    return sites


def _skeleton(mol: Chem.Mol) -> Chem.Mol:
    """Heavy-atom graph without charges and hydrogens: what protonation does not change."""
    with BlockLogs():  # RemoveHs warns about a bare proton ([H+]), which has nothing to remove
        skeleton = Chem.RWMol(Chem.RemoveHs(mol))
    for atom in skeleton.GetAtoms():
        atom.SetFormalCharge(0)
        atom.SetNoImplicit(True)
        atom.SetNumExplicitHs(0)
    skeleton.UpdatePropertyCache(strict=False)
    return skeleton


def _changes(neutral: Chem.Mol, species: Chem.Mol) -> tuple[str, ...]:
    """What protonation changed, atom by atom, from the neutral additive to the species (in neutral atom order)."""
    # A symmetric skeleton has several matches: imidazole's two N swap in imidazolium, and the swapped match reads as
    # "N1 lost its charge, N3 gained an H". The match in which each atom gains or loses protons with their charge
    # (then the fewest changed atoms) describes what happened; the others describe tautomer shifts that did not.
    matches = _skeleton(species).GetSubstructMatches(_skeleton(neutral), uniquify=False, maxMatches=10000)
    if not matches or neutral.GetNumAtoms() != species.GetNumAtoms():
        # Not expected (dimorphite-dl only moves protons), but a changed skeleton must not pass silently.
        return (f'structure changed beyond protonation: {Chem.MolToSmiles(neutral)} -> {Chem.MolToSmiles(species)}',)

    def cost(match: tuple[int, ...]) -> tuple[int, int]:
        deltas = [
            (
                species.GetAtomWithIdx(j).GetTotalNumHs() - atom.GetTotalNumHs(),
                species.GetAtomWithIdx(j).GetFormalCharge() - atom.GetFormalCharge(),
            )
            for atom, j in zip(neutral.GetAtoms(), match, strict=True)
        ]
        return sum(h != q for h, q in deltas), sum(h != 0 or q != 0 for h, q in deltas)

    match = min(matches, key=cost)
    with_hs = Chem.AddHs(neutral)  # AddHs appends the hydrogens, so heavy-atom indices are unchanged
    kinds: dict[int, str] = {}
    for kind, pattern in _GROUP_PATTERNS:
        # uniquify=False: the two OH of H2SO4 form one atom set, which uniquify would report for one O only.
        for found in with_hs.GetSubstructMatches(pattern, uniquify=False):
            kinds.setdefault(found[0], kind)
    overrides = _override_sites(with_hs)
    changes = []
    for atom in neutral.GetAtoms():
        index = atom.GetIdx()
        other = species.GetAtomWithIdx(match[index])
        protons = other.GetTotalNumHs() - atom.GetTotalNumHs()
        charge = other.GetFormalCharge() - atom.GetFormalCharge()
        if protons == 0 and charge == 0:
            continue
        kind = kinds.get(index, atom.GetSymbol())
        if protons == charge:
            verb = 'protonated' if protons > 0 else 'deprotonated'
            text = f'{kind} {verb}' if abs(protons) == 1 else f'{kind} {verb} ({abs(protons)} H)'
        else:
            text = f'{kind}: {protons:+d} H, formal charge {atom.GetFormalCharge():+d} -> {other.GetFormalCharge():+d}'
        if index in overrides:
            name, pka = overrides[index]
            text += f' (pKa {pka} override: {name})'
        changes.append(text)
    return tuple(changes)


def _find_sites(neutral_smiles: str) -> list:
    """dimorphite-dl's ionisable sites of ``neutral_smiles`` with :data:`PKA_OVERRIDES` first (no state built)."""
    from dimorphite_dl.mol import MoleculeRecord
    from dimorphite_dl.protonate.detect import ProtonationSiteDetector

    detector = ProtonationSiteDetector()
    detector.pka_data = _pka_table()
    return detector.find_sites(MoleculeRecord(neutral_smiles))[1]


def _carboxyl_site_pkas(neutral_smiles: str, species: Chem.Mol) -> dict[int, float]:
    """Carboxyl carbon of ``species`` -> the pKa dimorphite-dl gave its site, for the sites :mod:`.acid_coupling`
    may couple: a class value or a single-site override, not one of an override's stepwise values. Empty for a
    species with a cationic site (an amino acid's ammonium attracts the protons that a carboxylate holds; the
    overrides and dimorphite-dl's classes give those species as they are)."""
    if any(atom.GetFormalCharge() > 0 for atom in species.GetAtoms()):
        return {}
    if len(species.GetSubstructMatches(CARBOXYLATE)) < 2:
        return {}  # nothing to couple; the second site search was half of a MOSES molecule's speciation time
    sites = _find_sites(neutral_smiles)
    carbons: dict[int, float] = {}
    site_mol = None
    for site in sites:
        if len(site.pkas) != 1:
            continue  # a stepwise override: its sites' values already hold the coupling
        site_mol = site.mol
        oxygen = site_mol.GetAtomWithIdx(site.idxs_match[site.pkas[0].idx_site])
        if oxygen.GetSymbol() != 'O':
            continue
        for carbon in oxygen.GetNeighbors():
            is_carboxyl = carbon.GetSymbol() == 'C' and any(
                bond.GetBondType() == Chem.BondType.DOUBLE and bond.GetOtherAtom(carbon).GetSymbol() == 'O'
                for bond in carbon.GetBonds()
            )
            if is_carboxyl:
                carbons[carbon.GetIdx()] = float(site.pkas[0].mean)
    if not carbons or site_mol is None:
        return {}
    # the detector's molecule (explicit hydrogens, its own atom order) mapped onto the species by their skeletons
    for atom in site_mol.GetAtoms():
        atom.SetIntProp('site_index', atom.GetIdx())
    heavy = _skeleton(site_mol)
    match = _skeleton(species).GetSubstructMatch(heavy)
    if not match:
        return {}
    to_species = {heavy.GetAtomWithIdx(i).GetIntProp('site_index'): j for i, j in enumerate(match)}
    return {to_species[carbon]: pka for carbon, pka in carbons.items() if carbon in to_species}


def speciate(smiles: str, ph: float = DEFAULT_PH) -> Species:
    """Return the dominant microspecies of the additive ``smiles`` at ``ph``.

    A salt keeps its largest fragment that is not a metal cation (``ligands.main_fragment``) as the additive, as
    :func:`~aiida_znadditive.structures.ligands.parse_ligand` does; the other fragments are the spectators. The
    additive is neutralised first (RDKit's Uncharger), so a salt, a zwitterion and the neutral acid give one species.

    :param smiles: the additive's SMILES, neutral, charged or as a salt.
    :param ph: the electrolyte's pH, 0..14.
    :raises ValueError: for a pH that is not finite or outside 0..14 (names the value).
    :raises SpeciationError: with reason 'invalid_smiles', 'speciation_failed' (dimorphite-dl raised; its message is
        kept), 'no_species' (dimorphite-dl returned no state) or 'impossible_charge' (net charge of the species
        outside MIN_NET_CHARGE..MAX_NET_CHARGE of :mod:`~aiida_znadditive.structures.ligands`).
    """
    ph = check_ph(ph)
    if not isinstance(smiles, str):
        raise SpeciationError(repr(smiles), 'invalid_smiles', f'expected a SMILES string, got {type(smiles).__name__}.')
    # RDKit prints parse/sanitisation errors to stderr; we report them through SpeciationError instead.
    with BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None or mol.GetNumAtoms() == 0:
        raise SpeciationError(smiles, 'invalid_smiles', 'RDKit cannot parse or sanitise this SMILES.')

    fragments = Chem.GetMolFrags(mol, asMols=True, sanitizeFrags=True)
    keep = main_fragment(fragments)  # the same choice parse_ligand makes
    spectators = tuple(Chem.MolToSmiles(fragment) for i, fragment in enumerate(fragments) if i != keep)
    with BlockLogs():
        neutral = Chem.MolFromSmiles(Chem.MolToSmiles(rdMolStandardize.Uncharger().uncharge(fragments[keep])))
    if neutral is None:
        # The Uncharger can write an impossible neutral acid (PF6- -> HPF6 with 7-valent P); the ion then goes to
        # dimorphite-dl as written.
        neutral = fragments[keep]

    neutral_smiles = Chem.MolToSmiles(neutral)
    try:
        # dimorphite-dl's RDKit calls print warnings to stderr; a failure is reported through SpeciationError.
        with BlockLogs():
            # most molecules of a library have no site that changes at the pH: their species is the neutral form
            keeps = _keeps_neutral_form(neutral, ph)
            states = [neutral_smiles] if keeps else _protonate(neutral_smiles, ph)
    except Exception as error:  # any failure of the tool is a failed speciation of this input, not a crash
        raise SpeciationError(smiles, 'speciation_failed', f'{TOOL} failed: {type(error).__name__}: {error}') from error
    if not states:
        raise SpeciationError(smiles, 'no_species', f'{TOOL} returned no protonation state at pH {ph}.')
    with BlockLogs():
        species = Chem.MolFromSmiles(states[0].split()[0])
    if species is None:
        raise SpeciationError(smiles, 'speciation_failed', f'{TOOL} returned an unreadable SMILES {states[0]!r}.')

    # dimorphite-dl's sites are independent: a first carboxylate's charge holding a second proton is added here
    species, coupling = couple_carboxyl_sites(species, _carboxyl_site_pkas(neutral_smiles, species), ph)

    charge = Chem.GetFormalCharge(species)
    if not MIN_NET_CHARGE <= charge <= MAX_NET_CHARGE:
        raise SpeciationError(
            smiles,
            'impossible_charge',
            f'species {Chem.MolToSmiles(species)} at pH {ph} has net charge {charge:+d}, outside '
            f'{MIN_NET_CHARGE:+d}..{MAX_NET_CHARGE:+d}.',
        )
    species_smiles = Chem.MolToSmiles(species)
    # the same canonical SMILES: nothing moved (most molecules of a library), and the atom-by-atom account is skipped
    unchanged = species_smiles == neutral_smiles
    return Species(
        input_smiles=smiles,
        smiles=species_smiles,
        charge=int(charge),
        ph=ph,
        spectators=spectators,
        changes=(() if unchanged else _changes(neutral, species)) + coupling,
        tool=f'{TOOL} {tool_version()}',
    )


def speciate_many(smiles_list: Iterable[str], ph: float = DEFAULT_PH) -> list[Species | SpeciationError]:
    """:func:`speciate` each SMILES; a failed one gives its :class:`SpeciationError` in its place and the batch goes on.

    Only a bad ``ph`` (shared by the whole batch) raises ValueError, before any molecule is processed.
    """
    ph = check_ph(ph)
    results: list[Species | SpeciationError] = []
    for smiles in smiles_list:
        try:
            results.append(speciate(smiles, ph))
        except SpeciationError as error:
            results.append(error)
    return results


@cache
def site_pkas(smiles: str) -> tuple[float, ...]:
    """The pKa values of the ionisable sites of ``smiles`` (its main fragment, neutralised), as :func:`speciate`
    uses them (:data:`PKA_OVERRIDES` first, then dimorphite-dl's table), sorted; () when it has none or cannot be
    read. One site search, without building any protonation state: for questions such as whether a molecule
    buffers near the electrolyte's pH, asked of every molecule a generator proposes."""
    with BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
        if mol is None or mol.GetNumAtoms() == 0:
            return ()
        fragments = Chem.GetMolFrags(mol, asMols=True, sanitizeFrags=True)
        neutral = rdMolStandardize.Uncharger().uncharge(fragments[main_fragment(fragments)])
        try:
            sites = _find_sites(Chem.MolToSmiles(neutral))
        except Exception:  # a molecule the tool cannot read has no site it knows of
            return ()
    return tuple(sorted(float(pka.mean) for site in sites for pka in site.pkas))
