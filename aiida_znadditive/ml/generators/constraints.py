"""Hard limits on a molecule (elements, net charge, heavy atoms, Crippen logP window, SA-score ceiling), checked
before any scorer call, and the SMILES helpers they use."""

from __future__ import annotations

import dataclasses

from rdkit import Chem
from rdkit.rdBase import BlockLogs

from .errors import GeneratorError

#: What the ``rules`` screener (and the complexation WorkChain) accepts: the default allowed elements.
DEFAULT_ELEMENTS = ('H', 'B', 'C', 'N', 'O', 'F', 'Si', 'P', 'S', 'Cl', 'Br', 'I')

# -- constraints ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Violation:
    """A constraint a molecule breaks: ``kind`` (to count by) and a message with the values."""

    kind: str
    message: str


@dataclasses.dataclass
class Constraints:
    """Hard limits on generated molecules; a molecule that breaks one is never scored.

    Defaults are the ``rules`` screener's domain: its elements, net charge −2..+1, 2-40 heavy atoms, Crippen
    logP ≤ 3 (water-soluble), SA score ≤ 4.5. None switches a limit off. Every molecule must also be one connected
    fragment without radicals.
    """

    elements: tuple[str, ...] = DEFAULT_ELEMENTS
    min_charge: int | None = -2
    max_charge: int | None = 1
    min_heavy_atoms: int | None = 2
    max_heavy_atoms: int | None = 40
    logp_min: float | None = None
    logp_max: float | None = 3.0
    sa_max: float | None = 4.5

    def __post_init__(self) -> None:
        self.elements = tuple(self.elements)

    def contradictions(self) -> list[str]:
        """Why no molecule can satisfy these constraints, as far as that is known without a search (empty: none
        found). A contradiction the limits do not show (logP window no molecule of the allowed elements reaches)
        shows up during a run instead: every candidate is discarded, and the stop reason counts why."""
        found = []
        table = Chem.GetPeriodicTable()
        unknown = []
        for symbol in self.elements:
            try:
                ok = (
                    table.GetAtomicNumber(symbol) > 0
                    and table.GetElementSymbol(table.GetAtomicNumber(symbol)) == symbol
                )
            except (RuntimeError, ValueError):
                ok = False
            if not ok:
                unknown.append(symbol)
        if unknown:
            found.append(f'unknown element symbol(s) {", ".join(map(repr, unknown))}')
        heavy_elements = [symbol for symbol in self.elements if symbol not in unknown and symbol != 'H']
        if not self.elements:
            found.append('the set of allowed elements is empty')
        elif not heavy_elements:
            found.append('no heavy element allowed (hydrogen alone makes no additive)')
        for low, high, what in (
            (self.min_charge, self.max_charge, 'net charge'),
            (self.min_heavy_atoms, self.max_heavy_atoms, 'heavy atoms'),
            (self.logp_min, self.logp_max, 'logP'),
        ):
            if low is not None and high is not None and low > high:
                found.append(f'{what}: minimum {low} above maximum {high}')
        if self.max_heavy_atoms is not None and self.max_heavy_atoms < 1:
            found.append(f'at most {self.max_heavy_atoms} heavy atoms: no molecule has fewer than 1')
        if self.sa_max is not None and self.sa_max < 1.0:
            found.append(f'SA score ceiling {self.sa_max} below 1, the lowest SA score there is')
        return found

    def validate(self) -> None:
        """Raise :class:`GeneratorError` listing every contradiction found."""
        found = self.contradictions()
        if found:
            raise GeneratorError('contradictory constraints, no molecule can satisfy them: ' + '; '.join(found))

    def violations(self, mol: Chem.Mol | None) -> list[Violation]:
        """Every constraint ``mol`` breaks (cheap ones first; logP and SA only for a molecule that passed those)."""
        if mol is None or mol.GetNumAtoms() == 0:
            return [Violation('invalid', 'not a valid molecule')]
        found = self._structure_violations(mol)
        return found or self._property_violations(mol)

    def _structure_violations(self, mol: Chem.Mol) -> list[Violation]:
        found = []
        if len(Chem.GetMolFrags(mol)) > 1:
            found.append(Violation('fragments', 'more than one fragment'))
        allowed = set(self.elements)
        foreign = sorted({atom.GetSymbol() for atom in mol.GetAtoms()} - allowed)
        if 'H' not in allowed and any(atom.GetTotalNumHs() for atom in mol.GetAtoms()):
            foreign = sorted({*foreign, 'H'})
        if foreign:
            found.append(Violation('elements', f'element(s) {", ".join(foreign)} not allowed'))
        if any(atom.GetNumRadicalElectrons() for atom in mol.GetAtoms()):
            found.append(Violation('radical', 'radical (open shell)'))
        charge = Chem.GetFormalCharge(mol)
        if self.min_charge is not None and charge < self.min_charge:
            found.append(Violation('charge', f'net charge {charge:+d} below {self.min_charge:+d}'))
        if self.max_charge is not None and charge > self.max_charge:
            found.append(Violation('charge', f'net charge {charge:+d} above {self.max_charge:+d}'))
        heavy = mol.GetNumHeavyAtoms()
        if self.min_heavy_atoms is not None and heavy < self.min_heavy_atoms:
            found.append(Violation('heavy atoms', f'{heavy} heavy atoms below {self.min_heavy_atoms}'))
        if self.max_heavy_atoms is not None and heavy > self.max_heavy_atoms:
            found.append(Violation('heavy atoms', f'{heavy} heavy atoms above {self.max_heavy_atoms}'))
        return found

    def _property_violations(self, mol: Chem.Mol) -> list[Violation]:
        found = []
        if self.logp_min is not None or self.logp_max is not None:
            logp = _logp(mol)
            if self.logp_min is not None and logp < self.logp_min:
                found.append(Violation('logP', f'logP {logp:.2f} below {self.logp_min:.2f}'))
            if self.logp_max is not None and logp > self.logp_max:
                found.append(Violation('logP', f'logP {logp:.2f} above {self.logp_max:.2f}'))
        if self.sa_max is not None:
            sa = _sa(mol)
            if sa > self.sa_max:
                found.append(Violation('SA score', f'SA score {sa:.2f} above {self.sa_max:.2f}'))
        return found

    def check(self, mol: Chem.Mol | str | None) -> list[str]:
        """The reasons ``mol`` (a molecule or a SMILES) breaks these constraints; empty when it satisfies them."""
        if isinstance(mol, str):
            mol = parse(mol)
        return [violation.message for violation in self.violations(mol)]

    def as_dict(self) -> dict:
        return {**dataclasses.asdict(self), 'elements': list(self.elements)}


