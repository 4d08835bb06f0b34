"""The free-energy steps of ``ZnComplexationWorkChain``: the cheap calculator's frequencies of every mode that passed
the cheap level, the ligand and the references, their quasi-RRHO thermal corrections and the exchange free energy
with each term an output (calcfunctions of :mod:`aiida_znadditive.analysis.free_energy`; the science is in
docs/source/binding.md).

A mixin, so that the complexation WorkChain's module keeps its own stages; it uses the WorkChain's context
(``prerank_order``: the modes that passed the cheap level, by ΔE; ``prerank_ligand``, ``modes``, ``relaxed``,
``species``, ``ligand_charge``, ``settings``, ``reference_keys``) and its ``_launch_stage`` and ``_exchange_energy``.
"""

from __future__ import annotations

from aiida import orm

from ..analysis.calibration import shipped_calibration
from ..analysis.free_energy import calibrate_exchange_free_energy, exchange_free_energy, thermal_correction
from ..analysis.vibrations import zn_o_stretch, zn_o_stretch_shift
from ..exit_codes import declare
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
    spec.output_namespace(
        'vibrations',
        valid_type=(orm.Dict, orm.Float),
        required=False,
        help='The symmetric Zn-donor stretch (analysis.vibrations) of the best complex (`complex`) and of '
        "[Zn(H2O)6]2+ (`hexaaqua`), from the cheap level's Hessians, and its shift on binding (`zn_o_stretch_shift`, "
        'cm⁻¹), where the cheap calculator gives Hessians.',
    )
    declare(
        spec,
        'ERROR_FREE_ENERGY_FAILED',
    )


