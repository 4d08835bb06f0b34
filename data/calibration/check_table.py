#!/usr/bin/env python
"""Validate zn_stability_constants.csv and print it with experimental binding free energies.

Checks, for every row:
  * the header is exactly the documented column list;
  * species_smiles parses with RDKit and its net formal charge equals `charge`;
  * `class` is one of the allowed classes;
  * the donor count encoded in `donor_set` (e.g. "N2,O4" -> 6) equals `max_denticity`;
  * log_k1, ionic_strength_M and temperature_C are numbers;
  * where the note records "basis=<logK>@<I>M" together with "Davies", log_k1 equals
    the basis value corrected to I = 0 with the Davies equation (A = 0.51), within 0.011.

Then prints name, charge, class, log_k1 and dG_exp = -RT ln(10) log_k1 in eV at 298.15 K
(dG_exp = -0.059159 eV * log_k1). Exits with status 1 if any check fails.

Usage: python data/calibration/check_table.py [path/to/zn_stability_constants.csv]
"""

import csv
import math
import re
import sys
from pathlib import Path

from rdkit import Chem, RDLogger

RDLogger.DisableLog('rdApp.*')

COLUMNS = [
    'name',
    'species_smiles',
    'charge',
    'donor_set',
    'log_k1',
    'ionic_strength_M',
    'temperature_C',
    'max_denticity',
    'class',
    'source',
    'note',
]
CLASSES = {
    'neutral_O',
    'neutral_N',
    'neutral_S',
    'carboxylate',
    'hydroxycarboxylate',
    'dicarboxylate',
    'amino_acid',
    'aminocarboxylate',
    'polyamine',
    'inorganic_anion',
    'other',
}
KB_EV = 8.617333262e-5  # Boltzmann constant, eV/K
T_REF = 298.15
EV_PER_LOGK = KB_EV * T_REF * math.log(10.0)  # 0.059159 eV
DAVIES_A = 0.51
BASIS_RE = re.compile(r'basis=(-?\d+(?:\.\d+)?)@(\d*\.?\d+)M')
TOKEN_RE = re.compile(r'^([A-Z][a-z]?)(\d*)$')


def davies_to_zero(logk, ionic_strength, ligand_charge):
    """log K at I=0 for Zn2+ + L^z -> ZnL^(2+z), Davies activity coefficients."""
    sq = math.sqrt(ionic_strength)
    f = sq / (1.0 + sq) - 0.3 * ionic_strength
    # z(ZnL)^2 - z(Zn)^2 - z(L)^2 = 4z
    return logk - 4.0 * DAVIES_A * f * ligand_charge


def donor_count(donor_set):
    total = 0
    for tok in donor_set.split(','):
        m = TOKEN_RE.match(tok.strip())
        if not m:
            raise ValueError(f'bad donor token {tok!r}')
        total += int(m.group(2)) if m.group(2) else 1
    return total


def check_row(tag, r):
    """Check one row; return (errors, printable tuple or None)."""
    errors = []
    mol = Chem.MolFromSmiles(r['species_smiles'])
    if mol is None:
        return [f'{tag}: RDKit cannot parse {r["species_smiles"]!r}'], None
    charge = int(r['charge'])
    fc = Chem.GetFormalCharge(mol)
    if fc != charge:
        errors.append(f'{tag}: charge column {charge} != formal charge {fc}')
    if r['class'] not in CLASSES:
        errors.append(f'{tag}: unknown class {r["class"]!r}')
    try:
        n = donor_count(r['donor_set'])
        if n != int(r['max_denticity']):
            errors.append(f'{tag}: donor_set {r["donor_set"]} counts {n} != max_denticity {r["max_denticity"]}')
    except ValueError as exc:
        errors.append(f'{tag}: {exc}')
    try:
        logk = float(r['log_k1'])
        ionic = float(r['ionic_strength_M'])
        float(r['temperature_C'])
    except ValueError as exc:
        return [*errors, f'{tag}: non-numeric field ({exc})'], None
    if not r['source'].strip():
        errors.append(f'{tag}: empty source')
    m = BASIS_RE.search(r['note'])
    if m and 'Davies' in r['note']:
        if ionic != 0.0:
            errors.append(f'{tag}: Davies-corrected row must have ionic_strength_M = 0')
        expect = davies_to_zero(float(m.group(1)), float(m.group(2)), charge)
        if abs(expect - logk) > 0.011:
            errors.append(f'{tag}: log_k1 {logk} != Davies({m.group(1)}@{m.group(2)} M) = {expect:.3f}')
    row = (r['name'], charge, r['class'], r['donor_set'], logk, ionic, -EV_PER_LOGK * logk, Chem.MolToSmiles(mol))
    return errors, row


def main(path):
    errors = []
    with open(path, newline='') as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != COLUMNS:
            errors.append(f'header {reader.fieldnames} != {COLUMNS}')
        rows = list(reader)
    names = set()
    out = []
    for i, r in enumerate(rows, start=2):
        tag = f'line {i} ({r.get("name")})'
        if r['name'] in names:
            errors.append(f'{tag}: duplicate name')
        names.add(r['name'])
        row_errors, row = check_row(tag, r)
        errors.extend(row_errors)
        if row is not None:
            out.append(row)

    head = ('name', 'z', 'class', 'donors', 'log_k1', 'I/M', 'dG_exp/eV')
    print('{:24s} {:>3s} {:18s} {:7s} {:>7s} {:>4s} {:>10s}  canonical SMILES'.format(*head))
    for name, z, cls, donors, logk, ion, dg, smi in out:
        print(f'{name:24s} {z:3d} {cls:18s} {donors:7s} {logk:7.2f} {ion:4g} {dg:10.3f}  {smi}')
    print(f'\n{len(out)} rows; dG_exp = -{EV_PER_LOGK:.6f} eV * log_k1 (298.15 K)')
    if errors:
        print('\nFAILED checks:', file=sys.stderr)
        for e in errors:
            print('  ' + e, file=sys.stderr)
        return 1
    print('all checks passed')
    return 0


if __name__ == '__main__':
    default = Path(__file__).resolve().with_name('zn_stability_constants.csv')
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else default))
