"""The window's model picker takes a CTC model folder (a tiny random wav2vec2 built from a config:
no real CTC weights can be downloaded here), and a replay is captioned through it like any model."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog

from conftest import clip_path
from ctc_models import build_ctc_folder
from ui_windows import bare_window  # noqa: F401 - a fixture


def test_open_folder_takes_a_ctc_model_and_a_replay_runs_through_it(qtbot, bare_window, tmp_path, monkeypatch):
    window = bare_window
    folder = build_ctc_folder(tmp_path / "tiny-wav2vec2")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *args, **kw: str(folder)))
    with qtbot.waitSignal(window.controller.worker.languages, timeout=30_000) as languages:
        window.model_combo.setCurrentIndex(window.model_combo.findText("Open folder…"))
        window.model_combo.activated.emit(window.model_combo.currentIndex())  # as a click on it does
    assert window.model_combo.currentText() == str(folder) and window.settings.model == str(folder)
    assert languages.args == [str(folder), None]  # a CTC config naming no language: unknown, not English-only
    window.precision_combo.setCurrentIndex(window.precision_combo.findData("fp32"))

    window.replay_file = str(clip_path("one_two_three.wav"))
    with qtbot.waitSignal(window.controller.worker.started, timeout=60_000) as started:
        window.toggle_running()
    assert started.args[0].device == "cpu"
    qtbot.waitUntil(lambda: not window.controller.running, timeout=60_000)  # the replay ran to its end
    message = window.banner.label.text()
    assert window.banner.isHidden() or "error" not in message.lower() and "could not" not in message, message
    assert window.transcript.model == str(folder)
