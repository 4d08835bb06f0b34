"""The free-energy steps of ``ZnComplexationWorkChain``: the cheap calculator's frequencies of the species the DFT
level relaxes, their quasi-RRHO thermal corrections and the exchange free energy with each term an output
(calcfunctions of :mod:`aiida_znadditive.analysis.free_energy`; the science is in docs/source/binding.md).

A mixin, so that the complexation WorkChain's module keeps its own stages; it uses the WorkChain's context: the
``thermo_<key>`` frequency calculations, ``relaxed`` modes, ``modes``, ``species``, ``ligand_charge``, ``settings``
and ``reference_keys``, and its ``_exchange_energy``.
"""

from __future__ import annotations

from aiida import orm

from ..analysis.calibration import shipped_calibration
from ..analysis.free_energy import calibrate_exchange_free_energy, exchange_free_energy, thermal_correction
from .references import tag_reference

REFERENCES = {'hexaaqua': 2, 'water': 0}  # species -> charge
# Level -> the output its calibrated ΔG goes to.
CALIBRATED = {'dft': 'exchange_free_energy_calibrated', 'prerank': 'prerank_exchange_free_energy_calibrated'}


def define_free_energy_outputs(spec) -> None:
    """The free-energy outputs and their exit code, on ``spec`` of the WorkChain."""
    free = 'where `thermochemistry` is on and every frequency calculation gave a minimum'
    spec.output(
        'exchange_free_energy',
        valid_type=orm.Float,
        required=False,
        help=f'ΔG of the best mode, eV: ΔE (solvated where computed) + thermal + standard-state terms, {free}.',
    )
    spec.output(
        'thermal_contribution',
        valid_type=orm.Float,
        required=False,
        help="ΔG_therm of the best mode, eV: the change of the species' quasi-RRHO thermal corrections.",
    )
    spec.output(
        'standard_state_contribution',
        valid_type=orm.Float,
        required=False,
        help='ΔG_ss of the best mode, eV: 1 M solutes and 55.34 M released water.',
    )
    spec.output('displaced_waters', valid_type=orm.Int, required=False, help='Waters the best mode releases from Zn2+.')
    spec.output(
        'exchange_free_energy_calibrated',
        valid_type=orm.Float,
        required=False,
        help='ΔG calibrated against measured stability constants, eV, where the DFT level has a shipped fit.',
    )
    spec.output(
        'prerank_exchange_free_energy',
        valid_type=orm.Float,
        required=False,
        help='ΔG of the best mode at the cheap level (its energies at the frequency minima), eV.',
    )
    spec.output(
        'prerank_exchange_free_energy_calibrated',
        valid_type=orm.Float,
        required=False,
        help="The cheap level's ΔG calibrated against measured stability constants, eV.",
    )
    spec.output_namespace(
        'thermal_corrections',
        valid_type=orm.Dict,
        required=False,
        help='Quasi-RRHO thermal corrections (ZPE, H, S, G) of the species: complex, ligand, hexaaqua, water.',
    )
    spec.exit_code(
        307,
        'ERROR_FREE_ENERGY_FAILED',
        message='No exchange free energy (the exchange energies are out): {message}',
    )


class FreeEnergySteps:
    """Methods of the WorkChain that compute the exchange free energies (module docstring)."""

    def should_run_thermo(self) -> bool:
        return self.ctx.settings.get('thermochemistry') is not None

    def _thermal_corrections(self) -> dict[str, orm.Dict]:
        """Species -> its thermal correction (calcfunction), for every species whose frequency calculation and
        correction succeeded; each failure is reported and the first kept in ``ctx.free_energy_problem``."""
        settings = {key: value for key, value in self.ctx.settings.thermochemistry.items() if key != 'calibration'}
        parameters = orm.Dict(settings)
        corrections = {}
        for key in ['ligand', *REFERENCES, *self.ctx.relaxed]:
            node = self.ctx[f'thermo_{key}']
            name = self.ctx.modes[key]['label'] if key in self.ctx.modes else key
            if not node.is_finished_ok:
                problem = f'the frequency calculation of {name} failed ({node.exit_message or node.exit_status})'
            else:
                if key in REFERENCES and 'znadditive_reference' not in node.base.extras:
                    tag_reference(node, self.ctx.reference_keys[f'thermo_{key}'])
                result, calculation = thermal_correction.run_get_node(
                    node.outputs.frequencies, node.outputs.structure, parameters
                )
                if calculation.is_finished_ok:
                    corrections[key] = result
                    continue
                problem = f'{name}: {calculation.exit_message}'
            self.report(problem)
            self.ctx.setdefault('free_energy_problem', problem)
        return corrections

    def _calibrations(self) -> dict[str, orm.Dict]:
        names = self.ctx.settings.thermochemistry.get('calibration') or {}
        return {level: orm.Dict(shipped_calibration(name)) for level, name in names.items() if name}

    def _free_energies(self, exchange_energies: dict[str, orm.Float]) -> dict[str, dict[str, orm.Data]]:
        """Mode key -> its free-energy outputs (ΔG and its terms at the DFT level, ΔG at the cheap level, the
        calibrated values where a calibration is set), for every mode whose species all have thermal corrections."""
        corrections = self._thermal_corrections()
        if not {'ligand', *REFERENCES} <= set(corrections):
            return {}
        calibrations = self._calibrations()
        is_water = orm.Bool(self.ctx.species['smiles'] == 'O')
        charge = orm.Int(self.ctx.ligand_charge)
        free = {}
        for key in self.ctx.relaxed:
            if key not in corrections:
                continue
            waters = orm.Int(self.ctx.modes[key]['displaced_waters'])
            thermal = {
                'complex_thermal': corrections[key],
                'ligand_thermal': corrections['ligand'],
                'hexaaqua_thermal': corrections['hexaaqua'],
                'water_thermal': corrections['water'],
                'displaced_waters': waters,
                'ligand_is_water': is_water,
            }
            outputs = dict(exchange_free_energy(exchange_energies[key], **thermal))
            # The cheap level's ΔG: its own energies at the minima its frequencies were taken at.
            prerank = exchange_free_energy(self._exchange_energy('thermo', key), **thermal)['exchange_free_energy']
            outputs['prerank_exchange_free_energy'] = prerank
            for level, value in (('dft', outputs['exchange_free_energy']), ('prerank', prerank)):
                if level in calibrations:
                    outputs[CALIBRATED[level]] = calibrate_exchange_free_energy(
                        value, calibrations[level], charge, waters
                    )
            outputs['displaced_waters'] = waters
            outputs['thermal_corrections'] = {
                'complex': corrections[key],
                'ligand': corrections['ligand'],
                'hexaaqua': corrections['hexaaqua'],
                'water': corrections['water'],
            }
            free[key] = outputs
        return free
