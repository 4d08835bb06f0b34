#!/usr/bin/env bash
# The README's first command: install everything, create the embedded profile and codes, then run the demo:
# a PySCF single point on [Zn(H2O)6]2+, and DMSO against water on the Zn(002) surface (SlabAdsorptionWorkChain on
# a 3x3, 3-layer Zn(0001) slab at the experimental lattice): every site x orientation of both molecules pre-ranked
# with CP2K's GFN1-xTB, the best of each recomputed with PBE-D3, E_ads printed per configuration and plotted to
# adsorption_dmso.png. Every number printed is an output node of the provenance graph; the PKs are printed.
# Earlier demos: `.venv/bin/aiida-znadditive solvation --ps 2` (AIMD of the Zn2+ shell),
# `.venv/bin/aiida-znadditive complexation CO 'CS(C)=O'`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/aiida-znadditive setup
.venv/bin/aiida-znadditive demo
.venv/bin/aiida-znadditive adsorption 'CS(C)=O' --experimental-lattice --dft-task singlepoint --figure adsorption_dmso.png
