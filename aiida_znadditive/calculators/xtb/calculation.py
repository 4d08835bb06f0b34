"""``XtbCalculation``: a GFN-xTB single point, relaxation or frequency calculation of one molecule with xtb (6.5).

The job writes the molecule as ``aiida.xyz`` and runs ``xtb aiida.xyz --gfn 2 --chrg C --uhf U
[--opt LEVEL | --ohess LEVEL] [--alpb SOLVENT] --json --acc A --iterations N --etemp T [--cycles K]``. The
``parameters`` input (all keys optional, defaults in :data:`DEFAULT_PARAMETERS`):

- ``method``: ``gfn2`` (default), ``gfn1`` or ``gfnff`` (force field: no orbitals, no JSON file);
- ``charge`` (int, e) and ``multiplicity`` (int 2S+1 >= 1; xtb's ``--uhf`` is multiplicity - 1);
- ``task``: ``singlepoint`` (default), ``relax`` or ``frequencies`` (``--ohess``: relax to ``opt_level``, then the
  numerical Hessian and harmonic frequencies at the relaxed geometry, in the same solvent);
- ``solvent``: None (gas phase, default) or an ALPB solvent name such as ``water``;
- ``opt_level``: ANCopt convergence level, ``crude`` to ``extreme`` (default ``normal``);
- ``accuracy`` (float, default 1.0): xtb's ``--acc``, smaller is tighter;
- ``max_iterations`` (int, default 250): SCC iterations before xtb gives up;
- ``electronic_temperature`` (K, default 300): Fermi smearing;
- ``max_opt_cycles`` (int or None): optimisation cycles (``--cycles``) before a relax gives up.

xtb 6.5.1 writes ``.xtboptok`` after an optimisation even when it ran out of cycles, and ``NOT_CONVERGED`` only in
metadynamics runs (both checked with ``--cycles 1``), so the parser judges convergence from the stdout; the markers
are retrieved for the record. A failed SCC stops xtb with exit code 1 and leaves ``.sccnotconverged``.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable
from typing import Any

from aiida.common.datastructures import CalcInfo, CodeInfo
from aiida.common.folders import Folder
from aiida.engine import CalcJob, CalcJobProcessSpec
from aiida.orm import ArrayData, Dict, StructureData, TrajectoryData
from ase.data import atomic_numbers
from ase.io.xyz import write_xyz

__all__ = ('DEFAULT_PARAMETERS', 'XtbCalculation')

METHOD_FLAGS = {'gfn2': ['--gfn', '2'], 'gfn1': ['--gfn', '1'], 'gfnff': ['--gfnff']}
TASKS = ('singlepoint', 'relax', 'frequencies')
# xtb's ANCopt levels, loosest first (``xtb --help``).
OPT_LEVELS = ('crude', 'sloppy', 'loose', 'lax', 'normal', 'tight', 'vtight', 'extreme')

DEFAULT_PARAMETERS: dict[str, Any] = {
    'method': 'gfn2',
    'charge': 0,
    'multiplicity': 1,
    'task': 'singlepoint',
    'solvent': None,
    'opt_level': 'normal',
    'accuracy': 1.0,
    'max_iterations': 250,
    'electronic_temperature': 300.0,
    'max_opt_cycles': None,
}


def _is_int(value: Any) -> bool:
    # bool is an int subclass; ``charge: True`` is a typo, not a charge of 1.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


CHOICES: dict[str, tuple[str, ...]] = {'method': tuple(METHOD_FLAGS), 'task': TASKS, 'opt_level': OPT_LEVELS}
# (key, test, what the value must be) for the keys that are not a choice from a list.
RULES: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
    ('charge', _is_int, 'an integer (e)'),
    ('multiplicity', lambda value: _is_int(value) and value >= 1, 'an integer >= 1 (2S+1)'),
    # The name goes onto the command line; xtb itself rejects names it has no ALPB parameters for.
    (
        'solvent',
        lambda value: value is None or (isinstance(value, str) and value != '' and not re.search(r'\s', value)),
        'None or an ALPB solvent name such as `water`',
    ),
    ('accuracy', lambda value: _is_number(value) and value > 0, 'a positive number'),
    ('max_iterations', lambda value: _is_int(value) and value >= 1, 'an integer >= 1'),
    ('electronic_temperature', lambda value: _is_number(value) and value > 0, 'a positive number (K)'),
    ('max_opt_cycles', lambda value: value is None or (_is_int(value) and value >= 1), 'None or an integer >= 1'),
)


def check_parameters(parameters: dict[str, Any]) -> str | None:
    """Return why ``parameters`` are not valid xtb settings, or None when they are."""
    unknown = sorted(set(parameters) - set(DEFAULT_PARAMETERS))
    if unknown:
        return f'Unknown xtb parameter(s) {", ".join(unknown)}; valid keys: {", ".join(DEFAULT_PARAMETERS)}.'
    settings = {**DEFAULT_PARAMETERS, **parameters}
    for key, choices in CHOICES.items():
        if settings[key] not in choices:
            return f'Unknown {key} `{settings[key]}`; choose from {", ".join(choices)}.'
    for key, test, wanted in RULES:
        if not test(settings[key]):
            return f'{key} must be {wanted}, got {settings[key]!r}.'
    return None


def check_spin(symbols: list[str], charge: int, multiplicity: int) -> str | None:
    """Return why ``multiplicity`` is impossible for the molecule with ``charge``, or None when it is possible.

    xtb counts valence electrons only, but every core holds an even number of electrons, so the parity of the
    all-electron count is the parity xtb sees.
    """
    electrons = sum(atomic_numbers[symbol] for symbol in symbols) - charge
    unpaired = multiplicity - 1
    if electrons < 0:
        return f'Charge {charge} removes more electrons than the molecule has ({electrons + charge}).'
    if unpaired > electrons:
        return f'Multiplicity {multiplicity} needs {unpaired} unpaired electrons but there are only {electrons}.'
    if (electrons - unpaired) % 2:
        wanted = 'odd multiplicity (1, 3, ...)' if electrons % 2 == 0 else 'even multiplicity (2, 4, ...)'
        return (
            f'Multiplicity {multiplicity} does not match the parity of the electron count: {electrons} electrons '
            f'(charge {charge}) need an {wanted}.'
        )
    return None


class XtbCalculation(CalcJob):
    """GFN-xTB single point or geometry optimisation of a molecule with xtb 6.5."""

    FILENAME_INPUT = 'aiida.xyz'
    FILENAME_STDOUT = 'aiida.out'
    FILENAME_STDERR = 'aiida.err'
    FILENAME_JSON = 'xtbout.json'
    FILENAME_OPT_STRUCTURE = 'xtbopt.xyz'
    FILENAME_OPT_LOG = 'xtbopt.log'
    FILENAME_OPT_OK = '.xtboptok'
    FILENAME_OPT_NOT_CONVERGED = 'NOT_CONVERGED'
    FILENAME_SCC_NOT_CONVERGED = '.sccnotconverged'
    # GFN-FF writes no JSON; its atomic charges (e) come in this file.
    FILENAME_GFNFF_CHARGES = 'gfnff_charges'
    # Harmonic wavenumbers (cm⁻¹, Turbomole format) of a `frequencies` task; imaginary ones negative.
    FILENAME_VIBSPECTRUM = 'vibspectrum'
    # --ohess that ends on a saddle point writes the structure displaced along the imaginary modes, to restart from
    FILENAME_HESS_DISPLACED = 'xtbhess.xyz'
    # The Cartesian Hessian of a `frequencies` task (Turbomole $hessian, Hartree/bohr², not mass-weighted).
    FILENAME_HESSIAN = 'hessian'

    @classmethod
    def define(cls, spec: CalcJobProcessSpec) -> None:  # type: ignore[override]
        super().define(spec)
        spec.input(
            'structure',
            valid_type=StructureData,
            help='The molecule; the cell and periodic boundary conditions are ignored (xtb treats it as isolated).',
        )
        spec.input(
            'parameters',
            valid_type=Dict,
            required=False,
            validator=cls.validate_parameters,
            help='xtb settings: method, charge, multiplicity, task, solvent, opt_level, accuracy, max_iterations, '
            'electronic_temperature (K), max_opt_cycles. Missing keys take their defaults.',
        )
        spec.inputs.validator = cls.validate_inputs
        spec.inputs['code'].required = True

        options = spec.inputs['metadata']['options']  # type: ignore[index]
        options['resources'].default = {'num_machines': 1, 'tot_num_mpiprocs': 1}  # type: ignore[index]
        options['parser_name'].default = 'znadditive.xtb'  # type: ignore[index]
        options['input_filename'].default = cls.FILENAME_INPUT  # type: ignore[index]
        options['output_filename'].default = cls.FILENAME_STDOUT  # type: ignore[index]

        spec.output(
            'parameters',
            valid_type=Dict,
            help='Energies (eV), HOMO/LUMO/gap (eV), dipole moment (Debye), partial charges (e), xtb version, '
            'wall time (s) and, for a relax, whether the geometry converged.',
        )
        spec.default_output_node = 'parameters'  # what `verdi calcjob res` prints
        spec.output(
            'structure',
            valid_type=StructureData,
            required=False,
            help='The last geometry of a relax or frequency task (optimised unless the exit status is 320); input cell '
            'and pbc kept.',
        )
        spec.output(
            'frequencies',
            valid_type=ArrayData,
            required=False,
            help='A frequency task: the 3N-6 (3N-5 linear) harmonic wavenumbers at `structure` in the array '
            '`frequencies`, cm⁻¹, ascending, imaginary ones negative (the translations and rotations left out), and '
            'their IR intensities (km/mol) in `ir_intensities`.',
        )
        spec.output(
            'hessian',
            valid_type=ArrayData,
            required=False,
            help='A frequency task: the Cartesian Hessian at `structure` in the array `hessian` (3N x 3N, eV/Å², not '
            'mass-weighted), from which the normal modes are analysed.',
        )
        spec.output(
            'displaced_structure',
            valid_type=StructureData,
            required=False,
            help="A frequency task that ended on a saddle point: xtb's structure displaced along the imaginary "
            'modes (xtbhess.xyz), from which a new --ohess reaches the minimum.',
        )
        spec.output(
            'trajectory',
            valid_type=TrajectoryData,
            required=False,
            help='The optimisation path of a relax, with the energy (eV) of every step in the `energies` array.',
        )

        spec.exit_code(300, 'ERROR_OUTPUT_STDOUT_MISSING', message='The stdout file of xtb was not retrieved.')
        spec.exit_code(
            301,
            'ERROR_OUTPUT_JSON_MISSING',
            message='The results file xtbout.json (GFN-FF: the total energy in the stdout) was not found.',
        )
        spec.exit_code(
            302, 'ERROR_OUTPUT_STRUCTURE_MISSING', message='The relax wrote no optimised structure (xtbopt.xyz).'
        )
        spec.exit_code(303, 'ERROR_OUTPUT_FREQUENCIES_MISSING', message='The frequency task wrote no vibspectrum file.')
        spec.exit_code(
            310,
            'ERROR_SCF_NOT_CONVERGED',
            message='The SCC did not converge within max_iterations iterations; xtb stopped.',
        )
        spec.exit_code(
            320,
            'ERROR_GEOMETRY_NOT_CONVERGED',
            message='The geometry optimisation did not converge; the last structure is in the `structure` output.',
        )
        spec.exit_code(330, 'ERROR_XTB_ABORTED', message='xtb terminated abnormally: {error}')

    @classmethod
    def validate_parameters(cls, value: Dict | None, _: Any) -> str | None:
        """Validate the ``parameters`` input on its own: keys, names and ranges."""
        if value is None:
            return None
        return check_parameters(value.get_dict())

    @classmethod
    def validate_inputs(cls, value: dict[str, Any], _: Any) -> str | None:
        """Validate what needs both inputs: whether the multiplicity fits the molecule's electron count."""
        structure = value.get('structure')
        parameters = value['parameters'].get_dict() if 'parameters' in value else {}
        if structure is None or check_parameters(parameters) is not None:
            return None  # the port validators report these
        if not structure.sites:
            return 'The structure has no atoms.'
        settings = {**DEFAULT_PARAMETERS, **parameters}
        symbols = [structure.get_kind(site.kind_name).symbol for site in structure.sites]
        return check_spin(symbols, settings['charge'], settings['multiplicity'])

    def settings(self) -> dict[str, Any]:
        """Return the parameters with every default filled in."""
        parameters = self.inputs.parameters.get_dict() if 'parameters' in self.inputs else {}
        return {**DEFAULT_PARAMETERS, **parameters}

    def command_line(self) -> list[str]:
        """Return the xtb arguments for this job's settings."""
        settings = self.settings()
        arguments = [self.FILENAME_INPUT, *METHOD_FLAGS[settings['method']]]
        arguments += ['--chrg', str(settings['charge']), '--uhf', str(settings['multiplicity'] - 1)]
        relax = settings['task'] in ('relax', 'frequencies')
        if settings['task'] == 'relax':
            arguments += ['--opt', settings['opt_level']]
        elif settings['task'] == 'frequencies':
            # A Hessian means something only at a minimum, so xtb relaxes first (--ohess), as tightly as asked.
            arguments += ['--ohess', settings['opt_level']]
        if settings['solvent'] is not None:
            arguments += ['--alpb', settings['solvent']]
        arguments += ['--json', '--acc', str(settings['accuracy']), '--iterations', str(settings['max_iterations'])]
        arguments += ['--etemp', str(settings['electronic_temperature'])]
        # --cycles means nothing to a single point.
        if relax and settings['max_opt_cycles'] is not None:
            arguments += ['--cycles', str(settings['max_opt_cycles'])]
        return arguments

    def prepare_for_submission(self, folder: Folder) -> CalcInfo:
        """Write the molecule as XYZ and describe the xtb command and the files to retrieve."""
        # ASE's plain XYZ writer: no lattice in the comment line, so xtb sees an isolated molecule.
        with folder.open(self.FILENAME_INPUT, 'w') as handle:
            write_xyz(handle, [self.inputs.structure.get_ase()])

        codeinfo = CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = self.command_line()
        codeinfo.stdout_name = self.FILENAME_STDOUT
        # xtb reports `normal/abnormal termination` and Fortran's ERROR STOP on stderr.
        codeinfo.stderr_name = self.FILENAME_STDERR

        calcinfo = CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.retrieve_list = [
            self.FILENAME_STDOUT,
            self.FILENAME_STDERR,
            self.FILENAME_JSON,
            self.FILENAME_OPT_STRUCTURE,
            self.FILENAME_OPT_LOG,
            self.FILENAME_OPT_OK,
            self.FILENAME_OPT_NOT_CONVERGED,
            self.FILENAME_SCC_NOT_CONVERGED,
            self.FILENAME_GFNFF_CHARGES,
            self.FILENAME_VIBSPECTRUM,
            self.FILENAME_HESS_DISPLACED,
            self.FILENAME_HESSIAN,
        ]
        return calcinfo
