"""``SolvationShellWorkChain``: AIMD sampling of the Zn2+ solvation shell in water, with or without an additive.

A periodic box (Zn2+, counter-ions, waters, additive molecules; packed by packmol) -> NVT Born-Oppenheimer MD with
a periodic calculator (CP2K: GFN1-xTB for ``fast``, PBE/revPBE-D3 for ``moderate``/``precise``), run as a chain of
segments that each fit one walltime and continue from the previous segment's restart file -> the segments spliced
into one trajectory -> the first shell analysed in calcfunctions (RDFs, running coordination numbers, shell
composition over time, time the additive spends in the shell, residence times) -> a figure.

Segments are separate processes in the graph: a killed daemon resumes the chain at the segment it was running, and
a failed segment ends the WorkChain with the trajectory of the segments already done as an output.
"""

from __future__ import annotations

import math

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain, calcfunction, while_

from ..analysis.hbonds import analyse_hbond_network
from ..analysis.solvation import analyse_solvation_shell, plot_solvation_shell
from ..analysis.trajectory import join_trajectories
from ..analysis.transport import analyse_transport
from ..calculators.base import CalculatorError, Task, load_calculator
from ..exit_codes import declare
from ..protocols import ProtocolMixin, recursive_merge, resolve_protocol
from ..structures.electrolyte import build_solvation_box
from .calculator import CalculatorWorkChain, calculator_inputs
from .options import define_options

STARTS = ('hydrated', 'bound')
#: build_solvation_box exit status -> our exit code
BOX_ERRORS = {300: 'ERROR_PACKING_FAILED', 301: 'ERROR_INVALID_MOLECULE', 302: 'ERROR_INVALID_SETTINGS'}


def validate_settings(value: orm.Dict, _) -> str | None:
    missing = {'box', 'calculator', 'md', 'analysis', 'options'} - set(value.get_dict())
    return f'settings lack {", ".join(sorted(missing))}' if missing else None


def validate_start(value: orm.Str, _) -> str | None:
    return None if value.value in STARTS else f'start must be one of {STARTS}, got `{value.value}`'


@calcfunction
def md_statistics(trajectory: orm.TrajectoryData, skip_ps: orm.Float) -> orm.Dict:
    """Mean and standard deviation of temperature (K) and potential energy (eV) after ``skip_ps`` of equilibration."""
    times = trajectory.get_times()
    keep = times >= times[0] + skip_ps.value
    temperatures = trajectory.get_array('temperatures')[keep]
    energies = trajectory.get_array('energies')[keep]
    return orm.Dict(
        {
            'frames': int(keep.sum()),
            'time_ps': float(times[keep][-1] - times[keep][0]) if keep.any() else 0.0,
            'temperature_mean': float(temperatures.mean()) if keep.any() else None,
            'temperature_std': float(temperatures.std()) if keep.any() else None,
            'potential_energy_mean': float(energies.mean()) if keep.any() else None,
            'potential_energy_std': float(energies.std()) if keep.any() else None,
        }
    )


