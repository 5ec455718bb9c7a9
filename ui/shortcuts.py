"""Ctrl+Shift++ for the overlay on a US keyboard.

There "+" is Shift+=, and Qt matches the key press against both Ctrl+Shift++ (the overlay) and
Ctrl++ (the main text, which keyboards with an unshifted "+" need): two matches make it
"ambiguous" and neither fires. This filter claims Ctrl+Shift with +/= and −/_ for the overlay
before Qt's shortcut map sees it, whatever widget of the window has the focus.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt

LARGER = {Qt.Key_Plus, Qt.Key_Equal}
SMALLER = {Qt.Key_Minus, Qt.Key_Underscore}


class OverlayKeys(QObject):
    def __init__(self, window, change):
        super().__init__(window)
        self.window, self.change = window, change

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        kind = event.type()
        if kind not in (QEvent.ShortcutOverride, QEvent.KeyPress):
            return False
        mods = event.modifiers()
        if not (mods & Qt.ControlModifier and mods & Qt.ShiftModifier) or event.key() not in LARGER | SMALLER:
            return False
        if not isinstance(obj, QObject) or not hasattr(obj, "window") or obj.window() is not self.window:
            return False
        if kind == QEvent.ShortcutOverride:
            event.accept()  # "this widget takes the key": no shortcut lookup, a KeyPress follows
            return True
        self.change(+2 if event.key() in LARGER else -2)
        return True


def install(app, window) -> OverlayKeys:
    keys = OverlayKeys(window, window.change_overlay_font)
    app.installEventFilter(keys)
    return keys
