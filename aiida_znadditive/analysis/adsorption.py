"""Adsorption energies, adsorbate geometry checks and the Zn lattice, as calcfunctions (numbers a paper quotes).

E_ads = E(slab+molecule) - E(slab) - E(molecule in the same cell): negative binds. Each relaxed configuration is
checked before it may count: a molecule whose bonds changed (dissociated) or that left the surface (desorbed) is
flagged and kept in the table, never ranked as the best.
"""

from __future__ import annotations

import io

import numpy as np
from aiida import orm
from aiida.engine import calcfunction
from ase import Atoms
from ase.data import covalent_radii
from ase.geometry import get_distances

#: status of a configuration in the table; only `ok` ones can be the best
STATUSES = ('ok', 'dissociated', 'desorbed', 'failed')


def _bonds(atoms: Atoms, tolerance: float) -> set[tuple[int, int]]:
    """Pairs of atoms closer than ``tolerance`` x the sum of their covalent radii (molecule only, no images)."""
    radii = covalent_radii[atoms.numbers]
    distances = np.linalg.norm(atoms.positions[:, None] - atoms.positions[None], axis=-1)
    limit = tolerance * (radii[:, None] + radii[None])
    i, j = np.nonzero(np.triu(distances < limit, k=1))
    return set(zip(i.tolist(), j.tolist(), strict=True))


def _unwrapped_molecule(atoms: Atoms, n_slab: int) -> Atoms:
    """The adsorbate, made whole across the periodic boundaries (a relaxation may move atoms through a face)."""
    molecule = atoms[n_slab:].copy()
    if len(molecule) > 1:
        vectors, _ = get_distances(molecule.positions[0], molecule.positions, cell=atoms.cell, pbc=atoms.pbc)
        molecule.positions = molecule.positions[0] + vectors[0]
    return molecule


def adsorbate_geometry(
    initial: Atoms, relaxed: Atoms, n_slab: int, *, bond_tolerance: float, desorption_distance: float
) -> dict:
    """Shortest Zn-element distances of the adsorbate after relaxation, and whether it dissociated or desorbed."""
    before = _bonds(_unwrapped_molecule(initial, n_slab), bond_tolerance)
    molecule = _unwrapped_molecule(relaxed, n_slab)
    after = _bonds(molecule, bond_tolerance)
    zinc = relaxed[:n_slab]
    _, distances = get_distances(molecule.positions, zinc.positions, cell=relaxed.cell, pbc=relaxed.pbc)
    per_atom = distances.min(axis=1)
    shortest: dict[str, float] = {}
    for symbol, distance in zip(molecule.get_chemical_symbols(), per_atom, strict=True):
        shortest[symbol] = round(float(min(distance, shortest.get(symbol, np.inf))), 4)
    closest = int(np.argmin(per_atom))
    top_layer = float(zinc.positions[:, 2].max())
    return {
        'shortest_zn_distances': shortest,
        'closest_atom': molecule.get_chemical_symbols()[closest],
        'closest_distance': round(float(per_atom[closest]), 4),
        'height': round(float(molecule.positions[:, 2].min() - top_layer), 4),
        'broken_bonds': sorted(map(list, before - after)),
        'formed_bonds': sorted(map(list, after - before)),
        'dissociated': before != after,
        'desorbed': bool(per_atom.min() > desorption_distance),
    }


