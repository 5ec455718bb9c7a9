"""Capture assets/screenshot.png: the window captioning jfk.flac (replayed in real time), under Xvfb.

    xvfb-run -s "-screen 0 1280x800x24" .venv/bin/python scripts/screenshot.py
"""

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

repo = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(repo))

from ui.main_window import MainWindow  # noqa: E402
from ui.settings import AppSettings  # noqa: E402

app = QApplication(sys.argv[:1])
settings_path = Path(tempfile.mkdtemp()) / "settings.ini"
settings = AppSettings(precision="int8", font_size=18, show_timestamps=True)
window = MainWindow(settings, settings_path)
window.move(0, 0)
window.resize(1100, 520)
window.show()
window.overlay.setGeometry(90, 600, 920, 120)
window.toggle_overlay(True)
window.replay_file = str(repo.parent / "shared" / "speech" / "jfk.flac")
window.toggle_running()


def capture() -> None:
    shot = app.primaryScreen().grabWindow(0)  # the whole X screen, as a user would see it
    shot.copy(0, 0, 1110, 740).save(str(repo / "assets" / "screenshot.png"))
    window.dirty = False  # a screenshot run has nothing to save: no quit question
    window.close()
    app.quit()


# The clip is 11 s: capture just before its last words are committed, with a tentative tail showing.
window.controller.worker.started.connect(lambda *_: QTimer.singleShot(10_500, capture))
sys.exit(app.exec())
