"""CampaignWorkChain: the physics of one discovery round for promoted candidates, submitted and resumable.

Promoted candidates (``promote_candidate`` outputs, best score first) -> ``ZnComplexationWorkChain`` for the
``top_k`` -> ``SlabAdsorptionWorkChain`` on Zn(002) for the ``top_m`` that bound Zn2+ best -> ``rank_candidates``,
a calcfunction of the very output nodes behind each term. Every child is *submitted* (the daemon runs it, so the
campaign survives the terminal, and a daemon restart resumes it), at most ``max_concurrent`` at a time, in waves.

A child that finished before with the same inputs is reused, not recomputed: each finished child carries the extra
``znadditive_campaign_key`` (the candidate's InChIKey, the pH, the hash of the resolved settings, the calculators
and the codes' UUIDs), and the next campaign that needs that key takes its outputs, across campaigns and profiles'
lifetimes. aiida-submission-controller throttles submissions from a script polling the database; inside a WorkChain
the engine's own waiting on children does the same without a second process, so it is not used here.

The generation, screening and promotion that produce the candidates run in the command that submits the campaign
(``aiida-znadditive campaign submit``): they are fast ML steps whose provenance is recorded by the promotion.
"""

from __future__ import annotations

import hashlib
import json

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain, if_, while_

from ..analysis.ranking import rank_candidates, term_inputs
from ..exit_codes import declare
from ..protocols import ProtocolMixin, resolve_protocol
from .adsorption import SlabAdsorptionWorkChain
from .complexation import ZnComplexationWorkChain
from .options import define_options
from .references import find_reference

EXTRA_KEY = 'znadditive_campaign_key'
#: extra of the campaign's own node: {stage: {candidate key: child uuid}}, reused children included (`campaign status`)
EXTRA_CHILDREN = 'znadditive_campaign_children'
#: the complexation outputs that give the binding term, best first
BINDING_OUTPUTS = ('exchange_free_energy_calibrated', 'exchange_free_energy', 'exchange_energy_solvated')


def campaign_group_label(node: orm.ProcessNode) -> str:
    """The label of the group that holds a campaign's complexation and adsorption WorkChains."""
    return f'znadditive/campaign/{node.uuid}'


def reuse_key(stage: str, inchikey: str, builder_inputs: dict) -> str:
    """The key a finished child of ``stage`` for the molecule ``inchikey`` with these inputs is found by."""
    parts = {'stage': stage, 'inchikey': inchikey}
    for name, value in sorted(builder_inputs.items()):
        if isinstance(value, orm.AbstractCode):
            parts[name] = value.uuid
        elif isinstance(value, orm.Dict):
            parts[name] = value.get_dict()
        elif isinstance(value, orm.BaseType):
            parts[name] = value.value
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]
    return f'{stage}|{inchikey}|{digest}'


def validate_candidates(value, _) -> str | None:
    if not value:
        return 'give at least one candidate'
    for key, node in value.items():
        if 'inchikey' not in node.get_dict() or 'smiles' not in node.get_dict():
            return f'candidate `{key}` is not a promoted candidate (no smiles/inchikey): {node!r}'
    return None


