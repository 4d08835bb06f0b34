"""Make the shipped GFN2-xTB labelled set: ``data/labels/xtb_gfn2.parquet`` and ``xtb_gfn2.settings.json``.

Usage (from the repository root, after ``bash scripts/install.sh``)::

    .venv/bin/python scripts/label_xtb.py                  # the full set (about a day on 2 cores; resumable)
    .venv/bin/python scripts/label_xtb.py --select-only    # only the selection, its summary and CSV (minutes)
    .venv/bin/python scripts/label_xtb.py --limit 20 --out build/xtb_trial.parquet --work-dir build/xtb_trial

Which molecules (all with a fixed seed, so a rerun picks the same ones):

- curated lists: known or proposed aqueous Zn-battery electrolyte additives and the usual anions of Zn salts
  (:data:`CURATED`: co-solvents, polyols and sugars, amino acids and betaines, chelators, surfactants, PEG and crown
  ethers, amides, SEI formers) and P-containing additives and ligands (:data:`PHOSPHORUS`: phosphate esters,
  phosphonates, phosphorylated metabolites, condensed phosphates; MOSES has almost no P);
- ``--n-additive-like`` additive-like molecules drawn from the small MOSES/ZINC molecules (molsets' ``train.csv.gz``,
  at most ``--additive-max-heavy`` heavy atoms), with quotas (:data:`QUOTAS`, per 1,200 drawn, scaled with the number
  drawn) so that the set covers sulfur, halogens, ions and zwitterions, and chelators;
- ``--n-qm9`` molecules drawn from QM9 (qm9pack's ``qm9_part1.csv``; at most ``--max-heavy`` heavy atoms, C/H/N/O/F);
- ``--n-moses`` molecules drawn from the smallest MOSES/ZINC molecules (at most ``--moses-max-heavy`` heavy atoms):
  they bring S, Cl and larger aromatic rings.

The QM9 and MOSES draws keep their first rules, so that the same seeds give the same molecules back: a molecule must
parse, contain only C/H/N/O/S/P/F/Cl, be neutral as written, have at most the draw's heavy atoms and at least one
Zn2+ donor atom (``structures.ligands.find_donors``): an additive that cannot bind Zn2+ is not what the set is for.
(These are judged as written, so some are ammonium ions without a donor at the labeller's pH.)

The additive-like draw judges the molecule as the labeller labels it: its dominant species at the labeller's pH
(``LabelSettings.ph``, 4.5; ``structures.speciation``: carboxylic acids are carboxylates, amines ammonium ions, amino
acids zwitterions). That species must contain only C/H/N/O/S/P/F/Cl/Br, have at most ``--additive-max-heavy`` heavy
atoms and a donor atom (an amine is an ammonium at pH 4.5, no longer a donor). Its quota classes (RDKit, on the
species; a molecule counts for every class it is in):

- ``sulfur``: any S (thioethers, thiophenes, sulfonamides, sulfones, ...); ``halogen``: any F, Cl or Br;
- ``ionic``: a net charge at the pH, or a zwitterion (a cationic and an anionic atom that are not bonded to each
  other, so not a nitro group or an N-oxide);
- ``chelator``: two donor atoms on different centres (not the two O of one carboxylate) 3 or 4 bonds apart, so that
  they close a 5- or 6-membered chelate ring with Zn2+, and not both in one ring of at most six atoms (not 1,4-dioxane).

Walking the candidates in a seeded random order, an acceptable molecule is taken when it is in a class whose quota is
still open, or when there is room beyond the places still reserved for the open quotas (the rest is free), unless it
has an element whose cap (:data:`CAPS`: Br, which two thirds of MOSES's molecules of up to 16 heavy atoms have) is
reached; the walk stops at ``--n-additive-like`` molecules. MOSES has almost no carboxylic acids and no amino acids,
so its ions at pH 4.5 are ammonium ions of amines: the anions and zwitterions come from the curated lists.

Molecules are deduplicated by the InChIKey of the species labelled (``ml.labels.molecule_identity``), in the order
curated, QM9, MOSES, additive-like: the order of the draws since the first set, so the seeds give its molecules back
(a few as curated molecules now, and without those the speciating labeller cannot label).
They are labelled in ``--order`` (default curated, additive-like, MOSES, QM9): the additive-like molecules matter most,
and a long run that is interrupted has them first. A summary of the selection (molecules per source and per quota
class, with S/P/F/Cl/Br, ions and zwitterions at the pH, and chelators) is logged before labelling and written to the
settings JSON; ``--select-only`` stops there and writes the selection to ``<out stem>.selection.csv`` instead.

The labels are computed by :class:`aiida_znadditive.ml.labels.XtbLabeller` into Parquet shards in ``--work-dir``
(default ``build/xtb_labels``, outside version control); an interrupted run continues where it stopped when started
again with the same arguments. A work dir holding shards of other settings (another ``source_version``, such as those
of an earlier set) is refused: resuming from them would mix two sets of labels. At the end the shards are merged,
sorted by InChIKey, into ``--out`` (zstd) and the settings, the selection and the counts are written next to it as
``<out stem>.settings.json``.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import importlib.metadata
import itertools
import json
import logging
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from rdkit import Chem

from aiida_znadditive.ml.labels import LabelError, LabelSettings, XtbLabeller, merge_shards, molecule_identity
from aiida_znadditive.structures.chelates import donor_centres
from aiida_znadditive.structures.ligands import find_donors, parse_ligand
from aiida_znadditive.structures.speciation import speciate

ELEMENTS = ('C', 'H', 'N', 'O', 'S', 'P', 'F', 'Cl')
# The additive-like draw also takes Br (MOSES's only other element).
ADDITIVE_ELEMENTS = (*ELEMENTS, 'Br')
# Known or proposed additives of aqueous Zn-ion battery electrolytes (co-solvents, chelators, surfactants, SEI
# formers) and the usual anions of Zn salts: the molecules the screeners will be asked about first. Each is labelled as
# its species at the labeller's pH, so an acid and its salts are one molecule (tartaric acid and Rochelle salt, gluconic
# acid and sodium gluconate: kept once). Left out: perchlorate (RDKit normalises it to a Cl(+3) centre, which the
# ligand checks reject as an implausible formal charge); chloride and bromide alone and thiocyanate (speciation makes
# them HCl, HBr and HSCN, which dimorphite-dl has no pKa for); CTAB (its cation has no donor atom).
CURATED = {
    # The zero of the exchange scale (ΔG = 0 by definition): the surrogate must learn it exactly.
    'water': 'O',
    'methanol': 'CO',
    'ethanol': 'CCO',
    'isopropanol': 'CC(C)O',
    'ethylene glycol': 'OCCO',
    'glycerol': 'OCC(O)CO',
    'D-sorbitol': 'OC[C@H](O)[C@@H](O)[C@H](O)[C@H](O)CO',
    'glucose': 'OCC1OC(O)C(O)C(O)C1O',
    'dimethyl sulfoxide': 'CS(C)=O',
    'dimethyl sulfone': 'CS(C)(=O)=O',
    'sulfolane': 'O=S1(=O)CCCC1',
    'acetonitrile': 'CC#N',
    'succinonitrile': 'N#CCCC#N',
    'acetone': 'CC(C)=O',
    '1,2-dimethoxyethane': 'COCCOC',
    'diglyme': 'COCCOCCOC',
    'tetrahydrofuran': 'C1CCOC1',
    '1,4-dioxane': 'C1COCCO1',
    'ethylene carbonate': 'O=C1OCCO1',
    'propylene carbonate': 'CC1COC(=O)O1',
    'fluoroethylene carbonate': 'O=C1OCC(F)O1',
    'gamma-butyrolactone': 'O=C1CCCO1',
    'N-methyl-2-pyrrolidone': 'CN1CCCC1=O',
    'N,N-dimethylformamide': 'CN(C)C=O',
    'N,N-dimethylacetamide': 'CC(=O)N(C)C',
    'acetamide': 'CC(N)=O',
    'urea': 'NC(N)=O',
    'tetramethylurea': 'CN(C)C(=O)N(C)C',
    'thiourea': 'NC(N)=S',
    'trimethyl phosphate': 'COP(=O)(OC)OC',
    'triethyl phosphate': 'CCOP(=O)(OCC)OCC',
    'dimethyl methylphosphonate': 'COP(C)(=O)OC',
    'glycine': 'NCC(=O)O',
    'lactic acid': 'CC(O)C(=O)O',
    'citric acid': 'OC(=O)CC(O)(CC(=O)O)C(=O)O',
    'glutamic acid': 'NC(CCC(=O)O)C(=O)O',
    'ethylenediamine': 'NCCN',
    'EDTA': 'OC(=O)CN(CC(=O)O)CCN(CC(=O)O)CC(=O)O',
    'saccharin': 'O=C1NS(=O)(=O)c2ccccc21',
    'pyridine': 'c1ccncc1',
    'imidazole': 'c1c[nH]cn1',
    'benzotriazole': 'c1ccc2[nH]nnc2c1',
    'hexafluoroisopropanol': 'OC(C(F)(F)F)C(F)(F)F',
    'sodium dodecyl sulfate': 'CCCCCCCCCCCCOS(=O)(=O)[O-]',
    'acetate': 'CC(=O)[O-]',
    'trifluoroacetate': 'O=C([O-])C(F)(F)F',
    'triflate': 'O=S(=O)([O-])C(F)(F)F',
    'methanesulfonate': 'CS(=O)(=O)[O-]',
    'bis(trifluoromethanesulfonyl)imide': 'O=S(=O)([N-]S(=O)(=O)C(F)(F)F)C(F)(F)F',
    'sulfate': '[O-]S(=O)(=O)[O-]',
    'dihydrogen phosphate': 'OP(=O)(O)[O-]',
    # -- added for the set labelled at pH 4.5: additives of aqueous Zn-ion batteries from the literature --
    # Sulfoxides, sulfites, sulfates and sultones: co-solvents and SEI formers.
    'diethyl sulfoxide': 'CCS(=O)CC',
    'tetramethylene sulfoxide': 'O=S1CCCC1',
    'ethylene sulfite': 'O=S1OCCO1',
    'ethylene sulfate': 'O=S1(=O)OCCO1',
    '1,3-propane sultone': 'O=S1(=O)CCCO1',
    'sulfamic acid': 'NS(=O)(=O)O',
    'p-toluenesulfonate': 'Cc1ccc(cc1)S(=O)(=O)[O-]',
    # Polyols and sugars (stereo as the natural or commercial isomer; verified with RDKit's CIP labeller).
    'xylitol': 'OC[C@@H](O)[C@H](O)[C@@H](O)CO',
    'D-mannitol': 'OC[C@@H](O)[C@@H](O)[C@H](O)[C@H](O)CO',
    'erythritol': 'OC[C@@H](O)[C@@H](O)CO',
    'pentaerythritol': 'OCC(CO)(CO)CO',
    '1,2-propanediol': 'CC(O)CO',
    '1,3-propanediol': 'OCCCO',
    'trehalose': 'OC[C@H]1O[C@H](O[C@H]2O[C@H](CO)[C@@H](O)[C@H](O)[C@H]2O)[C@H](O)[C@@H](O)[C@@H]1O',
    'sucralose': 'OC[C@H]1O[C@H](O[C@]2(CCl)O[C@H](CCl)[C@@H](O)[C@@H]2O)[C@H](O)[C@@H](O)[C@H]1Cl',
    'L-ascorbic acid': 'OC[C@H](O)[C@H]1OC(=O)C(O)=C1O',
    # Amino acids (L), zwitterions and betaines.
    'L-alanine': 'C[C@H](N)C(=O)O',
    'beta-alanine': 'NCCC(=O)O',
    'L-serine': 'N[C@@H](CO)C(=O)O',
    'L-proline': 'OC(=O)[C@@H]1CCCN1',
    'L-methionine': 'CSCC[C@H](N)C(=O)O',
    'L-cysteine': 'N[C@@H](CS)C(=O)O',
    'L-histidine': 'N[C@@H](Cc1c[nH]cn1)C(=O)O',
    'L-lysine': 'NCCCC[C@H](N)C(=O)O',
    'L-arginine': 'NC(=N)NCCC[C@H](N)C(=O)O',
    'L-glutamine': 'NC(=O)CC[C@H](N)C(=O)O',
    'L-asparagine': 'NC(=O)C[C@H](N)C(=O)O',
    'L-tryptophan': 'N[C@@H](Cc1c[nH]c2ccccc12)C(=O)O',
    'L-tyrosine': 'N[C@@H](Cc1ccc(O)cc1)C(=O)O',
    'sarcosine': 'CNCC(=O)O',
    'taurine': 'NCCS(=O)(=O)O',
    'betaine': 'C[N+](C)(C)CC(=O)[O-]',
    'L-carnitine': 'C[N+](C)(C)C[C@H](O)CC(=O)[O-]',
    # Chelators (aminocarboxylates, hydroxy acids, dicarboxylic acids, a beta-diketone).
    'iminodiacetic acid': 'OC(=O)CNCC(=O)O',
    'nitrilotriacetic acid': 'OC(=O)CN(CC(=O)O)CC(=O)O',
    'HEDTA': 'OCCN(CC(=O)O)CCN(CC(=O)O)CC(=O)O',
    'DTPA': 'OC(=O)CN(CCN(CC(=O)O)CC(=O)O)CCN(CC(=O)O)CC(=O)O',
    'L-tartaric acid': 'OC(=O)[C@H](O)[C@@H](O)C(=O)O',
    'L-malic acid': 'OC(=O)C[C@H](O)C(=O)O',
    'D-gluconic acid': 'OC[C@@H](O)[C@@H](O)[C@H](O)[C@@H](O)C(=O)O',
    'maleic acid': 'OC(=O)/C=C\\C(=O)O',
    'oxalic acid': 'OC(=O)C(=O)O',
    'acetylacetone': 'CC(=O)CC(C)=O',
    # Surfactants.
    'sodium dodecylbenzenesulfonate': 'CCCCCCCCCCCCc1ccc(cc1)S(=O)(=O)[O-].[Na+]',
    # Short PEG ethers and crown ethers.
    'triethylene glycol': 'OCCOCCOCCO',
    'tetraethylene glycol (PEG-200)': 'OCCOCCOCCOCCO',
    'tetraglyme': 'COCCOCCOCCOCCOC',
    '12-crown-4': 'C1COCCOCCOCCO1',
    '18-crown-6': 'C1COCCOCCOCCOCCOCCO1',
    # Amides, lactams, imides and other N-heterocycles.
    'formamide': 'NC=O',
    'N-methylacetamide': 'CNC(C)=O',
    'caprolactam': 'O=C1CCCCCN1',
    'succinimide': 'O=C1CCC(=O)N1',
    '2-imidazolidinone': 'O=C1NCCN1',
    'nicotinamide': 'NC(=O)c1cccnc1',
    'caffeine': 'Cn1cnc2c1c(=O)n(C)c(=O)n2C',
    '1-methylimidazole': 'Cn1ccnc1',
    # Others.
    'vanillin': 'COc1cc(C=O)ccc1O',
    'acesulfame potassium': 'CC1=CC(=O)[N-]S(=O)(=O)O1.[K+]',
    'dimethyl carbonate': 'COC(=O)OC',
    '2,2,2-trifluoroethanol': 'OCC(F)(F)F',
    'trimethylamine N-oxide': 'C[N+](C)(C)[O-]',
    'sodium benzoate': 'O=C([O-])c1ccccc1.[Na+]',
    'formate': 'O=C[O-]',
    'nitrate': '[O-][N+](=O)[O-]',
    'tetrafluoroborate': 'F[B-](F)(F)F',
}
# P-containing additives and ligands (MOSES has almost no P): phosphate esters (flame retardants, SEI formers),
# phosphonate chelators and scale inhibitors (HEDP, ATMP), phosphorylated metabolites and condensed phosphates. Left
# out because speciation gets their charge wrong: hexamethylphosphoramide (dimorphite-dl protonates all three
# amide-like N, +3), trimetaphosphate, phosphorous and hypophosphorous acid (left neutral, though all are ions at
# pH 4.5).
PHOSPHORUS = {
    'HEDP (etidronic acid)': 'CC(O)(P(=O)(O)O)P(=O)(O)O',
    'aminotris(methylenephosphonic acid)': 'OP(=O)(O)CN(CP(=O)(O)O)CP(=O)(O)O',
    'phosphonoacetic acid': 'OC(=O)CP(=O)(O)O',
    'phosphonoformic acid': 'OC(=O)P(=O)(O)O',
    'glyphosate': 'OC(=O)CNCP(=O)(O)O',
    'aminomethylphosphonic acid': 'NCP(=O)(O)O',
    'methylphosphonic acid': 'CP(=O)(O)O',
    'phenylphosphonic acid': 'OP(=O)(O)c1ccccc1',
    'fosfomycin': 'C[C@@H]1O[C@@H]1P(=O)(O)O',
    'dimethyl phosphate': 'COP(=O)(O)OC',
    'diethyl phosphate': 'CCOP(=O)(O)OCC',
    'diphenyl phosphate': 'O=P(O)(Oc1ccccc1)Oc1ccccc1',
    'triphenyl phosphate': 'O=P(Oc1ccccc1)(Oc1ccccc1)Oc1ccccc1',
    'tributyl phosphate': 'CCCCOP(=O)(OCCCC)OCCCC',
    'tris(2-chloroethyl) phosphate': 'ClCCOP(=O)(OCCCl)OCCCl',
    'diethyl ethylphosphonate': 'CCOP(=O)(CC)OCC',
    'trimethylphosphine oxide': 'CP(C)(C)=O',
    'triphenylphosphine oxide': 'O=P(c1ccccc1)(c1ccccc1)c1ccccc1',
    'tris(2-carboxyethyl)phosphine': 'OC(=O)CCP(CCC(=O)O)CCC(=O)O',
    'phosphocholine': 'C[N+](C)(C)CCOP(=O)(O)[O-]',
    'O-phosphoethanolamine': 'NCCOP(=O)(O)O',
    'O-phospho-L-serine': 'N[C@@H](COP(=O)(O)O)C(=O)O',
    'phosphoenolpyruvic acid': 'C=C(OP(=O)(O)O)C(=O)O',
    'beta-glycerophosphate': 'OCC(CO)OP(=O)(O)O',
    'glycerol 1-phosphate': 'OCC(O)COP(=O)(O)O',
    "pyridoxal 5'-phosphate": 'Cc1ncc(COP(=O)(O)O)c(C=O)c1O',
    "adenosine 5'-monophosphate": 'Nc1ncnc2c1ncn2[C@@H]1O[C@H](COP(=O)(O)O)[C@@H](O)[C@H]1O',
    'pyrophosphate': '[O-]P(=O)([O-])OP(=O)([O-])[O-]',
    'tripolyphosphate': '[O-]P(=O)([O-])OP(=O)([O-])OP(=O)([O-])[O-]',
    'hexafluorophosphate': 'F[P-](F)(F)(F)(F)F',
}
# Quota classes of the additive-like draw: molecules per QUOTA_BASIS drawn (scaled with --n-additive-like); the rest of
# the draw is free. A molecule counts for every class it is in.
QUOTAS = {'sulfur': 200, 'halogen': 200, 'ionic': 250, 'chelator': 250}
QUOTA_BASIS = 1200
# And at most this many molecules with the element, per QUOTA_BASIS: MOSES's molecular weight floor (250 Da) makes
# two thirds of its molecules of up to 16 heavy atoms bromo compounds, which would otherwise fill the free places.
CAPS = {'Br': 300}
GROUPS = ('curated', 'additive', 'moses', 'qm9')
# Element classes, matched on the species at the pH.
CLASS_PATTERNS = {'sulfur': Chem.MolFromSmarts('[#16]'), 'halogen': Chem.MolFromSmarts('[F,Cl,Br]')}
# A cationic (anionic) atom without an oppositely charged neighbour: a neutral species with both is a zwitterion. The
# charges of a nitro group, an N-oxide or a charge-separated sulfoxide sit on bonded atoms and do not count.
CATION = Chem.MolFromSmarts('[+;!$(*~[-])]')
ANION = Chem.MolFromSmarts('[-;!$(*~[+])]')
# Sulfur groups, counted in the summary only (a molecule may have several).
SULFUR_GROUPS = {
    name: Chem.MolFromSmarts(smarts)
    for name, smarts in (
        ('thioether', '[SX2;+0;!a]([#6])[#6]'),
        ('thiol', '[SX2H1]'),
        ('thiophene', '[s]'),
        ('thiocarbonyl', '[SX1]=[#6]'),
        ('sulfoxide', '[SX3]=O'),
        ('sulfone', '[SX4](=O)(=O)([#6])[#6]'),
        ('sulfonamide', '[SX4](=O)(=O)[#7]'),
        ('sulfonate/sulfate', '[SX4](=O)(=O)[OX1-,OX2]'),
    )
}
SUMMARY_ELEMENTS = ('S', 'P', 'F', 'Cl', 'Br')
# Heavy atoms in a SMILES string, without RDKit: enough to skip the many large MOSES molecules cheaply.
HEAVY_ATOM = re.compile(r'Cl|Br|[BCNOSPFI]|[bcnops]')

logger = logging.getLogger('label_xtb')


def acceptable(smiles: str, max_heavy: int) -> bool:
    """Whether a QM9 or MOSES molecule qualifies: parses, C/H/N/O/S/P/F/Cl only, neutral, small, with a Zn2+ donor."""
    try:
        mol = parse_ligand(smiles, ELEMENTS, max_heavy)
    except ValueError:
        return False
    return '.' not in smiles and all(atom.GetFormalCharge() == 0 for atom in mol.GetAtoms()) and bool(find_donors(mol))


def inchikey(smiles: str, settings: LabelSettings) -> str | None:
    """InChIKey of the species the labeller labels, None where it would skip the molecule."""
    try:
        return molecule_identity(smiles, settings)['inchikey']
    except LabelError:
        return None


def draw(candidates: list[tuple[str, str]], n: int, max_heavy: int, seed: int, taken: set[str], *, settings) -> list:
    """Up to ``n`` acceptable molecules in a seeded random order, skipping InChIKeys already ``taken``."""
    chosen = []
    for index in np.random.default_rng(seed).permutation(len(candidates)):
        if len(chosen) >= n:
            break
        smiles, source_id = candidates[index]
        if not acceptable(smiles, max_heavy):
            continue
        key = inchikey(smiles, settings)
        if key is not None and key not in taken:
            taken.add(key)
            chosen.append((smiles, source_id))
    return chosen


def chelating(mol: Chem.Mol, donors: list) -> bool:
    """Whether two donors on different centres are 3 or 4 bonds apart (a 5- or 6-membered chelate ring with Zn2+),
    not both in one ring of at most six atoms."""
    if len(donors) < 2:
        return False
    bonds = Chem.GetDistanceMatrix(mol)
    centres = donor_centres(mol, donors)
    rings = [set(ring) for ring in mol.GetRingInfo().AtomRings() if len(ring) <= 6]
    for first, second in itertools.combinations(donors, 2):
        i, j = first.index, second.index
        if bonds[i, j] in (3, 4) and centres[i] != centres[j] and not any(i in ring and j in ring for ring in rings):
            return True
    return False


def profile(smiles: str, settings: LabelSettings, elements=None, max_heavy: int | None = None) -> dict | None:
    """What the labeller labels: the species at the settings' pH, its quota classes, elements, charge and donors; None
    where there is no such species, or it has other ``elements`` or more than ``max_heavy`` heavy atoms."""
    try:
        species = smiles if settings.ph is None else speciate(smiles, settings.ph).smiles
        mol = parse_ligand(species, elements or settings.allowed_elements, max_heavy or settings.max_heavy_atoms)
    except ValueError:  # SpeciationError or LigandError
        return None
    donors = find_donors(mol)
    charge = Chem.GetFormalCharge(mol)
    zwitterion = charge == 0 and mol.HasSubstructMatch(CATION) and mol.HasSubstructMatch(ANION)
    classes = [name for name, pattern in CLASS_PATTERNS.items() if mol.HasSubstructMatch(pattern)]
    if charge != 0 or zwitterion:
        classes.append('ionic')
    if chelating(mol, donors):
        classes.append('chelator')
    return {
        'species': Chem.MolToSmiles(Chem.RemoveHs(mol)),
        'charge': int(charge),
        'zwitterion': zwitterion,
        'heavy_atoms': mol.GetNumHeavyAtoms(),
        'donors': len(donors),
        'elements': sorted({atom.GetSymbol() for atom in mol.GetAtoms()}),
        'classes': classes,
        'sulfur_groups': [name for name, pattern in SULFUR_GROUPS.items() if mol.HasSubstructMatch(pattern)],
    }


def draw_additive(candidates, n: int, max_heavy: int, seed: int, taken: set[str], *, settings) -> tuple[list, dict]:
    """Up to ``n`` additive-like molecules with the quotas of :data:`QUOTAS` (see the module docstring), as
    (SMILES, source_id, profile), and each quota's target and how many molecules of its class were drawn."""
    quotas = {name: round(count * n / QUOTA_BASIS) for name, count in QUOTAS.items()}
    caps = {element: round(count * n / QUOTA_BASIS) for element, count in CAPS.items()}
    counts, capped = dict.fromkeys(quotas, 0), dict.fromkeys(caps, 0)
    chosen = []
    for index in np.random.default_rng(seed).permutation(len(candidates)):
        if len(chosen) >= n:
            break
        smiles, source_id = candidates[index]
        found = profile(smiles, settings, ADDITIVE_ELEMENTS, max_heavy)
        if found is None or not found['donors'] or '.' in smiles:
            continue
        if any(element in found['elements'] and capped[element] >= cap for element, cap in caps.items()):
            continue
        reserved = sum(max(quota - counts[name], 0) for name, quota in quotas.items())
        if not any(counts[name] < quotas[name] for name in found['classes']) and len(chosen) + reserved >= n:
            continue  # only molecules of an open quota's class fit in what is left
        key = inchikey(smiles, settings)
        if key is None or key in taken:
            continue
        taken.add(key)
        chosen.append((smiles, source_id, found))
        for name in found['classes']:
            counts[name] += 1
        for element in caps:
            capped[element] += element in found['elements']
    result = {name: {'target': quotas[name], 'drawn': counts[name]} for name in quotas}
    result.update({element: {'at_most': caps[element], 'drawn': capped[element]} for element in caps})
    short = {name: result[name] for name in quotas if counts[name] < quotas[name]}
    if short or len(chosen) < n:
        logger.warning('additive-like draw ran out of candidates: %d of %d, quotas short: %s', len(chosen), n, short)
    return chosen, result


