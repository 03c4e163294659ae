#!/usr/bin/env bash
# Install what the app needs (first run only), then open it. Arguments go to vae-explorer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh app
exec .venv/bin/vae-explorer "$@"
