"""What decides a GFN2-xTB label (:class:`LabelSettings`) and why a molecule got none (:class:`LabelError`)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from functools import cache

from ase.data import chemical_symbols

# GFN2-xTB is parametrised for H to Rn (Z = 1-86).
GFN2_ELEMENTS: tuple[str, ...] = tuple(chemical_symbols[1:87])
# Why a molecule was skipped. The first six are the ligand checks of structures.ligands (same words); 'no_species' and
# 'speciation_failed' those of structures.speciation; 'scf_failed': an SCF that tblite could not converge; 'timeout':
# over ``timeout_s``; 'not_converged': the gas-phase relaxation ran out of steps (a geometry we would not publish);
# 'error': anything unexpected (logged with its traceback).
REASONS = (
    'invalid_smiles',
    'unsupported_elements',
    'radical',
    'impossible_charge',
    'too_large',
    'embedding_failed',
    'no_species',
    'speciation_failed',
    'scf_failed',
    'timeout',
    'not_converged',
    'error',
)


class LabelError(ValueError):
    """A molecule that cannot be labelled; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, detail: str = '', smiles: str = '') -> None:
        if reason not in REASONS:
            raise ValueError(f'Unknown label error reason {reason!r}; expected one of {REASONS}.')
        self.reason = reason
        self.detail = detail
        self.smiles = smiles
        super().__init__(f'{smiles!r}: {reason}: {detail}' if smiles else f'{reason}: {detail}')


