"""Coupled carboxyl sites: the charge of a first carboxylate holds the second proton of a di- or polycarboxylic acid.

dimorphite-dl treats every ionisable site on its own (its class pKa against the pH), so any acid with two carboxyls
at its class value (3.46) is a dianion above pH 3.46: malic acid (measured pKa 3.40 and 5.20) at pH 4.5, maleic acid
(1.93, 6.58) at pH 5 and 6, pimelic acid (4.50, 5.43) at pH 5. The measured values of the plain diacids
HOOC-(CH2)n-COOH (the same CRC values as :data:`~.pka_table.PKA_OVERRIDES`) show how much a carboxylate raises the
pKa of a carboxyl ``d`` bonds away (carbon to carbon): the difference pKa2 - pKa1 of the diacid with that
separation, 3.0 at one bond (oxalic) falling to 1.0 at five (adipic: the statistical factor log 4 = 0.6 and what is
left of the electrostatics), which is kept for longer chains.

:func:`couple_carboxyl_sites` applies it to dimorphite-dl's species, in the order of the sites' own pKa: the most
acidic carboxyl leaves first; each next one keeps its proton when its pKa, raised by every carboxylate already
formed, lies above the pH. Only carboxyls whose pKa is a class value are coupled: those of a multi-site entry of
:data:`~.pka_table.PKA_OVERRIDES` (oxalic, malonic, succinic, glutaric, adipic, phthalic, citric) already carry
their measured stepwise values. The attraction of a nearby ammonium (amino acids) is left to the overrides and to
dimorphite-dl's classes.

``benchmarks/speciation_acids.py`` compares the charges with those from measured stepwise pKa values.
"""

from __future__ import annotations

from rdkit import Chem

#: Bonds between two carboxyl carbons -> rise of the second pKa (pKa2 - pKa1 of the plain diacid with that
#: separation, 25 °C, CRC Handbook: oxalic 1.25/4.27, malonic 2.83/5.69, succinic 4.21/5.64, glutaric 4.34/5.42,
#: adipic 4.41/5.41, the values of the override table); beyond adipic's five bonds, adipic's value.
CARBOXYLATE_SHIFT = {1: 3.02, 2: 2.86, 3: 1.43, 4: 1.08, 5: 1.00}

CARBOXYLATE = Chem.MolFromSmarts('[CX3](=[OX1])[OX1-]')


def shift(bonds: int) -> float:
    """The rise of a carboxyl's pKa from a carboxylate ``bonds`` bonds away."""
    return CARBOXYLATE_SHIFT.get(bonds, CARBOXYLATE_SHIFT[max(CARBOXYLATE_SHIFT)])


def couple_carboxyl_sites(
    species: Chem.Mol, site_pkas: dict[int, float], ph: float
) -> tuple[Chem.Mol, tuple[str, ...]]:
    """Reprotonate the carboxylates of ``species`` that the charge of the others holds at ``ph``.

    :param species: dimorphite-dl's species (implicit hydrogens).
    :param site_pkas: carboxyl carbon index in ``species`` -> its pKa as dimorphite-dl used it, for the carboxyls to
        couple (a carboxylate missing here, e.g. one of an override's stepwise sites, is formed but never moved).
    :returns: the species and one line per carboxyl kept protonated (for the species' ``changes``).
    """
    formed = {match[0]: match[2] for match in species.GetSubstructMatches(CARBOXYLATE)}
    coupled = sorted((pka, carbon) for carbon, pka in site_pkas.items() if carbon in formed)
    if len(formed) < 2 or not coupled:
        return species, ()
    distances = Chem.GetDistanceMatrix(species)
    # the carboxylates no coupling moves (an override's stepwise sites) act on the others from the start
    charged = [carbon for carbon in formed if carbon not in site_pkas]
    kept, notes = [], []
    for pka, carbon in coupled:
        rises = [(shift(int(distances[carbon, other])), int(distances[carbon, other])) for other in charged]
        effective = pka + sum(rise for rise, _ in rises)
        # dimorphite-dl's tie rule: a pKa equal to the pH gives the deprotonated state
        if effective <= ph:
            charged.append(carbon)
            continue
        kept.append(carbon)
        terms = ' + '.join(f'{rise:.2f} (carboxylate {bonds} bonds away)' for rise, bonds in rises)
        notes.append(f'carboxylic acid kept protonated: pKa {pka:.2f} + {terms} = {effective:.2f} > pH {ph:g}')
    if not kept:
        return species, ()
    editable = Chem.RWMol(species)
    for carbon in kept:
        oxygen = editable.GetAtomWithIdx(formed[carbon])
        oxygen.SetFormalCharge(0)
        oxygen.SetNumExplicitHs(1)
        oxygen.SetNoImplicit(False)
    Chem.SanitizeMol(editable)
    return editable.GetMol(), tuple(notes)
