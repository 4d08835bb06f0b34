"""``RedoxPotentialWorkChain`` (``znadditive.redox``): one-electron reduction and oxidation potentials of an additive
in water, against SHE, Zn/Zn2+ and hydrogen evolution at the electrolyte's pH.

From a SMILES: the species at the pH (``speciate_additive``) -> its lowest force-field conformer
(``build_redox_molecule``) -> three relaxations in implicit water through the calculator interface (the species,
its one-electron reduced and oxidised forms; the radical ions as doublets) -> ``redox_potentials`` (the cycle and
the references are in :mod:`aiida_znadditive.analysis.redox`). The reduced and oxidised forms are relaxed from the
species' own relaxed structure, so the three states share one conformer.

A form whose relaxation fails does not take the other potential with it: the WorkChain outputs what it has and ends
with ``ERROR_REDUCED_FAILED`` or ``ERROR_OXIDISED_FAILED``. The calibrated reduction potential is an output where the
calculator's level has a shipped calibration (``gfn2_xtb`` for ``xtb``).
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import ExitCode, ToContext, WorkChain, calcfunction

from ..analysis.redox import redox_potentials, shipped_redox_calibration
from ..analysis.speciation import EXIT_INVALID_SMILES, EXIT_NO_SPECIES, EXIT_SPECIATION_FAILED, speciate_additive
from ..calculators.base import CalculatorError, Task, electron_count, load_calculator
from ..exit_codes import declare
from ..structures.ligands import LigandError, embed_conformers
from .calculator import CalculatorWorkChain, calculator_inputs

#: The shipped reduction calibration of each calculator's level (protocol ``fast``).
CALIBRATIONS = {'xtb': 'gfn2_xtb'}
SPECIATION_ERRORS = {
    EXIT_INVALID_SMILES: 'ERROR_INVALID_SMILES',
    EXIT_SPECIATION_FAILED: 'ERROR_SPECIATION_FAILED',
    EXIT_NO_SPECIES: 'ERROR_NO_SPECIES',
}
EXIT_EMBEDDING_FAILED = 215  # build_redox_molecule's status: the WorkChain's ERROR_EMBEDDING_FAILED
STATES = {'neutral': 0, 'reduced': -1, 'oxidised': +1}  # electrons removed relative to the species


@calcfunction
def build_redox_molecule(species: orm.Dict):
    """The species' lowest MMFF conformer (ETKDGv3, seed 42) as a StructureData."""
    from rdkit import Chem

    mol = Chem.AddHs(Chem.MolFromSmiles(species['smiles']))
    try:
        atoms = embed_conformers(mol, 4)[0]
    except LigandError as error:
        return ExitCode(EXIT_EMBEDDING_FAILED, str(error))
    return orm.StructureData(ase=atoms)