@dataclasses.dataclass(frozen=True)
class LabelSettings:
    """Everything that decides a label, with defaults; :meth:`settings_hash` identifies a set of them.

    :param method: tblite method (only GFN2-xTB is validated here).
    :param accuracy: tblite/xtb numerical accuracy (smaller is tighter), as the xtb calculator's ``accuracy``.
    :param electronic_temperature: Fermi smearing in K (xtb's ``--etemp``).
    :param max_iterations: SCC iterations before tblite gives up.
    :param fmax: relaxation threshold, largest force in eV/Å (0.05 is about xtb's ``normal`` gradient threshold).
    :param max_steps: LBFGS steps per relaxation.
    :param conformers: ETKDG conformers embedded (MMFF-optimised, pruned), each relaxed at GFN2 in the gas phase.
    :param seed: ETKDG random seed (single-threaded, so labels are reproducible).
    :param solvent: ALPB solvent of the solvation free energy and of the exchange energy.
    :param ph: the electrolyte's pH: the molecule is labelled as its dominant species there
        (:mod:`aiida_znadditive.structures.speciation`); None labels the SMILES as written (the calibration against
        stability constants does, since a constant is defined for one species).
    :param exchange_energy: compute the Zn2+ exchange energy (most of the cost).
    :param free_energy: also the exchange free energy (GFN2 Hessians of every species; see
        :mod:`aiida_znadditive.ml.labels.zn_binding`).
    :param zn_donor: starting Zn-donor distance of the built complexes, Å (the WorkChain's ``complex.zn_donor``).
    :param max_denticity: the most donors of one ligand on one Zn2+ (1-6; the WorkChain's ``complex.max_denticity``).
    :param starts: starting complexes relaxed per binding mode
        (:func:`~aiida_znadditive.structures.chelates.starting_complexes`); the lowest that passes its checks counts.
    :param temperature: K, of the thermal corrections.
    :param rotor_cutoff_cm: the quasi-RRHO rotor cut-off, cm⁻¹ (Grimme 2012: 100).
    :param max_imaginary_cm: imaginary modes up to this size (cm⁻¹) count as real: after a relaxation to
        ``thermo_fmax``, methyl and water rotations on flat ALPB surfaces come out as 50-80i cm⁻¹ (methanol's
        complex 72i, glycinate's chelate 78i), and the quasi-RRHO scheme treats modes this soft mostly as free
        rotors anyway (weight of the harmonic part 0.27 at 78 cm⁻¹), so their sign barely moves G. A larger one
        drops the mode (``'imaginary_modes'`` in its QC).
    :param thermo_fmax: the tighter threshold (eV/Å) a structure is relaxed to before its Hessian.
    :param hessian_step: Å, of the central finite differences of tblite's analytic gradients.
    :param allowed_elements: elements accepted besides H; default all of GFN2's.
    :param max_heavy_atoms: larger molecules are skipped ('too_large').
    :param threads: OpenMP/BLAS threads of the process computing a label. 1 (default) is fastest for molecules of
        this size, and right for the pool (one worker per core); more threads on a busy machine slow tblite down
        several times (OpenMP threads waiting for each other).
    :param timeout_s: a molecule still running after this many seconds is skipped ('timeout'); checked between SCF
        calls, so it can overrun by one SCF (well under a second for molecules within ``max_heavy_atoms``).
    """

    method: str = 'GFN2-xTB'
    accuracy: float = 1.0
    electronic_temperature: float = 300.0
    max_iterations: int = 250
    fmax: float = 0.05
    max_steps: int = 400
    conformers: int = 3
    seed: int = 42
    solvent: str = 'water'
    ph: float | None = 4.5
    exchange_energy: bool = True
    free_energy: bool = True
    zn_donor: float = 2.10
    max_denticity: int = 6
    starts: int = 2
    temperature: float = 298.15
    rotor_cutoff_cm: float = 100.0
    max_imaginary_cm: float = 100.0
    thermo_fmax: float = 0.01
    hessian_step: float = 0.005
    allowed_elements: tuple[str, ...] = GFN2_ELEMENTS
    max_heavy_atoms: int = 30
    threads: int = 1
    timeout_s: float = 900.0

    # Fields that only decide *which* molecules get labels, not their values: left out of the hash so that raising a
    # limit does not make earlier labels look like a different data set.
    NOT_HASHED = ('allowed_elements', 'max_heavy_atoms', 'threads', 'timeout_s')

    def __post_init__(self) -> None:
        if self.method != 'GFN2-xTB':
            raise ValueError(f'Only GFN2-xTB labels are defined, got method {self.method!r}.')
        if not 1 <= self.max_denticity <= 6:
            raise ValueError(f'max_denticity must be 1-6, got {self.max_denticity}.')
        if self.starts < 1:
            raise ValueError(f'starts must be at least 1, got {self.starts}.')
        if self.conformers < 1:
            raise ValueError(f'conformers must be at least 1, got {self.conformers}.')
        if self.ph is not None and not (math.isfinite(self.ph) and 0.0 <= self.ph <= 14.0):
            raise ValueError(f'ph must be a number from 0 to 14 (or None), got {self.ph!r}.')
        # Lists from YAML/JSON become tuples: the dataclass is frozen and must stay hashable and picklable.
        object.__setattr__(self, 'allowed_elements', tuple(self.allowed_elements))

    @classmethod
    def coerce(cls, settings: LabelSettings | dict | None) -> LabelSettings:
        """Settings from None (defaults), a dict (unknown keys raise ``TypeError``) or an instance."""
        if settings is None:
            return cls()
        if isinstance(settings, cls):
            return settings
        return cls(**dict(settings))

    def as_dict(self) -> dict:
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}

    def settings_hash(self) -> str:
        """First 12 hex digits of the SHA-256 of the value-deciding settings (sorted JSON)."""
        values = {key: value for key, value in self.as_dict().items() if key not in self.NOT_HASHED}
        return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:12]

    @property
    def source_version(self) -> str:
        """``tblite-<version>/GFN2/<settings hash>``: recorded with every row."""
        return f'tblite-{tblite_version()}/GFN2/{self.settings_hash()}'


@cache
def tblite_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version('tblite')
    except PackageNotFoundError:  # a source build without metadata: still label, but say so
        return 'unknown'
