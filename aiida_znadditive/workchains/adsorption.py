"""``SlabAdsorptionWorkChain``: an additive (and water, its reference) on Zn(002), the hcp Zn(0001) basal plane.

Zn bulk lattice (DFT with k-points; relaxed once per settings and reused from the profile afterwards) -> the (0001)
slab built from it -> adsorption configurations (AdsorbateSiteFinder's top, bridge, fcc and hcp hollow sites times
each symmetry-distinct donor atom pointing down and the molecule lying flat) -> a pre-rank of every configuration
with a cheap calculator (CP2K's periodic GFN1-xTB) -> the best few per molecule with DFT -> E_ads in a calcfunction
for every configuration, with dissociated or desorbed adsorbates flagged and never ranked.

Every energy is an output of a calculation in the graph; E_ads, the lattice and the comparison with water are
outputs of calcfunctions. One configuration that fails does not stop the others.
"""

from __future__ import annotations

import hashlib
import json

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain, if_, while_
from rdkit import Chem

from ..analysis.adsorption import adsorption_energies, compare_with_water, plot_adsorption, zn_lattice
from ..calculators.base import Task, load_calculator
from ..exit_codes import declare
from ..protocols import ProtocolMixin, recursive_merge, resolve_protocol
from ..structures.zinc_slab import build_adsorption_configurations, build_zn_bulk, build_zn_slab
from .calculator import CalculatorWorkChain, calculator_inputs
from .options import define_options

#: build_adsorption_configurations / build_zn_slab exit status -> our exit code
BUILD_ERRORS = {300: 'ERROR_INVALID_MOLECULE', 301: 'ERROR_MOLECULE_TOO_LARGE', 302: 'ERROR_INVALID_SETTINGS'}
WATER = 'O'
#: extras key under which a relaxed bulk records the settings it was relaxed with, so later runs can reuse it
BULK_EXTRA = 'znadditive_zn_bulk'
SETTINGS_KEYS = (
    'calculator',
    'max_concurrent',
    'water_reference',
    'bulk',
    'slab',
    'configurations',
    'prerank',
    'dft',
    'checks',
)


def validate_settings(value: orm.Dict, _) -> str | None:
    missing = set(SETTINGS_KEYS) - set(value.get_dict())
    return f'settings lack {", ".join(sorted(missing))}' if missing else None


def bulk_key(settings: dict, code: orm.AbstractCode) -> str:
    """A fingerprint of everything the relaxed lattice depends on: calculator, its settings, the code."""
    content = {'calculator': settings['calculator'], 'bulk': settings['bulk'], 'code': code.uuid}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def find_relaxed_bulk(key: str) -> orm.StructureData | None:
    """The newest relaxed Zn bulk made with the same settings in this profile, if any."""
    builder = orm.QueryBuilder().append(
        orm.StructureData, filters={f'extras.{BULK_EXTRA}': key}, project='*', tag='bulk'
    )
    nodes = sorted((row[0] for row in builder.iterall()), key=lambda node: node.ctime)
    return nodes[-1] if nodes else None


