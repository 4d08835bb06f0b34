"""Measured pKa values that replace dimorphite-dl's class averages where those are wrong or missing.

:func:`~aiida_znadditive.structures.speciation.speciate` feeds these entries to dimorphite-dl ahead of its own table:
an entry claims the atoms it matches, so a later entry (or dimorphite-dl's class) never sees them. Order therefore
matters: the more specific skeleton (citric acid) comes before the general one (succinic acid), and every acid
with a measured value of its own before the generic alkanoic acid entry.
"""

from __future__ import annotations

from dataclasses import dataclass

# An amine that can carry the proton (sp3 N; not an amide, sulfonamide, phosphoramide or aniline N).
_AMINE = '[NX3;!$(N-a);!$(N-[#6,#15,#16]=[#7,#8,#16])]'
# An sp3 carbon without a heteroatom on it (the alpha carbons of the plain dicarboxylic acids).
_FREE_CH2 = '[CX4;!$(C-[!#6;!#1])]'


@dataclass(frozen=True)
class PkaOverride:
    """A measured pKa that replaces dimorphite-dl's class average for the atoms ``smarts`` matches.

    ``sites`` are (index of the ionisable atom in the SMARTS pattern, counting every atom of the pattern including
    [H], from 0; pKa) pairs, in dimorphite-dl's own site-file convention: an O-H or N-H acid, or a basic N written
    neutral (the site's protonated form is then the cation).
    """

    name: str
    smarts: str
    sites: tuple[tuple[int, float], ...]
    source: str


