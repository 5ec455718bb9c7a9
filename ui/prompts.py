"""Questions the window asks, in one place so tests can answer them (monkeypatch ``ask``).

``ask`` opens a modal box only in a real session; tests replace it and nothing ever blocks.
"""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

SAVE, DISCARD, CANCEL = "save", "discard", "cancel"


def ask(parent, title: str, text: str, discard_label: str = "&Discard") -> str:
    """Save / Discard / Cancel for unsaved captions; returns SAVE, DISCARD or CANCEL."""
    box = QMessageBox(QMessageBox.Question, title, text, QMessageBox.NoButton, parent)
    save = box.addButton("&Save…", QMessageBox.AcceptRole)  # Alt+S, Alt+D: answerable from the keyboard
    discard = box.addButton(discard_label, QMessageBox.DestructiveRole)
    box.addButton(QMessageBox.Cancel)
    box.setDefaultButton(save)
    box.exec()
    clicked = box.clickedButton()
    return SAVE if clicked is save else DISCARD if clicked is discard else CANCEL
