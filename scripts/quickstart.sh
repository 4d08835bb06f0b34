#!/usr/bin/env bash
# The README's first command: install everything, create the embedded profile and codes, then run the demo:
# a PySCF single point on [Zn(H2O)6]2+ and the `fast` complexation of two small additives (methanol, DMSO),
# whose exchange energies against the waters of [Zn(H2O)6]2+ are printed with the PKs of their WorkChains.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/aiida-znadditive setup
.venv/bin/aiida-znadditive demo
.venv/bin/aiida-znadditive complexation CO 'CS(C)=O' --protocol fast
