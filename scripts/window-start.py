"""How long the real app takes, from launch, to put its window on screen and, once Start is
pressed, to listen (issue #15: ≤ 1 s and ≤ 2 s for tiny.en once converted).

    .venv/bin/python scripts/window-start.py [--runs 3]

Each run is a fresh `python -m livecaption` on its own Xvfb screen (Qt's xcb platform) with a
private PulseAudio server, empty settings and data folders: the window is "on screen" when xdotool
finds it mapped; Space is pressed at once, and "listening" is when the session journal appears
(the app opens it once capture is live). Prints each run and the medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from pulse import PulseServer  # noqa: E402
from xvfb import XvfbScreen, journal_words  # noqa: E402


def one_run() -> tuple[float, float]:
    work = Path(tempfile.mkdtemp(prefix="livecaption-window-start-"))
    screen, pulse = XvfbScreen("1280x800x24").start(), PulseServer(work / "pulse-runtime").start()
    env = {**screen.env, **{k: pulse.env[k] for k in ("XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH")},
           "QT_QPA_PLATFORM": "xcb", "LIVECAPTION_DATA_DIR": str(work / "data"),
           "XDG_CONFIG_HOME": str(work / "config"), "HF_HUB_OFFLINE": "1"}
    launched = time.perf_counter()
    app = subprocess.Popen([sys.executable, "-m", "livecaption"], env=env, cwd=REPO,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        window = screen.wait_for_window("^livecaption$", timeout=60, alive=lambda: app.poll() is None)
        on_screen = time.perf_counter() - launched
        screen.press(window, "space")
        while not journal_words(work / "data")[0]:
            if app.poll() is not None or time.perf_counter() - launched > 120:
                raise SystemExit("the app never started listening")
            time.sleep(0.02)
        return on_screen, time.perf_counter() - launched
    finally:
        app.terminate()
        app.wait(timeout=30)
        pulse.stop()
        screen.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = []
    for number in range(args.runs):
        runs.append(one_run())
        print(f"run {number + 1}: window on screen {runs[-1][0]:.2f} s, listening {runs[-1][1]:.2f} s after launch",
              flush=True)
    print(f"median: window on screen {statistics.median(r[0] for r in runs):.2f} s, "
          f"listening {statistics.median(r[1] for r in runs):.2f} s after launch")
    return 0


if __name__ == "__main__":
    os.environ.pop("PULSE_SERVER", None)
    sys.exit(main())