class SlabAdsorptionWorkChain(ProtocolMixin, WorkChain):
    """Adsorption energy of a molecule on Zn(002) over sites and orientations, with water as the reference."""

    _protocol_name = 'adsorption'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('code', valid_type=orm.AbstractCode, help='Code of the periodic calculator (CP2K).')
        spec.input('molecule', valid_type=orm.Str, required=False, help='SMILES of the additive; none: water only.')
        spec.input('bulk', valid_type=orm.StructureData, required=False, help='A relaxed hcp Zn cell to reuse.')
        spec.input('settings', valid_type=orm.Dict, validator=validate_settings, help='Resolved protocol settings.')
        define_options(spec)
        spec.outline(
            cls.setup,
            cls.validate_calculators,
            if_(cls.should_relax_bulk)(cls.relax_bulk, cls.inspect_bulk),
            cls.build_surface,
            if_(cls.should_prerank)(
                cls.queue_prerank,
                while_(cls.has_queue)(cls.submit_batch),
                cls.inspect_prerank,
            ),
            cls.queue_dft,
            while_(cls.has_queue)(cls.submit_batch),
            cls.inspect_dft,
            cls.results,
        )
        spec.output('bulk', valid_type=orm.StructureData, help='The relaxed (or given) hcp Zn cell.')
        spec.output('lattice', valid_type=orm.Dict, help='a, c, c/a and their deviation from experiment.')
        spec.output('slab', valid_type=orm.StructureData, help='The Zn(0001) slab of the final stage.')
        spec.output('slab_info', valid_type=orm.Dict, help='Layers, supercell, fixed atoms, area.')
        for molecule in ('additive', 'water'):
            spec.output_namespace(molecule, required=False, dynamic=False, help=f'Results for the {molecule}.')
            spec.output(f'{molecule}.adsorption_energy', valid_type=orm.Float, required=False, help='Best E_ads (eV).')
            spec.output(f'{molecule}.structure', valid_type=orm.StructureData, required=False, help='Best, relaxed.')
            spec.output(f'{molecule}.configurations', valid_type=orm.Dict, help='Every configuration at DFT.')
            spec.output(f'{molecule}.prerank', valid_type=orm.Dict, required=False, help='Every one at the pre-rank.')
        spec.output('comparison', valid_type=orm.Dict, required=False, help='E_ads(additive) - E_ads(water).')
        spec.output('figure', valid_type=orm.SinglefileData, required=False, help='E_ads per configuration (PNG).')
        declare(
            spec,
            'ERROR_INVALID_SMILES',
            'ERROR_INVALID_MOLECULE',
            'ERROR_UNSUPPORTED_ELEMENTS',
            'ERROR_MOLECULE_TOO_LARGE',
            'ERROR_INVALID_SETTINGS',
            'ERROR_BULK_FAILED',
            'ERROR_REFERENCE_FAILED',
            'ERROR_NO_CONFIGURATION',
        )

    @classmethod
    def get_builder_from_protocol(
        cls,
        code: orm.AbstractCode,
        molecule: str | None = None,
        *,
        protocol: str | None = None,
        overrides: dict | None = None,
        bulk: orm.StructureData | None = None,
        options: dict | None = None,
    ):
        """A builder whose ``settings`` are the protocol's (``fast``/``moderate``/``precise``) plus ``overrides``;
        ``options`` (scheduler options) over the protocol's."""
        protocol, settings = resolve_protocol(cls._protocol_name, protocol, overrides)
        builder = cls.get_builder()
        builder.code = code
        if molecule:
            builder.molecule = orm.Str(molecule)
        if bulk is not None:
            builder.bulk = bulk
        options = recursive_merge(settings.pop('options', None) or {}, options or {})
        if options:
            builder.options = orm.Dict(options)
        builder.settings = orm.Dict(settings)
        builder.metadata.label = f'adsorption {molecule or "water"} on Zn(002) ({protocol})'
        return builder

    # -- setup -----------------------------------------------------------------------------------------------------

    def setup(self):
        self.ctx.settings = AttributeDict(self.inputs.settings.get_dict())
        self.ctx.molecules = {}
        if 'molecule' in self.inputs:
            self.ctx.molecules['additive'] = self.inputs.molecule.value
        if self.ctx.settings.water_reference or not self.ctx.molecules:
            self.ctx.molecules['water'] = WATER
        if self.ctx.settings.prerank['keep'] < 1:
            return self.exit_codes.ERROR_INVALID_SETTINGS.format(message='prerank.keep must be at least 1.')
        return None

    def _task(self, stage: str, kind: str, fixed: list[int] | None = None) -> Task:
        section = self.ctx.settings[stage]
        settings = dict(section.get('settings') or {})
        if fixed:
            settings['fixed_atoms'] = fixed
        return Task(kind=kind, protocol=section['protocol'], settings=settings)

    def validate_calculators(self):
        """Fail before any calculation when a calculator cannot handle an element of the molecules."""
        calculator = load_calculator(self.ctx.settings.calculator)
        stages = ['dft'] + (['prerank'] if self.ctx.settings.prerank['enabled'] else [])
        for stage in stages:
            section = self.ctx.settings[stage]
            covered = calculator.elements(section['protocol'], section.get('settings'))
            if covered is None:
                continue
            for name, smiles in self.ctx.molecules.items():
                mol = Chem.MolFromSmiles(smiles)
                if mol is None:
                    return self.exit_codes.ERROR_INVALID_SMILES.format(message=f'`{smiles}` is not a valid SMILES.')
                elements = {'Zn', 'H'} | {atom.GetSymbol() for atom in mol.GetAtoms()}
                missing = ', '.join(sorted(elements - covered))
                if missing:
                    message = f'{stage} ({calculator.name}, {section["protocol"]}) has no parameters for {missing}'
                    self.report(f'{name} `{smiles}`: {message}')
                    return self.exit_codes.ERROR_UNSUPPORTED_ELEMENTS.format(message=message)
        return None

    # -- bulk ------------------------------------------------------------------------------------------------------

    def should_relax_bulk(self) -> bool:
        if 'bulk' in self.inputs:
            self.ctx.bulk = self.inputs.bulk
            return False
        settings = self.ctx.settings.bulk
        if not settings['relax']:
            self.ctx.bulk = build_zn_bulk(orm.Dict(settings['lattice']))
            return False
        self.ctx.bulk_key = bulk_key(self.ctx.settings, self.inputs.code)
        previous = find_relaxed_bulk(self.ctx.bulk_key)
        if previous is not None:
            self.report(f'reusing the relaxed Zn bulk StructureData<{previous.pk}> (same settings)')
            self.ctx.bulk = previous
            return False
        return True

    def _calculation(self, structure, task: Task, label: str) -> dict:
        """The inputs of a ``CalculatorWorkChain`` for one task of this WorkChain's calculator."""
        extra = {'metadata': {'call_link_label': label}}
        if 'options' in self.inputs:
            extra['options'] = self.inputs.options
        return calculator_inputs(self.ctx.settings.calculator, self.inputs.code, structure, task, **extra)

    def relax_bulk(self):
        start = build_zn_bulk(orm.Dict(self.ctx.settings.bulk['lattice']))
        node = self.submit(CalculatorWorkChain, **self._calculation(start, self._task('bulk', 'relax'), 'bulk'))
        self.report(f'relaxing the Zn bulk lattice: {node.process_label}<{node.pk}>')
        return ToContext(bulk_calculation=node)

    def inspect_bulk(self):
        node = self.ctx.bulk_calculation
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_BULK_FAILED.format(message=node.exit_message or f'exit {node.exit_status}')
        self.ctx.bulk = node.outputs.structure
        self.ctx.bulk.base.extras.set(BULK_EXTRA, self.ctx.bulk_key)
        return None

    # -- slab and configurations -----------------------------------------------------------------------------------

    def build_surface(self):
        self.out('bulk', self.ctx.bulk)
        lattice = zn_lattice(self.ctx.bulk, orm.Dict(self.ctx.settings.bulk['lattice']))
        self.out('lattice', lattice)
        self.report(
            f'Zn lattice a = {lattice["a"]:.4f} Å ({lattice["a_error_percent"]:+.2f}%), '
            f'c = {lattice["c"]:.4f} Å ({lattice["c_error_percent"]:+.2f}%)'
        )
        slab, node = build_zn_slab.run_get_node(self.ctx.bulk, orm.Dict(self.ctx.settings.slab))
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_INVALID_SETTINGS.format(message=node.exit_message)
        self.ctx.slab = slab['slab']
        self.ctx.slab_info = slab['slab_info']
        self.out('slab_info', self.ctx.slab_info)
        self.ctx.configurations = {}
        for name, smiles in self.ctx.molecules.items():
            outputs, node = build_adsorption_configurations.run_get_node(
                self.ctx.slab, orm.Str(smiles), orm.Dict(self.ctx.settings.configurations)
            )
            if not node.is_finished_ok:
                exit_code = self.exit_codes[BUILD_ERRORS.get(node.exit_status, 'ERROR_INVALID_SETTINGS')]
                self.report(f'{name} `{smiles}`: {node.exit_message}')
                return exit_code.format(message=f'`{smiles}`: {node.exit_message}')
            self.ctx.configurations[name] = outputs
            items = outputs['configurations']['items']
            self.report(f'{name} `{smiles}`: {len(items)} configurations ({", ".join(i["label"] for i in items)})')
        # The stage that comes next starts from these structures.
        self.ctx.stage_structures = {
            name: {item['structure']: outputs[item['structure']] for item in outputs['configurations']['items']}
            for name, outputs in self.ctx.configurations.items()
        }
        return None

    # -- pre-rank --------------------------------------------------------------------------------------------------

    def should_prerank(self) -> bool:
        return bool(self.ctx.settings.prerank['enabled'])

    def _queue_stage(self, stage: str, selected: dict[str, list[str]]) -> None:
        """Queue the slab, each molecule in the cell and the selected configurations of each molecule."""
        section = self.ctx.settings[stage]
        n_slab = self.ctx.slab_info['n_atoms']
        fixed = list(range(n_slab)) if section.get('freeze_slab') else list(self.ctx.slab_info['fixed_atoms'])
        kind = section['task']
        # A frozen slab has nothing to relax; with fixed atoms the relaxation moves only the free layers.
        slab_kind = 'singlepoint' if kind == 'singlepoint' or len(fixed) == n_slab else 'relax'
        queue = [
            {'key': f'{stage}_slab', 'structure': self.ctx.slab, 'kind': slab_kind, 'fixed': fixed, 'label': 'slab'}
        ]
        for name in self.ctx.molecules:
            molecule = self.ctx.configurations[name]['molecule']
            queue.append(
                {
                    'key': f'{stage}_{name}_molecule',
                    'structure': molecule,
                    'kind': kind,
                    'fixed': [],
                    'label': f'{name}_molecule',
                }
            )
            for key in selected[name]:
                structure = self.ctx.stage_structures[name][key]
                queue.append(
                    {
                        'key': f'{stage}_{name}_{key}',
                        'structure': structure,
                        'kind': kind,
                        'fixed': fixed,
                        'label': f'{name}_{key}',
                    }
                )
        self.ctx.stage = stage
        self.ctx.queue = queue
        method = section['settings'].get('method', self.ctx.settings.calculator)
        self.report(f'{stage}: {len(queue)} calculations ({kind}, {method})')

    def has_queue(self) -> bool:
        return bool(self.ctx.queue)

    def submit_batch(self):
        """Submit the next calculations of the stage: all at once, or ``max_concurrent`` at a time (a small machine
        where every CP2K run already fills the cores)."""
        limit = self.ctx.settings.get('max_concurrent') or len(self.ctx.queue)
        batch, self.ctx.queue = self.ctx.queue[:limit], self.ctx.queue[limit:]
        futures = {}
        for item in batch:
            task = self._task(self.ctx.stage, item['kind'], item['fixed'])
            futures[item['key']] = self.submit(
                CalculatorWorkChain, **self._calculation(item['structure'], task, item['label'])
            )
        return ToContext(**futures)

    def queue_prerank(self):
        self._queue_stage('prerank', {name: list(structures) for name, structures in self.ctx.stage_structures.items()})

    def _tabulate(self, stage: str, selected: dict[str, list[str]]):
        """E_ads of each molecule's configurations at ``stage``; an exit code when a reference failed."""
        slab = self.ctx[f'{stage}_slab']
        if not slab.is_finished_ok:
            return self.exit_codes.ERROR_REFERENCE_FAILED.format(reference=f'{stage} slab', message=slab.exit_message)
        tables = {}
        for name in self.ctx.molecules:
            molecule = self.ctx[f'{stage}_{name}_molecule']
            if not molecule.is_finished_ok:
                message = molecule.exit_message or f'exit {molecule.exit_status}'
                return self.exit_codes.ERROR_REFERENCE_FAILED.format(reference=f'{stage} {name}', message=message)
            results = {}
            for key in selected[name]:
                node = self.ctx[f'{stage}_{name}_{key}']
                if not node.is_finished_ok:
                    self.report(f'{stage} {name} {key} failed ({node.exit_status}): kept as failed in the table')
                    continue
                results[f'{key}_energy'] = node.outputs.energy
                results[f'{key}_initial'] = self.ctx.configurations[name][key]
                results[f'{key}_relaxed'] = node.outputs.structure
            items = self.ctx.configurations[name]['configurations']['items']
            configurations = orm.Dict({'items': [item for item in items if item['structure'] in selected[name]]})
            tables[name] = adsorption_energies(
                slab.outputs.energy,
                molecule.outputs.energy,
                configurations,
                orm.Dict(self.ctx.settings.checks),
                **results,
            )
        return tables

    def inspect_prerank(self):
        tables = self._tabulate('prerank', self.ctx.stage_structures)
        if not isinstance(tables, dict):
            return tables
        keep = self.ctx.settings.prerank['keep']
        self.ctx.prerank = tables
        self.ctx.stage_structures = {}
        for name, outputs in tables.items():
            table = outputs['table']
            if not table['ranking']:
                counts = table['counts']
                return self.exit_codes.ERROR_NO_CONFIGURATION.format(molecule=name, message=f'pre-rank: {counts}')
            best = table['ranking'][:keep]
            self.ctx.stage_structures[name] = {key: self.ctx[f'prerank_{name}_{key}'].outputs.structure for key in best}
            self.report(f'{name}: pre-rank best {best} of {table["counts"]}')
        return None

    # -- DFT -------------------------------------------------------------------------------------------------------

    def queue_dft(self):
        self._queue_stage('dft', {name: list(structures) for name, structures in self.ctx.stage_structures.items()})

    def inspect_dft(self):
        selected = {name: list(structures) for name, structures in self.ctx.stage_structures.items()}
        tables = self._tabulate('dft', selected)
        if not isinstance(tables, dict):
            return tables
        self.ctx.dft = tables
        for name, outputs in tables.items():
            table = outputs['table']
            if not table['ranking']:
                return self.exit_codes.ERROR_NO_CONFIGURATION.format(molecule=name, message=f'DFT: {table["counts"]}')
        return None

    def results(self):
        slab = self.ctx.dft_slab
        self.out('slab', slab.outputs.structure)
        for name, outputs in self.ctx.dft.items():
            table = outputs['table']
            self.out(f'{name}.configurations', table)
            self.out(f'{name}.adsorption_energy', outputs['adsorption_energy'])
            self.out(f'{name}.structure', self.ctx[f'dft_{name}_{table["best"]}'].outputs.structure)
            if name in self.ctx.get('prerank', {}):
                self.out(f'{name}.prerank', self.ctx.prerank[name]['table'])
            best = next(row for row in table['rows'] if row['structure'] == table['best'])
            self.report(
                f'{name}: E_ads = {best["adsorption_energy"]:.3f} eV ({best["label"]}), '
                f'closest {best["closest_atom"]}-Zn {best["closest_distance"]:.2f} Å'
            )
        if {'additive', 'water'} <= set(self.ctx.dft):
            comparison = compare_with_water(
                self.ctx.dft['additive']['adsorption_energy'], self.ctx.dft['water']['adsorption_energy']
            )
            self.out('comparison', comparison)
            self.report(f'additive - water: {comparison["difference"]:+.3f} eV')
        tables = {f'{name}_dft': outputs['table'] for name, outputs in self.ctx.dft.items()}
        tables.update({f'{name}_prerank': outputs['table'] for name, outputs in self.ctx.get('prerank', {}).items()})
        self.out('figure', plot_adsorption(**tables))
