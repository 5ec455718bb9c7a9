"""An always-on-top, frameless, semi-transparent caption strip with the last two rows.

The strip is sized for exactly two rows of its font (it grows and shrinks with the font), and
the text is trimmed from the front to the two rows that fit, so the latest words are never cut
off. Tentative words are grey and italic, as in the main window.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QFont, QGuiApplication, QMouseEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

PADDING = 12  # inside the rounded box
ROWS = 2


class CaptionOverlay(QWidget):
    def __init__(self, font_size: int = 26):
        super().__init__(None, Qt.FramelessWindowHint | Qt.WindowStaysOnTopHint | Qt.Tool)
        self.setAttribute(Qt.WA_TranslucentBackground)
        self.setWindowTitle("livecaption overlay")
        self.setWindowOpacity(0.9)
        self.label = QLabel("", self)
        self.label.setTextFormat(Qt.RichText)
        self.label.setWordWrap(True)
        self.label.setAlignment(Qt.AlignLeft | Qt.AlignBottom)
        self.label.setStyleSheet(f"color: white; background: rgba(0, 0, 0, 180); padding: {PADDING}px; "
                                 "border-radius: 8px;")
        self.label.setToolTip("Drag to move. View → Overlay text larger/smaller (Ctrl+Shift++ / Ctrl+Shift+−)")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        self._plain = ""
        self._lines: list[str] = []
        self._tentative = ""
        self.resize(900, 100)
        self.set_font_size(font_size)
        self.place_default()
        self._drag_from: QPoint | None = None

    def set_font_size(self, size: int) -> None:
        self.font_size = size
        font = QFont()
        font.setPointSize(size)
        self.label.setFont(font)
        # Exactly two rows of this font, whatever its size: the strip never crops a row.
        self.setFixedHeight(self.rows_height())
        self.show_lines(self._lines, self._tentative)

    def _height_for(self, html_text: str) -> int:
        """The height the label needs for ``html_text`` at the strip's width (padding included):
        measured by the label itself, so fitting and drawing never disagree."""
        self.label.setText(html_text)
        return self.label.heightForWidth(self.width())

    def rows_height(self, rows: int = ROWS) -> int:
        return self._height_for("<br>".join(["Xg"] * rows))

    def place_default(self) -> None:
        """Bottom centre of the screen, where subtitles are, clear of the main window's toolbar."""
        screen = QGuiApplication.primaryScreen()
        if screen is None:
            return
        area = screen.availableGeometry()
        width = min(self.width(), area.width() - 40)
        self.resize(width, self.height())
        self.move(area.x() + (area.width() - width) // 2, area.y() + area.height() - self.height() - 48)

    def show_lines(self, lines: list[str], tentative: str = "") -> None:
        """Show the end of the last two lines (then ``tentative``), trimmed from the front to what
        fits in two rows."""
        self._lines, self._tentative = list(lines[-2:]), tentative
        committed = " ".join(self._lines).split()[-80:]  # more than two rows hold at any size
        guess = tentative.split()
        limit = self.rows_height()
        while len(committed) + len(guess) > 1 and self._height_for(self._html(committed, guess)) > limit:
            (committed or guess).pop(0)
        self._plain = " ".join(committed + guess)
        self.label.setText(self._html(committed, guess))

    @staticmethod
    def _html(committed: list[str], guess: list[str]) -> str:
        shown = html.escape(" ".join(committed))
        if guess:
            shown += (" " if committed else "") + f"<i style='color:#b8b8b8'>{html.escape(' '.join(guess))}</i>"
        return shown

    def rows_shown(self) -> int:
        """How many rows the words on show take (for tests and the walkthrough)."""
        shown = self.label.text()
        needed = self.label.heightForWidth(self.width())
        rows = max(r for r in range(1, ROWS + 2) if r == 1 or needed >= self.rows_height(r))
        self.label.setText(shown)
        return rows

    def text(self) -> str:
        """The words shown, as plain text."""
        return self._plain

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self.show_lines(self._lines, self._tentative)  # a new width fits other words

    def geometry_text(self) -> str:
        g = self.geometry()
        return f"{g.x()},{g.y()},{g.width()},{g.height()}"

    def restore_geometry_text(self, text: str) -> None:
        try:
            x, y, w, _ = (int(v) for v in text.split(","))
        except ValueError:
            return  # none saved: the default place stays
        self.setGeometry(x, y, max(200, w), self.rows_height())

    # Frameless: drag anywhere to move it.
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        self._drag_from = event.globalPosition().toPoint() - self.frameGeometry().topLeft()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag_from is not None:
            self.move(event.globalPosition().toPoint() - self._drag_from)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._drag_from = None
