"""The calculator interface: how WorkChains ask any engine for a task without knowing the engine.

A calculator adapter turns a *task* (single point, relaxation, frequencies, MD) on a structure with a charge, a spin
multiplicity, an optional implicit solvent and a protocol name into a process builder for its engine, and turns the
finished engine process back into normalised outputs: ``energy`` (Float, eV), ``structure`` (StructureData), optionally
``forces`` (ArrayData, eV/Å), ``homo``/``lumo`` (Float, eV) and ``trajectory``. A ``frequencies`` task relaxes to a
minimum and returns, besides its energy and structure, ``frequencies`` (ArrayData, array ``frequencies``: the 3N-6
vibrational wavenumbers in cm⁻¹, ascending, imaginary ones negative) and, where the engine gives it, ``hessian``
(ArrayData, array ``hessian``: the Cartesian Hessian, 3N x 3N, eV/Å²). The normalised outputs are made by calcfunctions
from the engine's own outputs, so the provenance graph shows where each number came from.

Adapters are registered under the entry point group ``znadditive.calculators``; the WorkChains load them through
:func:`load_calculator` and never import an engine's plugin.
"""

from __future__ import annotations

import abc
import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, ClassVar

import yaml
from aiida import orm
from aiida.engine import ProcessBuilder

from ..protocols import recursive_merge

ENTRY_POINT_GROUP = 'znadditive.calculators'
TASKS = ('singlepoint', 'relax', 'frequencies', 'md')
PROTOCOLS = ('fast', 'moderate', 'precise')


