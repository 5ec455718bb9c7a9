"""Shared by the window tests: the window shown offscreen (with the real tiny.en engine, or with no
model loaded), and captions said into it."""

from __future__ import annotations

import pytest

from livecaption.streaming.events import CaptionUpdate, CommittedWord


def _words(*texts: str, start: float = 0.0) -> tuple[CommittedWord, ...]:
    return tuple(CommittedWord(" " + t, start + i * 0.4, start + i * 0.4 + 0.3, start + i * 0.4 + 1, 0.9)
                 for i, t in enumerate(texts))


def _say(window, *texts: str, start: float = 0.0, ended: bool = True, tentative: str = "") -> None:
    window._caption(CaptionUpdate(_words(*texts, start=start), tentative, start + 2, utterance_ended=ended))


def shown_window(qtbot, settings_path, precision: str | None = None):
    """The real window, shown and exposed; ``precision`` overrides the saved setting."""
    from ui.main_window import MainWindow
    from ui.settings import AppSettings

    settings = AppSettings.load(settings_path)
    if precision is not None:
        settings.precision = precision
    win = MainWindow(settings, settings_path)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def closed(win) -> None:
    win.dirty = False  # nothing to ask at teardown
    win.close()


@pytest.fixture
def bare_window(qtbot, tmp_path):
    """The window without a model loaded: for what the window itself decides."""
    win = shown_window(qtbot, tmp_path / "settings.ini")
    yield win
    closed(win)


@pytest.fixture
def window(qtbot, tmp_path, tiny_fp32):
    """The window on the real tiny.en engine in fp32 (tiny_fp32: converted and loaded once)."""
    win = shown_window(qtbot, tmp_path / "settings.ini", precision="fp32")
    yield win
    closed(win)
