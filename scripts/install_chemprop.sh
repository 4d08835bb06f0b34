#!/usr/bin/env bash
# Install chemprop 2.x into its own environment, .venv-chemprop, for benchmarks/gnn_vs_chemprop.py.
# A separate venv: chemprop pins its own lightning/rdkit/descriptastorus stack, which must not touch .venv.
# Safe to run again: it does nothing when chemprop already imports there.
set -euo pipefail
cd "$(dirname "$0")/.."

CHEMPROP_VERSION=${CHEMPROP_VERSION:-2.3.1}
VENV=.venv-chemprop
PYTHON=${PYTHON:-python3}

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import chemprop' 2>/dev/null; then
  echo "==> chemprop $("$VENV/bin/python" -c 'import chemprop; print(chemprop.__version__)') already in $VENV"
  exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
pip_install() {
  "$VENV/bin/pip" install -q --disable-pip-version-check "$@" 2>&1 | grep -v -e "^WARNING: Location" || true
}
# torch first and pinned, as in scripts/install.sh: 2.13.0 is the CPU wheel this machine class ships
# (pip's configured find-links); anything else pulls a multi-GB CUDA build.
if ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
  echo "==> pip install torch==2.13.0"
  pip_install torch==2.13.0
fi
echo "==> pip install chemprop==$CHEMPROP_VERSION (torch kept at 2.13.0)"
# The constraint keeps pip from replacing the CPU torch while resolving chemprop's dependencies.
constraint=$(mktemp)
trap 'rm -f "$constraint"' EXIT
echo "torch==2.13.0" > "$constraint"
pip_install -c "$constraint" "chemprop==$CHEMPROP_VERSION"
"$VENV/bin/python" -c 'import chemprop, torch, lightning; print(f"==> chemprop {chemprop.__version__}, torch {torch.__version__}, lightning {lightning.__version__} in '"$VENV"'")'
