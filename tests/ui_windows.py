"""Shared by the window tests: a window with no model loaded, and captions said into it."""

from __future__ import annotations

import pytest

from livecaption.streaming.events import CaptionUpdate, CommittedWord


def _words(*texts: str, start: float = 0.0) -> tuple[CommittedWord, ...]:
    return tuple(CommittedWord(" " + t, start + i * 0.4, start + i * 0.4 + 0.3, start + i * 0.4 + 1, 0.9)
                 for i, t in enumerate(texts))


def _say(window, *texts: str, start: float = 0.0, ended: bool = True, tentative: str = "") -> None:
    window._caption(CaptionUpdate(_words(*texts, start=start), tentative, start + 2, utterance_ended=ended))


@pytest.fixture
def bare_window(qtbot, tmp_path, monkeypatch):
    """The window without a model loaded: for what the window itself decides."""
    from ui.main_window import MainWindow
    from ui.settings import AppSettings

    win = MainWindow(AppSettings(), tmp_path / "settings.ini")
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.dirty = False  # nothing to ask at teardown
    win.close()
