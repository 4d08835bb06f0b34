"""The mechanisms by which published aqueous-zinc electrolyte additives work, each a desirability in [0, 1] of the
additive's species at the electrolyte's pH, with its physical reason; the ``mechanisms`` screener combines them.

Published additives act in different ways (reviews: Zhang et al., Chem. Soc. Rev. 2023, 52, 4000; Yang et al., Adv.
Mater. 2023, 35, 2300225), and an additive that is good by one mechanism may be poor by another: saccharin works
because it is reduced on zinc, sodium dodecyl sulfate because it is amphiphilic. So every term here judges one
mechanism only, and the screener combines them as the best plus a little of the second (:func:`combine`), never a
product across mechanisms.

- ``solvation_sheath``: the additive replaces a water in the Zn2+ solvation shell, so fewer waters reach the anode
  with the ion (less hydrogen evolution, more even plating). Its measure is the calibrated exchange free energy ΔG
  (eV, on the scale of measured stability constants): better than water (ΔG < 0), but not so strong that zinc is
  held in solution (EDTA4-, about -1.1 eV, is the strongest used). A trapezoid: 0 above +0.05 eV, 1 from -0.25 to
  -0.9 eV, 0 below -1.4 eV, averaged over the model's calibrated uncertainty. Without a model that predicts ΔG, a
  stated fallback from the species' Zn2+ donor atoms (0.4 with one, 0.7 with a chelating pair). A species with no
  donor (an ammonium ion) scores 0.
- ``hbond_disruption``: small polar molecules that form more and stronger H-bonds with water than water forms with
  itself lower water's activity and shift the hydrogen-evolution onset (ethylene glycol, glycerol, sugars, DMSO,
  methanol). Measure: H-bond sites per heavy atom, a strong acceptor (S=O, P=O, amide C=O) counting three times
  (Kamlet-Taft β of DMSO, trimethyl phosphate and N,N-dimethylacetamide 0.76-0.77, water 0.47: each takes more
  than one water's share of H-bonds); 0 at 0.3, 1 at 0.6 (DMSO 0.75, ethylene glycol 1.0, a typical drug-like
  molecule 0.2); times a size factor (1 up to 24 heavy atoms, 0 at 40), because a large solute orders its own shell.
  A proxy until H-bond counts from AIMD exist.
- ``surface_adsorption``: molecules that adsorb on zinc through lone pairs (N, S, carbonyl and anionic O) and π
  systems level the deposition and shield the surface from water. Measure (**a cheap descriptor**, until the
  adsorption WorkChain's energies or a surrogate of them exist): anchor groups (aromatic rings, N and S atoms that
  are not protonated or oxidised, carbonyl and anionic O at half weight), 0 with none, 1 with three or more; times a
  coverage factor (1 from 8 heavy atoms, 0 at 2).
- ``interphase_former``: reduced or decomposed on zinc into an inorganic-rich solid layer (ZnS/ZnSO3 from sulfonyl
  groups, ZnF2 from C-F, zinc phosphates from phosphate esters, ZnCO3 from carbonate esters; saccharin, trimethyl
  phosphate, sulfolane, fluorinated additives). Measure: the strongest such motif (:data:`INTERPHASE_MOTIFS`), and,
  with a model that predicts the GFN2 LUMO, its reducibility (0 at a LUMO of -7.0 eV, 1 at -8.5 eV: the ``xtb``
  screener's floor of -7.5 eV lies between), the larger of the two.
- ``ph_buffer``: hydrogen evolution consumes protons at the anode; the local pH rise precipitates zinc hydroxide
  sulfate. A site whose pKa lies between pH - 0.5 and pH + 2 takes up that hydroxide (ramps of 1 unit on both
  sides), from the same pKa table the speciation uses (:func:`~aiida_znadditive.structures.speciation.site_pkas`).
- ``surfactant``: an amphiphile (a linear alkyl chain and an ionic or polar head) adsorbs on zinc tips and
  spreads the current (sodium dodecyl sulfate, CTAB-like cations). Measure: the longest unbranched acyclic
  CH2/CH3 chain, 0 at 5 carbons, 1 at 10, when the molecule has a charged atom or at least two heteroatoms.

Solubility and synthesis:

- solubility (:func:`solubility`), per mechanism: ESOL (Delaney, J. Chem. Inf. Comput. Sci. 2004, 44, 1000; refitted for
  RDKit's Crippen logP, :func:`esol`), an aqueous solubility estimate (log S, mol/L) from logP, weight, rotatable bonds
  and the aromatic proportion, of the neutral molecule as added (one log unit more for an ion); 1 at the log S the
  mechanism needs (:data:`REQUIRED_LOG_S`: a co-solvent works at molar, a surfactant at millimolar), 0 two units below;
- synthesis and cost (:func:`synthesis`): the SA score (Ertl & Schuffenhauer, J. Cheminform. 2009, 1, 8) of the
  neutral molecule as added, 1 at 1 falling linearly to 0.3 at 6 and above, with up to 2 units forgiven for the
  smallest molecules, whose SA scores the fragment table overstates.
- persistence (:func:`persistence`): an additive must last in a mildly acidic aqueous electrolyte for hundreds of
  cycles. A species with a group that water, acid or its own kind destroys within hours to days at room temperature
  (:data:`LABILE_GROUPS`, each with its reason) keeps 0.3 of its score: not 0, since a short-lived molecule may still
  seed an interphase, but below any persistent molecule of similar merit. Many small QM9 graphs carry such groups
  (aldehydes, imidates, aziridines, 1,2,3-oxadiazoles) and would otherwise rank beside the polyols and amides that
  do work.
- ``surface_adsorption`` also counts ether O at half weight, and a permanent organic cation (quaternary ammonium or
  phosphonium) as an electrostatic shield (Ding et al., J. Am. Chem. Soc. 2013, 135, 4450: such cations gather at
  the protruding tips during plating), growing with its size (0 at 2, 1 at 8 heavy atoms).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from rdkit import Chem
from rdkit.Chem import Crippen, Descriptors, rdMolDescriptors

from ...structures.ligands import find_donors
from .descriptors import sa_score

MECHANISMS = (
    'solvation_sheath',
    'surface_adsorption',
    'hbond_disruption',
    'interphase_former',
    'ph_buffer',
    'surfactant',
)

#: (name, SMARTS, desirability): groups that decompose on zinc into a protective layer, with what they give.
INTERPHASE_MOTIFS: tuple[tuple[str, str, float], ...] = (
    ('sulfonyl', '[SX4](=O)(=O)', 0.8),  # reduced to ZnS/ZnSO3 (saccharin, sulfolane, sulfonates, triflate)
    ('carbon-fluorine', '[CX4]F', 0.8),  # defluorinated to ZnF2
    ('phosphate ester', '[PX4](=O)([OX2])', 0.8),  # Zn3(PO4)2-rich layer (trimethyl phosphate)
    ('carbonate ester', '[OX2][CX3](=O)[OX2]', 0.6),  # ZnCO3 (propylene/vinylene carbonate)
    ('sulfoxide', '[SX3](=O)', 0.5),  # DMSO is partly reduced to sulfide in the layer it forms
    ('nitrile', '[CX2]#N', 0.4),  # adsorbs and polymerises (succinonitrile)
)
#: (name, SMARTS, why): groups that do not last in a mildly acidic aqueous electrolyte (see :func:`persistence`).
#: Groups that decompose only on zinc (sulfonyl, C-F, phosphate esters) are interphase motifs, not listed here.
LABILE_GROUPS: tuple[tuple[str, str, str], ...] = (
    # Hydrated, self-condensed (aldol, glycolaldehyde dimers) and condensed with amines into imines in water;
    # formamide and other N-C(H)=O amides are not aldehydes. A cyclic hemiacetal (glucose) is not matched.
    ('aldehyde', '[$([CX3H1](=O)[#6]),$([CH2]=O)]', 'hydrated and self-condensed in water, forms imines'),
    # R2C(OH)CN is in equilibrium with the carbonyl and HCN (glycolonitrile, lactonitrile: toxic, volatile).
    ('cyanohydrin', '[CX4]([OX2H1,OX1-])C#N', 'releases HCN in water'),
    # Imines and imidates hydrolyse to carbonyl + amine/alcohol in water, fastest in acid (Jencks, Catalysis in
    # Chemistry and Enzymology, 1969); amidines and guanidines (two N on the C) are stable cations and not matched.
    ('imine or imidate', '[CX3;!$(C(-[#7])~[#7])]=[NX2;!$(N-[#7,#8])]', 'hydrolysed in acidic water'),
    ('formamidine', '[NX2]=[CX3H1]-[NX3]', 'hydrolysed in acidic water'),
    # Protonated aziridines and epoxides open with water at pH 4-5; both are alkylating agents.
    ('aziridine or epoxide', '[#6;r3]1[#6;r3][N,O;r3]1', 'ring-opened by water in acid; alkylating'),
    ('acyl halide', '[CX3](=O)[F,Cl,Br,I]', 'hydrolysed within minutes'),
    ('anhydride', '[CX3](=O)[OX2][CX3]=O', 'hydrolysed within minutes'),
    ('isocyanate, isothiocyanate or ketene', '[$(N=C=[O,S]),$(C=C=O)]', 'hydrolysed within minutes'),
    ('acyl cyanide', '[CX3](=O)C#N', 'hydrolysed to the acid and HCN'),
    # Ring strain opens a four-membered ester: beta-propiolactone hydrolyses with a half-life of about 3.5 h at 25 C
    # (IARC Monographs 71, 1999). A four-membered ring with two acyl groups on one heteroatom (a uretdione, the
    # isocyanate dimer the graph GA likes to build) is an activated, strained imide. Simple beta-lactams (2-azetidinone)
    # last for days in water and are not matched.
    (
        'beta-lactone or four-membered imide',
        '[$([CX3;r4](=O)[OX2;r4]),$([CX3;r4](=O)[#7,#8;r4][CX3;r4]=O)]',
        'strained: ring-opened by water within hours',
    ),
    # The free 1,2,3-oxadiazole ring opens to an alpha-diazo carbonyl; only mesoionic sydnones exist (Joule & Mills,
    # Heterocyclic Chemistry, 5th ed., 2010, ch. 25). Furazans and 1,2,4-/1,3,4-oxadiazoles are stable: not matched.
    ('1,2,3-oxadiazole ring', '[o]:[n]:[n]', 'not isolable: ring-opens to a diazo compound'),
)
_LABILE = tuple((name, Chem.MolFromSmarts(smarts)) for name, smarts, _ in LABILE_GROUPS)
#: What a persistent score keeps with a labile group (module docstring).
LABILE_FACTOR = 0.3
_MOTIFS = tuple((name, Chem.MolFromSmarts(smarts), value) for name, smarts, value in INTERPHASE_MOTIFS)
_STRONG_ACCEPTOR = Chem.MolFromSmarts('[$([OX1]=[SX3]),$([OX1]=[PX4]),$([OX1]=[CX3][NX3])]')
_CARBONYL_O = Chem.MolFromSmarts('[OX1]=[#6,#16X4]')
_ANIONIC_O = Chem.MolFromSmarts('[OX1-]')
_ETHER_O = Chem.MolFromSmarts('[OX2;!$(O[#6]=O)]([#6])[#6]')
# A permanent organic cation: N+ or P+ without H (a protonated amine is excluded: it is a proton source at the
# surface, feeding hydrogen evolution, and the ammonium ions a generator favours would otherwise be rewarded).
_QUATERNARY = Chem.MolFromSmarts('[N+,P+;H0;!$([N+]-[O-]);!$([N+]=O);!$([N+]~[O-])]')
_ANCHOR_NS = Chem.MolFromSmarts(
    '[$([NX3;+0;!$(N-[SX4](=O)=O)]),$([nX2,nX3;+0]),$([NX2;+0]),$([SX2,SX1;+0]),$([SX3;+0]=[CX3])]'
)


def ramp(value: float, zero: float, one: float) -> float:
    """0 at ``zero``, 1 at ``one``, linear between and clipped (either direction)."""
    if one == zero:
        return float(value >= one)
    return float(min(1.0, max(0.0, (value - zero) / (one - zero))))


def trapezoid(value: float, zero_low: float, one_low: float, one_high: float, zero_high: float) -> float:
    """1 between ``one_low`` and ``one_high``, falling linearly to 0 at ``zero_low`` and ``zero_high``."""
    return min(ramp(value, zero_low, one_low), ramp(value, zero_high, one_high))


# Gauss-Hermite nodes for the mean of a desirability over a normal prediction: 9 points integrate the piecewise-linear
# desirabilities here to within 1e-3 of the exact value.
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(9)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def expected(function, mean: float, sigma: float | None) -> float:
    """The mean of ``function`` over N(mean, sigma²): a desirability of an uncertain prediction."""
    if not sigma:
        return float(function(mean))
    return float(sum(w * function(mean + sigma * x) for x, w in zip(_NODES, _WEIGHTS, strict=True)))


@dataclasses.dataclass
class SpeciesDescriptors:
    """What the mechanism terms read of a species (RDKit, hydrogens implicit)."""

    heavy_atoms: int
    charge: int
    charged_atoms: int
    heteroatoms: int
    donors: int
    chelating: bool
    hbond_sites: float
    anchors: float
    motif: str | None
    motif_value: float
    chain: int
    quaternary: bool
    esol_logs: float
    sa_score: float
    labile: tuple[str, ...] = ()


def describe(mol: Chem.Mol, added: Chem.Mol | None = None) -> SpeciesDescriptors:
    """The descriptors of the species ``mol`` (module docstring); ``added``: the neutral molecule as added (the SA
    score is of what is bought or made, not of the ion it becomes: the score's fragment table knows few charged
    fragments, so glycine's zwitterion scores 5.6 where glycine scores 2.1)."""
    heavy = mol.GetNumHeavyAtoms()
    donors = find_donors(Chem.AddHs(mol))  # its patterns count hydrogens as connections
    strong = len(mol.GetSubstructMatches(_STRONG_ACCEPTOR))
    sites = rdMolDescriptors.CalcNumHBD(mol) + rdMolDescriptors.CalcNumHBA(mol) + 2 * strong
    anchors = (
        rdMolDescriptors.CalcNumAromaticRings(mol)
        + len(mol.GetSubstructMatches(_ANCHOR_NS))
        + 0.5
        * (
            len(mol.GetSubstructMatches(_CARBONYL_O))
            + len(mol.GetSubstructMatches(_ANIONIC_O))
            + len(mol.GetSubstructMatches(_ETHER_O))
        )
    )
    motif, motif_value = None, 0.0
    for name, pattern, value in _MOTIFS:
        if value > motif_value and mol.HasSubstructMatch(pattern):
            motif, motif_value = name, value
    return SpeciesDescriptors(
        heavy_atoms=heavy,
        charge=Chem.GetFormalCharge(mol),
        charged_atoms=sum(1 for atom in mol.GetAtoms() if atom.GetFormalCharge() != 0),
        heteroatoms=sum(1 for atom in mol.GetAtoms() if atom.GetAtomicNum() not in (1, 6)),
        donors=len(donors),
        chelating=_chelating(mol, [donor.index for donor in donors]),
        hbond_sites=float(sites),
        anchors=float(anchors),
        motif=motif,
        motif_value=motif_value,
        chain=longest_alkyl_chain(mol),
        quaternary=mol.HasSubstructMatch(_QUATERNARY),
        esol_logs=_log_solubility(mol, added),
        sa_score=float(sa_score(added if added is not None else mol)),
        labile=tuple(name for name, pattern in _LABILE if mol.HasSubstructMatch(pattern)),
    )


def _log_solubility(mol: Chem.Mol, added: Chem.Mol | None) -> float:
    """ESOL of the neutral molecule as added (ESOL was fitted to neutral molecules), one log unit more for an ion (a
    salt dissolves better than its neutral parent, but a lipophilic ion stays poorly soluble). A permanent ion (one
    that stays charged when neutralised: quaternary ammonium) is outside ESOL's domain; its salts dissolve at least to
    the millimolar levels they are used at (cetyltrimethylammonium bromide about 0.1 M, tetrabutylammonium salts
    above 1 M), so its log S is taken as at least -2."""
    neutral = added if added is not None else mol
    value = esol(neutral) + (1.0 if Chem.GetFormalCharge(mol) else 0.0)
    if Chem.GetFormalCharge(neutral) != 0:
        value = max(value, -2.0)
    return value


def _chelating(mol: Chem.Mol, donors: list[int]) -> bool:
    """Whether two donors are 3 or 4 bonds apart: a 5- or 6-membered chelate ring with Zn2+ (topology only; the
    complexation WorkChain checks the geometry)."""
    bonds = Chem.GetDistanceMatrix(mol)
    return any(bonds[i, j] in (3, 4) for a, i in enumerate(donors) for j in donors[a + 1 :])


def longest_alkyl_chain(mol: Chem.Mol) -> int:
    """Carbons in the longest unbranched path of acyclic sp3 CH2/CH3 carbons."""
    chain_atoms = {
        atom.GetIdx()
        for atom in mol.GetAtoms()
        if atom.GetAtomicNum() == 6
        and not atom.IsInRing()
        and atom.GetHybridization() == Chem.HybridizationType.SP3
        and atom.GetTotalNumHs() >= 2
    }
    best = 0
    seen: set[int] = set()
    for start in chain_atoms:
        if start in seen:
            continue
        # A component of CH2/CH3 carbons is a path (each has at most two such neighbours unless branched at a CH):
        # its size is the chain length.
        stack, component = [start], set()
        while stack:
            index = stack.pop()
            if index in component:
                continue
            component.add(index)
            stack += [n.GetIdx() for n in mol.GetAtomWithIdx(index).GetNeighbors() if n.GetIdx() in chain_atoms]
        seen |= component
        best = max(best, len(component))
    return best


def esol(mol: Chem.Mol) -> float:
    """ESOL log S (mol/L) with RDKit descriptors: 0.2612 - 0.7417 logP - 0.006614 MW + 0.003452 RB - 0.4262 AP.

    Delaney's form (logP, molecular weight, rotatable bonds, aromatic proportion), with the coefficients refitted to
    Delaney's 1,144 measured solubilities using RDKit's Crippen logP (P. Walters, "ESOL revisited", Practical
    Cheminformatics, 2018): Delaney's own coefficients were fitted to Daylight's ClogP, and with Crippen's logP they
    are off by up to 2 log units for alkanes and acenes. tests/ml/test_mechanisms.py compares it with measured values.
    """
    heavy = max(mol.GetNumHeavyAtoms(), 1)
    aromatic = sum(1 for atom in mol.GetAtoms() if atom.GetIsAromatic()) / heavy
    return float(
        0.26121066
        - 0.74167614 * Crippen.MolLogP(mol)
        - 0.0066138847 * Descriptors.MolWt(mol)
        + 0.0034515481 * rdMolDescriptors.CalcNumRotatableBonds(mol)
        - 0.42624840 * aromatic
    )


def solvation_sheath(d: SpeciesDescriptors, dg: float | None, sigma: float | None) -> float:
    if d.donors == 0:
        return 0.0
    if dg is None or not math.isfinite(dg):
        return 0.7 if d.chelating else 0.4
    return expected(lambda x: trapezoid(x, 0.05, -0.25, -0.9, -1.4), dg, sigma)


def hbond_disruption(d: SpeciesDescriptors) -> float:
    return ramp(d.hbond_sites / max(d.heavy_atoms, 1), 0.3, 0.6) * ramp(d.heavy_atoms, 40, 24)


def surface_adsorption(d: SpeciesDescriptors) -> float:
    shield = ramp(d.heavy_atoms, 2, 8) if d.quaternary else 0.0  # electrostatic shield: larger ions cover more
    return max(ramp(d.anchors, 0.0, 3.0) * ramp(d.heavy_atoms, 2, 8), shield)


def interphase_former(d: SpeciesDescriptors, lumo: float | None, sigma: float | None) -> float:
    reducible = 0.0 if lumo is None or not math.isfinite(lumo) else expected(lambda x: ramp(x, -7.0, -8.5), lumo, sigma)
    return max(d.motif_value, reducible)


def ph_buffer(pkas, ph: float) -> float:
    return max((trapezoid(pka, ph - 1.5, ph - 0.5, ph + 2.0, ph + 3.0) for pka in pkas), default=0.0)


def surfactant(d: SpeciesDescriptors) -> float:
    head = d.charged_atoms > 0 or d.heteroatoms >= 2
    return ramp(d.chain, 5, 10) if head else 0.0


#: log S (mol/L) each mechanism needs: the concentration at which published additives of that kind are used. A
#: solvation-sheath or H-bond additive works at 0.1-2 M (or volume per cent); an adsorbing, interphase-forming or
#: buffering one at 1-50 mM; a surfactant at about 1 mM, near its critical micelle concentration.
REQUIRED_LOG_S = {
    'solvation_sheath': -1.0,
    'hbond_disruption': -1.0,
    'surface_adsorption': -2.0,
    'interphase_former': -2.0,
    'ph_buffer': -2.0,
    'surfactant': -3.0,
}


def solubility(d: SpeciesDescriptors, mechanism: str) -> float:
    """1 at the log S the mechanism needs, 0 two log units below it (ESOL's RMSE is about 1 log unit)."""
    need = REQUIRED_LOG_S[mechanism]
    return ramp(d.esol_logs, need - 2.0, need)


def synthesis(d: SpeciesDescriptors) -> float:
    """1 at an SA score of 1, falling linearly to 0.3 at 6: continuous, so that equally good mechanisms are ordered
    by how easily the molecule is bought or made (no plateau, hence no ties at the top)."""
    # The SA score's fragment table is thin for molecules of a few heavy atoms (DMSO 3.1, imidazole 3.5), all of which
    # are commodity chemicals: up to 2 SA units are forgiven at 4 heavy atoms, none from 12.
    allowance = 1.0 + 2.0 * ramp(d.heavy_atoms, 12, 4)
    return 1.0 - 0.14 * min(5.0, max(0.0, d.sa_score - allowance))


def persistence(d: SpeciesDescriptors) -> float:
    """:data:`LABILE_FACTOR` with any of :data:`LABILE_GROUPS`, else 1 (one factor, however many groups: the molecule
    is gone either way)."""
    return LABILE_FACTOR if d.labile else 1.0


def combine(terms: dict[str, float], weights: dict[str, float] | None = None) -> float:
    """The best mechanism, plus 30 % of the second best on what is left: d1 + 0.3 d2 (1 - d1), each term scaled by
    its weight. One good mechanism is enough and a term of 0 never zeroes the others; a second adds a little, but
    not so much that two correlated terms (a basic N is an adsorption anchor and a buffering site) outrank an
    additive that is excellent by one."""
    weights = weights or {}
    scaled = sorted((min(1.0, max(0.0, weights.get(name, 1.0) * value)) for name, value in terms.items()), reverse=True)
    best, second = [*scaled, 0.0, 0.0][:2]
    return best + 0.3 * second * (1.0 - best)
