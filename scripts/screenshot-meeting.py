"""Capture assets/meeting.png: the real window captioning both sides of a call (issue #11), under Xvfb.

    .venv/bin/python scripts/screenshot-meeting.py [--out DIR]

Self-contained: it starts its own Xvfb screen (Qt's xcb platform, not offscreen) and a private
PulseAudio server with two null sinks: "Built-in Audio Analog Stereo" (the default output, as on a
laptop: what the others say on the call) and the one whose monitor is the default source (what the
microphone hears). What a first-time user does, with empty settings: open the Input picker (shot),
pick "Microphone + system audio" with the keyboard, press Space. The others (jfk, then the second
voice of two_speakers_stereo.wav) speak into the loudspeakers, the user (the first voice, then
"one, two, three") into the microphone, overlapping once. Shots while both talk, when the meeting is done (the
final one goes to assets/meeting.png), after renaming Others to Dana, and after the loudspeakers'
sink is unloaded mid-meeting. The saved TXT is printed; every shot's path too, to be looked at.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from audio_files import write_wav  # noqa: E402
from livecaption.audio.decode import decode_audio  # noqa: E402
from pulse import SINK, PulseServer  # noqa: E402
from xvfb import XvfbScreen  # noqa: E402

SPEECH = Path(os.environ.get("LIVECAPTION_SPEECH_DIR", REPO.parent / "shared" / "speech"))
SPEAKERS = "meeting_speakers"
WIDTH, HEIGHT = 1100, 600


def voices(work: Path) -> dict[str, Path]:
    with wave.open(str(SPEECH / "two_speakers_stereo.wav")) as handle:  # one speaker per channel
        frames = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2").astype(np.float32) / 32768
    return {"jfk": write_wav(work / "jfk.wav", decode_audio(SPEECH / "jfk.flac"), 16_000),
            "user": write_wav(work / "user.wav", frames[0::2], 16_000),
            "horizon": write_wav(work / "horizon.wav", frames[1::2], 16_000),
            "123": write_wav(work / "123.wav", decode_audio(SPEECH / "one_two_three.wav"), 16_000)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="where the shots go (default: a temporary folder)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="livecaption-meeting-shot-"))
    out = args.out or work / "shots"
    out.mkdir(parents=True, exist_ok=True)
    screen = XvfbScreen("1280x800x24").start()
    pulse = PulseServer(work / "pulse", extra_sinks={SPEAKERS: "Built-in Audio Analog Stereo"}).start()
    pulse.pactl("set-default-sink", SPEAKERS)  # the call plays through the loudspeakers
    os.environ.update({"DISPLAY": screen.display, "QT_QPA_PLATFORM": "xcb",
                       "LIVECAPTION_DATA_DIR": str(work / "data"),  # none of the user's sessions in the shot
                       **{key: pulse.env[key] for key in ("XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH")}})
    try:
        return run(work, out, pulse, voices(work))
    finally:
        pulse.stop()
        screen.stop()


def run(work: Path, out: Path, pulse: PulseServer, wavs: dict[str, Path]) -> int:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from ui.inputs import MEETING
    from ui.main_window import MainWindow
    from ui.settings import AppSettings

    app = QApplication(sys.argv[:1])
    settings_path = work / "config" / "settings.ini"
    window = MainWindow(AppSettings.load(settings_path), settings_path)  # a first run: nothing saved yet
    window.move(0, 0)
    window.resize(WIDTH, HEIGHT)
    window.show()
    window.activateWindow()
    shots: list[Path] = []

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)

    def wait_until(condition, timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > end:
                raise SystemExit(f"timed out waiting for {what}")
            pump(0.1)

    def shot(name: str, height: int = HEIGHT + 40) -> Path:
        path = out / name
        app.primaryScreen().grabWindow(0).copy(0, 0, WIDTH + 10, height).save(str(path))
        shots.append(path)
        return path

    pump(1.0)
    combo = window.device_combo
    combo.showPopup()  # the Input picker, as a user opens it
    pump(0.8)
    shot("meeting-1-picker.png", 420)
    QTest.keyClick(combo.view(), Qt.Key_End)  # "Microphone + system audio" is the last entry
    QTest.keyClick(combo.view(), Qt.Key_Return)
    pump(0.5)
    assert combo.currentData() == MEETING, combo.currentText()
    window.activateWindow()
    QTest.keyClick(window, Qt.Key_Space)  # Start, as the first screen says
    pump(0.3)
    if window.start_action.text() == "Start":  # no window manager to give it the keyboard: press Start
        window.start_action.trigger()
    wait_until(lambda: window.start_action.text() == "Stop", 180, "the meeting to start")
    pump(1.5)
    shot("meeting-2-listening.png")
    began = time.monotonic()
    plays = [(0.0, wavs["jfk"], SPEAKERS), (7.0, wavs["user"], SINK), (13.5, wavs["horizon"], SPEAKERS),
             (17.0, wavs["123"], SINK)]
    procs = []
    for at, wav, sink in plays:
        pump(max(0.0, began + at - time.monotonic()))
        procs.append(pulse.play(wav, sink=sink))
        if at == 7.0:
            pump(2.4)
            shot("meeting-3-both-talking.png")  # the others' guess and the user's, each on its own line
    for proc in procs:
        while proc.poll() is None:
            pump(0.1)
    pump(5.0)
    final = shot("meeting-4-done.png")
    shutil.copy(final, REPO / "assets" / "meeting.png")
    window.rename_speaker("Others", "Dana")
    pump(0.5)
    shot("meeting-5-renamed.png")
    pulse.unload_sink(SPEAKERS)  # the headphones are unplugged mid-call
    wait_until(lambda: "was lost" in window.banner.label.text(), 40, "the lost-input banner")
    pulse.play(wavs["123"], sink=SINK).wait(timeout=30)
    pump(5.0)
    shot("meeting-6-loudspeakers-lost.png")
    window.toggle_running()
    wait_until(lambda: window.start_action.text() == "Start", 60, "the meeting to stop")
    window.save_transcript(work / "meeting.txt", "txt")
    print((work / "meeting.txt").read_text())
    window.dirty = False
    window.close()
    for path in shots:
        print(path)
    print(REPO / "assets" / "meeting.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
