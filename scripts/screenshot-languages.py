"""Capture assets/window-languages.png: the real window captioning the English-then-German licence
reading with the base model, language on Auto, then the same German read with Translate to
English on, under Xvfb (issue #14).

    xvfb-run -s "-screen 0 1280x800x24" .venv/bin/python scripts/screenshot-languages.py

What a first-time user does: pick base, leave the language on Auto, replay a recording (File →
Replay a recording…), and turn on Captions → Translate to English. Prints the saved transcript's
languages per segment, and the path of a second shot with the Captions menu open.
"""

import json
import os
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QTimer
from PySide6.QtWidgets import QApplication

repo = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(repo))

from livecaption.audio.decode import decode_audio  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402
from ui.settings import AppSettings  # noqa: E402

work = Path(tempfile.mkdtemp(prefix="livecaption-languages-shot-"))
os.environ["LIVECAPTION_DATA_DIR"] = str(work / "data")  # none of the user's sessions in the shot


def write(path: Path, audio: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(16000)
        out.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return path


licence = decode_audio(repo.parent / "shared" / "speech" / "en_de_license.mp3")
switch = write(work / "en-then-de.wav", licence[16000 * 20: 16000 * 42])  # the switch is at ~10 s
german = write(work / "de.wav", licence[16000 * 42: 16000 * 52])
app = QApplication(sys.argv[:1])
settings = AppSettings(model="base", precision="fp32", font_size=15, show_timestamps=True)
window = MainWindow(settings, work / "settings.ini")
window.move(0, 0)
window.resize(1100, 600)
window.show()
steps = [("auto", switch), ("translate", german)]


def poll() -> None:
    if window.controller.running or window.active_replay is not None or not window.transcript.words():
        return
    timer.stop()
    if steps:
        QTimer.singleShot(1_000, next_step)
    else:
        QTimer.singleShot(1_000, capture)


def next_step() -> None:
    mode, recording = steps.pop(0)
    if mode == "translate":
        window.translate_action.setChecked(True)
    window.replay(str(recording))
    QTimer.singleShot(3_000, timer.start)


def capture() -> None:
    app.primaryScreen().grabWindow(0).copy(0, 0, 1110, 640).save(str(repo / "assets" / "window-languages.png"))
    window.save_transcript(work / "session.json", "json")
    data = json.loads((work / "session.json").read_text())
    print("languages per segment:", [seg.get("language") for seg in data["segments"]], "main:", data["language"])
    menu = window.menuBar().actions()
    captions = next(action for action in menu if action.text() == "&Captions")
    captions.menu().popup(window.mapToGlobal(QPoint(160, 20)))
    QTimer.singleShot(800, capture_menu)


def capture_menu() -> None:
    path = work / "captions-menu.png"
    app.primaryScreen().grabWindow(0).copy(0, 0, 700, 300).save(str(path))
    print("menu shot:", path)
    window.dirty = False
    window.close()
    app.quit()


timer = QTimer(interval=500, timeout=poll)
QTimer.singleShot(500, next_step)
sys.exit(app.exec())