def heavy_atoms(smiles: str) -> int:
    return len(HEAVY_ATOM.findall(smiles))


def qm9_candidates() -> list[tuple[str, str]]:
    import pandas as pd

    path = importlib.metadata.distribution('qm9pack').locate_file('qm9pack/data/qm9_part1.csv')
    table = pd.read_csv(path, usecols=['Index', 'SMILES'])
    return [(smiles, f'qm9:{index}') for index, smiles in zip(table['Index'], table['SMILES'], strict=True)]


def moses_candidates(max_heavy: int) -> list[tuple[str, str]]:
    import pandas as pd

    # Located through the distribution's files, not imported: molsets' own imports need outdated packages.
    path = importlib.metadata.distribution('molsets').locate_file('moses/dataset/data/train.csv.gz')
    found = []
    for start, chunk in enumerate(pd.read_csv(path, usecols=['SMILES'], chunksize=200_000)):
        for offset, smiles in enumerate(chunk['SMILES']):
            if heavy_atoms(smiles) <= max_heavy:
                found.append((smiles, f'moses:train:{start * 200_000 + offset}'))
    return found


def select(args, settings: LabelSettings) -> tuple[list[dict], dict, dict]:
    """The molecules to label in the order of the draws, each a dict of ``smiles``, ``source_id``, ``group`` and
    ``profile``; the additive-like quotas (target and drawn); the curated molecules left out, with the reason."""
    taken: dict[str, str] = {}
    entries, left_out = [], {}
    for name, smiles in itertools.chain(CURATED.items(), PHOSPHORUS.items()):
        try:
            key = molecule_identity(smiles, settings)['inchikey']
        except LabelError as error:  # kept out, but said: a curated molecule should never fail silently
            logger.warning('curated %s left out: %s', name, error)
            left_out[name] = error.reason
            continue
        if key in taken:
            logger.info('curated %s is the same species as %s: labelled once', name, taken[key])
            continue
        taken[key] = name
        entries.append({'smiles': smiles, 'source_id': f'curated:{name}', 'group': 'curated'})
    keys = set(taken)
    drawn = {}
    if args.n_qm9:
        drawn['qm9'] = draw(qm9_candidates(), args.n_qm9, args.max_heavy, args.seed, keys, settings=settings)
    moses = []
    if args.n_moses or args.n_additive_like:
        moses = moses_candidates(max(args.moses_max_heavy, args.additive_max_heavy))
    if args.n_moses:
        small = [item for item in moses if heavy_atoms(item[0]) <= args.moses_max_heavy]  # the first draw's list
        drawn['moses'] = draw(small, args.n_moses, args.moses_max_heavy, args.seed + 1, keys, settings=settings)
    for group, molecules in drawn.items():
        entries.extend({'smiles': smiles, 'source_id': source_id, 'group': group} for smiles, source_id in molecules)
    for entry in entries:
        entry['profile'] = profile(entry['smiles'], settings)
    additive, quotas = [], {}
    if args.n_additive_like:
        candidates = [item for item in moses if heavy_atoms(item[0]) <= args.additive_max_heavy]
        additive, quotas = draw_additive(
            candidates, args.n_additive_like, args.additive_max_heavy, args.seed + 2, keys, settings=settings
        )
    entries.extend({'smiles': s, 'source_id': i, 'group': 'additive', 'profile': p} for s, i, p in additive)
    return entries, quotas, left_out


