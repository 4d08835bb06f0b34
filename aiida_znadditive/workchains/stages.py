"""How ``ZnComplexationWorkChain`` reaches its calculators: each stage's calculator checked against the species
before anything runs, and one task (relax, single point, frequencies) launched through the
:class:`~.calculator.CalculatorWorkChain` on the ligand conformers, the complexes (keyed by binding mode) and the
references, which are looked up by their reuse key first (``references.py``) and computed only when no earlier
WorkChain did.

A mixin, so that the WorkChain's module keeps its stages and their science; it uses the WorkChain's inputs
(``prerank``/``dft`` namespaces, ``options``) and context (``settings``, ``modes``, ``ligand_charge``,
``reference_keys``).
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext

from ..calculators.base import CalculatorError, Task, load_calculator
from .calculator import CalculatorWorkChain, calculator_inputs
from .free_energy import REFERENCES
from .references import find_reference, reference_key, tag_reference


class CalculatorStages:
    """The calculator checks and launches of ``ZnComplexationWorkChain`` (see the module's docstring)."""

    def _check_calculator(self, stage: str, smiles: str, symbols: set[str]):
        """The exit code when the ``stage``'s calculator cannot treat these elements, its code or this WorkChain's
        tasks; switch its solvent off when it has none."""
        try:
            calculator = load_calculator(self.inputs[stage].calculator.value)
            calculator.check_code(self.inputs[stage].get('code'))
        except CalculatorError as error:
            self.report(f'{stage}: {error}')
            label = {'missing_code': 'ERROR_MISSING_CODE', 'incompatible_code': 'ERROR_INCOMPATIBLE_CODE'}.get(
                error.reason, 'ERROR_CALCULATOR_CANNOT'
            )
            return self.exit_codes[label].format(message=f'{stage}: {error}')
        covered = calculator.elements(self.ctx.settings[stage]['protocol'])
        if covered is not None and not symbols <= covered:
            message = (
                f'{smiles}: the {stage} calculator `{calculator.name}` has no parameters for '
                f'{", ".join(sorted(symbols - covered))}'
            )
            self.report(message)
            return self.exit_codes.ERROR_UNSUPPORTED_ELEMENTS.format(message=message)
        if self.ctx.settings[stage].get('solvent') not in (None, *calculator.solvents):
            self.ctx.settings[stage]['solvent'] = None
            self.report(f'{calculator.name} has no implicit solvent: {stage} runs in the gas phase only')
        if stage == 'prerank' and self.should_run_thermo() and 'frequencies' not in calculator.tasks:
            message = (
                f'the prerank calculator `{calculator.name}` computes no frequencies, which the free energies '
                'need; choose another or switch them off with the override {"thermochemistry": None}'
            )
            return self.exit_codes.ERROR_CALCULATOR_CANNOT.format(message=message)
        return None

    def _inputs(
        self, stage: str, structure, charge: int, task: str, solvent: str | None, *, start_hessian=None
    ) -> dict:
        """The CalculatorWorkChain inputs of one task; ``start_hessian``: the Hessian at ``structure`` a relaxation
        starts from, or None."""
        # Only energies are used: single points skip the forces where the engine can.
        protocol = self.ctx.settings[stage]['protocol']
        # `settings`: differences to the calculator protocol (e.g. geometry thresholds); part of the reference key.
        overrides = self.ctx.settings[stage].get('settings') or None
        job = Task(kind=task, charge=charge, protocol=protocol, solvent=solvent, forces=False, settings=overrides)
        extra = {'options': self.inputs.options} if 'options' in self.inputs else {}
        if start_hessian is not None:
            extra['start_hessian'] = start_hessian
        return calculator_inputs(
            self.inputs[stage].calculator.value, self.inputs[stage].get('code'), structure, job, **extra
        )

    def _launch(self, label: str, inputs: dict) -> orm.ProcessNode:
        return self.submit(CalculatorWorkChain, **inputs, metadata={'call_link_label': label, 'label': label})

    def _launch_references(
        self, stage: str, starts: dict, task: str, solvent: str | None, prefix: str, *, hessians: dict | None = None
    ) -> dict:
        """Launch the references that no earlier WorkChain computed; reuse the others (stored in ``ctx``)."""
        launched = {}
        self.ctx.setdefault('reference_keys', {})
        for species, charge in REFERENCES.items():
            # The key holds the structure's hash, and a starting Hessian is the one of that structure's frequency
            # calculation: the same start has the same Hessian, so the key needs no part of its own for it.
            inputs = self._inputs(
                stage, starts[species], charge, task, solvent, start_hessian=(hessians or {}).get(species)
            )
            key = reference_key(species, inputs)
            label = f'{prefix}_{species}'
            self.ctx.reference_keys[label] = key
            found = find_reference(key)
            if found is not None:
                self.report(f'reusing reference {species} from CalculatorWorkChain<{found.pk}>')
                self.ctx[label] = found
            else:
                launched[label] = self._launch(label, inputs)
        return launched

    def _check_references(self, prefix: str, stage: str):
        for species in REFERENCES:
            label = f'{prefix}_{species}'
            node = self.ctx[label]
            if not node.is_finished_ok:
                return self.exit_codes.ERROR_REFERENCE_FAILED.format(reference=species, message=stage)
            if 'znadditive_reference' not in node.base.extras:
                tag_reference(node, self.ctx.reference_keys[label])
        return None

    def _launch_stage(
        self,
        prefix: str,
        stage: str,
        task: str,
        solvent: str | None,
        *,
        ligands: dict,
        complexes: dict,
        references: dict,
        hessians: dict | None = None,
    ):
        """Launch ``task`` on ligand structures, complexes (keyed by mode) and references; labels ``<prefix>_<key>``.
        ``hessians``: key -> the Hessian at that key's structure that its relaxation starts from, where there is one."""
        hessians = hessians or {}
        launched = {}
        for key, structure in ligands.items():
            inputs = self._inputs(
                stage, structure, self.ctx.ligand_charge, task, solvent, start_hessian=hessians.get(key)
            )
            launched[f'{prefix}_{key}'] = self._launch(f'{prefix}_{key}', inputs)
        for key, structure in complexes.items():
            inputs = self._inputs(
                stage, structure, self.ctx.modes[key]['charge'], task, solvent, start_hessian=hessians.get(key)
            )
            launched[f'{prefix}_{key}'] = self._launch(f'{prefix}_{key}', inputs)
        launched.update(self._launch_references(stage, references, task, solvent, prefix, hessians=hessians))
        return ToContext(**launched)