# Each entry is narrow on purpose (the parent compound only): a substituent can move a pKa by units, and a wrong
# class value is what these replace. dimorphite-dl 2.1 puts pyridine (5.23) and imidazole (6.99) under its generic
# pyridine-type N (4.35), so both came out neutral at pH 4.5, where they are 84% and >99% protonated; and it has no
# entry for inorganic sulfuric acid, so sulfate (from ZnSO4 or Na2SO4) came out as H2SO4.
PKA_OVERRIDES: tuple[PkaOverride, ...] = (
    PkaOverride(
        name='sulfuric acid',
        smarts='[SX4:1](=[O:2])(=[O:3])(-[OX2:4]-[H])-[OX2:5]-[H]',
        sites=((3, -3.0), (5, 1.99)),
        source='H2SO4 pKa1 ~ -3 (strong acid), HSO4- pKa2 1.99 (25 °C); CRC Handbook, inorganic acids in water',
    ),
    PkaOverride(
        # dimorphite-dl takes both OH of carbonic acid for carboxylic acids (3.46 each), so the graph GA's favourite
        # O=C(O)O became carbonate2- at pH 4.5 in the README's campaign. The apparent pKa1 counts the CO2(aq) that
        # dominates dissolved H2CO3: below pH 6 it is neutral (in the bottle, CO2 and water).
        name='carbonic acid',
        smarts='[CX3:1](=[OX1:2])(-[OX2:3]-[H])-[OX2:4]-[H]',
        sites=((2, 6.35), (4, 10.33)),
        source='H2CO3* apparent pKa1 6.35, HCO3- pKa2 10.33 (25 °C); CRC Handbook, inorganic acids in water',
    ),
    # Polycarboxylic acids: dimorphite-dl treats every carboxyl as an independent site at its class value (3.46),
    # so malonic and succinic acid were dianions at pH 4.5, where their monoanions dominate. The first proton leaves
    # a charge that holds the second one (the closer the carboxyls, the larger the shift), so the two sites of one
    # acid get the parent acid's two measured pKa values. The linker carbons carry no heteroatom: other diacids
    # (malic, tartaric, pimelic, ...) are coupled by structures/acid_coupling.py with shifts taken from these
    # values, and amino acids (aspartic) stay with dimorphite-dl and the amino-acid entries below.
    # Citric acid first: its three carboxyls would otherwise be claimed pairwise by the succinic pattern.
    PkaOverride(
        name='citric acid',
        smarts=('[OX2]([H])[CX3](=[OX1])[CH2][CX4]([OX2][H])([CX3](=[OX1])[OX2][H])[CH2][CX3](=[OX1])[OX2][H]'),
        # The central carboxyl (beside the hydroxyl) is the most acidic; the terminal ones take pKa2 and pKa3.
        sites=((10, 3.13), (0, 4.76), (15, 6.40)),
        source='citric acid pKa 3.13, 4.76, 6.40 (25 °C); CRC Handbook, organic acids in water',
    ),
    PkaOverride(
        name='oxalic acid',
        smarts='[OX2]([H])[CX3](=[OX1])[CX3](=[OX1])[OX2][H]',
        sites=((0, 1.25), (6, 4.27)),
        source='oxalic acid pKa 1.25, 4.27 (25 °C); CRC Handbook, organic acids in water',
    ),
    PkaOverride(
        name='phthalic acid',
        smarts='[OX2]([H])[CX3](=[OX1])c:c[CX3](=[OX1])[OX2][H]',
        sites=((0, 2.95), (8, 5.41)),
        source='phthalic acid pKa 2.95, 5.41 (25 °C); CRC Handbook, organic acids in water',
    ),
    # HOOC-(CH2)n-COOH, n = 1..4: the carbons next to the carboxyls carry no heteroatom (_FREE_CH2); the second
    # carboxyl's O-H is atom 6 + n of the pattern.
    *(
        PkaOverride(
            name=f'{name} acid',
            smarts='[OX2]([H])[CX3](=[OX1])'
            + (_FREE_CH2 if links == 1 else _FREE_CH2 + '[CX4]' * (links - 2) + _FREE_CH2)
            + '[CX3](=[OX1])[OX2][H]',
            sites=((0, first), (6 + links, second)),
            source=f'{name} acid pKa {first}, {second} (25 °C); CRC Handbook, organic acids in water',
        )
        for name, links, first, second in (
            ('malonic', 1, 2.83, 5.69),
            ('succinic', 2, 4.21, 5.64),
            ('glutaric', 3, 4.34, 5.42),
            ('adipic', 4, 4.41, 5.41),
        )
    ),
    # omega-Amino acids: the ammonium's charge lowers the carboxyl's pKa (beta-alanine 3.55 against propionic 4.87),
    # so they are zwitterions at pH 4.5. The alkanoic entry below (4.8) would have made beta-alanine,
    # 4-aminobutyric and 6-aminohexanoic acid, all reported zinc-battery additives, cations with a neutral
    # carboxylic acid. The amine is an sp3 N that is no amide, sulfonamide or aniline; the linker carbons are sp3.
    *(
        PkaOverride(
            name=f'{name} acid',
            # The amine sits in a recursive SMARTS: an atom of the match is claimed, and the N must stay free
            # for dimorphite-dl's own amine entry (the ammonium of the zwitterion).
            smarts='[OX2]([H])[CX3](=[OX1])' + '[CX4]' * (links - 1) + f'[CX4;$(C-{_AMINE})]',
            sites=((0, pka),),
            source=f'{example} carboxyl pKa {pka} (25 °C); CRC Handbook, organic acids in water',
        )
        for name, links, pka, example in (
            ('beta-amino', 2, 3.55, 'beta-alanine'),
            ('gamma-amino', 3, 4.03, '4-aminobutyric acid'),
            ('delta-amino', 4, 4.27, '5-aminopentanoic acid'),
            ('epsilon-amino', 5, 4.43, '6-aminohexanoic acid'),
        )
    ),
    PkaOverride(
        # dimorphite-dl's carboxylic acid class (3.46) is the average over acids with electron-withdrawing alpha
        # substituents; a plain alkanoic acid is an order of magnitude weaker, so at pH 4.5 its neutral form
        # dominates (acetic acid: 36 % acetate). The alpha carbon: sp3, bonded only to C/H, to no other sp2/sp
        # carbon and to no carbon that carries a second carboxyl (malonic 2.83, succinic 4.21 keep the class value).
        name='alkanoic acid',
        smarts=('[CX4;!$(C-[!#6;!#1]);!$(C(-[#6;!X4])-[#6;!X4]);!$(C-C-C(=O)-[OX2H1])]-[CX3](=[OX1])-[OX2]-[H]'),
        sites=((3, 4.8),),
        source='acetic 4.76, propionic 4.87, butyric 4.82, isobutyric 4.86 (25 °C); CRC Handbook, organic acids',
    ),
    # dimorphite-dl has no entries for the hydrogen halides and none for ammonia (its amine classes need a carbon on
    # N): a chloride salt came out as HCl and ammonium as NH3 at every pH.
    PkaOverride(
        name='hydrogen fluoride',
        smarts='[F:1]-[H]',
        sites=((0, 3.17),),
        source='HF pKa 3.17 (25 °C); CRC Handbook, inorganic acids in water',
    ),
    PkaOverride(
        name='hydrogen chloride',
        smarts='[Cl:1]-[H]',
        sites=((0, -6.3),),
        source='HCl pKa about -6 (strong acid, never the dominant form in water); CRC Handbook, inorganic acids',
    ),
    PkaOverride(
        name='hydrogen bromide',
        smarts='[Br:1]-[H]',
        sites=((0, -9.0),),
        source='HBr pKa about -9 (strong acid); CRC Handbook, inorganic acids in water',
    ),
    PkaOverride(
        name='hydrogen iodide',
        smarts='[I:1]-[H]',
        sites=((0, -9.5),),
        source='HI pKa about -9.5 (strong acid); CRC Handbook, inorganic acids in water',
    ),
    # Polyamines: once one N carries a proton, a neighbour two carbons away is far harder to protonate, which
    # independent sites miss. Cyclen, a reported additive, came out as a +4 ion at pH 4.5 (outside the -4..+2 the
    # WorkChains treat), where the diprotonated +2 form dominates; diethylenetriamine is +2 there, not +3.
    PkaOverride(
        name='cyclen',
        smarts='[NX3;H1:1]1[CH2][CH2][NX3;H1][CH2][CH2][NX3;H1][CH2][CH2][NX3;H1][CH2][CH2]1',
        # the two protons sit on opposite N (0 and 6), as far apart as the ring allows
        sites=((0, 10.6), (6, 9.6), (3, 1.5), (9, 0.8)),
        source='cyclen log K(H) about 10.6, 9.6, 1.5, 0.8 (25 °C, I = 0.1-0.2 M); Martell & Smith, Critical '
        'Stability Constants',
    ),
    PkaOverride(
        name='diethylenetriamine',
        smarts='[NX3;H2:1][CH2][CH2][NX3;H1][CH2][CH2][NX3;H2]',
        # the terminal N take the first two protons, the central one the third
        sites=((0, 9.84), (6, 9.02), (3, 4.23)),
        source='diethylenetriamine log K(H) 9.84, 9.02, 4.23 (25 °C, I = 0.1 M); Martell & Smith, Critical Stability '
        'Constants',
    ),
    PkaOverride(
        name='triethylenetetramine',
        smarts='[NX3;H2:1][CH2][CH2][NX3;H1][CH2][CH2][NX3;H1][CH2][CH2][NX3;H2]',
        sites=((0, 9.74), (9, 9.07), (3, 6.59), (6, 3.27)),
        source='triethylenetetramine log K(H) 9.74, 9.07, 6.59, 3.27 (25 °C, I = 0.1 M); Martell & Smith, Critical '
        'Stability Constants',
    ),
    PkaOverride(
        # after the longer chains, which contain this pattern
        name='ethylenediamine',
        smarts='[NX3;H2:1][CH2][CH2][NX3;H2]',
        sites=((0, 9.92), (3, 6.85)),
        source='ethylenediamine log K(H) 9.92, 6.85 (25 °C, I = 0.1 M); Martell & Smith, Critical Stability Constants',
    ),
    PkaOverride(
        name='ammonia',
        smarts='[NX3+0;H3:1]',
        sites=((0, 9.25),),
        source='ammonium pKa 9.25 (25 °C); CRC Handbook, inorganic acids and bases in water',
    ),
    # Pyridines and imidazoles with electron-donating substituents: dimorphite-dl gives every substituted pyridine-type
    # N its generic 4.35, so at pH 4.5 the picolines, aminopyridines, DMAP, methylimidazoles, benzimidazole and
    # quinoline came out neutral, as donors, where they are 70-100% protonated (their pKa 4.9-9.7). Electron-withdrawing
    # substituents (Cl, CN, amide, ester: pKa 0.7-3.6) stay at the generic value, which is below any electrolyte's
    # pH as well: data/speciation/azine_bases.csv holds both kinds with their measured values, and the tests check the
    # species of each at pH 4.5 and 7. Each entry is the parent compound only (H on every other ring carbon).
    *(
        PkaOverride(
            name=name,
            smarts=f'[nX2+0;$({ring}):1]',
            sites=((0, pka),),
            source=f'{name} conjugate acid pKa {pka} (25 °C); Perrin, Dissociation Constants of Organic Bases in '
            'Aqueous Solution (1965), as compiled in the CRC Handbook (compilations differ by up to 0.15)',
        )
        for name, ring, pka in (
            ('4-dimethylaminopyridine', 'n1[cH1][cH1]c(-[NX3H0]([CH3])[CH3])[cH1][cH1]1', 9.70),
            ('4-aminopyridine', 'n1[cH1][cH1]c(-[NX3H2])[cH1][cH1]1', 9.17),
            ('2-aminopyridine', 'n1c(-[NX3H2])[cH1][cH1][cH1][cH1]1', 6.86),
            ('3-aminopyridine', 'n1[cH1]c(-[NX3H2])[cH1][cH1][cH1]1', 6.04),
            ('2,4,6-trimethylpyridine', 'n1c(-[CH3])[cH1]c(-[CH3])[cH1]c1-[CH3]', 7.43),
            ('2,6-dimethylpyridine', 'n1c(-[CH3])[cH1][cH1][cH1]c1-[CH3]', 6.72),
            ('3,5-dimethylpyridine', 'n1[cH1]c(-[CH3])[cH1]c(-[CH3])[cH1]1', 6.15),
            ('2-methylpyridine', 'n1c(-[CH3])[cH1][cH1][cH1][cH1]1', 5.97),
            ('3-methylpyridine', 'n1[cH1]c(-[CH3])[cH1][cH1][cH1]1', 5.68),
            ('4-methylpyridine', 'n1[cH1][cH1]c(-[CH3])[cH1][cH1]1', 6.02),
            ('quinoline', 'n1[cH1][cH1][cH1]c2[cH1][cH1][cH1][cH1]c12', 4.90),
            ('isoquinoline', 'n1[cH1]c2[cH1][cH1][cH1][cH1]c2[cH1][cH1]1', 5.40),
            ('1-methylimidazole', 'n1[cH1]n(-[CH3])[cH1][cH1]1', 6.95),
            ('2-methylimidazole', 'n1c(-[CH3])[nH1][cH1][cH1]1', 7.86),
            # 4(5)-methylimidazole: the tautomer with the methyl next to the basic N and the one with it next to NH
            ('4-methylimidazole', 'n1[cH1][nH1][cH1]c1-[CH3]', 7.55),
            ('5-methylimidazole', 'n1[cH1][nH1]c(-[CH3])[cH1]1', 7.55),
            ('benzimidazole', 'n1[cH1][nH1]c2[cH1][cH1][cH1][cH1]c12', 5.53),
        )
    ),
    # Two pyridine N that one proton serves: once one N is protonated, the cation's charge and the N-H...N bond hold
    # the second proton off, which then leaves only in strong acid. dimorphite-dl (and a one-site entry matched at
    # each N) treats the two N as independent sites, which made 1,10-phenanthroline a dication wherever its pKa1 was
    # above the pH, and 2,2'-bipyridine a dication at pH 3. Both N are written in one pattern, so the second match
    # (the same ring system read the other way) finds its atoms claimed. The second proton's pKa is below 0 in both;
    # its value is not re-checked here: any value below 1 gives the same species from pH 1 up.
    PkaOverride(
        name='1,10-phenanthroline',
        smarts='[nX2+0:1]1[cH1][cH1][cH1]c2[cH1][cH1]c3[cH1][cH1][cH1][nX2+0:2]c3c12',
        sites=((0, 4.86), (11, -0.5)),
        source='phenanthrolinium pKa 4.86 (25 °C; Perrin 1965 as the CRC Handbook gives it); the dication only in '
        'strong acid (second pKa below 0, written as -0.5)',
    ),
    PkaOverride(
        name="2,2'-bipyridine",
        smarts='[nX2+0:1]1c(-c2[nX2+0:2][cH1][cH1][cH1][cH1]2)[cH1][cH1][cH1][cH1]1',
        sites=((0, 4.35), (3, -0.5)),
        source="2,2'-bipyridinium pKa 4.35 (25 °C; Perrin 1965 as the CRC Handbook gives it); the dication only in "
        'strong acid (second pKa below 0, written as -0.5)',
    ),
    PkaOverride(
        name='pyridine',
        smarts='[nX2+0;$(n1[cH1][cH1][cH1][cH1][cH1]1):1]',
        sites=((0, 5.23),),
        source='pyridinium pKa 5.23 (25 °C); CRC Handbook, organic bases in water',
    ),
    PkaOverride(
        name='imidazole',
        smarts='[nX2+0;$(n1:[cH1]:[nX3H1]:[cH1]:[cH1]:1):1]',
        sites=((0, 6.99),),
        source='imidazolium pKa 6.99 (25 °C); CRC Handbook, organic bases in water',
    ),
)