class CalculatorError(ValueError):
    """A task the calculator cannot do; ``reason`` names the exit code a WorkChain should end with."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Task:
    """What a WorkChain asks of a calculator.

    :param kind: one of ``TASKS``.
    :param charge: total charge in e.
    :param multiplicity: spin multiplicity 2S+1.
    :param protocol: one of ``PROTOCOLS``; the calculator's YAML gives its settings.
    :param solvent: implicit solvent name (``water``) or None for gas phase.
    :param forces: whether a single point must return forces; engines that can skip them save time when False.
    :param settings: differences to the protocol's settings (e.g. ``{'method': 'xtb'}`` or MD parameters), merged
        over the calculator's protocol so that a WorkChain's own protocol can steer the engine without new YAML.
    """

    kind: str
    charge: int = 0
    multiplicity: int = 1
    protocol: str = 'fast'
    solvent: str | None = None
    forces: bool = True
    settings: dict | None = None


def site_symbols(structure: orm.StructureData) -> list[str]:
    return [structure.get_kind(site.kind_name).symbol for site in structure.sites]


def electron_count(structure: orm.StructureData, charge: int) -> int:
    """Number of electrons (all-electron count; pseudopotentials do not change its parity)."""
    from ase.data import atomic_numbers

    return sum(atomic_numbers[symbol] for symbol in site_symbols(structure)) - charge


class Calculator(abc.ABC):
    """Adapter between the WorkChains and one engine. Subclasses fill the class variables and three methods."""

    #: entry point name, also the name of the protocol file ``protocols/calculators/<name>.yaml``
    name: ClassVar[str]
    #: tasks this engine can do
    tasks: ClassVar[tuple[str, ...]]
    #: whether the engine treats the cell as periodic (molecules then sit in a large box)
    periodic: ClassVar[bool] = False
    #: implicit solvents the engine supports
    solvents: ClassVar[tuple[str, ...]] = ()
    #: whether ``get_builder`` can continue from a ``parent_folder`` (MD segments)
    restarts: ClassVar[bool] = False
    #: CalcJob entry points a code of this engine may have as its default plugin; empty: any code
    code_plugins: ClassVar[tuple[str, ...]] = ()
    #: whether the engine runs through an AiiDA code (a CalcJob); False for an engine that runs in the AiiDA process
    #: itself (an ASE calculator inside a calcfunction), whose WorkChains then take no code for it
    requires_code: ClassVar[bool] = True
    #: whether a ``relax`` task's optimiser can start from a Hessian computed elsewhere (``get_builder``'s
    #: ``start_hessian``): a cheap level's Hessian saves the costly level the steps in which its optimiser would
    #: otherwise learn the curvature of the soft modes
    starts_from_hessian: ClassVar[bool] = False

    def check_code(self, code: orm.AbstractCode | None) -> None:
        """Raise :class:`CalculatorError` when ``code`` runs another engine (a pyscf calculator handed the xtb code
        would otherwise fail a minute later, deep inside its CalcJob, as a failed reference), when an engine that
        needs a code gets none, or when one that runs without a code is handed one (it would be ignored, and the
        provenance would name a code that never ran)."""
        if code is None:
            if self.requires_code:
                raise CalculatorError(f'Calculator `{self.name}` needs a code; none was given.', 'missing_code')
            return
        if not self.requires_code:
            raise CalculatorError(
                f'Calculator `{self.name}` runs without a code; `{code.full_label}` would never run.',
                'incompatible_code',
            )
        plugin = code.default_calc_job_plugin
        # A code without a default plugin says nothing about its engine: it is let through
        if self.code_plugins and plugin is not None and plugin not in self.code_plugins:
            raise CalculatorError(
                f'Code `{code.full_label}` runs `{plugin}`; the `{self.name}` calculator needs a code for '
                f'{" or ".join(self.code_plugins)}.',
                'incompatible_code',
            )

    @functools.cached_property
    def protocol_file(self) -> dict:
        """The calculator's protocol file ``<name>.yaml``: next to its adapter's module (a calculator of another
        package ships its own), else in this package's ``protocols/calculators/``."""
        package = type(self).__module__.rpartition('.')[0]
        for folder in (resources.files(package), resources.files('aiida_znadditive.protocols').joinpath('calculators')):
            candidate = folder.joinpath(f'{self.name}.yaml')
            if candidate.is_file():
                return yaml.safe_load(candidate.read_text())
        raise CalculatorError(
            f'Calculator `{self.name}` has no protocol file {self.name}.yaml next to {type(self).__module__}.',
            'unknown_protocol',
        )

    def protocol(self, name: str) -> dict:
        """The settings of protocol ``name``: ``default_inputs`` updated with the protocol's own differences."""
        content = self.protocol_file
        if name not in content['protocols']:
            known = ', '.join(content['protocols'])
            raise CalculatorError(
                f'Protocol `{name}` is unknown to calculator `{self.name}`; choose from {known}.', 'unknown_protocol'
            )
        return recursive_merge(content['default_inputs'], content['protocols'][name])

    def settings(self, task: Task) -> dict:
        """The settings a task runs with: its protocol's, updated with ``task.settings``."""
        return recursive_merge(self.protocol(task.protocol), task.settings or {})

    def elements(self, protocol: str, settings: dict | None = None) -> frozenset[str] | None:
        """Elements the protocol's basis/parameters cover; None when the engine covers the whole periodic table."""
        resolved = recursive_merge(self.protocol(protocol), settings or {})
        # A calculator with several methods (CP2K: dft, xtb) keeps each method's coverage in its own section.
        covered = resolved.get(resolved.get('method', ''), {}).get('elements', resolved.get('elements'))
        return frozenset(covered) if covered and covered != 'all' else None

    def validate(self, structure: orm.StructureData, task: Task) -> None:
        """Raise :class:`CalculatorError` when the task cannot be done; called before anything runs."""
        if task.kind not in self.tasks:
            raise CalculatorError(
                f'Calculator `{self.name}` cannot do `{task.kind}`; it does {self.tasks}.', 'unsupported_task'
            )
        if task.solvent and task.solvent not in self.solvents:
            raise CalculatorError(
                f'Calculator `{self.name}` has no implicit solvent `{task.solvent}`.', 'unsupported_solvent'
            )
        covered = self.elements(task.protocol, task.settings)
        symbols = set(site_symbols(structure))
        if covered is not None and not symbols <= covered:
            missing = ', '.join(sorted(symbols - covered))
            raise CalculatorError(
                f'Protocol `{task.protocol}` of `{self.name}` has no basis/parameters for {missing}.',
                'unsupported_elements',
            )
        electrons = electron_count(structure, task.charge)
        if task.multiplicity < 1 or (electrons - (task.multiplicity - 1)) % 2:
            raise CalculatorError(
                f'{electrons} electrons (charge {task.charge}) cannot have spin multiplicity {task.multiplicity}.',
                'invalid_spin',
            )
        if electrons < 0:
            raise CalculatorError(
                f'Charge {task.charge} removes more electrons than the structure has.', 'invalid_charge'
            )

    def check_parent_folder(self, parent_folder: orm.RemoteData | None) -> None:
        """Raise :class:`CalculatorError` when asked to continue from a folder and this engine cannot."""
        if parent_folder is not None and not self.restarts:
            raise CalculatorError(
                f'Calculator `{self.name}` does not continue from a parent folder.', 'unsupported_restart'
            )

    @abc.abstractmethod
    def get_builder(
        self,
        code: orm.AbstractCode | None,
        structure: orm.StructureData,
        task: Task,
        *,
        overrides: dict | None = None,
        options: dict | None = None,
        parent_folder: orm.RemoteData | None = None,
    ) -> ProcessBuilder:
        """Return a builder of the engine's process (its CalcJob or restart WorkChain) for ``task``.

        ``code`` is None for an engine that needs none (``requires_code = False``): its process is then a WorkChain
        that runs the engine in calcfunctions (a process function cannot be submitted from a WorkChain).

        ``parent_folder``: the remote folder of an earlier run of the same system to continue from (MD segments);
        calculators that cannot restart raise :class:`CalculatorError` with reason ``unsupported_restart``.

        A calculator with ``starts_from_hessian`` also takes ``start_hessian`` (ArrayData, array ``hessian``: a
        Cartesian Hessian at ``structure``, 3N x 3N, eV/Å², as a ``frequencies`` task returns it) for a ``relax``
        task; it is passed only to those, so an adapter without it keeps this signature.
        """

    @abc.abstractmethod
    def get_outputs(self, node: orm.ProcessNode, task: Task) -> dict[str, orm.Data]:
        """Return the normalised outputs of a finished engine process (see the module docstring)."""

    def describe(self, node: orm.ProcessNode) -> dict[str, Any]:
        """The level of theory of one of this calculator's engine processes, read from the process's own inputs and
        outputs (the provenance graph, not today's protocol file, which may have changed since): what a methods
        section names. Keys where they apply: ``method`` (functional or Hamiltonian), ``basis``, ``dispersion``,
        ``solvent_model``, ``cutoff_ry``, ``kpoints``, ``engine_version``. A plug-in calculator that does not override
        this is described by its name alone."""
        return {'method': self.name}


