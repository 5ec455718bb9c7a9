#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and opens the live-caption window on the embedded tiny.en model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/livecaption "$@"