class SolvationShellWorkChain(ProtocolMixin, WorkChain):
    """The first solvation shell of Zn2+ from AIMD: RDFs, coordination numbers, additive occupancy, residence."""

    _protocol_name = 'solvation'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('code', valid_type=orm.AbstractCode, help='Code of the MD calculator (CP2K).')
        spec.input('additive', valid_type=orm.Str, required=False, help='SMILES of the additive; none: pure water.')
        spec.input('start', valid_type=orm.Str, default=lambda: orm.Str('hydrated'), validator=validate_start)
        spec.input('settings', valid_type=orm.Dict, validator=validate_settings, help='Resolved protocol settings.')
        define_options(spec)
        spec.outline(
            cls.setup,
            cls.build_box,
            cls.validate_box,
            while_(cls.should_run_segment)(cls.run_segment, cls.inspect_segment),
            cls.analyse,
            cls.results,
        )
        spec.output('structure', valid_type=orm.StructureData, help='The packed starting box.')
        spec.output('system', valid_type=orm.Dict, help='Composition, charge and atom groups of the box.')
        spec.output('trajectory', valid_type=orm.TrajectoryData, help='All segments spliced (times in ps).')
        spec.output('rdf', valid_type=orm.ArrayData, required=False, help='g(r) and n(r) per group (Zn-donor).')
        spec.output('composition', valid_type=orm.ArrayData, required=False, help='First-shell molecules per frame.')
        spec.output('results', valid_type=orm.Dict, required=False, help='Peaks, CNs, shell fractions, residence.')
        spec.output('md_statistics', valid_type=orm.Dict, required=False, help='Temperature and energy averages.')
        spec.output('figure', valid_type=orm.SinglefileData, required=False, help='RDF and CN plot (PNG).')
        spec.output(
            'hbonds',
            valid_type=orm.Dict,
            required=False,
            help="Water's H-bond network (analysis.hbonds): H-bonds per water, additive-water H-bonds per additive, "
            'tetrahedral order q, each a block mean with its standard error.',
        )
        spec.output(
            'hbonds_per_frame', valid_type=orm.ArrayData, required=False, help='The same three figures per frame.'
        )
        spec.output(
            'transport',
            valid_type=orm.Dict,
            required=False,
            help='Self-diffusion coefficients (MSD, finite-size corrected) and the Nernst-Einstein conductivity '
            '(analysis.transport), where the trajectory is long enough.',
        )
        declare(
            spec,
            'ERROR_INVALID_MOLECULE',
            'ERROR_UNSUPPORTED_ELEMENTS',
            'ERROR_PACKING_FAILED',
            'ERROR_BOX_TOO_SMALL',
            'ERROR_INVALID_SETTINGS',
            'ERROR_SEGMENT_FAILED',
            'ERROR_ANALYSIS_FAILED',
        )

    @classmethod
    def get_builder_from_protocol(
        cls,
        code: orm.AbstractCode,
        additive: str | None = None,
        *,
        protocol: str | None = None,
        start: str = 'hydrated',
        overrides: dict | None = None,
        options: dict | None = None,
    ):
        """A builder whose ``settings`` are the protocol's (``fast``/``moderate``/``precise``) plus ``overrides``;
        ``options`` (scheduler options) over the protocol's ``options``, for every MD segment."""
        protocol, settings = resolve_protocol(cls._protocol_name, protocol, overrides)
        builder = cls.get_builder()
        builder.code = code
        if additive:
            builder.additive = orm.Str(additive)
        builder.start = orm.Str(start)
        builder.settings = orm.Dict(settings)
        if options:
            builder.options = orm.Dict(options)
        builder.metadata.label = f'solvation {additive or "water"} ({protocol}, {start})'
        return builder

    # -- setup -----------------------------------------------------------------------------------------------------

    def setup(self):
        self.ctx.settings = AttributeDict(self.inputs.settings.get_dict())
        md = self.ctx.settings.md
        if md['segment_ps'] <= 0 or md['total_ps'] <= 0 or md['timestep'] <= 0:
            return self.exit_codes.ERROR_INVALID_SETTINGS.format(message='MD times must be positive.')
        if md['equilibration_ps'] >= md['total_ps']:
            message = f'equilibration ({md["equilibration_ps"]} ps) leaves nothing of {md["total_ps"]} ps to analyse.'
            return self.exit_codes.ERROR_INVALID_SETTINGS.format(message=message)
        steps_per_ps = 1000.0 / md['timestep']
        self.ctx.segment_steps = max(1, round(md['segment_ps'] * steps_per_ps))
        self.ctx.total_steps = max(1, round(md['total_ps'] * steps_per_ps))
        self.ctx.n_segments = math.ceil(self.ctx.total_steps / self.ctx.segment_steps)
        self.ctx.segments = []
        return None

    def build_box(self):
        """Pack the box with packmol (a calcfunction, so the box and its settings are in the graph)."""
        box_settings = dict(self.ctx.settings.box, start=self.inputs.start.value)
        if 'additive' not in self.inputs:
            box_settings['n_additives'] = 0
        inputs = {'settings': orm.Dict(box_settings)}
        if 'additive' in self.inputs:
            inputs['additive'] = self.inputs.additive
        outputs, node = build_solvation_box.run_get_node(**inputs)
        if not node.is_finished_ok:
            self.report(f'building the box failed: {node.exit_message}')
            label = BOX_ERRORS.get(node.exit_status, 'ERROR_INVALID_SETTINGS')
            return self.exit_codes[label].format(message=node.exit_message or str(node.exit_status))
        self.ctx.structure = outputs['structure']
        self.ctx.system = outputs['system']
        self.out('structure', self.ctx.structure)
        self.out('system', self.ctx.system)
        composition = self.ctx.system['composition']
        self.report(f'packed {len(self.ctx.structure.sites)} atoms in a {composition["box_length"]:.2f} Å box')
        return None

    def _task(self, steps: int) -> Task:
        calculator = self.ctx.settings.calculator
        md = self.ctx.settings.md
        md_settings = {
            key: md[key]
            for key in (
                'temperature',
                'thermostat',
                'timecon',
                'timestep',
                'hydrogen_mass',
                'trajectory_stride',
                'restart_stride',
            )
        }
        md_settings['steps'] = steps
        return Task(
            kind='md',
            charge=int(self.ctx.system['charge']),
            protocol=calculator['protocol'],
            settings=recursive_merge(calculator.get('settings', {}), {'md': md_settings}),
        )

    def validate_box(self):
        """Before any MD: the calculator covers every element, and the box holds the analysis range."""
        try:
            load_calculator(self.ctx.settings.calculator['name']).validate(self.ctx.structure, self._task(1))
        except CalculatorError as error:
            label = 'ERROR_UNSUPPORTED_ELEMENTS' if error.reason == 'unsupported_elements' else 'ERROR_INVALID_SETTINGS'
            return self.exit_codes[label].format(message=str(error))
        length = min(self.ctx.structure.cell_lengths)
        r_max = self.ctx.settings.analysis['r_max']
        if length < 2 * r_max:
            message = (
                f'the {length:.2f} Å box is smaller than twice the RDF range r_max = {r_max} Å (minimum image): '
                'add waters or lower analysis.r_max.'
            )
            return self.exit_codes.ERROR_BOX_TOO_SMALL.format(message=message)
        return None

    # -- MD segments -----------------------------------------------------------------------------------------------

    def should_run_segment(self) -> bool:
        return len(self.ctx.segments) < self.ctx.n_segments

    def run_segment(self):
        index = len(self.ctx.segments)
        steps = min(self.ctx.segment_steps, self.ctx.total_steps - index * self.ctx.segment_steps)
        task = self._task(steps)
        # the input's scheduler options over the protocol's (a cluster's queue and walltime for every segment)
        options = recursive_merge(
            self.ctx.settings.options, self.inputs.options.get_dict() if 'options' in self.inputs else {}
        )
        extra = {'options': orm.Dict(options), 'metadata': {'call_link_label': f'segment_{index}'}}
        if self.ctx.segments:
            extra['parent_folder'] = self.ctx.segments[-1].outputs.remote_folder
        inputs = calculator_inputs(
            self.ctx.settings.calculator['name'], self.inputs.code, self.ctx.structure, task, **extra
        )
        node = self.submit(CalculatorWorkChain, **inputs)
        self.report(f'segment {index + 1}/{self.ctx.n_segments}: {steps} steps, {node.process_label}<{node.pk}>')
        return ToContext(current=node)

    def inspect_segment(self):
        node = self.ctx.current
        if not node.is_finished_ok:
            index = len(self.ctx.segments)
            if self.ctx.segments:
                # Keep what was done: the trajectory of the finished segments is an output even on failure.
                self.out('trajectory', self._joined_trajectory())
            message = node.exit_message or f'exit status {node.exit_status}'
            return self.exit_codes.ERROR_SEGMENT_FAILED.format(index=index, message=message)
        self.ctx.segments.append(node)
        trajectory = node.outputs.trajectory
        # Steps run in this segment: from the previous segment's last step (its frames start one stride later).
        steps = int(trajectory.get_stepids()[-1]) - self.ctx.get('last_step', 0)
        self.ctx.last_step = int(trajectory.get_stepids()[-1])
        seconds = (node.mtime - node.ctime).total_seconds()
        timestep = self.ctx.settings.md['timestep']
        self.report(
            f'segment {len(self.ctx.segments)}/{self.ctx.n_segments} done: {steps} steps in {seconds:.0f} s '
            f'({steps / seconds:.2f} steps/s, {steps * timestep / seconds * 86.4:.1f} ps/day), '
            f'{trajectory.base.attributes.get("unconverged_scf_steps", 0)} unconverged SCF steps'
        )
        return None

    def _joined_trajectory(self) -> orm.TrajectoryData:
        return join_trajectories(
            **{f'segment_{index}': node.outputs.trajectory for index, node in enumerate(self.ctx.segments)}
        )

    # -- analysis --------------------------------------------------------------------------------------------------

    def analyse(self):
        trajectory = self._joined_trajectory()
        self.out('trajectory', trajectory)
        skip = orm.Float(self.ctx.settings.md['equilibration_ps'])
        self.out('md_statistics', md_statistics(trajectory, skip))
        groups = {name: members for name, members in self.ctx.system['groups'].items() if members}
        analysis = dict(
            self.ctx.settings.analysis, zn_index=self.ctx.system['zn_index'], groups=groups, skip_ps=skip.value
        )
        outputs, node = analyse_solvation_shell.run_get_node(trajectory, orm.Dict(analysis))
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_ANALYSIS_FAILED.format(message=node.exit_message or str(node.exit_status))
        self.ctx.analysis = outputs
        # The network is a second analysis of the same frames: a trajectory too short for its blocks loses it (with
        # the reason in the report), not the shell figures.
        network, node = analyse_hbond_network.run_get_node(
            trajectory, orm.Dict({'molecules': self.ctx.system['molecules'], 'skip_ps': skip.value})
        )
        if node.is_finished_ok:
            self.ctx.hbonds = network
        else:
            self.report(f'no H-bond network: {node.exit_message}')
        transport, node = analyse_transport.run_get_node(trajectory, orm.Dict(self._transport_settings(skip.value)))
        if node.is_finished_ok:
            self.ctx.transport = transport
        else:
            self.report(f'no diffusion coefficients: {node.exit_message}')
        return None

    def _transport_settings(self, skip: float) -> dict:
        """The settings of ``analyse_transport``: the box's molecules and the charge of one molecule of each."""
        from rdkit import Chem

        composition = self.ctx.system['composition']
        charges = {'zinc': 2}
        for name, smiles in (
            ('counter_ion', composition.get('counter_ion_smiles')),
            ('additive', composition.get('additive')),
        ):
            mol = Chem.MolFromSmiles(smiles) if smiles else None
            if mol is not None:
                charges[name] = Chem.GetFormalCharge(mol)
        return {
            'molecules': self.ctx.system['molecules'],
            'zn_index': self.ctx.system['zn_index'],
            'charges': charges,
            'skip_ps': skip,
            'temperature': float(self.ctx.settings.md['temperature']),
        }

    def results(self):
        for name in ('rdf', 'composition', 'results'):
            self.out(name, self.ctx.analysis[name])
        self.out('figure', plot_solvation_shell(self.ctx.analysis['rdf'], self.ctx.analysis['results']))
        if 'transport' in self.ctx:
            self.out('transport', self.ctx.transport)
        if 'hbonds' in self.ctx:
            self.out('hbonds', self.ctx.hbonds['hbonds'])
            self.out('hbonds_per_frame', self.ctx.hbonds['hbonds_per_frame'])
        results = self.ctx.analysis['results']
        water = results.get_dict().get('groups', {}).get('water', {})
        self.report(
            f'Zn-O(water) first peak {water.get("first_peak")} Å, CN {results.get("total_coordination")}, '
            f'results<{results.pk}>'
        )
