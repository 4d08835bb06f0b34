#!/usr/bin/env bash
# The README's first command: install everything, create the embedded profile and codes, then run the demo:
# a PySCF single point on [Zn(H2O)6]2+, and 2 ps of GFN1-xTB AIMD (CP2K) of Zn2+ with sulfate in 32 waters, in
# two segments that continue from CP2K's restart files; its first solvation shell (Zn-O RDF peak, coordination
# number, residence) is printed and plotted to solvation_water.png. Every number printed is an output node of the
# provenance graph; the PKs are printed. (The complexation demo of the previous release:
# `.venv/bin/aiida-znadditive complexation CO 'CS(C)=O'`.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/aiida-znadditive setup
.venv/bin/aiida-znadditive demo
.venv/bin/aiida-znadditive solvation --protocol fast --ps 2 --equilibration 0.5 --segment 1 --figure solvation_water.png
