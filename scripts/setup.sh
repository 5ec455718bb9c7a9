#!/usr/bin/env bash
# Sets up everything livecaption needs on a fresh Debian/Ubuntu machine: system packages,
# a virtual environment in .venv, the CPU build of torch and the project with its extras.
# Safe to run again: each step is skipped when already done.
#   bash scripts/setup.sh          what the app needs
#   bash scripts/setup.sh --tests  also what the tests need (an audio server, a virtual X screen)
set -euo pipefail
cd "$(dirname "$0")/.."

# Qt's xcb platform plugin (the window on X11) links against every library below: the list is
# read off `ldd libqxcb.so`, not off Qt's error message, and tests/test_system_libraries.py
# fails when the plugin needs a library that none of these packages (or their dependencies) brings.
# libportaudio2 records microphones; libpulse0 (libpulse and libpulse-simple) records system audio.
APT_PACKAGES=(python3-venv libgl1 libegl1 libfontconfig1 libfreetype6 libdbus-1-3 libglib2.0-0
              libxkbcommon0 libxkbcommon-x11-0 libx11-6 libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4
              libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render0 libxcb-render-util0 libxcb-shape0
              libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0 libxcb-xkb1
              libportaudio2 libasound2-plugins libpulse0)
# The tests play speech into a private PulseAudio server and open the real window on Xvfb.
TEST_APT_PACKAGES=(pulseaudio pulseaudio-utils xvfb xauth xdotool x11-utils imagemagick)
[ "${1:-}" = "--tests" ] && APT_PACKAGES+=("${TEST_APT_PACKAGES[@]}")

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# The CPU build of torch; a bare "torch" requirement would pull a multi-GB CUDA build.
.venv/bin/python -m pip install -q "torch==${TORCH_VERSION:-2.13.0}"
.venv/bin/python -m pip install -q -e ".[app,base,bench,test]"
# The speaker encoder's weights (livecaption[speakers]): only the wheel's pretrained.pt is used
# (livecaption.speakers re-implements the encoder), so its own dependencies (librosa, numba, a
# webrtcvad that builds from source) are not installed.
.venv/bin/python -m pip install -q --no-deps "resemblyzer==0.1.4"
