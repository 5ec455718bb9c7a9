#!/usr/bin/env bash
# Sets up (scripts/setup.sh --tests) and runs the whole test suite on the CPU.
# Qt runs offscreen in the suite, except tests/window/test_app_window.py, which opens the real window
# with the xcb platform on its own Xvfb screen.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

if [ -n "${CI:-}" ]; then
    # CI is a first run: no pip cache, and an empty model cache and data folder, so the embedded
    # models are converted from scratch and nothing that only works on a used machine can pass.
    scratch=$(mktemp -d -t livecaption-ci-XXXXXX)
    trap 'rm -rf "$scratch"' EXIT
    export PIP_NO_CACHE_DIR=1
    export LIVECAPTION_CACHE_DIR="$scratch/cache" LIVECAPTION_DATA_DIR="$scratch/data"
    export XDG_CONFIG_HOME="$scratch/config" HF_HOME="$scratch/hf"
    echo "test.sh: CI first run: empty model cache at $LIVECAPTION_CACHE_DIR"
fi

bash scripts/setup.sh --tests
echo "test.sh: setup took $(( $(date +%s) - started )) s"
export QT_QPA_PLATFORM=offscreen
[ -n "${CI:-}" ] && .venv/bin/livecaption models  # before: nothing converted yet
status=0
.venv/bin/python -m pytest --durations=15 "$@" || status=$?
[ -n "${CI:-}" ] && .venv/bin/livecaption models  # after: the tests converted them into the empty cache
echo "test.sh: whole run took $(( $(date +%s) - started )) s"
exit $status
