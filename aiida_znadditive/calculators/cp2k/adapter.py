"""The ``cp2k`` calculator: molecules in a non-periodic box and periodic systems, with DFT or GFN1-xTB, in CP2K.

Single points, relaxations and NVT molecular dynamics. Every task runs through :class:`Cp2kRestartWorkChain`, so a
run that hits its walltime, an unconverged SCF, an ABORT or a crash continues from CP2K's own restart files; MD
tasks return the spliced trajectory of all runs. ``parent_folder`` continues from an earlier run (MD segments).
"""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import ProcessBuilder, calcfunction
from ase.units import Bohr, Hartree

from ...protocols import recursive_merge
from ..base import Calculator, Task, merge_options, site_symbols
from .restart import PARENT, WAVEFUNCTION, Cp2kRestartWorkChain
from .trajectory import ENERGY_FILE

#: aiida-cp2k's base parser without its second reading of the frames (parser.py)
PARSER = 'znadditive.cp2k'

RUN_TYPES = {'singlepoint': 'ENERGY', 'relax': 'GEO_OPT', 'md': 'MD'}
#: CP2K's CELL%SYMMETRY for ``relax_cell`` (kept during the cell optimisation), by the lattice a WorkChain relaxes.
CELL_SYMMETRIES = ('CUBIC', 'HEXAGONAL', 'TETRAGONAL', 'ORTHORHOMBIC', 'MONOCLINIC', 'TRICLINIC', 'NONE')


@calcfunction
def box_molecule(structure: orm.StructureData, padding: orm.Float) -> orm.StructureData:
    """Put a molecule in a cubic box ``padding`` Å wider than its extent on every side, centred, non-periodic."""
    atoms = structure.get_ase()
    extent = np.ptp(atoms.positions, axis=0).max() if len(atoms) > 1 else 0.0
    length = float(extent + 2 * padding.value)
    atoms.set_cell([length, length, length])
    atoms.center()
    atoms.pbc = False
    return orm.StructureData(ase=atoms)


@calcfunction
def normalise_cp2k_outputs(output_parameters: orm.Dict) -> dict:
    """Energy in eV from aiida-cp2k's ``output_parameters`` (CP2K reports Hartree)."""
    return {'energy': orm.Float(output_parameters['energy'] * Hartree)}


def is_periodic(structure: orm.StructureData) -> bool:
    return all(structure.pbc)


def ewald_gmax(structure: orm.StructureData) -> list[int]:
    """SPME grid points per cell vector: about one per bohr, odd (CP2K's recommendation for xTB's Ewald sum)."""
    lengths = np.linalg.norm(np.array(structure.cell), axis=1) / Bohr
    return [int(np.ceil(length)) | 1 for length in lengths]


