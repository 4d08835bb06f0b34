"""Standardisation with RDKit: one molecule in, the identity columns of the meta-database out.

:func:`standardise` takes a SMILES, :func:`standardise_mol` an RDKit molecule (from an SDF or a 3D structure, which
then also gives ``atomic_numbers`` and ``positions``). Both return a dict of the identity columns of
:mod:`.schema` or raise :class:`MoleculeError` with the reason.

The rules, in order (:class:`StandardiseSettings` holds the knobs):

1. Parse and sanitise (RDKit's valence and aromaticity checks). Failures are ``unparseable SMILES`` (syntax) or
   ``sanitisation failed: ...`` (chemistry, e.g. a five-valent carbon).
2. Metals bonded covalently to N, O, F, ... are disconnected (RDKit's ``MetalDisconnector``), so that a salt drawn
   as ``CC(=O)O[Na]`` becomes the ions it is.
3. Several components (``.`` in a SMILES: how sources mark salts, hydrates and mixtures) are one molecule only with
   ``fragments='keep'``. By default (``'largest_organic'``) the largest fragment containing carbon is kept, with its
   own net charge: counter-ions and solvent go, the ion that matters stays. ``[Na+].CC(=O)[O-]`` is acetate, charge -1;
   ``[Zn+2].[O-]S(=O)(=O)[O-]`` (no carbon) keeps the largest fragment, sulfate, charge -2. A single-component charged
   molecule (an ammonium additive, a zwitterion) is never neutralised unless ``neutralise`` is set. Ties between
   equally large fragments go to the one whose canonical SMILES sorts first, so the result never depends on order.
4. Every element must be in ``allowed_elements`` (``element Se not allowed``), and the molecule must have at most
   ``max_heavy_atoms`` heavy atoms (``too large: 120 heavy atoms``).
5. Optional: ``neutralise`` (RDKit Uncharger) and ``canonical_tautomer`` (RDKit TautomerEnumerator, slow).
6. Identity: canonical isomeric SMILES, standard InChIKey, Hill formula with charge, net charge, sorted elements,
   heavy-atom and total atom counts (hydrogens included).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from rdkit import Chem
from rdkit.Chem.MolStandardize import rdMolStandardize
from rdkit.Chem.rdMolDescriptors import CalcMolFormula
from rdkit.rdBase import BlockLogs

__all__ = (
    'DEFAULT_ELEMENTS',
    'MoleculeError',
    'StandardiseSettings',
    'identity',
    'standardise',
    'standardise_many',
    'standardise_mol',
)

#: Elements of organic electrolyte additives and of the molecular databases imported. Metals are not among them:
#: a zinc complex or a sodium salt is a different kind of entry than the organic molecule it holds.
DEFAULT_ELEMENTS = frozenset(('H', 'B', 'C', 'N', 'O', 'F', 'Si', 'P', 'S', 'Cl', 'Br', 'I'))
FRAGMENT_RULES = ('largest_organic', 'largest', 'keep')
# Element tokens of a CalcMolFormula string ('C2H3O2-', 'CH3*'); the charge suffix has no capital, so it never matches.
_FORMULA_TOKEN = re.compile(r'([A-Z][a-z]?|\*)(\d*)')
# Any metal or metalloid an organic-salt SMILES may bond covalently; checked with one substructure match (C++), so
# that the disconnector only runs on the few molecules that need it.
_METAL = Chem.MolFromSmarts(
    '[Li,Be,Na,Mg,Al,K,Ca,Sc,Ti,V,Cr,Mn,Fe,Co,Ni,Cu,Zn,Ga,Rb,Sr,Y,Zr,Nb,Mo,Tc,Ru,Rh,Pd,Ag,Cd,In,Sn,Cs,Ba,La,Ce,'
    'Hf,Ta,W,Re,Os,Ir,Pt,Au,Hg,Tl,Pb,Bi]'
)


class MoleculeError(ValueError):
    """A molecule that does not enter the database; ``reason`` says why, ``key`` is what skips are counted by.

    ``key`` groups reasons that differ only in a number (``too large: 120 heavy atoms`` counts as ``too large``).
    """

    def __init__(self, reason: str, key: str | None = None) -> None:
        super().__init__(reason, key)
        self.reason = reason
        self.key = key or reason

    def __str__(self) -> str:
        return self.reason


@dataclasses.dataclass(frozen=True)
class StandardiseSettings:
    """What :func:`standardise` keeps and rejects; the defaults suit organic additives and the public databases.

    :param allowed_elements: element symbols a molecule may contain (after fragment selection).
    :param max_heavy_atoms: larger molecules are skipped (polymers, proteins; InChI gets slow on them).
    :param fragments: ``'largest_organic'``, ``'largest'`` (by heavy atoms, carbon or not) or ``'keep'`` (all).
    :param disconnect_metals: break covalent metal-heteroatom bonds before fragment selection.
    :param neutralise: neutralise charged groups where a proton can do it (off: charges of additives matter).
    :param canonical_tautomer: replace the molecule by RDKit's canonical tautomer (off: slow, about 5 ms each).
    :param max_smiles_length: longer SMILES are too large without being parsed.
    """

    allowed_elements: frozenset[str] = DEFAULT_ELEMENTS
    max_heavy_atoms: int = 100
    fragments: str = 'largest_organic'
    disconnect_metals: bool = True
    neutralise: bool = False
    canonical_tautomer: bool = False
    max_smiles_length: int = 2000

    def __post_init__(self) -> None:
        if self.fragments not in FRAGMENT_RULES:
            raise ValueError(f'fragments must be one of {FRAGMENT_RULES}, not {self.fragments!r}')
        if not 1 <= self.max_heavy_atoms <= 10_000:  # the atom counts are int16 columns
            raise ValueError(f'max_heavy_atoms must lie in 1..10000, not {self.max_heavy_atoms}')
        object.__setattr__(self, 'allowed_elements', frozenset(self.allowed_elements))

    @classmethod
    def coerce(cls, settings: StandardiseSettings | dict | None) -> StandardiseSettings:
        """Settings from None (defaults), a dict of fields, or settings."""
        if settings is None:
            return DEFAULT_SETTINGS
        if isinstance(settings, dict):
            return cls(**settings)
        return settings


DEFAULT_SETTINGS = StandardiseSettings()


def standardise(smiles: str, settings: StandardiseSettings | dict | None = None) -> dict:
    """Identity columns of the molecule a SMILES stands for; :class:`MoleculeError` when it cannot enter."""
    settings = StandardiseSettings.coerce(settings)
    if not smiles or not smiles.strip():
        raise MoleculeError('empty SMILES')
    smiles = smiles.strip()
    if len(smiles) > settings.max_smiles_length:
        raise MoleculeError(f'too large: SMILES of {len(smiles)} characters', key='too large')
    with BlockLogs():  # RDKit's own messages would flood the log; the reason is reported instead
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            raise _parse_error(smiles)
    return _finish(mol, settings, several_fragments='.' in smiles)


def standardise_mol(mol: Chem.Mol, settings: StandardiseSettings | dict | None = None, geometry: bool = True) -> dict:
    """Identity columns of an RDKit molecule, plus its 3D structure when it has one and ``geometry`` is set.

    ``mol`` must be sanitised; explicit hydrogens and a conformer are kept for the geometry (``atomic_numbers`` and
    ``positions`` of the atoms of the chosen fragment, in the molecule's atom order) and removed for the identity.
    A geometry is only returned for a 3D conformer, and not when neutralising or the tautomer changed the hydrogens.
    """
    settings = StandardiseSettings.coerce(settings)
    if mol is None or mol.GetNumAtoms() == 0:
        raise MoleculeError('no atoms')
    with BlockLogs():
        return _finish(mol, settings, several_fragments=True, geometry=geometry)


def standardise_many(smiles: Sequence[str], settings: StandardiseSettings | dict | None = None) -> list:
    """:func:`standardise` for each SMILES: a list of identity dicts and ``(reason, key)`` tuples, in input order.

    Tuples instead of exceptions, so that the list pickles cheaply back from a worker process.
    """
    settings = StandardiseSettings.coerce(settings)
    results: list = []
    for each in smiles:
        try:
            results.append(standardise(each, settings))
        except MoleculeError as error:
            results.append((error.reason, error.key))
    return results


def identity(mol: Chem.Mol) -> dict:
    """The identity columns of a sanitised molecule as it is (no fragment choice, no checks)."""
    with BlockLogs():
        inchikey = Chem.MolToInchiKey(mol)
    formula = CalcMolFormula(mol)
    counts = _formula_counts(formula)
    return {
        'inchikey': inchikey,
        'smiles': Chem.MolToSmiles(mol),
        'formula': formula,
        'charge': Chem.GetFormalCharge(mol),
        'elements': sorted(counts),
        'heavy_atoms': mol.GetNumHeavyAtoms(),
        'n_atoms': sum(counts.values()),
    }


def _parse_error(smiles: str) -> MoleculeError:
    """Syntax error or failed sanitisation: parse again without sanitising to tell which (only on failures)."""
    raw = Chem.MolFromSmiles(smiles, sanitize=False)
    if raw is None:
        return MoleculeError('unparseable SMILES')
    try:
        Chem.SanitizeMol(raw)
    except Exception as exception:  # RDKit raises several unrelated exception types here
        return MoleculeError(f'sanitisation failed: {str(exception).splitlines()[0]}', key='sanitisation failed')
    return MoleculeError('unparseable SMILES')


def _formula_counts(formula: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for symbol, number in _FORMULA_TOKEN.findall(formula):
        counts[symbol] = counts.get(symbol, 0) + (int(number) if number else 1)
    return counts


def _finish(mol: Chem.Mol, settings: StandardiseSettings, several_fragments: bool, geometry: bool = False) -> dict:
    if mol.GetNumAtoms() == 0:
        raise MoleculeError('no atoms')
    if settings.disconnect_metals and mol.HasSubstructMatch(_METAL):
        mol = rdMolStandardize.MetalDisconnector().Disconnect(mol)
        several_fragments = True
    if several_fragments and settings.fragments != 'keep':
        mol = _choose_fragment(mol, organic=settings.fragments == 'largest_organic')
    record_geometry = _geometry(mol) if geometry else None
    if mol.GetNumAtoms() != mol.GetNumHeavyAtoms() or geometry:
        mol = Chem.RemoveHs(mol)  # identity from the hydrogen-suppressed graph, as for a SMILES
    formula = CalcMolFormula(mol)
    counts = _formula_counts(formula)
    forbidden = sorted(set(counts) - settings.allowed_elements)
    if forbidden:
        raise MoleculeError(f'element {forbidden[0]} not allowed')
    heavy = mol.GetNumHeavyAtoms()
    if heavy > settings.max_heavy_atoms:
        raise MoleculeError(f'too large: {heavy} heavy atoms', key='too large')
    if settings.neutralise or settings.canonical_tautomer:
        before = Chem.MolToSmiles(mol)
        mol = _optional_steps(mol, settings)
        if Chem.MolToSmiles(mol) != before:
            record_geometry = None  # hydrogens moved: the 3D structure is of another protomer or tautomer
            formula = CalcMolFormula(mol)
            counts = _formula_counts(formula)
    inchikey = Chem.MolToInchiKey(mol)
    if not inchikey:
        raise MoleculeError('no InChIKey (InChI failed)')
    record = {
        'inchikey': inchikey,
        'smiles': Chem.MolToSmiles(mol),
        'formula': formula,
        'charge': Chem.GetFormalCharge(mol),
        'elements': sorted(counts),
        'heavy_atoms': heavy,
        'n_atoms': sum(counts.values()),
    }
    if record_geometry is not None:
        record.update(record_geometry)
    return record


def _choose_fragment(mol: Chem.Mol, organic: bool) -> Chem.Mol:
    fragments = Chem.GetMolFrags(mol, asMols=True)
    if len(fragments) == 1:
        return fragments[0]

    def rank(fragment: Chem.Mol) -> tuple:
        has_carbon = any(atom.GetAtomicNum() == 6 for atom in fragment.GetAtoms())
        # Negated so that min() picks: organic first, then most heavy atoms, then the first canonical SMILES.
        return (-(has_carbon and organic), -fragment.GetNumHeavyAtoms(), Chem.MolToSmiles(fragment))

    return min(fragments, key=rank)


def _geometry(mol: Chem.Mol) -> dict | None:
    if mol.GetNumConformers() == 0 or not mol.GetConformer().Is3D():
        return None
    positions = mol.GetConformer().GetPositions()
    return {
        'atomic_numbers': [atom.GetAtomicNum() for atom in mol.GetAtoms()],
        'positions': positions.astype('float32').ravel(),
    }


def _optional_steps(mol: Chem.Mol, settings: StandardiseSettings) -> Chem.Mol:
    if settings.neutralise:
        mol = rdMolStandardize.Uncharger().uncharge(mol)
    if settings.canonical_tautomer:
        mol = rdMolStandardize.TautomerEnumerator().Canonicalize(mol)
    return mol