class FreeEnergySteps:
    """Methods of the WorkChain that compute the exchange free energies (module docstring)."""

    def should_run_thermo(self) -> bool:
        return self.ctx.settings.get('thermochemistry') is not None

    def run_thermo(self):
        """Frequencies, with the cheap calculator in its solvent, of every mode that passed the cheap level, the best
        ligand conformer and the references, from their cheap relaxed structures. They run before the DFT level
        because the modes it relaxes are chosen by ΔG: a chelate releases more waters, which ΔE does not see."""
        return self._launch_stage(
            'thermo',
            'prerank',
            'frequencies',
            self.ctx.settings.prerank.get('solvent'),
            ligands={'ligand': self.ctx.prerank_ligand.outputs.structure},
            complexes={key: self.ctx[f'prerank_{key}'].outputs.structure for key in self.ctx.prerank_order},
            references={species: self.ctx[f'prerank_{species}'].outputs.structure for species in REFERENCES},
        )

    def inspect_thermo(self):
        """Thermal corrections of every species; the cheap level's ΔG of every mode that has them; the ``n_best``
        modes by that ΔG go to the DFT level. Without a ΔG for the references or the ligand the choice stays by ΔE,
        and the WorkChain ends with 307 once its exchange energies are out."""
        corrections = self._thermal_corrections(self.ctx.prerank_order)
        self.ctx.thermal_corrections = corrections
        self.ctx.stretches = self._stretches(['hexaaqua', *self.ctx.prerank_order])
        self.ctx.prerank_free = {}
        if not {'ligand', *REFERENCES} <= set(corrections):
            return None
        for key in self.ctx.prerank_order:
            if key in corrections:
                energy = self._exchange_energy('thermo', key)
                self.ctx.prerank_free[key] = exchange_free_energy(energy, **self._thermal_inputs(key))[
                    'exchange_free_energy'
                ]
        ranked = sorted(self.ctx.prerank_free, key=lambda key: self.ctx.prerank_free[key].value)
        if ranked:
            self.ctx.selected = ranked[: self.ctx.settings.dft['n_best']]
        self.report(
            'cheap-level ΔG: '
            + ', '.join(f'{self.ctx.modes[key]["label"]} {self.ctx.prerank_free[key].value:+.3f} eV' for key in ranked)
        )
        return None

    def _thermal_corrections(self, modes) -> dict[str, orm.Dict]:
        """Species -> its thermal correction (calcfunction), for every species whose frequency calculation and
        correction succeeded; each failure is reported and the first kept in ``ctx.free_energy_problem``."""
        settings = {key: value for key, value in self.ctx.settings.thermochemistry.items() if key != 'calibration'}
        parameters = orm.Dict(settings)
        corrections = {}
        for key in ['ligand', *REFERENCES, *modes]:
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

    def _stretches(self, keys) -> dict[str, orm.Dict]:
        """Species -> its Zn-donor stretch (calcfunction), for each whose frequency calculation gave a Hessian. A
        failed analysis is reported and leaves the free energies alone: the stretch is a signature, not a term."""
        cutoff = orm.Float(self.ctx.settings.analysis['shell_cutoff'])
        stretches = {}
        for key in keys:
            node = self.ctx[f'thermo_{key}']
            if not node.is_finished_ok or 'hessian' not in node.outputs:
                continue
            result, calculation = zn_o_stretch.run_get_node(node.outputs.structure, node.outputs.hessian, cutoff)
            if calculation.is_finished_ok:
                stretches[key] = result
            else:
                self.report(f'Zn-donor stretch of {key}: {calculation.exit_message}')
        return stretches

    def _vibrations(self, key: str) -> dict[str, orm.Data]:
        """The ``vibrations`` outputs of mode ``key``: its stretch, the hexaaqua's and the shift, where both exist.
        Called for the best mode only, so that one shift node is made, the one that is output."""
        stretches = self.ctx.get('stretches', {})
        if key not in stretches or 'hexaaqua' not in stretches:
            return {}
        complex_stretch, hexaaqua = stretches[key], stretches['hexaaqua']
        shift = zn_o_stretch_shift(complex_stretch, hexaaqua)
        return {'complex': complex_stretch, 'hexaaqua': hexaaqua, 'zn_o_stretch_shift': shift}

    def _thermal_inputs(self, key: str) -> dict[str, orm.Data]:
        """The inputs of ``exchange_free_energy`` besides ΔE, for mode ``key``."""
        corrections = self.ctx.thermal_corrections
        return {
            'complex_thermal': corrections[key],
            'ligand_thermal': corrections['ligand'],
            'hexaaqua_thermal': corrections['hexaaqua'],
            'water_thermal': corrections['water'],
            'displaced_waters': orm.Int(self.ctx.modes[key]['displaced_waters']),
            'ligand_is_water': orm.Bool(self.ctx.species['smiles'] == 'O'),
        }

    def _calibrations(self) -> dict[str, orm.Dict]:
        names = self.ctx.settings.thermochemistry.get('calibration') or {}
        return {level: orm.Dict(shipped_calibration(name)) for level, name in names.items() if name}

    def _free_energies(self, exchange_energies: dict[str, orm.Float]) -> dict[str, dict[str, orm.Data]]:
        """Mode key -> its free-energy outputs (ΔG and its terms at the DFT level, ΔG at the cheap level, the
        calibrated values where a calibration is set), for every relaxed mode that has a cheap-level ΔG."""
        calibrations = self._calibrations()
        charge = orm.Int(self.ctx.ligand_charge)
        corrections = self.ctx.thermal_corrections
        free = {}
        for key in self.ctx.relaxed:
            if key not in self.ctx.prerank_free:
                continue
            thermal = self._thermal_inputs(key)
            outputs = dict(exchange_free_energy(exchange_energies[key], **thermal))
            prerank = self.ctx.prerank_free[key]
            outputs['prerank_exchange_free_energy'] = prerank
            for level, value in (('dft', outputs['exchange_free_energy']), ('prerank', prerank)):
                if level in calibrations:
                    outputs[CALIBRATED[level]] = calibrate_exchange_free_energy(
                        value, calibrations[level], charge, thermal['displaced_waters']
                    )
            outputs['displaced_waters'] = thermal['displaced_waters']
            outputs['thermal_corrections'] = {
                species: corrections[key if species == 'complex' else species]
                for species in ('complex', 'ligand', 'hexaaqua', 'water')
            }
            free[key] = outputs
        return free