def summarise(entries: list[dict], quotas: dict) -> dict:
    """Counts of the selection per source (and all): molecules, quota classes, elements, ions, sulfur groups."""

    def counts(group: list[dict]) -> dict:
        profiles = [entry['profile'] for entry in group if entry['profile'] is not None]
        classes = Counter(name for found in profiles for name in found['classes'])
        groups = Counter(name for found in profiles for name in found['sulfur_groups'])
        return {
            'molecules': len(group),
            **{name: classes[name] for name in QUOTAS},
            'none of these': sum(not found['classes'] for found in profiles),
            **{element: sum(element in found['elements'] for found in profiles) for element in SUMMARY_ELEMENTS},
            'charged': sum(found['charge'] != 0 for found in profiles),
            'zwitterions': sum(found['zwitterion'] for found in profiles),
            'no donor': sum(found['donors'] == 0 for found in profiles),
            **{f'S: {name}': groups[name] for name in SULFUR_GROUPS},
        }

    table = {group: counts([entry for entry in entries if entry['group'] == group]) for group in GROUPS}
    table['all'] = counts(entries)
    charges = Counter(entry['profile']['charge'] for entry in entries if entry['profile'] is not None)
    return {
        'by_source': table,
        'charges': {f'{charge:+d}': charges[charge] for charge in sorted(charges)},
        'additive_quotas': quotas,
    }


