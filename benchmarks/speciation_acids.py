"""Benchmark: the charge of dicarboxylic acids at the electrolyte's pH, against their measured stepwise pKa values.

Usage (from the repository root)::

    .venv/bin/python benchmarks/speciation_acids.py

For each acid of ``data/speciation/polyprotic_acids.csv`` (none of them in the pKa override table) and each pH of
2 to 7, the charge of the dominant species from the measured pKa1 and pKa2 (the largest of the fractions of H2A, HA-
and A2-) against the charge ``speciate`` gives, with the carboxyl coupling of ``structures/acid_coupling.py`` and
without it (dimorphite-dl's independent sites). Cases whose dominant species holds less than 60 % are counted apart:
near a pKa either charge is a fair answer. Prints one row per acid and the agreement.
"""

from __future__ import annotations

import csv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / 'data' / 'speciation' / 'polyprotic_acids.csv'
PHS = (2.0, 3.0, 4.0, 4.5, 5.0, 6.0, 7.0)
#: a dominant species below this fraction is a near tie, counted apart
CLEAR = 0.6


def measured_charge(pka1: float, pka2: float, ph: float) -> tuple[int, float]:
    """Charge of the dominant species of a diacid H2A at ``ph`` and its fraction."""
    weights = [1.0, 10 ** (ph - pka1), 10 ** (2 * ph - pka1 - pka2)]  # H2A, HA-, A2-
    total = sum(weights)
    best = max(range(3), key=lambda index: weights[index])
    return -best, weights[best] / total


def uncoupled_charge(smiles: str, ph: float) -> int:
    """dimorphite-dl's species with independent sites (the pKa overrides applied, no coupling)."""
    from rdkit import Chem

    from aiida_znadditive.structures.speciation import _protonate

    return Chem.GetFormalCharge(Chem.MolFromSmiles(_protonate(smiles, ph)[0].split()[0]))


def rows() -> list[dict]:
    from aiida_znadditive.structures.speciation import speciate

    with TABLE.open() as handle:
        acids = list(csv.DictReader(handle))
    results = []
    for acid in acids:
        for ph in PHS:
            charge, fraction = measured_charge(float(acid['pka1']), float(acid['pka2']), ph)
            results.append({
                'name': acid['name'], 'ph': ph, 'measured': charge, 'fraction': fraction,
                'coupled': speciate(acid['smiles'], ph).charge, 'independent': uncoupled_charge(acid['smiles'], ph),
            })  # fmt: skip
    return results


def agreement(results: list[dict], key: str, clear_only: bool) -> tuple[int, int]:
    chosen = [row for row in results if row['fraction'] >= CLEAR or not clear_only]
    return sum(row[key] == row['measured'] for row in chosen), len(chosen)


def main() -> None:
    results = rows()
    print(f'{len(results) // len(PHS)} dicarboxylic acids, pH {", ".join(f"{ph:g}" for ph in PHS)}')
    print(f'{"acid":22s} measured | coupled | independent   (charge at each pH; * near tie)')
    for name in dict.fromkeys(row['name'] for row in results):
        mine = [row for row in results if row['name'] == name]
        measured = ' '.join(f'{row["measured"]:+d}{"*" if row["fraction"] < CLEAR else " "}' for row in mine)
        coupled = ' '.join(f'{row["coupled"]:+d}' for row in mine)
        independent = ' '.join(f'{row["independent"]:+d}' for row in mine)
        print(f'{name:22s} {measured} | {coupled} | {independent}')
    for key in ('coupled', 'independent'):
        right, total = agreement(results, key, clear_only=True)
        every, cases = agreement(results, key, clear_only=False)
        print(f'{key:12s}: {right}/{total} clear cases right ({right / total:.0%}); {every}/{cases} of all')


if __name__ == '__main__':
    main()
