#!/usr/bin/env bash
# Install what the app needs (first run only), check that this machine can show a window
# (a display, Qt's xcb libraries: vae_explorer/gui/first_run.py says what to install), then
# open it. Arguments go to vae-explorer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh app
.venv/bin/python -m vae_explorer.gui.first_run || exit $?
export VAE_EXPLORER_DESKTOP_CHECKED=1  # checked just now: the app skips its own check
exec .venv/bin/vae-explorer "$@"
