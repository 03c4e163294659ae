#!/usr/bin/env bash
# Create .venv beside the project (once) and install the app into it.
#   scripts/bootstrap.sh          the app's dependencies
#   scripts/bootstrap.sh test     plus the test tools
# TORCH_SPEC picks the PyTorch build: the pinned release takes a CPU build where one lies on
# disk and the standard (CUDA-enabled on Linux) wheel elsewhere. Set it to "torch" to let pip
# choose, or to a CUDA-specific spec of your own.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# One stamp for both modes: "test" installs a superset of "app", so the app never reinstalls
# after the tests have run (and the tests reinstall only to add their tools).
mode=${1:-app}
stamp=.venv/.installed-$( (cat pyproject.toml; echo "$TORCH_SPEC") | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || { [ "$mode" = test ] && [ "$(cat "$stamp")" != test ]; }; then
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
    .venv/bin/python -m pip install -q --disable-pip-version-check "$TORCH_SPEC"
  fi
  if [ "$mode" = test ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
  else
    .venv/bin/python -m pip install -q --disable-pip-version-check -e .
  fi
  rm -f .venv/.installed-*
  echo "$mode" > "$stamp"
fi
