#!/usr/bin/env bash
# The README's second command: install everything, then lint, build the docs (warnings are errors) and run the tests.
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
.venv/bin/python -m pytest -ra --durations=25 -n logical --dist loadfile "$@"