def _logp(mol: Chem.Mol) -> float:
    from ..screeners.descriptors import CrippenLogP

    global _CRIPPEN  # noqa: PLW0603 - one cached calculator per process
    if _CRIPPEN is None:
        _CRIPPEN = CrippenLogP()
    return _CRIPPEN(mol)


_CRIPPEN = None


def _sa(mol: Chem.Mol) -> float:
    from ..screeners.descriptors import sa_score

    return sa_score(Chem.Mol(mol))  # sa_score perceives stereo on the molecule it is given: a copy


def parse(smiles: str) -> Chem.Mol | None:
    """``Chem.MolFromSmiles`` without RDKit's log lines; None for an unreadable or empty SMILES."""
    if not isinstance(smiles, str) or not smiles.strip():
        return None
    with BlockLogs():
        try:
            mol = Chem.MolFromSmiles(smiles)
        except Exception:  # RDKit raises for some malformed input
            return None
    return mol if mol is not None and mol.GetNumAtoms() else None


def canonical(smiles_or_mol: str | Chem.Mol) -> str | None:
    """RDKit canonical SMILES (None when it cannot be read): the identity molecules are cached and deduplicated by."""
    mol = parse(smiles_or_mol) if isinstance(smiles_or_mol, str) else smiles_or_mol
    if mol is None:
        return None
    return Chem.MolToSmiles(mol)
