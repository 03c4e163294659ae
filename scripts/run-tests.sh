#!/usr/bin/env bash
# Install the app and the test tools (first run only), then check the rules (ruff, ruff
# format, mypy) and run the test suite offscreen. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh test
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
echo "== ruff check"
.venv/bin/ruff check .
echo "== ruff format --check"
.venv/bin/ruff format --check .
echo "== mypy vae_explorer"
.venv/bin/mypy vae_explorer
echo "== pytest"
exec .venv/bin/python -m pytest -q "$@"
