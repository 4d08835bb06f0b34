#!/usr/bin/env bash
# The lowest end of the supported aiida-core range: pyproject.toml's floor in a venv of its own (.venv-lowest),
# everything else at requirements/constraints.txt, and the fast test lane (the tests that need no engine: plugin
# specs, exit codes, restart handlers, the CLI, the provenance queries) run against it. The newest end is the main
# run of scripts/test.sh. Called by scripts/test.sh after the main run; extra arguments pass to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
floor=$(.venv/bin/python - <<'EOF'
import re, tomllib
dependencies = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']
print(next(re.search(r'>=([\w.]+)', d)[1] for d in dependencies if re.match(r'aiida-core\b', d)))
EOF
)
constraints=$(mktemp)
aiida_path=$(mktemp -d)
trap 'rm -rf "$constraints" "$aiida_path"' EXIT
quiet() { grep -v "^WARNING: Location" || true; }  # pip's notes on the local package index, one per package
if [ ! -x .venv-lowest/bin/python ]; then
  "$PYTHON" -m venv .venv-lowest
fi
if ! .venv-lowest/bin/python -c 'import torch' 2>/dev/null; then
  .venv-lowest/bin/pip install -q --disable-pip-version-check torch==2.13.0 2>&1 | quiet
fi
# aiida-core at the floor, the packages it depends on left to pip, every other package pinned
wheel=$(mktemp -d)
.venv-lowest/bin/pip download -q --disable-pip-version-check --no-deps -d "$wheel" "aiida-core==${floor}" 2>&1 | quiet
.venv-lowest/bin/python scripts/lowest_constraints.py "$wheel"/aiida_core-*.whl "$floor" requirements/constraints.txt \
  > "$constraints"
rm -rf "$wheel"
echo "==> .venv-lowest: aiida-core==${floor} (the floor of pyproject.toml)"
.venv-lowest/bin/pip install -q --disable-pip-version-check -c "$constraints" -e '.[ml,dev]' 2>&1 | quiet
.venv-lowest/bin/python -c 'import importlib.util as u; exit(u.find_spec("moses") is None)' 2>/dev/null ||
  .venv-lowest/bin/pip install -q --disable-pip-version-check --no-deps molsets==0.3.1 2>&1 | quiet
installed=$(.venv-lowest/bin/python -c 'from importlib.metadata import version; print(version("aiida-core"))')
if [ "$installed" != "$floor" ]; then
  echo "aiida-core ${installed} in .venv-lowest, not the floor ${floor}" >&2
  exit 1
fi
echo "==> pytest, fast lane, aiida-core ${installed}"
# its own AiiDA folder: an older aiida-core refuses a configuration file a newer one has migrated
AIIDA_PATH="$aiida_path" .venv-lowest/bin/python -m pytest -ra -n logical --dist loadfile \
  -m "not integration and not production" -p no:cacheprovider "$@"
