"""A first-time user's walkthrough of the real window, re-runnable: Xvfb with Qt's xcb platform
(not offscreen), a private PulseAudio server with a null sink, xdotool for the keyboard.

    .venv/bin/python scripts/walkthrough.py [--out assets]

It starts ``python -m livecaption`` with empty settings and data folders (a first run), then:
first screen -> Space (Start) -> plays jfk.flac into the sink (what "the monitor of what this
computer plays" captions) -> captions with the status bar -> the overlay (Ctrl+Shift+O), made
larger with Ctrl+Shift+= as on a US keyboard -> Space (Stop) -> New session (Ctrl+N), which asks
to save first (Discard) -> a second short session -> File -> Past sessions (Ctrl+O) -> Quit
(Ctrl+Q), which asks before discarding the unsaved captions (Cancel keeps the window). Screenshots of each step
go to --out; what it checked is printed, and it exits non-zero when a check fails.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from audio_files import write_wav  # noqa: E402
from livecaption.audio.decode import decode_audio  # noqa: E402
from pulse import PulseServer  # noqa: E402
from xvfb import XvfbScreen, journal_words  # noqa: E402

SPEECH = Path(os.environ.get("LIVECAPTION_SPEECH_DIR", REPO.parent / "shared" / "speech"))
failures: list[str] = []


def check(ok: bool, what: str) -> None:
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def settings_value(config_dir: Path, key: str) -> str | None:
    for path in config_dir.rglob("settings.ini"):
        for line in path.read_text().splitlines():
            if line.startswith(f"{key}="):
                return line.split("=", 1)[1]
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "assets")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="livecaption-walkthrough-"))
    data_dir, config_dir = work / "data", work / "config"
    wav = write_wav(work / "jfk16k.wav", decode_audio(SPEECH / "jfk.flac"), 16_000)
    clipped = write_wav(work / "jfk-clipped.wav", np.clip(decode_audio(SPEECH / "jfk.flac") * 30, -1, 1), 16_000)
    one_two_three = write_wav(work / "one_two_three.wav", decode_audio(SPEECH / "one_two_three.wav"), 16_000)
    screen, pulse = XvfbScreen("1280x800x24").start(), PulseServer(work / "pulse-runtime").start()
    env = {**screen.env, **{k: pulse.env[k] for k in ("XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH")},
           "QT_QPA_PLATFORM": "xcb", "LIVECAPTION_DATA_DIR": str(data_dir), "XDG_CONFIG_HOME": str(config_dir),
           "HF_HUB_OFFLINE": "1"}
    log_path = work / "app.log"
    app = subprocess.Popen([sys.executable, "-m", "livecaption"], env=env, cwd=REPO,
                           stdout=open(log_path, "w"), stderr=subprocess.STDOUT)

    def shot(name: str) -> None:
        path = args.out / f"{name}.png"
        subprocess.run(["import", "-window", "root", str(path)], env=screen.env, capture_output=True, timeout=30)
        print(f"     screenshot {path}", flush=True)

    try:
        window = screen.wait_for_window("^livecaption$", timeout=90, alive=lambda: app.poll() is None)
        time.sleep(4)  # the precision and language probes answer from the engine thread
        shot("window-first-screen")

        screen.press(window, "space")  # Start, as the first screen says
        deadline = time.monotonic() + 180
        while not journal_words(data_dir)[0]:  # the journal opens once capture is live
            if app.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the app never started listening: {log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        time.sleep(1.5)
        shot("window-listening")
        player = pulse.play(wav)
        time.sleep(7.5)
        screen.press(window, "ctrl+shift+o")  # the overlay, with the speech still going
        time.sleep(1.0)
        before = settings_value(config_dir, "overlay_font_size")
        screen.press(window, "ctrl+shift+equal")  # Ctrl+Shift++ on a US keyboard
        time.sleep(1.0)
        after = settings_value(config_dir, "overlay_font_size")
        check(before is not None and after is not None and int(after) == int(before) + 2,
              f"Ctrl+Shift+= enlarges the overlay ({before} -> {after})")
        check(settings_value(config_dir, "font_size") in (None, "20"), "... and not the main text")
        time.sleep(1.0)
        shot("window-overlay")
        player.wait(timeout=60)
        time.sleep(4)
        shot("window-captions")
        text = journal_words(data_dir)[1]
        check("country" in text.lower(), f"captions of the reading: {text[:90]}…")

        screen.press(window, "space")  # Stop
        time.sleep(3)
        screen.press(window, "ctrl+shift+o")  # overlay off again
        screen.press(window, "ctrl+n")  # New session: the reading is not saved, so it asks first
        time.sleep(2)
        asked = screen.xdotool("search", "--onlyvisible", "--name", "^New session$").stdout.split()
        check(bool(asked), "New session asks to save first")
        if asked:
            screen.press(asked[0], "alt+d")  # Discard: it stays in Past sessions
        time.sleep(1.5)
        shot("window-new-session")
        screen.press(window, "space")  # a second, short session
        time.sleep(6)
        pulse.play(one_two_three).wait(timeout=30)
        time.sleep(5)
        screen.press(window, "space")
        time.sleep(3)
        screen.press(window, "ctrl+o")  # File -> Past sessions
        time.sleep(2)
        found = screen.xdotool("search", "--onlyvisible", "--name", "^Past sessions$").stdout.split()
        check(bool(found) and len(journal_words(data_dir)[0]) == 2, "File → Past sessions opens a list (2 sessions)")
        shot("window-past-sessions")
        if found:
            screen.press(found[0], "Escape")
        time.sleep(1)
        screen.press(window, "ctrl+q")  # Quit with unsaved captions
        time.sleep(2)
        asked = screen.xdotool("search", "--onlyvisible", "--name", "^Quit livecaption$").stdout.split()
        check(bool(asked) and app.poll() is None, "Quit asks before discarding unsaved captions")
        shot("window-quit-question")
        if asked:
            screen.press(asked[0], "Escape")  # Cancel: the window stays
            time.sleep(1)
            check(app.poll() is None, "Cancel keeps the window open")
        screen.press(window, "space")
        time.sleep(8)
        # Issue #19 once fed the sink loud noise: the meter pinned, nothing captioned. The same reading
        # amplified 30x and clipped stands in for it; the window should say the input is very loud.
        loud = pulse.play(clipped)
        time.sleep(6)
        shot("window-loud-input")
        loud.wait(timeout=60)
        # The audio server goes away mid-session, then comes back.
        pulse.stop()
        time.sleep(6)  # the input stall is noticed within ~3 s
        shot("window-outage")
        pulse = PulseServer(work / "pulse-runtime").start()
        time.sleep(10)  # the engine reconnects by itself and marks the gap
        shot("window-outage-over")
        screen.press(window, "space")
        time.sleep(3)
        log = log_path.read_text()
        check("Traceback" not in log and "Ambiguous shortcut" not in log, "no traceback or ambiguous shortcut in the log")
    finally:
        app.terminate()
        try:
            app.wait(timeout=20)
        except subprocess.TimeoutExpired:
            app.kill()
        pulse.stop()
        screen.stop()
    print(f"app log: {log_path}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