@calcfunction
def adsorption_energies(
    slab_energy: orm.Float, molecule_energy: orm.Float, configurations: orm.Dict, checks: orm.Dict, **results
) -> dict:
    """E_ads of every configuration, its geometry checks, and the best one that stayed an intact adsorbate.

    ``configurations``: the Dict of ``build_adsorption_configurations`` (``items`` with ``structure`` keys).
    ``results``: per configuration key ``<key>_energy`` (Float, eV), ``<key>_initial`` and ``<key>_relaxed``
    (StructureData); a configuration without them failed and is listed as such.
    Outputs ``table`` (Dict: ``rows``, ``best``) and ``adsorption_energy`` (Float, eV; the best ``ok`` row), absent
    when no configuration is ``ok``.
    """
    options = checks.get_dict()
    reference = slab_energy.value + molecule_energy.value
    rows = []
    for item in configurations['items']:
        key = item['structure']
        row = {name: item[name] for name in ('label', 'site', 'orientation', 'donor_element') if name in item}
        row['structure'] = key
        if f'{key}_energy' not in results:
            rows.append({**row, 'status': 'failed', 'energy': None, 'adsorption_energy': None})
            continue
        geometry = adsorbate_geometry(
            results[f'{key}_initial'].get_ase(),
            results[f'{key}_relaxed'].get_ase(),
            item['n_slab'],
            bond_tolerance=options['bond_tolerance'],
            desorption_distance=options['desorption_distance'],
        )
        status = 'dissociated' if geometry['dissociated'] else 'desorbed' if geometry['desorbed'] else 'ok'
        energy = results[f'{key}_energy'].value
        rows.append({**row, **geometry, 'status': status, 'energy': energy, 'adsorption_energy': energy - reference})
    ranked = sorted((row for row in rows if row['status'] == 'ok'), key=lambda row: row['adsorption_energy'])
    table = {
        'slab_energy': slab_energy.value,
        'molecule_energy': molecule_energy.value,
        'rows': rows,
        'best': ranked[0]['structure'] if ranked else None,
        'ranking': [row['structure'] for row in ranked],
        'counts': {status: sum(row['status'] == status for row in rows) for status in STATUSES},
    }
    outputs = {'table': orm.Dict(table)}
    if ranked:
        outputs['adsorption_energy'] = orm.Float(ranked[0]['adsorption_energy'])
    return outputs


@calcfunction
def zn_lattice(bulk: orm.StructureData, experiment: orm.Dict) -> orm.Dict:
    """a, c and c/a of the relaxed hcp Zn cell, and their deviation from experiment in percent."""
    cell = np.array(bulk.cell)
    a, c = float(np.linalg.norm(cell[0])), float(np.linalg.norm(cell[2]))
    reference = experiment.get_dict()
    return orm.Dict(
        {
            'a': a,
            'c': c,
            'c_over_a': c / a,
            'volume_per_atom': float(abs(np.linalg.det(cell))) / len(bulk.sites),
            'a_error_percent': 100 * (a - reference['a']) / reference['a'],
            'c_error_percent': 100 * (c - reference['c']) / reference['c'],
            'experiment': reference,
        }
    )


@calcfunction
def compare_with_water(additive: orm.Float, water: orm.Float) -> orm.Dict:
    """How much more strongly the additive binds to Zn(002) than water (negative: it can displace water)."""
    difference = additive.value - water.value
    return orm.Dict(
        {
            'additive': additive.value,
            'water': water.value,
            'difference': difference,
            'binds_stronger_than_water': difference < 0,
        }
    )


@calcfunction
def plot_adsorption(**tables) -> orm.SinglefileData:
    """Bar chart of E_ads per configuration and molecule (``<molecule>_<stage>`` tables), flagged ones hatched."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(tables), figsize=(5 * len(tables), 4), squeeze=False)
    for axis, (name, table) in zip(axes[0], sorted(tables.items()), strict=True):
        rows = [row for row in table['rows'] if row['adsorption_energy'] is not None]
        labels = [row['label'] for row in rows]
        values = [row['adsorption_energy'] for row in rows]
        bars = axis.barh(labels, values, color=['C0' if row['status'] == 'ok' else 'C3' for row in rows])
        for bar, row in zip(bars, rows, strict=True):
            if row['status'] != 'ok':
                bar.set_hatch('//')
        axis.axvline(0.0, color='k', linewidth=0.8)
        axis.set_xlabel('E_ads (eV)')
        axis.set_title(name.replace('_', ' '))
        axis.invert_yaxis()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format='png', dpi=120)
    plt.close(figure)
    buffer.seek(0)
    return orm.SinglefileData(buffer, filename='adsorption.png')