class RedoxPotentialWorkChain(WorkChain):
    """One-electron reduction and oxidation potentials of an additive in water, vs SHE, Zn/Zn2+ and H2 evolution."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('smiles', valid_type=orm.Str, help='The additive as added (a salt: its ions).')
        spec.input('ph', valid_type=orm.Float, default=lambda: orm.Float(4.5), help="The electrolyte's pH.")
        spec.input('calculator', valid_type=orm.Str, default=lambda: orm.Str('xtb'), help='A calculator entry point.')
        spec.input('code', valid_type=orm.AbstractCode, required=False, help='Its code, for an engine that needs one.')
        spec.input('protocol', valid_type=orm.Str, default=lambda: orm.Str('fast'), help="The calculator's protocol.")
        spec.outline(cls.setup, cls.run_neutral, cls.run_ions, cls.results)
        spec.output('species', valid_type=orm.Dict, help='The species computed (SMILES, charge, pH).')
        for state in STATES:
            spec.output(
                f'{state}_energy', valid_type=orm.Float, required=False, help=f'Energy of the {state} form, eV.'
            )
        spec.output('reduction_potential', valid_type=orm.Float, required=False, help='Calibrated, V vs SHE.')
        spec.output('reduction_potential_raw', valid_type=orm.Float, required=False, help='Uncalibrated, V vs SHE.')
        spec.output('oxidation_potential_raw', valid_type=orm.Float, required=False, help='Uncalibrated, V vs SHE.')
        spec.output('summary', valid_type=orm.Dict, required=False, help='Potentials, references and flags.')
        declare(
            spec,
            'ERROR_INVALID_SMILES',
            'ERROR_SPECIATION_FAILED',
            'ERROR_NO_SPECIES',
            'ERROR_EMBEDDING_FAILED',
            'ERROR_CALCULATOR_CANNOT',
            'ERROR_MISSING_CODE',
            'ERROR_INCOMPATIBLE_CODE',
            'ERROR_NEUTRAL_FAILED',
            'ERROR_REDUCED_FAILED',
            'ERROR_OXIDISED_FAILED',
        )

    def setup(self):
        species, node = speciate_additive.run_get_node(self.inputs.smiles, self.inputs.ph)
        if not node.is_finished_ok:
            label = SPECIATION_ERRORS.get(node.exit_status, 'ERROR_SPECIATION_FAILED')
            return self.exit_codes[label].format(message=node.exit_message)
        self.out('species', species)
        self.ctx.species = species
        try:
            calculator = load_calculator(self.inputs.calculator.value)
            calculator.check_code(self.inputs.get('code'))
        except CalculatorError as error:
            label = {'missing_code': 'ERROR_MISSING_CODE', 'incompatible_code': 'ERROR_INCOMPATIBLE_CODE'}.get(
                error.reason, 'ERROR_CALCULATOR_CANNOT'
            )
            return self.exit_codes[label].format(message=str(error))
        if 'relax' not in calculator.tasks:
            return self.exit_codes.ERROR_CALCULATOR_CANNOT.format(message=f'{calculator.name} cannot relax')
        structure, node = build_redox_molecule.run_get_node(species)
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_EMBEDDING_FAILED.format(message=node.exit_message)
        self.ctx.structure = structure
        self.report(f'species at pH {species["ph"]}: {species["smiles"]} (charge {species["charge"]:+d})')
        return None

    def _launch(self, state: str, structure: orm.StructureData):
        charge = self.ctx.species['charge'] + STATES[state]
        multiplicity = 1 if electron_count(structure, charge) % 2 == 0 else 2
        task = Task(
            kind='relax', charge=charge, multiplicity=multiplicity, protocol=self.inputs.protocol.value, solvent='water'
        )
        inputs = calculator_inputs(
            self.inputs.calculator.value,
            self.inputs.get('code'),
            structure,
            task,
            metadata={'call_link_label': state},
        )
        return self.submit(CalculatorWorkChain, **inputs)

    def run_neutral(self):
        return ToContext(neutral=self._launch('neutral', self.ctx.structure))

    def run_ions(self):
        if not self.ctx.neutral.is_finished_ok:
            return self.exit_codes.ERROR_NEUTRAL_FAILED.format(message=self.ctx.neutral.exit_message or 'no message')
        relaxed = self.ctx.neutral.outputs.structure
        return ToContext(reduced=self._launch('reduced', relaxed), oxidised=self._launch('oxidised', relaxed))

    def results(self):
        energies = {}
        for state in STATES:
            node = self.ctx[state]
            if node.is_finished_ok:
                energies[state] = node.outputs.energy
                self.out(f'{state}_energy', node.outputs.energy)
            else:
                self.report(f'the {state} form failed: {node.exit_message or node.exit_status}')
        name = CALIBRATIONS.get(self.inputs.calculator.value) if self.inputs.protocol.value == 'fast' else None
        try:
            fit = shipped_redox_calibration(name) if name else {}
        except ValueError:  # not fitted yet (benchmarks/redox.py makes it): raw potentials only
            fit = {}
        calibration = orm.Dict({key: fit[key] for key in ('name', 'slope', 'intercept') if key in fit})
        optional = {state: energies[state] for state in ('reduced', 'oxidised') if state in energies}
        outputs = redox_potentials(energies['neutral'], self.inputs.ph, calibration, **optional)
        for key, value in outputs.items():
            self.out(key, value)
        summary = outputs['summary']
        self.report(
            f'E_red {summary.get("reduction_V_vs_she", summary.get("reduction_raw_V_vs_she"))} V vs SHE, '
            f'summary<{summary.pk}>'
        )
        for state, label in (('reduced', 'ERROR_REDUCED_FAILED'), ('oxidised', 'ERROR_OXIDISED_FAILED')):
            if state not in energies:
                return self.exit_codes[label].format(message=self.ctx[state].exit_message or 'no message')
        return None
