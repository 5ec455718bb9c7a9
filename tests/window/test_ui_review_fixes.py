"""Window defects a review of the walkthrough work found: an export over a journal, Start after
opening a past session, and a data folder the journal cannot be written in."""

from __future__ import annotations

import pytest

from conftest import clip_path
from livecaption.errors import UserError
from livecaption.streaming.events import CaptionUpdate, CommittedWord
from ui_windows import window  # noqa: F401 - a fixture


def _words(*texts: str) -> tuple[CommittedWord, ...]:
    return tuple(CommittedWord(" " + t, i * 0.5, i * 0.5 + 0.4, 3.0, 0.9) for i, t in enumerate(texts))




def test_an_export_never_writes_over_a_journal(qtbot, tmp_path):
    from livecaption.transcript.journal import Journal
    from ui.sessions_dialog import SessionsDialog

    folder = tmp_path / "sessions"
    journal = Journal({"model": "tiny.en", "device": "cpu", "precision": "fp32"}, folder=folder)
    journal.append(CaptionUpdate(_words("ask", "not"), "", 3.0, utterance_ended=True))
    journal.close()
    before = journal.path.read_bytes()
    dialog = SessionsDialog(None, folder=folder)
    qtbot.addWidget(dialog)
    dialog.table.selectRow(0)
    with pytest.raises(UserError):
        dialog.export_to(journal.path, "txt")  # the file dialog's "replace?" was answered yes
    assert journal.path.read_bytes() == before


def test_start_after_opening_a_past_session_begins_a_new_one(qtbot, window, tmp_path):
    from livecaption.transcript.journal import Journal

    old = Journal({"model": "tiny.en", "device": "cpu", "precision": "fp32"}, folder=tmp_path / "old")
    old.append(CaptionUpdate(_words("zebra", "crossing"), "", 3.0, utterance_ended=True))
    old.close()
    window.open_session(old.path)
    assert "zebra crossing" in window.captions.text.toPlainText()
    window.replay_file = str(clip_path("one_two_three.wav"))
    with qtbot.waitSignal(window.controller.worker.started, timeout=120_000):
        window.toggle_running()
    assert "zebra" not in window.captions.text.toPlainText()
    assert not any("zebra" in w.text for w in window.transcript.words())  # a save holds the new session only


def test_a_journal_that_cannot_be_written_is_a_banner_not_a_hang(qtbot, window, monkeypatch):
    import ui.engine

    def refuse(*args, **kwargs):
        raise UserError("/data/sessions: cannot write a journal here (read-only file system)")

    monkeypatch.setattr(ui.engine, "Journal", refuse)
    window.replay_file = str(clip_path("one_two_three.wav"))
    with qtbot.waitSignal(window.controller.worker.failed, timeout=120_000):
        window.toggle_running()
    qtbot.waitUntil(lambda: window.start_action.text() == "Start", timeout=10_000)
    assert "cannot write a journal" in window.banner.label.text()
    assert window.controller.worker.pipeline is None  # nothing left capturing behind the banner
