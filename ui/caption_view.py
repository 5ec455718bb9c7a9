"""The caption area: committed text in the normal style, the tentative tail greyed and italic.

Before anything is captioned it shows the first-screen guidance (what Start captions, and how).
Gaps (no audio from the input, a model switch, a failed decode) are marked in place as grey
lines, as the saved transcript marks them.

Updates are incremental (the old tentative tail is cut off and the new words appended), so a
long meeting costs the same per update as a short one. Auto-scroll follows the live edge until
the user scrolls back; then a "Jump to live" button appears and brings it back.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QLabel, QPushButton, QTextBrowser, QVBoxLayout, QWidget


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
        self.guidance = QLabel(self)  # in place of the empty text area: what to do first
        self.guidance.setWordWrap(True)
        self.guidance.setAlignment(Qt.AlignCenter)
        self.guidance.setTextFormat(Qt.RichText)
        self.guidance.setStyleSheet("background: white; color: #444; padding: 24px; border: 1px solid #ccc;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.guidance, 1)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.jump, alignment=Qt.AlignRight)
        self.show_timestamps = False
        self.lines: list[tuple[float, str]] = []  # committed paragraphs: (start time, text)
        self.markers: set[int] = set()  # indices into ``lines`` that are gap marks, not speech
        self._open_line: str | None = None  # the paragraph still receiving words
        # Speaker labels (issue #12) by the paragraph's first word's start in ms; a paragraph shows its
        # speaker's name when the speaker changes (a new turn), and a label arriving redraws.
        self.speakers: dict[int, str | None] = {}
        self._last_speaker: str | None = None
        self._open_start = 0.0
        self._tentative = ""
        self._tentative_from = 0  # document position where the tentative tail begins
        self.following = True
        self.text.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.set_font_size(font_size)

    # -- formats ----------------------------------------------------------------------------

    def set_font_size(self, size: int) -> None:
        following = getattr(self, "following", True)
        bar = self.text.verticalScrollBar()
        fraction = bar.value() / bar.maximum() if bar.maximum() else 1.0
        self.font_size = size
        font = QFont()
        font.setPointSize(size)
        self.text.setFont(font)
        # A new font re-lays the text out: keep the live edge if it was followed, else the same
        # place in the transcript, and keep "Jump to live" offered.
        self.text.document().adjustSize()
        if following:
            self.jump_to_live()
        else:
            bar.setValue(int(fraction * bar.maximum()))
            self.following = False
            self.jump.setVisible(True)

    def set_guidance(self, html: str) -> None:
        """What the caption area says while nothing has been captioned."""
        self.guidance.setText(html)
        self._show_guidance_if_empty()

    def is_empty(self) -> bool:
        return not self.lines and self._open_line is None and not self._tentative

    def _show_guidance_if_empty(self) -> None:
        empty = self.is_empty()
        self.guidance.setVisible(empty)
        self.text.setVisible(not empty)

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
                self._insert_speaker(cursor, start)
                text = text.lstrip()
            cursor.insertText(text, self._normal())
            self._open_line += text
        if utterance_ended and self._open_line is not None:
            self.lines.append((self._open_start, self._open_line.strip()))
            self._open_line = None
        self._tentative_from = cursor.position()
        self._tentative = tentative
        if tentative:
            if self._open_line:
                cursor.insertText(" " + tentative.lstrip(), self._tentative_format())
            else:  # the last line is finished: the guess starts the next one, as its words will
                if self.lines or self.text.document().characterCount() > 1:
                    cursor.insertBlock()
                cursor.insertText(tentative.lstrip(), self._tentative_format())
        self._show_guidance_if_empty()
        if at_bottom:
            self.jump_to_live()

    def end_line(self) -> None:
        """The stream that fed the open line ended (stop, switch, failure): later words start a new
        line instead of joining an unfinished sentence, and the guess goes (it never became final)."""
        self.add_committed([], True, "")

    def _insert_speaker(self, cursor: QTextCursor, start: float) -> None:
        name = self.speakers.get(round(start * 1000))
        if name and name != self._last_speaker:
            fmt = self._format("#1f5fa8", italic=False)
            fmt.setFontWeight(QFont.Bold)
            cursor.insertText(f"{name}: ", fmt)
        self._last_speaker = name

    def set_speakers(self, entries) -> None:
        """Apply (start, speaker) pairs (a label event, a rename, the relabel at save) and redraw."""
        changed = False
        for start, speaker in entries:
            key = round(start * 1000)
            changed |= self.speakers.get(key) != speaker
            self.speakers[key] = speaker
        if changed:
            self.rerender()

    def speaker_names(self) -> list[str]:
        return sorted({name for name in self.speakers.values() if name})

    def add_marker(self, start: float, text: str) -> None:
        """A grey line where audio was not captioned."""
        self.end_line()
        self._last_speaker = None  # after a gap, the next paragraph names its speaker again
        cursor = QTextCursor(self.text.document())
        cursor.movePosition(QTextCursor.End)
        if self.lines or self.text.document().characterCount() > 1:
            cursor.insertBlock()
        mark = self._format("#9a6a00", italic=True)
        mark.setFontPointSize(max(8, round(self.font_size * 0.6)))  # a note about the captions, not a caption
        cursor.insertText(text, mark)
        self.markers.add(len(self.lines))
        self.lines.append((start, text))
        self._show_guidance_if_empty()
        self._tentative_from = cursor.position()
        if self.following:
            self.jump_to_live()

    def all_lines(self) -> list[str]:
        lines = [text for i, (_, text) in enumerate(self.lines) if i not in self.markers]
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

    def overlay_parts(self, count: int = 2) -> tuple[list[str], str]:
        """The last ``count`` committed lines and the tentative tail, for the overlay."""
        return self.all_lines()[-count:], self._tentative

    def tentative(self) -> str:
        return self._tentative

    def rerender(self) -> None:
        """Redraw everything (after the timestamp setting changes)."""
        lines, open_line, open_start, tentative = list(self.lines), self._open_line, self._open_start, self._tentative
        markers = set(self.markers)
        speakers, following, position = dict(self.speakers), self.following, self.text.verticalScrollBar().value()
        self.clear()
        self.speakers = speakers
        for row, (start, text) in enumerate(lines):
            if row in markers:
                self.add_marker(start, text)
            else:
                self.add_committed([(start, " " + text)], True, "")
        if open_line:
            self.add_committed([(open_start, " " + open_line.strip())], False, tentative)
        if not following:  # a label arriving must not move a reader who scrolled back
            self.text.verticalScrollBar().setValue(position)
            self.following = False
            self.jump.setVisible(True)

    def clear(self) -> None:
        self.text.clear()
        self.lines, self._open_line, self._tentative, self._tentative_from = [], None, "", 0
        self.markers = set()
        self.speakers, self._last_speaker = {}, None
        self._show_guidance_if_empty()

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
