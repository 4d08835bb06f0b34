"""Complexation results as a tidy table: one row per ``ZnComplexationWorkChain``, every number with its node's UUID.

Columns: the molecule as given and as computed (species at the pH, charge), the best binding mode, the exchange
energies ΔE (gas, implicit water) and free energies ΔG (thermal and standard-state terms, calibrated where a
calibration ships, and the cheap level's), the ligand's frontier orbitals, the Zn-donor geometry, the Zn-O stretch
of the complex and of [Zn(H2O)6]2+ and its shift (cm⁻¹, from the cheap level's Hessians), and the level of
theory read from the engine processes (:mod:`.methods`). Each number ``x`` has a column ``x_uuid``: the node that
holds it, created by the calcfunction that computed it.
"""

from __future__ import annotations

from aiida import orm
from aiida.common.links import LinkType

from .graph import batched_links, linked, one_transaction
from .methods import level_of_theory, stage_methods

#: column -> the WorkChain output (a Float or Int) that holds it; all energies in eV
NUMBERS = {
    'dE_gas': 'exchange_energy',
    'dE_water': 'exchange_energy_solvated',
    'dG_thermal': 'thermal_contribution',
    'dG_standard_state': 'standard_state_contribution',
    'dG': 'exchange_free_energy',
    'dG_calibrated': 'exchange_free_energy_calibrated',
    'dG_cheap': 'prerank_exchange_free_energy',
    'dG_cheap_calibrated': 'prerank_exchange_free_energy_calibrated',
    'ligand_homo': 'ligand_homo',
    'ligand_lumo': 'ligand_lumo',
    'ligand_gap': 'ligand_gap',
    'displaced_waters': 'displaced_waters',
}
#: columns shown in the Markdown and LaTeX tables (the CSV has them all)
SUMMARY = ('molecule', 'species', 'binding_mode', 'dE_gas', 'dE_water', 'dG', 'dG_calibrated', 'zn_donor_mean')
UNITS = {name: 'eV' for name in NUMBERS if name != 'displaced_waters'} | {'zn_donor_mean': 'Å'}
UNITS |= dict.fromkeys(('zn_o_stretch_complex', 'zn_o_stretch_hexaaqua', 'zn_o_stretch_shift'), 'cm⁻¹')


def complexation_row(node: orm.WorkflowNode) -> dict:
    """The row of one finished ZnComplexationWorkChain (numbers absent from its outputs are None)."""
    from rdkit import Chem

    # One dictionary of the links each way: `node.outputs.x` reads (and builds a dictionary of) all outputs each time.
    outputs = linked(node, LinkType.RETURN, 'outgoing')
    inputs = linked(node, LinkType.INPUT_WORK, 'incoming')
    species = outputs['species'].get_dict() if 'species' in outputs else {}
    mode = outputs['binding_mode'].get_dict() if 'binding_mode' in outputs else {}
    geometry = outputs['geometry'].get_dict() if 'geometry' in outputs else {}
    molecule = inputs['smiles'].value
    parsed = Chem.MolFromSmiles(molecule)
    methods = stage_methods(node)
    dft, cheap, solvated = methods.get('dft', {}), methods.get('prerank', {}), methods.get('solvated', {})
    row = {
        'molecule': molecule,
        'inchikey': Chem.MolToInchiKey(parsed) if parsed is not None else None,
        'ph': inputs['ph'].value,
        'species': species.get('smiles'),
        'species_charge': species.get('charge'),
        'binding_mode': mode.get('label'),
        'denticity': mode.get('denticity'),
        'mode_criterion': mode.get('criterion'),
    }
    for column, name in NUMBERS.items():
        value = outputs.get(name)
        row[column] = None if value is None else value.value
        row[f'{column}_uuid'] = None if value is None else value.uuid
    # The Zn-O signature (analysis.vibrations): the share-weighted stretch of the complex and of [Zn(H2O)6]2+, cm⁻¹.
    for column, label, key in (
        ('zn_o_stretch_complex', 'vibrations__complex', 'mean_stretch_cm'),
        ('zn_o_stretch_hexaaqua', 'vibrations__hexaaqua', 'mean_stretch_cm'),
        ('zn_o_stretch_shift', 'vibrations__zn_o_stretch_shift', None),
    ):
        value = outputs.get(label)
        row[column] = None if value is None else (value.value if key is None else value[key])
        row[f'{column}_uuid'] = None if value is None else value.uuid
    row['zn_donor_mean'] = geometry.get('mean_distance')
    row['coordination_number'] = geometry.get('coordination_number')
    row['zn_donor_mean_uuid'] = outputs['geometry'].uuid if 'geometry' in outputs else None
    row.update(
        {
            'level': level_of_theory(methods),
            'dft_method': dft.get('method'),
            'dft_basis': dft.get('basis'),
            'dft_dispersion': dft.get('dispersion'),
            'dft_protocol': dft.get('protocol'),
            'solvent_model': solvated.get('solvent_model'),
            'cheap_method': cheap.get('method'),
            'cheap_solvent_model': cheap.get('solvent_model'),
            'codes': '; '.join(sorted({m['code'] for m in methods.values() if m.get('code')})),
            'engine_versions': '; '.join(
                sorted({m['engine_version'] for m in methods.values() if 'engine_version' in m})
            ),
            'date': node.ctime.isoformat(timespec='seconds'),
            'workchain_uuid': node.uuid,
        }
    )
    return row


def complexation_table(nodes: list[orm.WorkflowNode]):
    """The rows of ``nodes`` as a pandas DataFrame, in the order given. The links are read in batches
    (:mod:`.graph`): a row reads ~50 links, one query each when read node by node."""
    import pandas as pd

    with one_transaction(), batched_links(nodes):
        return pd.DataFrame([complexation_row(node) for node in nodes])