class CampaignWorkChain(ProtocolMixin, WorkChain):
    """Complexation, adsorption and ranking of promoted candidates, every child submitted and reusable."""

    _protocol_name = 'campaign'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input_namespace(
            'candidates',
            valid_type=orm.Dict,
            dynamic=True,
            validator=validate_candidates,
            help='Promoted candidates (outputs of `promote_candidate`), keyed by any label.',
        )
        spec.input('settings', valid_type=orm.Dict, help='top_k, top_m, max_concurrent, weights, ph, protocols.')
        define_options(spec)
        spec.input('complexation.prerank_code', valid_type=orm.AbstractCode, help='Code of the cheap level.')
        spec.input('complexation.dft_code', valid_type=orm.AbstractCode, help='Code of the DFT level.')
        spec.input('complexation.prerank_calculator', valid_type=orm.Str, default=lambda: orm.Str('xtb'))
        spec.input('complexation.dft_calculator', valid_type=orm.Str, default=lambda: orm.Str('pyscf'))
        spec.input('adsorption.code', valid_type=orm.AbstractCode, required=False, help='CP2K; none: no adsorption.')
        spec.outline(
            cls.setup,
            while_(cls.complexation_waiting)(cls.submit_complexation, cls.inspect_complexation),
            if_(cls.should_adsorb)(
                cls.select_adsorption,
                while_(cls.adsorption_waiting)(cls.submit_adsorption, cls.inspect_adsorption),
            ),
            cls.rank,
        )
        spec.output('ranking', valid_type=orm.Dict, help='Candidates ranked, each term with the UUID behind it.')
        declare(spec, 'ERROR_INVALID_SETTINGS', 'ERROR_STAGE_FAILED')

    @classmethod
    def get_builder_from_protocol(
        cls,
        candidates: dict[str, orm.Dict],
        prerank_code: orm.AbstractCode,
        dft_code: orm.AbstractCode,
        *,
        adsorption_code: orm.AbstractCode | None = None,
        protocol: str | None = None,
        overrides: dict | None = None,
        prerank_calculator: str = 'xtb',
        dft_calculator: str = 'pyscf',
        options: dict | None = None,
    ):
        """A builder with the protocol's settings plus ``overrides``; ``options``: scheduler options for every
        calculation of every child."""
        protocol, settings = resolve_protocol(cls._protocol_name, protocol, overrides)
        builder = cls.get_builder()
        builder.candidates = candidates
        if options:
            builder.options = orm.Dict(options)
        builder.settings = orm.Dict(settings)
        builder.complexation.prerank_code = prerank_code
        builder.complexation.dft_code = dft_code
        builder.complexation.prerank_calculator = orm.Str(prerank_calculator)
        builder.complexation.dft_calculator = orm.Str(dft_calculator)
        if adsorption_code is not None:
            builder.adsorption.code = adsorption_code
        builder.metadata.label = f'campaign of {len(candidates)} candidates ({protocol})'
        return builder

    # -- setup -----------------------------------------------------------------------------------------------------

    def setup(self):
        """Order the candidates by score, one per InChIKey, and keep the ``top_k``."""
        self.ctx.settings = AttributeDict(self.inputs.settings.get_dict())
        if self.ctx.settings.max_concurrent < 1:
            return self.exit_codes.ERROR_INVALID_SETTINGS.format(message='max_concurrent must be at least 1')
        best = {}
        for key, node in sorted(self.inputs.candidates.items(), key=lambda item: -(item[1]['score'] or 0.0)):
            best.setdefault(node['inchikey'], key)
        self.ctx.complexation_queue = list(best.values())[: self.ctx.settings.top_k]
        self.ctx.complexation = {}  # candidate key -> node uuid
        self.ctx.adsorption = {}
        self.ctx.failures = {}
        self.ctx.reuse_keys = {}  # '<stage>_<key>' -> reuse key of each child this campaign submitted
        self.report(f'{len(self.ctx.complexation_queue)} of {len(self.inputs.candidates)} candidates to complexation')
        return None

    # -- waves of children -----------------------------------------------------------------------------------------

    def _wave(self, stage: str, builders: dict):
        """Reuse finished children; submit the others; return ToContext for the submitted ones."""
        launched = {}
        # The campaign's results, computed here or reused from an earlier campaign, in one group of its own: the
        # result set has a name (`aiida-znadditive report --group znadditive/campaign/<uuid>`).
        group, _ = orm.Group.collection.get_or_create(label=campaign_group_label(self.node))
        for key, (builder, reuse) in builders.items():
            found = find_reference(reuse, EXTRA_KEY)
            if found is not None:
                self.report(f'{stage} of {key}: reusing {found.process_label}<{found.pk}>')
                self.ctx[stage][key] = found.uuid
                group.add_nodes(found)
                continue
            builder.metadata.call_link_label = f'{stage}_{key}'
            node = self.submit(builder)
            group.add_nodes(node)
            self.ctx.reuse_keys[f'{stage}_{key}'] = reuse  # tagged on the child once it has finished well
            self.ctx[stage][key] = node.uuid
            launched[f'{stage}_{key}'] = node
        self.node.base.extras.set(
            EXTRA_CHILDREN, {'complexation': self.ctx.complexation, 'adsorption': self.ctx.adsorption}
        )
        return ToContext(**launched)

    def _inspect(self, stage: str, keys: list[str]) -> None:
        for key in keys:
            node = orm.load_node(self.ctx[stage][key])
            if node.is_finished_ok:
                if f'{stage}_{key}' in self.ctx.reuse_keys:  # submitted here (a reused child carries its key already)
                    node.base.extras.set(EXTRA_KEY, self.ctx.reuse_keys[f'{stage}_{key}'])
            else:
                reason = f'exit {node.exit_status}: {node.exit_message}' if node.is_finished else node.process_state
                self.ctx.failures.setdefault(stage, {})[key] = f'{node.process_label}<{node.pk}> {reason}'
                self.report(f'{stage} of {key} failed ({reason}): the round goes on without it')

    def _next(self, queue: str) -> list[str]:
        wave = self.ctx[queue][: self.ctx.settings.max_concurrent]
        self.ctx[queue] = self.ctx[queue][len(wave) :]
        self.ctx.current_wave = wave
        return wave

    # -- complexation ----------------------------------------------------------------------------------------------

    def complexation_waiting(self) -> bool:
        return bool(self.ctx.complexation_queue)

    def submit_complexation(self):
        inputs = self.inputs.complexation
        builders = {}
        for key in self._next('complexation_queue'):
            candidate = self.inputs.candidates[key]
            builder = ZnComplexationWorkChain.get_builder_from_protocol(
                inputs.prerank_code,
                inputs.dft_code,
                candidate['smiles'],
                protocol=self.ctx.settings.complexation['protocol'],
                overrides=self.ctx.settings.complexation.get('overrides'),
                prerank_calculator=inputs.prerank_calculator.value,
                dft_calculator=inputs.dft_calculator.value,
                ph=self.ctx.settings.ph,
                options=self._options(),
            )
            # the promotion's smiles output, so the graph runs from the screener to the exchange energy
            if candidate.creator is not None and 'smiles' in candidate.creator.outputs:
                builder.smiles = candidate.creator.outputs['smiles']
            reuse = reuse_key(
                'complexation',
                candidate['inchikey'],
                {
                    'settings': builder.settings,
                    'ph': builder.ph,
                    'prerank_code': inputs.prerank_code,
                    'dft_code': inputs.dft_code,
                    'prerank_calculator': inputs.prerank_calculator,
                    'dft_calculator': inputs.dft_calculator,
                },
            )
            builders[key] = (builder, reuse)
        return self._wave('complexation', builders)

    def _options(self) -> dict | None:
        """The campaign's scheduler options, for every child (in no reuse key: a child computed on another queue is
        reused)."""
        return self.inputs.options.get_dict() if 'options' in self.inputs else None

    def inspect_complexation(self):
        self._inspect('complexation', self.ctx.current_wave)
        if not self.ctx.complexation_queue and not self._finished('complexation'):
            failures = self._failures('complexation')
            return self.exit_codes.ERROR_STAGE_FAILED.format(stage='complexation', message=failures)
        return None

    def _finished(self, stage: str) -> list[str]:
        return [key for key, uuid in self.ctx[stage].items() if orm.load_node(uuid).is_finished_ok]

    def _failures(self, stage: str) -> str:
        return '; '.join(f'{key}: {why}' for key, why in self.ctx.failures.get(stage, {}).items())

    def _binding(self, key: str) -> orm.Float | None:
        outputs = orm.load_node(self.ctx.complexation[key]).outputs
        return next((outputs[name] for name in BINDING_OUTPUTS if name in outputs), None)

    # -- adsorption ------------------------------------------------------------------------------------------------

    def should_adsorb(self) -> bool:
        return 'code' in self.inputs.adsorption and self.ctx.settings.top_m > 0

    def select_adsorption(self):
        """The ``top_m`` candidates that bound Zn2+ most strongly go on to the surface."""
        bound = [(self._binding(key), key) for key in self._finished('complexation')]
        ranked = sorted((node.value, key) for node, key in bound if node is not None)
        self.ctx.adsorption_queue = [key for _, key in ranked[: self.ctx.settings.top_m]]

    def adsorption_waiting(self) -> bool:
        return bool(self.ctx.adsorption_queue)

    def submit_adsorption(self):
        code = self.inputs.adsorption.code
        builders = {}
        for key in self._next('adsorption_queue'):
            candidate = self.inputs.candidates[key]
            builder = SlabAdsorptionWorkChain.get_builder_from_protocol(
                code,
                candidate['smiles'],
                protocol=self.ctx.settings.adsorption['protocol'],
                overrides=self.ctx.settings.adsorption.get('overrides'),
                options=self._options(),
            )
            reuse = reuse_key('adsorption', candidate['inchikey'], {'settings': builder.settings, 'code': code})
            builders[key] = (builder, reuse)
        return self._wave('adsorption', builders)

    def inspect_adsorption(self):
        self._inspect('adsorption', self.ctx.current_wave)

    # -- ranking ---------------------------------------------------------------------------------------------------

    def rank(self):
        nodes = {}
        for key in self.ctx.complexation:
            nodes.update(term_inputs('candidate', key, self.inputs.candidates[key]))
            binding = self._binding(key) if orm.load_node(self.ctx.complexation[key]).is_finished_ok else None
            if binding is not None:
                nodes.update(term_inputs('binding', key, binding))
        for key, uuid in self.ctx.adsorption.items():
            node = orm.load_node(uuid)
            if node.is_finished_ok and 'comparison' in node.outputs:
                nodes.update(term_inputs('adsorption', key, node.outputs.comparison))
        ranking = rank_candidates(orm.Dict(self.ctx.settings.weights), orm.Dict(self.ctx.failures), **nodes)
        self.out('ranking', ranking)
        best = ranking['rows'][0]
        self.report(f'best: {best["smiles"]} (score {best["score"]}, missing {best["missing"] or "nothing"})')
