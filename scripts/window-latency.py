"""The window's own final latency against `livecaption bench --realtime` on the same recording
(issue #15, item 3), in one run on one machine.

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python scripts/window-latency.py RECORDING.wav [--rounds 2]

The window: a private PulseAudio server with a null sink whose monitor is the default input; the
real MainWindow (Qt's xcb platform under Xvfb) on the "pulse" input with tiny.en fp32 is started
as a user would, the recording is played into the sink with paplay at real-time pace, and the
figures are the ones its status bar shows (the engine's StreamStats as the window receives them).
The bench: `livecaption bench RECORDING --realtime --precision fp32 --json`, a whole process,
alternating with the window round by round.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from pulse import serving  # noqa: E402


def window_round(recording: Path, pulse) -> dict:
    from PySide6.QtWidgets import QApplication

    from ui import prompts
    from ui.main_window import MainWindow
    from ui.settings import AppSettings

    prompts.ask = lambda *args, **kwargs: prompts.DISCARD  # closing asks to save the captions: nobody is there
    app = QApplication.instance() or QApplication([])
    window = MainWindow(AppSettings(input_device="pulse", model="tiny.en", precision="fp32"),
                        Path(tempfile.mkdtemp()) / "settings.ini")
    window.show()
    seen: list = []
    window.controller.worker.stats.connect(seen.append)
    started: list = []
    window.controller.worker.started.connect(started.append)
    window.toggle_running()
    deadline = time.monotonic() + 120
    while not started and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)
    time.sleep(1.0)
    player = pulse.play(recording)
    while player.poll() is None:
        app.processEvents()
        time.sleep(0.02)
    end = time.monotonic() + 6  # the last utterance's final decode
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
    shown = window.status.latency.toolTip().splitlines()[1:3]  # what the status bar's tooltip says
    window.toggle_running()
    end = time.monotonic() + 5
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
    window.close()
    app.processEvents()
    last = seen[-1]
    return {"final_latency_p50": last.final_latency_p50, "lag_max": last.lag_max, "rtf": last.rtf,
            "status_bar": shown}


def bench_round(recording: Path) -> dict:
    result = subprocess.run([sys.executable, "-m", "livecaption", "bench", str(recording), "--realtime",
                             "--precision", "fp32", "--json"], capture_output=True, text=True, cwd=REPO,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=600)
    if result.returncode != 0:
        raise SystemExit(result.stderr[-2000:])
    data = json.loads(result.stdout)
    return {key: data.get(key) for key in ("final_latency_p50", "final_latency_p95", "lag_max", "rtf", "streaming_wer")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recording", type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    work = Path(tempfile.mkdtemp(prefix="livecaption-window-latency-"))
    os.environ["LIVECAPTION_DATA_DIR"] = str(work / "data")
    results = []
    server = serving(work / "pulse-runtime")
    pulse = next(server)
    try:
        for round_number in range(args.rounds):
            order = ("window", "bench") if round_number % 2 == 0 else ("bench", "window")
            for what in order:
                figures = window_round(args.recording, pulse) if what == "window" else bench_round(args.recording)
                results.append({"round": round_number + 1, "what": what, **figures})
                print(json.dumps(results[-1]), flush=True)
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
