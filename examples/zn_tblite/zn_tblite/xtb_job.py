"""An engine through a CalcJob: the xtb executable for single points, with its own parser."""

from __future__ import annotations

import json

from aiida import orm
from aiida.common import datastructures
from aiida.engine import CalcJob
from aiida.parsers import Parser
from ase.units import Hartree


class XtbSinglePointCalculation(CalcJob):
    """``xtb structure.xyz --sp --json``: a GFN2-xTB single point, optionally in ALPB implicit solvent."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('structure', valid_type=orm.StructureData)
        spec.input('parameters', valid_type=orm.Dict, help='charge, multiplicity, solvent (or None)')
        spec.output('energy', valid_type=orm.Float, help='Total energy, eV.')
        spec.inputs['metadata']['options']['parser_name'].default = 'zn_tblite.xtb_sp'
        spec.inputs['metadata']['options']['resources'].default = {'num_machines': 1, 'num_mpiprocs_per_machine': 1}
        spec.exit_code(300, 'ERROR_NO_OUTPUT', message='xtb wrote no xtbout.json.')

    def prepare_for_submission(self, folder):
        settings = self.inputs.parameters.get_dict()
        atoms = self.inputs.structure.get_ase()
        lines = [str(len(atoms)), 'written by zn_tblite']
        lines += [f'{a.symbol} {a.position[0]:.8f} {a.position[1]:.8f} {a.position[2]:.8f}' for a in atoms]
        folder.get_subfolder('.', create=True)
        with folder.open('structure.xyz', 'w') as handle:
            handle.write('\n'.join(lines) + '\n')
        arguments = ['structure.xyz', '--sp', '--json', '--chrg', str(settings['charge'])]
        arguments += ['--uhf', str(settings['multiplicity'] - 1)]
        if settings.get('solvent'):
            arguments += ['--alpb', settings['solvent']]
        code_info = datastructures.CodeInfo()
        code_info.code_uuid = self.inputs.code.uuid
        code_info.cmdline_params = arguments
        code_info.stdout_name = 'xtb.out'
        calc_info = datastructures.CalcInfo()
        calc_info.codes_info = [code_info]
        calc_info.retrieve_list = ['xtbout.json', 'xtb.out']
        return calc_info


class XtbSinglePointParser(Parser):
    def parse(self, **kwargs):
        try:
            content = json.loads(self.retrieved.base.repository.get_object_content('xtbout.json'))
        except (FileNotFoundError, OSError, ValueError):
            return self.exit_codes.ERROR_NO_OUTPUT
        self.out('energy', orm.Float(content['total energy'] * Hartree))
        return None
