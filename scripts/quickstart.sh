#!/usr/bin/env bash
# The README's first command: install everything, create the embedded profile and codes, then run a small real
# campaign: the graph GA proposes additives on the ZIB objective (rules + the shipped GFN2-level GNN), the molecules
# enter the meta-database, the best become candidate nodes, and ZnComplexationWorkChain (GFN2-xTB pre-ranking,
# B3LYP-D3(BJ)/def2-SVP in PySCF, C-PCM water) computes the Zn2+ exchange energy of the best candidate. Prints the funnel,
# predicted against DFT exchange energies with the WorkChain PKs, and writes campaign/campaign.png. Every number
# printed is an output node of the provenance graph.
# Earlier demos: `.venv/bin/aiida-znadditive demo` (PySCF on [Zn(H2O)6]2+), `.venv/bin/aiida-znadditive adsorption
# 'CS(C)=O' --experimental-lattice --dft-task singlepoint` (DMSO against water on Zn(002)),
# `.venv/bin/aiida-znadditive solvation --ps 2` (AIMD of the Zn2+ shell).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/aiida-znadditive setup
# QM9's small molecules seed the GA and 8 heavy atoms cap it: the DFT of one candidate with the references
# ([Zn(H2O)6]2+, H2O) takes about 36 minutes on 2 cores (measured on a clean clone; a second candidate was still relaxing 48 minutes on).
.venv/bin/aiida-znadditive campaign run --library qm9 --max-heavy-atoms 8 --budget 300 --top-k 1 --out campaign
