"""One-electron redox potentials in water from adiabatic energies, as calcfunctions, against SHE, Zn/Zn2+ and
hydrogen evolution at the electrolyte's pH.

The thermodynamic cycle, for the reduction M + e- -> M•- (charges relative to the species M at the pH):

    ΔG_red(aq) = G(M•-, aq) - G(M, aq)                      (both relaxed in implicit water)
    E_red(vs SHE) = -ΔG_red / F - E_abs(SHE)

and for the oxidation M -> M•+ + e-, E_ox(vs SHE) = ΔG_ox / F - E_abs(SHE), with ΔG_ox = G(M•+, aq) - G(M, aq).
E_abs(SHE) = 4.281 V (Isse & Gennaro, J. Phys. Chem. B 2010, 114, 7894; the electron's free energy in the gas phase
with Fermi-Dirac statistics). In the ``fast`` protocol G is the electronic energy in implicit water at each state's
own minimum (thermal terms largely cancel between two charge states of one molecule, about 0.05 eV).

GFN2-xTB's absolute electron affinities are off by several eV (its parameters were fitted to neutral molecules), so
the raw potential is not a number to quote. A linear calibration against measured aqueous one-electron reduction
potentials (``data/calibration/redox_reduction_potentials.csv``, fitted by ``benchmarks/redox.py``, validated
leave-one-out; docs/source/binding.md) gives the calibrated reduction potential where the level has one. There is no
calibration of oxidations (measured aqueous one-electron oxidation potentials of organic molecules are few), so the
oxidation flag is only set from a calibrated value.

Reference potentials: Zn2+/Zn -0.762 V vs SHE; hydrogen evolution -0.0592 pH V vs SHE (25 °C). The window of a
mildly acidic zinc cell runs from Zn plating to the top of its cathodes, about +1.0 V vs SHE (the ``rules``
screener's redox alerts use the same limits).
"""

from __future__ import annotations

import json
from importlib import resources

from aiida import orm
from aiida.engine import calcfunction

ABSOLUTE_SHE = 4.281  # V
ZINC = -0.762  # V vs SHE, Zn2+/Zn
NERNST_SLOPE = 0.05916  # V per pH unit at 298.15 K
CATHODE_TOP = 1.0  # V vs SHE


def hydrogen_evolution(ph: float) -> float:
    """The reversible hydrogen potential at ``ph``, V vs SHE."""
    return -NERNST_SLOPE * ph


def shipped_redox_calibration(name: str) -> dict:
    """The shipped calibration ``name`` of reduction potentials (``slope``, ``intercept``: E = slope E_raw +
    intercept, with the figures of its fit), from ``aiida_znadditive/ml/shipped/redox_calibration/``."""
    path = resources.files('aiida_znadditive.ml.shipped').joinpath('redox_calibration', f'{name}.json')
    if not path.is_file():
        raise ValueError(f'no shipped redox calibration {name!r}')
    return json.loads(path.read_text())


@calcfunction
def redox_potentials(
    neutral: orm.Float,
    ph: orm.Float,
    calibration: orm.Dict,
    reduced: orm.Float | None = None,
    oxidised: orm.Float | None = None,
) -> dict:
    """The potentials (V vs SHE) from the energies (eV) of the species and its reduced and oxidised forms, where
    each exists; the flags against Zn plating, hydrogen evolution and the cathode (module docstring).

    ``calibration``: ``{}`` or a shipped calibration of the reduction (slope, intercept).
    """
    settings = calibration.get_dict()
    her = hydrogen_evolution(ph.value)
    outputs: dict[str, orm.Data] = {}
    summary: dict = {
        'she_absolute_V': ABSOLUTE_SHE,
        'zinc_V_vs_she': ZINC,
        'hydrogen_evolution_V_vs_she': her,
        'ph': ph.value,
        'calibration': settings or None,
    }
    if reduced is not None:
        raw = -(reduced.value - neutral.value) - ABSOLUTE_SHE
        outputs['reduction_potential_raw'] = orm.Float(raw)
        summary['reduction_raw_V_vs_she'] = raw
        if settings:
            value = settings['slope'] * raw + settings['intercept']
            outputs['reduction_potential'] = orm.Float(value)
            summary |= {
                'reduction_V_vs_she': value,
                'reduction_V_vs_zn': value - ZINC,
                'reduction_V_vs_her': value - her,
                # Reduced at the anode before hydrogen evolves (and before zinc plates, which lies below it).
                'reduced_before_hydrogen_evolution': value > her,
                'reduced_before_zinc_plating': value > ZINC,
            }
    if oxidised is not None:
        raw = (oxidised.value - neutral.value) - ABSOLUTE_SHE
        outputs['oxidation_potential_raw'] = orm.Float(raw)
        summary['oxidation_raw_V_vs_she'] = raw
        summary['oxidised_inside_window'] = None  # no calibrated oxidation: no verdict (module docstring)
    outputs['summary'] = orm.Dict(summary)
    return outputs
