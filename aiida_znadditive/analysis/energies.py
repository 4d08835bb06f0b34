"""Exchange energies of Zn2+ complexes: the number the complexation WorkChain exists to produce.

ΔE = E([Zn(H2O)6-n L]) + n·E(H2O) − E([Zn(H2O)6]) − E(L): the energy of replacing n waters of the hexaaqua ion by
the ligand L (negative: L binds more strongly than the waters it displaces). All energies in eV.
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction


def exchange_energy_value(complex_: float, ligand: float, hexaaqua: float, water: float, displaced: int) -> float:
    return complex_ + displaced * water - hexaaqua - ligand


@calcfunction
def exchange_energy(
    complex_energy: orm.Float,
    ligand_energy: orm.Float,
    hexaaqua_energy: orm.Float,
    water_energy: orm.Float,
    displaced_waters: orm.Int,
) -> orm.Float:
    """ΔE in eV for replacing ``displaced_waters`` waters of [Zn(H2O)6]2+ by the ligand."""
    return orm.Float(
        exchange_energy_value(
            complex_energy.value,
            ligand_energy.value,
            hexaaqua_energy.value,
            water_energy.value,
            displaced_waters.value,
        )
    )


@calcfunction
def rank_binding_modes(
    binding_modes: orm.Dict,
    ligand_energy: orm.Float,
    hexaaqua_energy: orm.Float,
    water_energy: orm.Float,
    **complex_energies: orm.Float,
) -> orm.Dict:
    """Rank the placed binding modes by their exchange energy (eV), most favourable first.

    ``complex_energies`` are keyed by the modes' ``structure`` keys (``complex_<j>``); modes without an energy (their
    calculation failed) are listed last with ``exchange_energy`` None.
    """
    ranked = []
    for mode in binding_modes['modes']:
        if not mode['placed']:
            continue
        energy = complex_energies.get(mode['structure'])
        delta = (
            None
            if energy is None
            else exchange_energy_value(
                energy.value, ligand_energy.value, hexaaqua_energy.value, water_energy.value, mode['displaced_waters']
            )
        )
        ranked.append({**mode, 'exchange_energy': delta})
    ranked.sort(key=lambda mode: (mode['exchange_energy'] is None, mode['exchange_energy'] or 0.0))
    return orm.Dict({'ranking': ranked, 'units': 'eV'})


# Keys of a mode in `binding_modes` that describe it chemically (the rest is bookkeeping of the built structures).
MODE_KEYS = ('label', 'donors', 'elements', 'kinds', 'denticity', 'displaced_waters', 'charge')


@calcfunction
def best_binding_mode(
    binding_modes: orm.Dict, criterion: orm.Str | None = None, **exchange_energies: orm.Float
) -> orm.Dict:
    """The mode with the lowest exchange energy: its :data:`MODE_KEYS`, that ``exchange_energy`` (eV) and the
    ``structure`` key of its complex (the output of ``build_complexation_candidates`` it was built as).

    ``exchange_energies`` are keyed by the modes' ``structure`` keys (``complex_<j>``), as in
    :func:`rank_binding_modes`; being inputs here, the graph shows which energies (gas or solvated) chose the mode.
    Equal energies keep the first in the order of ``binding_modes``. ``criterion`` names the quantity the numbers
    are (``exchange_energy``, the default, or ``exchange_free_energy``): the chosen mode's value is stored under that
    name, and the name under ``criterion``.
    """
    if not exchange_energies:
        raise ValueError('No exchange energy given: there is no mode to choose.')
    modes = {mode['structure']: mode for mode in binding_modes['modes'] if mode['placed']}
    unknown = sorted(set(exchange_energies) - set(modes))
    if unknown:
        raise ValueError(f'Exchange energies for modes that binding_modes does not list: {", ".join(unknown)}.')
    best = min((key for key in modes if key in exchange_energies), key=lambda key: exchange_energies[key].value)
    name = 'exchange_energy' if criterion is None else criterion.value
    return orm.Dict(
        {
            **{key: modes[best][key] for key in MODE_KEYS},
            name: exchange_energies[best].value,
            'criterion': name,
            'structure': best,
        }
    )


@calcfunction
def orbital_gap(homo: orm.Float, lumo: orm.Float) -> orm.Float:
    """HOMO-LUMO gap in eV."""
    return orm.Float(lumo.value - homo.value)