class Cp2kCalculator(Calculator):
    """CP2K single points, relaxations and NVT MD; DFT (PBE/revPBE-D3(BJ), GTH, MOLOPT) or GFN1-xTB (``method``)."""

    name = 'cp2k'
    tasks = ('singlepoint', 'relax', 'md')
    code_plugins = ('cp2k',)
    periodic = True
    restarts = True

    def _dft_section(self, structure: orm.StructureData, task: Task, settings: dict) -> dict:
        periodic = is_periodic(structure)
        scf = {
            'EPS_SCF': settings['eps_scf'],
            'MAX_SCF': settings['max_scf'],
            'SCF_GUESS': 'ATOMIC',
            'OT': {'MINIMIZER': 'DIIS', 'PRECONDITIONER': 'FULL_SINGLE_INVERSE'},
            'OUTER_SCF': {'EPS_SCF': settings['eps_scf'], 'MAX_SCF': settings['outer_max_scf']},
        }
        dft = {
            'CHARGE': task.charge,
            'MULTIPLICITY': task.multiplicity,
            'UKS': task.multiplicity > 1,
            'SCF': scf,
        }
        if settings.get('smearing'):
            _metal_scf(scf, settings['smearing'])
        if settings.get('kpoints') and periodic:
            dft['KPOINTS'] = {'SCHEME': 'MONKHORST-PACK ' + ' '.join(map(str, settings['kpoints'])), 'SYMMETRY': False}
        if settings['method'] == 'xtb':
            xtb = settings['xtb']
            scf.update({'EPS_SCF': xtb['eps_scf'], 'MAX_SCF': xtb['max_scf'], 'SCF_GUESS': 'MOPAC'})
            if 'OUTER_SCF' in scf:
                scf['OUTER_SCF']['EPS_SCF'] = xtb['eps_scf']
            # CP2K's atomic-charge sanity check rejects the strongly polarised Zn2+ environments we study.
            dft['QS'] = {'METHOD': 'XTB', 'XTB': {'DO_EWALD': periodic, 'CHECK_ATOMIC_CHARGES': False}}
            if periodic:
                gmax = ewald_gmax(structure)
                dft['POISSON'] = {
                    'PERIODIC': 'XYZ',
                    'EWALD': {'EWALD_TYPE': 'SPME', 'GMAX': ' '.join(map(str, gmax)), 'O_SPLINE': 5},
                }
            else:
                dft['POISSON'] = {'PERIODIC': 'NONE', 'PSOLVER': 'MT'}
            return dft
        functional = settings['functional']
        dft.update(
            {
                'BASIS_SET_FILE_NAME': settings['basis_files'],
                'POTENTIAL_FILE_NAME': 'GTH_POTENTIALS',
                'MGRID': {'CUTOFF': settings['cutoff'], 'REL_CUTOFF': settings['rel_cutoff']},
                'QS': {'EPS_DEFAULT': settings['eps_default']},
                'XC': {
                    'XC_FUNCTIONAL': {'_': functional.upper()} if functional.upper() == 'PBE' else _revpbe(),
                    'VDW_POTENTIAL': {
                        'POTENTIAL_TYPE': 'PAIR_POTENTIAL',
                        'PAIR_POTENTIAL': {
                            'TYPE': 'DFTD3(BJ)',
                            'REFERENCE_FUNCTIONAL': functional,
                            'PARAMETER_FILE_NAME': 'dftd3.dat',
                        },
                    },
                },
                # Molecules: no images, Martyna-Tuckerman decoupling of the Hartree potential.
                'POISSON': {'PERIODIC': 'XYZ'} if periodic else {'PERIODIC': 'NONE', 'PSOLVER': 'MT'},
            }
        )
        return dft

    def _kinds(self, structure: orm.StructureData, settings: dict) -> list[dict]:
        hydrogen_mass = settings['md'].get('hydrogen_mass')
        kinds = []
        for kind in sorted(set(site_symbols(structure))):
            section = {'_': kind}
            if settings['method'] == 'dft':
                basis = settings['basis_set']
                basis = basis.get(kind, basis['default']) if isinstance(basis, dict) else basis
                section.update({'BASIS_SET': basis, 'POTENTIAL': settings['potential']})
            if kind == 'H' and hydrogen_mass:
                section['MASS'] = hydrogen_mass
            if len(section) > 1:
                kinds.append(section)
        return kinds

    def input_parameters(self, structure: orm.StructureData, task: Task, settings: dict) -> dict:
        periodic = is_periodic(structure)
        walltime = int(settings['options']['max_wallclock_seconds'] * settings['walltime_fraction'])
        subsys = {'CELL': {'PERIODIC': 'XYZ' if periodic else 'NONE'}}
        kinds = self._kinds(structure, settings)
        if kinds:
            subsys['KIND'] = kinds
        parameters = {
            # MD prints every SCF step at MEDIUM: LOW keeps the output small; the frames carry the energies.
            'GLOBAL': {
                'RUN_TYPE': RUN_TYPES[task.kind],
                'PRINT_LEVEL': 'LOW' if task.kind == 'md' else 'MEDIUM',
                'WALLTIME': walltime,
            },
            'FORCE_EVAL': {
                'METHOD': 'Quickstep',
                'DFT': self._dft_section(structure, task, settings),
                'SUBSYS': subsys,
            },
        }
        if task.kind == 'relax':
            geo = settings['geo_opt']
            geo_opt = {'OPTIMIZER': geo['optimizer'], 'MAX_ITER': geo['max_iter'], 'MAX_FORCE': geo['max_force']}
            if geo['optimizer'].upper() == 'BFGS' and geo.get('model_hessian') is False:
                # CP2K's default first Hessian is a bond-based model (Lindh) for molecules; in a metal slab it is far
                # too soft and BFGS overshoots (see protocols/adsorption.yaml): start from the unit Hessian instead.
                geo_opt['BFGS'] = {'USE_MODEL_HESSIAN': False}
            parameters['MOTION'] = {'GEO_OPT': geo_opt}
            if settings.get('relax_cell'):
                self._cell_opt(parameters, settings)
        elif task.kind == 'md':
            parameters['MOTION'] = self._motion(settings['md'])
        if settings.get('fixed_atoms') and task.kind in ('relax', 'md'):
            # CP2K counts atoms from 1; the WorkChains (and ase) from 0.
            fixed = ' '.join(str(index + 1) for index in sorted(settings['fixed_atoms']))
            parameters['MOTION']['CONSTRAINT'] = {'FIXED_ATOMS': {'LIST': fixed}}
        return parameters

    @staticmethod
    def _cell_opt(parameters: dict, settings: dict) -> None:
        """Relax the cell and the positions together (bulk lattices), keeping the cell's symmetry."""
        cell = settings['relax_cell']
        symmetry = cell.get('symmetry', 'NONE').upper()
        if symmetry not in CELL_SYMMETRIES:
            raise ValueError(f'Unknown cell symmetry `{symmetry}`; use one of {CELL_SYMMETRIES}.')
        geo = settings['geo_opt']
        parameters['GLOBAL']['RUN_TYPE'] = 'CELL_OPT'
        parameters['FORCE_EVAL']['STRESS_TENSOR'] = 'ANALYTICAL'
        parameters['FORCE_EVAL']['SUBSYS']['CELL']['SYMMETRY'] = symmetry
        parameters['MOTION'] = {
            'CELL_OPT': {
                'TYPE': 'DIRECT_CELL_OPT',
                'KEEP_SYMMETRY': symmetry != 'NONE',
                'OPTIMIZER': geo['optimizer'],
                'MAX_ITER': geo['max_iter'],
                'MAX_FORCE': geo['max_force'],
                'PRESSURE_TOLERANCE': cell.get('pressure_tolerance', 100.0),
            }
        }

    @staticmethod
    def _motion(md: dict) -> dict:
        thermostat = md['thermostat'].upper()
        if thermostat == 'CSVR':
            thermostat_section = {'TYPE': 'CSVR', 'CSVR': {'TIMECON': md['timecon']}}
        elif thermostat == 'NOSE':
            thermostat_section = {'TYPE': 'NOSE', 'NOSE': {'LENGTH': 3, 'TIMECON': md['timecon']}}
        else:
            raise ValueError(f'Unknown thermostat `{md["thermostat"]}`; use CSVR or NOSE.')
        return {
            'MD': {
                'ENSEMBLE': md['ensemble'],
                'STEPS': md['steps'],
                'TIMESTEP': md['timestep'],
                'TEMPERATURE': md['temperature'],
                'THERMOSTAT': thermostat_section,
            },
            'PRINT': {
                # ADD_LAST: also write at the last step, including a stop at CP2K's WALLTIME.
                'TRAJECTORY': {'EACH': {'MD': md['trajectory_stride']}},
                'RESTART': {'BACKUP_COPIES': 0, 'ADD_LAST': 'NUMERIC', 'EACH': {'MD': md['restart_stride']}},
                'RESTART_HISTORY': {'_': 'OFF'},
            },
        }

    def get_builder(
        self, code, structure, task: Task, *, overrides=None, options=None, parent_folder=None
    ) -> ProcessBuilder:
        settings = self.settings(task)
        settings['options'] = merge_options(settings['options'], options)
        if not is_periodic(structure):
            structure = box_molecule(structure, orm.Float(settings['box_padding']))
        parameters = recursive_merge(self.input_parameters(structure, task, settings), overrides or {})
        builder = Cp2kRestartWorkChain.get_builder()
        builder.max_iterations = orm.Int(settings['max_iterations'])
        builder.cp2k.code = code
        builder.cp2k.structure = structure
        # the frames are read once, by this adapter (parser.py); a parser given in the options wins
        builder.cp2k.metadata.options = {'parser_name': PARSER, **settings['options']}
        if task.kind == 'md':
            builder.cp2k.settings = orm.Dict({'additional_retrieve_list': [ENERGY_FILE]})
        if parent_folder is not None:
            parameters['EXT_RESTART'] = {'RESTART_FILE_NAME': f'{PARENT}/aiida-1.restart'}
            parameters['FORCE_EVAL']['DFT']['SCF']['SCF_GUESS'] = 'RESTART'
            parameters['FORCE_EVAL']['DFT']['WFN_RESTART_FILE_NAME'] = f'{PARENT}/{WAVEFUNCTION}'
            builder.cp2k.parent_calc_folder = parent_folder
        builder.cp2k.parameters = orm.Dict(parameters)
        return builder

    def get_outputs(self, node, task: Task) -> dict[str, orm.Data]:
        if task.kind == 'md':
            outputs = {'energy': node.outputs.md_energy, 'trajectory': node.outputs.trajectory}
        else:
            outputs = dict(normalise_cp2k_outputs(node.outputs.output_parameters))
        if task.kind in ('relax', 'md') and 'output_structure' in node.outputs:
            outputs['structure'] = node.outputs.output_structure
        else:
            # No new geometry from the last run: the one it started from (a continuation's, not the first run's).
            last = _last_run(node)
            outputs['structure'] = last.inputs.structure if last is not None else node.inputs.cp2k.structure
        outputs['remote_folder'] = node.outputs.remote_folder
        return outputs

    def describe(self, node) -> dict:
        parameters = node.inputs.cp2k.parameters.get_dict()
        dft = parameters.get('FORCE_EVAL', {}).get('DFT', {})
        description: dict = {'engine': 'CP2K'}
        if dft.get('QS', {}).get('METHOD') == 'XTB':
            description['method'] = 'GFN1-xTB'
        else:
            xc = dft.get('XC', {})
            functional = xc.get('XC_FUNCTIONAL', {})
            description['method'] = functional.get('_') or ('revPBE' if 'PBE' in functional else None)
            pair = xc.get('VDW_POTENTIAL', {}).get('PAIR_POTENTIAL', {})
            description['dispersion'] = pair.get('TYPE')
            description['cutoff_ry'] = dft.get('MGRID', {}).get('CUTOFF')
            kinds = parameters.get('FORCE_EVAL', {}).get('SUBSYS', {}).get('KIND', [])
            bases = sorted({kind['BASIS_SET'] for kind in kinds if 'BASIS_SET' in kind})
            potentials = sorted({kind['POTENTIAL'] for kind in kinds if 'POTENTIAL' in kind})
            description['basis'] = ', '.join(bases) or None
            description['pseudopotential'] = ', '.join(potentials) or None
        if 'KPOINTS' in dft:
            description['kpoints'] = dft['KPOINTS']['SCHEME'].replace('MONKHORST-PACK ', '').replace(' ', 'x')
        motion = parameters.get('MOTION', {}).get('MD')
        if motion:
            description['md'] = f'{motion.get("ENSEMBLE")}, {motion.get("TIMESTEP")} fs, {motion.get("TEMPERATURE")} K'
        return {key: value for key, value in description.items() if value is not None}


