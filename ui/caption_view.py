"""The caption area: committed text in the normal style, the tentative tail greyed and italic.

Updates are incremental (the old tentative tail is cut off and the new words appended), so a
long meeting costs the same per update as a short one. Auto-scroll follows the live edge until
the user scrolls back; then a "Jump to live" button appears and brings it back.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QPushButton, QTextBrowser, QVBoxLayout, QWidget


def clock_text(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class CaptionView(QWidget):
    following_changed = Signal(bool)

    def __init__(self, parent=None, font_size: int = 20):
        super().__init__(parent)
        self.text = QTextBrowser(self)
        self.text.setOpenLinks(False)
        self.jump = QPushButton("Jump to live ↓", self)
        self.jump.setVisible(False)
        self.jump.clicked.connect(self.jump_to_live)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text)
        layout.addWidget(self.jump, alignment=Qt.AlignRight)
        self.show_timestamps = False
        self.lines: list[tuple[float, str]] = []  # committed paragraphs: (start time, text)
        self._open_line: str | None = None  # the paragraph still receiving words
        self._open_start = 0.0
        self._tentative = ""
        self._tentative_from = 0  # document position where the tentative tail begins
        self.following = True
        self.text.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.set_font_size(font_size)

    # -- formats ----------------------------------------------------------------------------

    def set_font_size(self, size: int) -> None:
        self.font_size = size
        font = QFont()
        font.setPointSize(size)
        self.text.setFont(font)

    @staticmethod
    def _format(color: str, italic: bool) -> QTextCharFormat:
        fmt = QTextCharFormat()
        fmt.setForeground(QColor(color))
        fmt.setFontItalic(italic)
        return fmt

    def _normal(self) -> QTextCharFormat:
        return self._format("#111111", italic=False)

    def _tentative_format(self) -> QTextCharFormat:
        return self._format("#8a8a8a", italic=True)

    # -- updates ------------------------------------------------------------------------------

    def add_committed(self, words: list[tuple[float, str]], utterance_ended: bool, tentative: str) -> None:
        """Append committed ``(start, text)`` words, then show ``tentative`` after them."""
        at_bottom = self.following
        cursor = QTextCursor(self.text.document())
        cursor.setPosition(self._tentative_from)
        cursor.movePosition(QTextCursor.End, QTextCursor.KeepAnchor)
        cursor.removeSelectedText()
        for start, text in words:
            if self._open_line is None:
                self._open_line, self._open_start = "", start
                if self.lines or self.text.document().characterCount() > 1:
                    cursor.insertBlock()
                if self.show_timestamps:
                    cursor.insertText(f"[{clock_text(start)}] ", self._normal())
                text = text.lstrip()
            cursor.insertText(text, self._normal())
            self._open_line += text
        if utterance_ended and self._open_line is not None:
            self.lines.append((self._open_start, self._open_line.strip()))
            self._open_line = None
        self._tentative_from = cursor.position()
        self._tentative = tentative
        if tentative:
            cursor.insertText((" " if self._open_line else "") + tentative, self._tentative_format())
        if at_bottom:
            self.jump_to_live()

    def all_lines(self) -> list[str]:
        lines = [text for _, text in self.lines]
        if self._open_line:
            lines.append(self._open_line.strip())
        return lines

    def last_lines(self, count: int = 2) -> list[str]:
        lines = self.all_lines()
        if self._tentative:
            if self._open_line:
                lines[-1] = f"{lines[-1]} {self._tentative}"
            else:
                lines.append(self._tentative)
        return lines[-count:]

    def tentative(self) -> str:
        return self._tentative

    def rerender(self) -> None:
        """Redraw everything (after the timestamp setting changes)."""
        lines, open_line, open_start, tentative = list(self.lines), self._open_line, self._open_start, self._tentative
        self.clear()
        for start, text in lines:
            self.add_committed([(start, " " + text)], True, "")
        if open_line:
            self.add_committed([(open_start, " " + open_line.strip())], False, tentative)

    def clear(self) -> None:
        self.text.clear()
        self.lines, self._open_line, self._tentative, self._tentative_from = [], None, "", 0

    # -- scrolling -----------------------------------------------------------------------------

    def _scrolled(self, value: int) -> None:
        bar = self.text.verticalScrollBar()
        following = value >= bar.maximum() - 4
        if following != self.following:
            self.following = following
            self.jump.setVisible(not following)
            self.following_changed.emit(following)

    def jump_to_live(self) -> None:
        bar = self.text.verticalScrollBar()
        bar.setValue(bar.maximum())
        self.following = True
        self.jump.setVisible(False)
