"""``ZnComplexationWorkChain``: how strongly an additive displaces water from the Zn2+ hydration shell.

From a SMILES: the additive's dominant species at the electrolyte's pH (``speciate_additive``) -> ligand conformers
and Zn2+ complexes for every binding mode (one to six waters of [Zn(H2O)6]2+ replaced by the ligand's donor atoms)
-> all relaxed with a cheap calculator and ranked by exchange energy -> the best modes, the best ligand conformer and
the references relaxed with a DFT calculator -> single points in implicit water -> the exchange energy
ΔE = E([Zn(H2O)6-nL]) + n·E(H2O) − E([Zn(H2O)6]) − E(L), gas phase and solvated, in calcfunctions. Beside the DFT
stage, the cheap calculator's frequencies of the same species (``thermochemistry`` settings) give the free energy
ΔG = ΔE + ΔG_therm + ΔG_ss (``analysis/free_energy.py``), at the DFT and at the cheap level, each calibrated against
measured stability constants where a calibration for that level ships. References are computed once per level of
theory and reused (see ``references.py``).
"""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import WorkChain, if_

from ..analysis.calibration import shipped_calibration_names
from ..analysis.energies import best_binding_mode, exchange_energy, orbital_gap, rank_binding_modes
from ..analysis.free_energy import check_thermo_parameters
from ..analysis.geometry import zn_donor_distances
from ..analysis.quality import check_relaxed_complexes
from ..analysis.speciation import (
    EXIT_IMPOSSIBLE_CHARGE,
    EXIT_INVALID_SMILES,
    EXIT_NO_SPECIES,
    EXIT_SPECIATION_FAILED,
    speciate_additive,
)
from ..calculators.base import load_calculator
from ..exit_codes import declare
from ..protocols import ProtocolMixin, resolve_protocol
from ..protocols import load_protocol_file as protocol_file
from ..structures.candidates import build_complexation_candidates, build_water, prepare_ligand
from ..structures.chelates import MAX_DENTICITY
from ..structures.ligands import LigandError
from ..structures.speciation import DEFAULT_PH, check_ph
from ..structures.zinc_aqua import ZN_O_EXPERIMENT, build_zn_aqua_complex
from .free_energy import REFERENCES, FreeEnergySteps, define_free_energy_outputs
from .options import define_options
from .stages import CalculatorStages

LIGAND_ERRORS = {
    'invalid_smiles': 'ERROR_INVALID_SMILES',
    'unsupported_elements': 'ERROR_UNSUPPORTED_ELEMENTS',
    'radical': 'ERROR_RADICAL',
    'impossible_charge': 'ERROR_IMPOSSIBLE_CHARGE',
    'no_donor': 'ERROR_NO_DONOR',
    'too_large': 'ERROR_TOO_LARGE',
    'embedding_failed': 'ERROR_EMBEDDING_FAILED',
}
# speciate_additive's exit status -> exit code. A SMILES RDKit cannot read is the same failure whichever step finds
# it, so it keeps the code of LIGAND_ERRORS; any other status (a pH outside 0..14, which the `ph` port's validator
# already refuses) counts as a failed speciation.
SPECIATION_ERRORS = {
    EXIT_INVALID_SMILES: 'ERROR_INVALID_SMILES',
    EXIT_SPECIATION_FAILED: 'ERROR_SPECIATION_FAILED',
    EXIT_NO_SPECIES: 'ERROR_NO_SPECIES',
    EXIT_IMPOSSIBLE_CHARGE: 'ERROR_SPECIES_CHARGE',
}


def load_protocol_file() -> dict:
    return protocol_file('complexation')


def validate_settings(value: orm.Dict, _) -> str | None:
    required = {'ligand', 'complex', 'prerank', 'dft', 'analysis'}
    missing = required - set(value.get_dict())
    if missing:
        return f'settings lack {", ".join(sorted(missing))}'
    denticity = value['complex'].get('max_denticity')
    if not isinstance(denticity, int) or not 1 <= denticity <= MAX_DENTICITY:
        return f'complex.max_denticity must be an integer from 1 to {MAX_DENTICITY}, got {denticity!r}'
    thermo = value.get_dict().get('thermochemistry')
    if thermo is not None:
        if (problem := check_thermo_parameters(thermo)) is not None:
            return problem
        names = shipped_calibration_names()
        for level, name in (thermo.get('calibration') or {}).items():
            if level not in ('prerank', 'dft'):
                return f'thermochemistry.calibration has levels prerank and dft, not {level!r}'
            if name is not None and name not in names:
                return f'thermochemistry.calibration.{level}: no shipped calibration {name!r}; there are {names}'
    return None


