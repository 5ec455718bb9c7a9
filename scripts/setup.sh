#!/usr/bin/env bash
# Sets up everything livecaption needs on a fresh Debian/Ubuntu machine: system packages,
# a virtual environment in .venv, the CPU build of torch and the project with its extras.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(python3-venv libgl1 libegl1 libxkbcommon0 libfontconfig1 libdbus-1-3
              libxcb-cursor0 libxkbcommon-x11-0 libportaudio2 libasound2-plugins pulseaudio pulseaudio-utils)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# The CPU build of torch; a bare "torch" requirement would pull a multi-GB CUDA build.
.venv/bin/python -m pip install -q "torch==${TORCH_VERSION:-2.13.0}"
.venv/bin/python -m pip install -q -e ".[app,base,bench,test]"