def log_summary(summary: dict) -> None:
    table = summary['by_source']
    columns = list(table)
    logger.info('selection summary (classes of the species at the labeller pH; a molecule may be in several):')
    logger.info('%-22s%s', '', ''.join(f'{column:>10}' for column in columns))
    for row in table['all']:
        logger.info('%-22s%s', row, ''.join(f'{table[column][row]:>10}' for column in columns))
    logger.info('net charges (all): %s', summary['charges'])
    logger.info('additive-like quotas: %s', summary['additive_quotas'])


def write_selection(entries: list[dict], path: Path) -> None:
    """The selection as CSV: SMILES, source_id, source, class (quota classes joined by '+', or 'other'), species."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open('w', newline='') as handle:
        writer = csv.writer(handle)
        writer.writerow(['smiles', 'source_id', 'source', 'class', 'species', 'charge', 'heavy_atoms'])
        for entry in entries:
            found = entry['profile'] or {}
            writer.writerow(
                [
                    entry['smiles'],
                    entry['source_id'],
                    entry['group'],
                    '+'.join(found.get('classes', [])) or 'other',
                    found.get('species', ''),
                    found.get('charge', ''),
                    found.get('heavy_atoms', ''),
                ]
            )


def check_work_dir(work_dir: str, settings: LabelSettings) -> None:
    """Refuse a work dir whose shards were labelled with other settings: resuming would mix two sets of labels."""
    import duckdb

    shards = sorted(str(path) for path in Path(work_dir).glob('part-*.parquet'))
    if not shards:
        return
    with duckdb.connect() as connection:
        query = 'SELECT DISTINCT source_version FROM read_parquet($files)'
        versions = {value for (value,) in connection.execute(query, {'files': shards}).fetchall()}
    if versions - {settings.source_version}:
        sys.exit(
            f'{work_dir} holds labels of other settings ({", ".join(sorted(versions))}; these settings give '
            f'{settings.source_version}): move it away or pass another --work-dir.'
        )


def group_order(text: str) -> tuple[str, ...]:
    order = tuple(part.strip() for part in text.split(','))
    if sorted(order) != sorted(GROUPS):
        raise argparse.ArgumentTypeError(f'expected each of {", ".join(GROUPS)} once, got {text!r}')
    return order


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='data/labels/xtb_gfn2.parquet', help='merged Parquet file (zstd)')
    parser.add_argument('--work-dir', default='build/xtb_labels', help='shards and skip log of the (resumable) run')
    parser.add_argument('--n-qm9', type=int, default=2200)
    parser.add_argument('--n-moses', type=int, default=500)
    parser.add_argument('--n-additive-like', type=int, default=1200, help='MOSES draw with quotas (see above)')
    parser.add_argument('--max-heavy', type=int, default=12, help='heavy-atom limit of the QM9 draw')
    parser.add_argument('--moses-max-heavy', type=int, default=14, help='heavy-atom limit of the MOSES draw')
    parser.add_argument('--additive-max-heavy', type=int, default=16, help='heavy-atom limit of the additive-like draw')
    parser.add_argument(
        '--order', type=group_order, default=GROUPS, help=f'labelling order of the sources (default {",".join(GROUPS)})'
    )
    parser.add_argument('--seed', type=int, default=20240601)
    parser.add_argument('--limit', type=int, default=None, help='label a random N of the selection (a trial)')
    parser.add_argument('--select-only', action='store_true', help='write the selection CSV and summary, no labels')
    parser.add_argument('--processes', type=int, default=2)
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--settings', default=None, help='JSON object of LabelSettings fields to override')
    parser.add_argument('--no-exchange', action='store_true', help='skip the Zn2+ exchange energy (about 10x faster)')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(message)s')
    # One line per skipped molecule goes to the skip log in the work dir; the console gets the summary.
    logging.getLogger('aiida_znadditive.ml.labels.xtb').setLevel(logging.ERROR)

    overrides = json.loads(args.settings) if args.settings else {}
    if args.no_exchange:
        overrides['exchange_energy'] = False
    settings = LabelSettings.coerce(overrides)

    start = time.perf_counter()
    entries, quotas, left_out = select(args, settings)
    rank = {group: position for position, group in enumerate(args.order)}
    entries.sort(key=lambda entry: rank[entry['group']])  # stable: each source keeps its draw order
    counts = {group: sum(entry['group'] == group for entry in entries) for group in args.order}
    summary = summarise(entries, quotas)
    logger.info('selected %d molecules (%s) in %.0f s', len(entries), counts, time.perf_counter() - start)
    log_summary(summary)
    out = Path(args.out)
    if args.select_only:
        path = out.with_name(f'{out.stem}.selection.csv')
        write_selection(entries, path)
        logger.info('wrote the selection to %s (nothing labelled: --select-only)', path)
        return 0

    check_work_dir(args.work_dir, settings)
    molecules = [(entry['smiles'], entry['source_id']) for entry in entries]
    if args.limit is not None and args.limit < len(molecules):
        # A seeded random subset, so that a trial's rate is representative of the whole selection.
        keep = np.sort(np.random.default_rng(args.seed).choice(len(molecules), args.limit, replace=False))
        molecules = [molecules[index] for index in keep]
        logger.info('labelling a random %d of them (--limit)', len(molecules))

    labeller = XtbLabeller(args.work_dir, settings=settings, processes=args.processes, batch_size=args.batch_size)
    run = labeller.run(molecules)
    logger.info(
        'labelled %d now (%.3f molecules/s over %.0f s); skipped %s',
        run['labelled'],
        run['rate'],
        run['seconds'],
        run['skipped'] or 'none',
    )

    wanted = [key for key in (inchikey(smiles, settings) for smiles, _ in molecules) if key]
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = merge_shards(args.work_dir, out, inchikeys=wanted)
    selection = {
        'elements': list(ELEMENTS),
        'additive_elements': list(ADDITIVE_ELEMENTS),
        **{key: getattr(args, key) for key in ('n_qm9', 'n_moses', 'n_additive_like', 'max_heavy')},
        **{key: getattr(args, key) for key in ('moses_max_heavy', 'additive_max_heavy', 'seed', 'limit')},
        'quotas_per_1200': QUOTAS,
        'caps_per_1200': CAPS,
        'order': list(args.order),
        'selected': counts,
        'curated_left_out': left_out,
        'summary': summary,
    }
    record = {
        'description': 'GFN2-xTB labels of ZIB-relevant molecules, made by scripts/label_xtb.py',
        'created': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'command': ' '.join(['scripts/label_xtb.py', *(argv if argv is not None else sys.argv[1:])]),
        'source_version': settings.source_version,
        'settings': settings.as_dict(),
        'settings_hash': settings.settings_hash(),
        'selection': selection,
        'rows': rows,
        'last_run': {key: run[key] for key in ('labelled', 'already_labelled', 'skipped', 'seconds', 'rate')},
        'versions': {name: importlib.metadata.version(name) for name in ('tblite', 'rdkit', 'ase', 'aiida-znadditive')},
    }
    out.with_name(f'{out.stem}.settings.json').write_text(json.dumps(record, indent=2) + '\n')
    logger.info('wrote %d rows to %s', rows, out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