def validate_ph(value: orm.Float, _) -> str | None:
    try:
        check_ph(value.value)
    except ValueError as error:
        return str(error)
    return None


class ZnComplexationWorkChain(ProtocolMixin, CalculatorStages, FreeEnergySteps, WorkChain):
    """Exchange energy of an additive against the waters of [Zn(H2O)6]2+, with the geometry and binding mode."""

    _protocol_name = 'complexation'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input(
            'smiles',
            valid_type=orm.Str,
            help='The additive as SMILES, neutral, charged or as a salt: what is computed is its species at `ph`.',
        )
        # The pH is a condition of the electrolyte, not a level of precision, so it is an input of its own rather
        # than a protocol setting; every protocol computes the species at the same default pH.
        spec.input(
            'ph',
            valid_type=orm.Float,
            default=lambda: orm.Float(DEFAULT_PH),
            validator=validate_ph,
            help='pH of the electrolyte (0-14): the additive is computed as its dominant microspecies there '
            '(`speciate_additive`: protonation state and charge, counter-ions of a salt dropped). The default is '
            'a mildly acidic ZnSO4 electrolyte.',
        )
        spec.input(
            'settings',
            valid_type=orm.Dict,
            validator=validate_settings,
            help='All settings, as resolved from a protocol by `get_builder_from_protocol`.',
        )
        # Scheduler options are not physics: they go to every calculation but into no reference key, so the same
        # system on another queue, account or walltime reuses its references (``references.reference_key``).
        define_options(spec)
        for stage, default in (('prerank', 'xtb'), ('dft', 'pyscf')):
            spec.input_namespace(stage, help=f'The {stage} calculator and its code.')
            spec.input(
                f'{stage}.calculator',
                valid_type=orm.Str,
                default=lambda d=default: orm.Str(d),
                help='Entry point name in `znadditive.calculators`.',
            )
            spec.input(
                f'{stage}.code',
                valid_type=orm.AbstractCode,
                required=False,
                help='Its code; none for a calculator that runs without one (`requires_code = False`).',
            )
        spec.outline(
            cls.setup,
            cls.build_candidates,
            cls.run_prerank,
            cls.inspect_prerank,
            if_(cls.should_run_thermo)(cls.run_thermo, cls.inspect_thermo),
            cls.run_dft_relax,
            cls.inspect_dft_relax,
            if_(cls.should_run_solvated)(cls.run_dft_solvated, cls.inspect_dft_solvated),
            cls.results,
        )
        spec.output('exchange_energy', valid_type=orm.Float, help='ΔE of the best mode, gas phase, eV.')
        spec.output(
            'exchange_energy_solvated',
            valid_type=orm.Float,
            required=False,
            help='ΔE of the best mode with implicit water single points, eV.',
        )
        spec.output(
            'species',
            valid_type=orm.Dict,
            help='The species computed: SMILES, charge and pH, as `speciate_additive` returned it.',
        )
        spec.output(
            'binding_mode',
            valid_type=orm.Dict,
            help='The best mode: donors, kinds, denticity, its exchange energy (solvated where computed).',
        )
        spec.output('complex_structure', valid_type=orm.StructureData, help='The relaxed complex of the best mode.')
        spec.output('ligand_structure', valid_type=orm.StructureData, help='The relaxed free ligand.')
        spec.output('ligand_homo', valid_type=orm.Float, required=False, help='Ligand HOMO, eV (DFT, gas).')
        spec.output('ligand_lumo', valid_type=orm.Float, required=False, help='Ligand LUMO, eV (DFT, gas).')
        spec.output('ligand_gap', valid_type=orm.Float, required=False, help='Ligand HOMO-LUMO gap, eV (DFT, gas).')
        spec.output('geometry', valid_type=orm.Dict, help='Zn-donor distances (Å) of the relaxed best complex.')
        spec.output('prerank_ranking', valid_type=orm.Dict, help='All binding modes ranked at the cheap level.')
        spec.output(
            'prerank_quality',
            valid_type=orm.Dict,
            help='Quality checks of the cheap-level relaxed complexes and ligand conformers (bonds, protons, donors).',
        )
        spec.output(
            'dft_quality', valid_type=orm.Dict, required=False, help='Quality checks of the DFT-relaxed complexes.'
        )
        spec.output('dft_ranking', valid_type=orm.Dict, help='The relaxed modes ranked at the DFT level (gas).')
        define_free_energy_outputs(spec)
        declare(
            spec,
            'ERROR_INVALID_SMILES',
            'ERROR_UNSUPPORTED_ELEMENTS',
            'ERROR_RADICAL',
            'ERROR_IMPOSSIBLE_CHARGE',
            'ERROR_NO_DONOR',
            'ERROR_TOO_LARGE',
            'ERROR_EMBEDDING_FAILED',
            'ERROR_NO_BINDING_MODE',
            'ERROR_CALCULATOR_CANNOT',
            'ERROR_INCOMPATIBLE_CODE',
            'ERROR_MISSING_CODE',
            'ERROR_SPECIATION_FAILED',
            'ERROR_NO_SPECIES',
            'ERROR_SPECIES_CHARGE',
            'ERROR_PRERANK_FAILED',
            'ERROR_LIGAND_FAILED',
            'ERROR_REFERENCE_FAILED',
            'ERROR_DFT_FAILED',
            'ERROR_SOLVATED_FAILED',
            'ERROR_QUALITY_FAILED',
        )

    @classmethod
    def get_builder_from_protocol(
        cls,
        prerank_code: orm.AbstractCode | None,
        dft_code: orm.AbstractCode | None,
        smiles: str,
        *,
        protocol: str | None = None,
        overrides: dict | None = None,
        prerank_calculator: str = 'xtb',
        dft_calculator: str = 'pyscf',
        ph: float | None = None,
        options: dict | None = None,
    ):
        """A builder whose ``settings`` are the protocol's (``fast``/``moderate``/``precise``) plus ``overrides``.

        ``ph``: the electrolyte's pH; None for the port's default (:data:`~.structures.speciation.DEFAULT_PH`).
        ``options``: CalcJob metadata options for every calculation (queue, account, walltime in s, resources).
        A code is None for a calculator that runs without one.
        """
        protocol, settings = resolve_protocol(cls._protocol_name, protocol, overrides)
        ph = DEFAULT_PH if ph is None else ph
        builder = cls.get_builder()
        builder.smiles = orm.Str(smiles)
        builder.ph = orm.Float(ph)
        builder.settings = orm.Dict(settings)
        for stage, calculator, code in (
            ('prerank', prerank_calculator, prerank_code),
            ('dft', dft_calculator, dft_code),
        ):
            builder[stage].calculator = orm.Str(calculator)
            if code is not None:
                builder[stage].code = code
        if options:
            builder.options = orm.Dict(options)
        builder.metadata.label = f'complexation {smiles} pH {ph} ({protocol})'
        return builder

    # -- setup -----------------------------------------------------------------------------------------------------

    def setup(self):
        """The species at the pH; check it as a ligand and that both calculators can treat it, before anything is
        built or run."""
        self.ctx.settings = AttributeDict(self.inputs.settings.get_dict())
        species, node = speciate_additive.run_get_node(self.inputs.smiles, self.inputs.ph)
        if not node.is_finished_ok:
            self.report(f'speciation failed: {node.exit_message}')
            name = SPECIATION_ERRORS.get(node.exit_status, 'ERROR_SPECIATION_FAILED')
            return self.exit_codes[name].format(message=node.exit_message)
        self.ctx.species = species
        self.out('species', species)
        smiles = species['smiles']
        self.report(f'species at pH {species["ph"]}: {smiles} (charge {species["charge"]:+d})')
        try:
            mol, _ = prepare_ligand(smiles, self.ctx.settings.ligand)
        except LigandError as error:
            message = str(error)
            if smiles != self.inputs.smiles.value:
                message += f' (the species of {self.inputs.smiles.value!r} at pH {species["ph"]})'
            self.report(message)
            return self.exit_codes[LIGAND_ERRORS[error.reason]].format(message=message)
        symbols = {atom.GetSymbol() for atom in mol.GetAtoms()} | {'Zn', 'O', 'H'}
        for stage in ('prerank', 'dft'):
            if (exit_code := self._check_calculator(stage, smiles, symbols)) is not None:
                return exit_code
        return None

    def build_candidates(self):
        """Ligand conformers, one complex per binding mode, and the references' starting structures."""
        settings = {**self.ctx.settings.ligand, **self.ctx.settings.complex}
        candidates = build_complexation_candidates(self.ctx.species, orm.Dict(settings))
        self.ctx.binding_modes = candidates['binding_modes']
        self.ctx.ligand_conformers = sorted(k for k in candidates if k.startswith('ligand_'))
        self.ctx.candidates = candidates
        self.ctx.ligand_charge = candidates['binding_modes']['ligand_charge']
        placed = [mode for mode in candidates['binding_modes']['modes'] if mode['placed']]
        if not placed:
            reasons = '; '.join(mode['reason'] for mode in candidates['binding_modes']['modes'])
            return self.exit_codes.ERROR_NO_BINDING_MODE.format(message=reasons)
        self.ctx.modes = {mode['structure']: mode for mode in placed}
        self.ctx.reference_starts = {
            'hexaaqua': build_zn_aqua_complex(orm.Float(ZN_O_EXPERIMENT)),
            'water': build_water(),
        }
        self.report(
            f'{len(self.ctx.ligand_conformers)} conformers, {len(placed)} binding modes: '
            + ', '.join(mode['label'] for mode in placed)
        )
        return None

    # -- cheap level -----------------------------------------------------------------------------------------------

    def run_prerank(self):
        """Relax every ligand conformer, every complex and the references with the cheap calculator (solvated)."""
        candidates = self.ctx.candidates
        return self._launch_stage(
            'prerank',
            'prerank',
            'relax',
            self.ctx.settings.prerank.get('solvent'),
            ligands={key: candidates[key] for key in self.ctx.ligand_conformers},
            complexes={key: candidates[key] for key in self.ctx.modes},
            references=self.ctx.reference_starts,
        )

    def _check_quality(self, stage: str, keys) -> orm.Dict:
        """The calcfunction ``check_relaxed_complexes`` on the ``stage``'s relaxed structures of ``keys`` (complexes
        and ligand conformers); every one that changed is reported (what follows from it, the caller decides)."""
        structures = {key: self.ctx[f'{stage}_{key}'].outputs.structure for key in keys}
        quality = check_relaxed_complexes(self.ctx.binding_modes, **structures)
        for key, problems in quality['problems'].items():
            if problems:
                label = self.ctx.modes[key]['label'] if key in self.ctx.modes else f'free ligand ({key})'
                self.report(f'{label} changed on the {stage} relaxation: {problems[0]}')
        return quality

    def _quality_failed(self, quality: orm.Dict, what: str, stage: str):
        problem = next(items[0] for key, items in quality['problems'].items() if items and key.startswith(what))
        name = 'ligand conformer' if what == 'ligand' else 'complex'
        return self.exit_codes.ERROR_QUALITY_FAILED.format(what=name, stage=stage, problem=problem)

    def inspect_prerank(self):
        """Pick the lowest ligand conformer that is still the ligand; rank the modes whose relaxed complexes pass their
        quality checks by ΔE; keep the best ``n_best`` for DFT."""
        if (exit_code := self._check_references('prerank', 'cheap relax')) is not None:
            return exit_code
        ligands = {key: self.ctx[f'prerank_{key}'] for key in self.ctx.ligand_conformers}
        ligands = {key: node for key, node in ligands.items() if node.is_finished_ok}
        if not ligands:
            return self.exit_codes.ERROR_LIGAND_FAILED.format(message='cheap relax of every conformer')
        energies = {}
        for key in self.ctx.modes:
            node = self.ctx[f'prerank_{key}']
            if node.is_finished_ok:
                energies[key] = node.outputs.energy
            else:
                self.report(f'binding mode {self.ctx.modes[key]["label"]} failed at the cheap level: dropped')
        if not energies:
            return self.exit_codes.ERROR_PRERANK_FAILED
        # A relaxation may end as another species (a proton moved, a donor left Zn): its energy says nothing about
        # the mode it is labelled with, so it is checked, in a calcfunction, and dropped when it changed.
        quality = self._check_quality('prerank', [*energies, *ligands])
        self.out('prerank_quality', quality)
        passed = set(quality['passed'])
        if not passed & set(ligands) or not passed & set(energies):
            return self._quality_failed(quality, 'ligand' if not passed & set(ligands) else 'complex', 'cheap relax')
        energies = {key: energy for key, energy in energies.items() if key in passed}
        ligands = {key: node for key, node in ligands.items() if key in passed}
        best_ligand = min(ligands.values(), key=lambda node: node.outputs.energy.value)
        self.ctx.prerank_ligand = best_ligand
        ranking = rank_binding_modes(
            self.ctx.binding_modes,
            best_ligand.outputs.energy,
            self.ctx.prerank_hexaaqua.outputs.energy,
            self.ctx.prerank_water.outputs.energy,
            **energies,
        )
        self.out('prerank_ranking', ranking)
        ranked = [mode for mode in ranking['ranking'] if mode['exchange_energy'] is not None]
        self.ctx.prerank_order = [mode['structure'] for mode in ranked]
        # By ΔE; the free-energy steps, where they run, choose again by ΔG.
        self.ctx.selected = self.ctx.prerank_order[: self.ctx.settings.dft['n_best']]
        self.report(
            'cheap-level ranking: ' + ', '.join(f'{mode["label"]} {mode["exchange_energy"]:+.3f} eV' for mode in ranked)
        )
        return None

    # -- DFT level -------------------------------------------------------------------------------------------------

    def run_dft_relax(self):
        """Relax the selected complexes, the best ligand conformer and the references with the DFT calculator, each
        from its cheap-level structure (``_dft_starts``)."""
        starts, hessians = self._dft_starts(['ligand', *self.ctx.selected, *REFERENCES])
        return self._launch_stage(
            'dft',
            'dft',
            'relax',
            None,
            ligands={'ligand': starts['ligand']},
            complexes={key: starts[key] for key in self.ctx.selected},
            references={species: starts[species] for species in REFERENCES},
            hessians=hessians,
        )

    def _dft_starts(self, keys) -> tuple[dict, dict]:
        """Key -> the structure its DFT relaxation starts from, and key -> the Hessian it starts with.

        With ``dft.start_hessian`` on, a DFT calculator that takes one, and the cheap level's frequency calculation
        of that species finished with a Hessian, the relaxation starts at that calculation's tight minimum with its
        Hessian: geomeTRIC's model Hessian knows nothing of the soft Zn-O and water-rotation modes and spends its
        first cycles learning them (benchmarks/complexation_speed.py). Otherwise it starts from the cheap relaxation.
        """
        # `prerank_ligand` is the best ligand conformer's cheap relaxation, as `prerank_<mode>` and the references'
        structures = {key: self.ctx[f'prerank_{key}'].outputs.structure for key in keys}
        use = self.ctx.settings.dft.get('start_hessian') and self.should_run_thermo()
        if not use or not load_calculator(self.inputs.dft.calculator.value).starts_from_hessian:
            return structures, {}
        hessians = {}
        for key in keys:
            node = self.ctx.get(f'thermo_{key}')
            # An atom (F-) has no geometry to relax: its relaxation is its single point, and takes no Hessian.
            if node is None or not node.is_finished_ok or 'hessian' not in node.outputs:
                continue
            if len(node.outputs.structure.sites) > 1:
                structures[key], hessians[key] = node.outputs.structure, node.outputs.hessian
        return structures, hessians

    def inspect_dft_relax(self):
        if (exit_code := self._check_references('dft', 'DFT relax')) is not None:
            return exit_code
        if not self.ctx.dft_ligand.is_finished_ok:
            return self.exit_codes.ERROR_LIGAND_FAILED.format(message='DFT relax')
        relaxed = [key for key in self.ctx.selected if self.ctx[f'dft_{key}'].is_finished_ok]
        for key in set(self.ctx.selected) - set(relaxed):
            self.report(f'binding mode {self.ctx.modes[key]["label"]} failed at the DFT level: dropped')
        if not relaxed:
            return self.exit_codes.ERROR_DFT_FAILED
        quality = self._check_quality('dft', [*relaxed, 'ligand'])
        self.out('dft_quality', quality)
        passed = set(quality['passed'])
        if not passed & set(relaxed):
            return self._quality_failed(quality, 'complex', 'DFT relax')
        if 'ligand' not in passed:
            # A zwitterion (glycine at pH 4.5) is no minimum in the gas phase, where the DFT level relaxes: its proton
            # returns to the carboxylate. The ligand is kept, and dft_quality records it, until the DFT relaxation
            # runs in implicit solvent: dropping it would leave every amino acid without a result.
            self.report('the free ligand changed on its gas-phase DFT relaxation; its energies are of that structure')
        self.ctx.relaxed = [key for key in relaxed if key in passed]
        return None

    def should_run_solvated(self) -> bool:
        return bool(self.ctx.settings.dft.get('solvent'))

    def run_dft_solvated(self):
        """Implicit-water single points on the DFT geometries of ligand, complexes and references."""
        return self._launch_stage(
            'solvated',
            'dft',
            'singlepoint',
            self.ctx.settings.dft['solvent'],
            ligands={'ligand': self.ctx.dft_ligand.outputs.structure},
            complexes={key: self.ctx[f'dft_{key}'].outputs.structure for key in self.ctx.relaxed},
            references={species: self.ctx[f'dft_{species}'].outputs.structure for species in REFERENCES},
        )

    def inspect_dft_solvated(self):
        if (exit_code := self._check_references('solvated', 'solvated single point')) is not None:
            return exit_code
        for label in ['solvated_ligand'] + [f'solvated_{key}' for key in self.ctx.relaxed]:
            if not self.ctx[label].is_finished_ok:
                return self.exit_codes.ERROR_SOLVATED_FAILED.format(message=label)
        return None

    # -- results ---------------------------------------------------------------------------------------------------

    def _exchange_energy(self, prefix: str, key: str) -> orm.Float:
        return exchange_energy(
            self.ctx[f'{prefix}_{key}'].outputs.energy,
            self.ctx[f'{prefix}_ligand'].outputs.energy,
            self.ctx[f'{prefix}_hexaaqua'].outputs.energy,
            self.ctx[f'{prefix}_water'].outputs.energy,
            orm.Int(self.ctx.modes[key]['displaced_waters']),
        )

    def results(self):
        """ΔE in calcfunctions for every relaxed mode; the best (solvated where available) is the output."""
        ranking = rank_binding_modes(
            self.ctx.binding_modes,
            self.ctx.dft_ligand.outputs.energy,
            self.ctx.dft_hexaaqua.outputs.energy,
            self.ctx.dft_water.outputs.energy,
            **{key: self.ctx[f'dft_{key}'].outputs.energy for key in self.ctx.relaxed},
        )
        self.out('dft_ranking', ranking)
        gas = {key: self._exchange_energy('dft', key) for key in self.ctx.relaxed}
        solvated = (
            {key: self._exchange_energy('solvated', key) for key in self.ctx.relaxed}
            if (self.should_run_solvated())
            else {}
        )
        free = self._free_energies(solvated or gas) if self.should_run_thermo() else {}
        # The choice is a calcfunction of the energies that made it, so the output has a creator in the graph: ΔG
        # where every relaxed mode has one (chelation is decided by the released waters' entropy), else ΔE.
        if free and set(free) >= set(self.ctx.relaxed):
            choice = {key: outputs['exchange_free_energy'] for key, outputs in free.items()}
            mode = best_binding_mode(self.ctx.binding_modes, orm.Str('exchange_free_energy'), **choice)
        else:
            mode = best_binding_mode(self.ctx.binding_modes, **(solvated or gas))
        best = mode['structure']
        self.out('binding_mode', mode)
        self.out('exchange_energy', gas[best])
        if solvated:
            self.out('exchange_energy_solvated', solvated[best])
        structure = self.ctx[f'dft_{best}'].outputs.structure
        self.out('complex_structure', structure)
        self.out('geometry', zn_donor_distances(structure, orm.Float(self.ctx.settings.analysis['shell_cutoff'])))
        ligand = self.ctx.dft_ligand
        self.out('ligand_structure', ligand.outputs.structure)
        if 'homo' in ligand.outputs and 'lumo' in ligand.outputs:
            self.out('ligand_homo', ligand.outputs.homo)
            self.out('ligand_lumo', ligand.outputs.lumo)
            self.out('ligand_gap', orbital_gap(ligand.outputs.homo, ligand.outputs.lumo))
        summary = f'ΔE = {gas[best].value:+.3f} eV (gas)'
        if solvated:
            summary += f', {solvated[best].value:+.3f} eV (water)'
        if best in free:
            for name, node in free[best].items():
                self.out(name, node)
            vibrations = self._vibrations(best)
            if vibrations:  # none without the cheap level's Hessians
                self.out('vibrations', vibrations)
            summary += f'; ΔG = {free[best]["exchange_free_energy"].value:+.3f} eV'
            if 'exchange_free_energy_calibrated' in free[best]:
                summary += f' ({free[best]["exchange_free_energy_calibrated"].value:+.3f} calibrated)'
        self.report(f'best mode {mode["label"]}: {summary}')
        if self.should_run_thermo() and best not in free:
            return self.exit_codes.ERROR_FREE_ENERGY_FAILED.format(message=self.ctx.free_energy_problem)
        return None