def _last_run(node) -> orm.CalcJobNode | None:
    """The last CP2K calculation of a restart WorkChain, or None."""
    runs = [child for child in node.called if isinstance(child, orm.CalcJobNode)]
    return max(runs, key=lambda run: run.ctime) if runs else None


def _metal_scf(scf: dict, smearing: dict) -> None:
    """Metals: diagonalisation with Fermi-Dirac smearing and Broyden density mixing instead of OT.

    OT needs a gap; a metal slab's occupations change across the Fermi level from one SCF step to the next. The
    extra empty orbitals hold the smeared occupations; the outer SCF loop only exists for OT.
    """
    scf.pop('OT', None)
    scf.pop('OUTER_SCF', None)
    scf.update(
        {
            'ADDED_MOS': smearing.get('added_mos', 40),
            'DIAGONALIZATION': {'ALGORITHM': 'STANDARD'},
            'SMEAR': {
                '_': 'ON',
                'METHOD': 'FERMI_DIRAC',
                'ELECTRONIC_TEMPERATURE': smearing['temperature'],
            },
            'MIXING': {'METHOD': 'BROYDEN_MIXING', 'ALPHA': smearing.get('alpha', 0.2), 'NBROYDEN': 8},
        }
    )


def _revpbe() -> dict:
    """revPBE: PBE exchange with Zhang and Yang's kappa = 1.245."""
    return {'PBE': {'PARAMETRIZATION': 'REVPBE'}}
