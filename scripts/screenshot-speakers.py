"""Capture assets/speakers.png: the real window labelling a conversation of three real voices, under Xvfb.

    xvfb-run -s "-screen 0 1280x800x24" .venv/bin/python scripts/screenshot-speakers.py

The conversation (jfk, a sample.wav speaker, an AMI speaker, six utterances) is built from
../shared/speech into a temporary WAV and replayed at real-time pace with Speakers → Label
speakers on. When the replay is over, the session is saved (which re-clusters it), Speaker 2 is
renamed "Dana", and the screen is captured.
"""

import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

repo = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(repo))

from tests.speakers_audio import write_conversation  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402
from ui.settings import AppSettings  # noqa: E402

work = Path(tempfile.mkdtemp(prefix="livecaption-speakers-shot-"))
# A data folder of its own: no unfinished session of the user's is restored into the shot, and
# this run's journal stays out of their past sessions.
os.environ["LIVECAPTION_DATA_DIR"] = str(work / "data")
recording = work / "three-voices.wav"
write_conversation(recording)
app = QApplication(sys.argv[:1])
settings = AppSettings(precision="fp32", font_size=16, show_timestamps=True, speaker_labels=True)
window = MainWindow(settings, work / "settings.ini")
window.move(0, 0)
window.resize(1100, 560)
window.show()


def finish() -> None:
    window.save_transcript(work / "meeting.txt", "txt")  # re-clusters the whole session, as Save does
    window.rename_speaker("Speaker 2", "Dana")
    QTimer.singleShot(800, capture)


def capture() -> None:
    shot = app.primaryScreen().grabWindow(0)
    shot.copy(0, 0, 1110, 600).save(str(repo / "assets" / "speakers.png"))
    print((work / "meeting.txt").read_text())
    window.dirty = False
    window.close()
    app.quit()


def poll() -> None:
    # Polled on the GUI thread (a lambda on the worker's signal would run on the engine's thread).
    # Labels follow the captions by a moment: give the last one time to arrive after the replay ends.
    if window.transcript.words() and not window.controller.running and window.active_replay is None:
        timer.stop()
        QTimer.singleShot(2_000, finish)


timer = QTimer(interval=500, timeout=poll)
window.replay(str(recording))
QTimer.singleShot(5_000, timer.start)
sys.exit(app.exec())