#: A calculator's entry-point name becomes part of link labels (``<name>_<task>``), which AiiDA restricts to
#: identifier characters: a hyphen would crash a WorkChain at its first calculation.
VALID_NAME = re.compile(r'[a-z][a-z0-9_]*')


def calculator_names() -> list[str]:
    from aiida.plugins.entry_point import get_entry_point_names

    return get_entry_point_names(ENTRY_POINT_GROUP)


def load_calculator(name: str) -> Calculator:
    """Instantiate the calculator registered as ``name`` in ``znadditive.calculators``."""
    from aiida.common.exceptions import MissingEntryPointError
    from aiida.plugins.entry_point import load_entry_point

    if not VALID_NAME.fullmatch(name or ''):
        raise CalculatorError(
            f'Calculator name `{name}` is not a valid entry-point name for `{ENTRY_POINT_GROUP}`: use lower-case '
            'letters, digits and underscores, starting with a letter (it becomes part of AiiDA link labels).',
            'unknown_calculator',
        )
    try:
        return load_entry_point(ENTRY_POINT_GROUP, name)()
    except MissingEntryPointError:
        raise CalculatorError(
            f'No calculator `{name}`; registered: {", ".join(calculator_names()) or "none"}.', 'unknown_calculator'
        ) from None


def merge_options(defaults: dict[str, Any], options: dict | None) -> dict[str, Any]:
    """Metadata options: the protocol's defaults updated with the caller's."""
    return recursive_merge(defaults, options or {})
