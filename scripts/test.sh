#!/usr/bin/env bash
# The README's second command: install everything, then lint, build the docs (warnings are errors) and run the tests
# (then the fast lane again at the lowest supported aiida-core).
# The tests start PostgreSQL, RabbitMQ and the AiiDA daemon themselves; nothing is mocked.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> docs"
.venv/bin/sphinx-build -q -W -b html docs/source docs/build/html
echo "==> pytest"
# One worker per core (pytest-xdist); a module stays on one worker, so its fixtures run once (tests/conftest.py).
# LANE=fast runs the tests that need no engine, LANE=engine the others; unset, both in one run (what CI runs).
case "${LANE:-all}" in
  fast) lane=(-m "not integration and not production") ;;
  engine) lane=(-m "integration or production") ;;
  all) lane=() ;;
  *) echo "LANE must be fast, engine or all, not '${LANE}'" >&2; exit 2 ;;
esac
.venv/bin/python -m pytest -ra --durations=25 -n logical --dist loadfile "${lane[@]}" "$@"
# The lowest aiida-core the package supports (pyproject.toml's floor): the fast lane again, in .venv-lowest.
if [ "${LANE:-all}" != engine ]; then
  bash scripts/test_lowest.sh
fi
