#!/usr/bin/env bash
# The README's first command: install everything, create the embedded profile and codes, run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/aiida-znadditive setup
.venv/bin/aiida-znadditive demo
