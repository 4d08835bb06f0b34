"""From a SMILES to the structures a complexation study starts from, as one calcfunction (so it is in the graph)."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction
from ase import Atoms

from .chelates import all_binding_modes, place_binding_mode
from .ligands import embed_conformers, net_charge, parse_ligand, require_donors

WATER_GEOMETRY = Atoms('OH2', positions=[[0.0, 0.0, 0.0], [0.0, 0.7572, 0.5865], [0.0, -0.7572, 0.5865]])


def prepare_ligand(smiles: str, settings: dict):
    """Parse and check a ligand; return the molecule and its donors. Raises ``LigandError`` with a reason."""
    mol = parse_ligand(smiles, settings['allowed_elements'], settings['max_heavy_atoms'])
    return mol, require_donors(mol)


@calcfunction
def build_water() -> orm.StructureData:
    """A water molecule at the experimental gas-phase geometry (r(OH) 0.9572 Å, 104.52°)."""
    return orm.StructureData(ase=WATER_GEOMETRY.copy())


@calcfunction
def build_complexation_candidates(ligand: orm.Str | orm.Dict, settings: orm.Dict) -> dict:
    """Ligand conformers (``ligand_<i>``), one complex per binding mode (``complex_<j>``) and ``binding_modes``.

    ``ligand``: the SMILES as it is to be computed, or the output of
    :func:`~aiida_znadditive.analysis.speciation.speciate_additive`, whose species ``smiles`` is used (the graph then
    leads from the structures back through the species to the additive as written).

    ``settings``: ``allowed_elements``, ``max_heavy_atoms``, ``conformers``, ``seed``, ``zn_donor`` (Å),
    ``max_denticity`` (1-6). Modes are those of :func:`~aiida_znadditive.structures.chelates.all_binding_modes`, each
    placed by :func:`~aiida_znadditive.structures.chelates.place_binding_mode`; a mode that cannot be placed is listed
    with ``placed`` False and the reason. ``binding_modes`` (Dict) lists per complex its label, donors (ligand atom
    indices), elements, kinds, denticity, the number of waters it displaces, its charge, and the donor atoms' indices
    in the complex.
    """
    smiles = ligand['smiles'] if isinstance(ligand, orm.Dict) else ligand.value
    options = settings.get_dict()
    mol, donors = prepare_ligand(smiles, options)
    conformers = embed_conformers(mol, options['conformers'], seed=options['seed'])
    outputs: dict[str, orm.Data] = {}
    for index, conformer in enumerate(conformers):
        outputs[f'ligand_{index}'] = orm.StructureData(ase=Atoms(conformer.numbers, conformer.positions))
    modes = []
    for mode in all_binding_modes(mol, conformers, donors, max_denticity=options['max_denticity']):
        try:
            geometry = place_binding_mode(mol, conformers, mode, zn_donor=options['zn_donor'], seed=options['seed'])
        except ValueError as error:
            modes.append({'label': mode.label, 'placed': False, 'reason': str(error)})
            continue
        key = f'complex_{sum(m["placed"] for m in modes)}'
        outputs[key] = orm.StructureData(ase=Atoms(geometry.atoms.numbers, geometry.atoms.positions))
        modes.append(
            {
                'label': mode.label,
                'placed': True,
                'structure': key,
                'donors': list(mode.donors),
                'elements': list(mode.elements),
                'kinds': list(mode.kinds),
                'denticity': mode.denticity,
                'displaced_waters': mode.denticity,
                'charge': 2 + net_charge(mol),
                'donor_indices_in_complex': list(geometry.donor_indices),
                'min_contact': geometry.min_contact,
            }
        )
    outputs['binding_modes'] = orm.Dict({'smiles': smiles, 'ligand_charge': net_charge(mol), 'modes': modes})
    return outputs
