"""The caption area: committed text in the normal style, the tentative tail greyed and italic.

Before anything is captioned it shows the first-screen guidance (what Start captions, and how).
Gaps (no audio from the input, a model switch, a failed decode) are marked in place as grey
lines, as the saved transcript marks them.

In a meeting capture (issue #11) paragraphs are speaker turns, each with its time and its input's
name ("[00:01:02] Others: …", as the saved TXT), and each input's words in progress (and its
guess) are on a line of their own at the live edge: two inputs speaking at once never share one.

Updates are incremental: finished paragraphs are written once; only the live edge (the
utterances still in progress and their guesses) is cut off and redrawn, so a long meeting costs
the same per update as a short one. Auto-scroll follows the live edge until the user scrolls
back; then a "Jump to live" button appears and brings it back.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QTextBlockFormat, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QLabel, QPushButton, QTextBrowser, QVBoxLayout, QWidget


def clock_text(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


ALL = object()  # end_line() / add_marker(): every input's line


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
        self.lines: list[tuple[float, str]] = []  # finished paragraphs: (start time, text)
        self.line_sources: list[str | None] = []  # the input of each (a meeting capture's; else None)
        self.markers: set[int] = set()  # indices into ``lines`` that are gap marks, not speech
        # Per input (None: the one input there is): the utterance still receiving words, as
        # [start, text], and its tentative tail. A meeting's two inputs can both be in mid-utterance.
        self._open: dict[str | None, list] = {}
        self._guesses: dict[str | None, str] = {}
        self._latest: str | None = None  # the input of the latest update
        self._live_from = 0  # document position where the live edge (what is still changing) begins
        self.source_names: dict[str, str] = {}  # a meeting's inputs: "You", "Others", or the names given
        # Speaker labels (issue #12) by the paragraph's first word's start in ms; a paragraph shows its
        # speaker's name when the speaker changes (a new turn), and a label arriving redraws.
        self.speakers: dict[int, str | None] = {}
        self._last_speaker: str | None = None
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
        return not self.lines and not self._open and not any(guess.strip() for guess in self._guesses.values())

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

    def _stamp_format(self) -> QTextCharFormat:
        stamp = self._format("#6b6b6b", italic=False)
        stamp.setFontPointSize(max(8, round(self.font_size * 0.75)))  # when: smaller than who and what
        return stamp

    def _name_format(self) -> QTextCharFormat:
        fmt = self._format("#1f5fa8", italic=False)
        fmt.setFontWeight(QFont.Bold)
        return fmt

    # -- updates ------------------------------------------------------------------------------

    def add_committed(self, words: list[tuple[float, str]], utterance_ended: bool, tentative: str,
                      source: str | None = None) -> None:
        """Append committed ``(start, text)`` words of ``source`` (a meeting's input; None for the
        one input there is), then show ``tentative`` after them."""
        at_bottom = self.following
        cursor = self._cut_live()
        if words:
            entry = self._open.setdefault(source, [words[0][0], ""])
            entry[1] += "".join(text for _, text in words)
        self._guesses[source] = tentative
        self._latest = source
        if utterance_ended and source in self._open:
            start, text = self._open.pop(source)
            self._add_paragraph(cursor, start, text.strip(), source)
        self._draw_live(cursor)
        self._show_guidance_if_empty()
        if at_bottom:
            self.jump_to_live()

    def end_line(self, source=ALL) -> None:
        """The stream that fed the open line ended (stop, switch, failure): later words start a new
        line instead of joining an unfinished sentence, and the guess goes (it never became final).
        ``source``: only that input's line (a meeting's other input goes on)."""
        for each in (list({**self._open, **self._guesses}) if source is ALL else [source]):
            self.add_committed([], True, "", each)

    def _cut_live(self) -> QTextCursor:
        """A cursor at the end of the finished paragraphs, the live edge after them removed."""
        cursor = QTextCursor(self.text.document())
        cursor.setPosition(self._live_from)
        cursor.movePosition(QTextCursor.End, QTextCursor.KeepAnchor)
        cursor.removeSelectedText()
        return cursor

    def _new_block(self, cursor: QTextCursor, turn: bool = False) -> None:
        """A new paragraph; a meeting's speaker ``turn`` a little apart, as the saved TXT's are."""
        if self.text.document().characterCount() > 1:
            spacing = QTextBlockFormat()
            spacing.setTopMargin(self.font_size * 0.4 if turn else 0)
            cursor.insertBlock(spacing)

    def _continues(self, source) -> bool:
        """Whether ``source``'s words join the last paragraph: the same input's turn goes on (a
        meeting's paragraphs are speaker turns, as in the saved TXT)."""
        last = len(self.lines) - 1
        return source is not None and last >= 0 and self.line_sources[last] == source and last not in self.markers

    def _add_paragraph(self, cursor: QTextCursor, start: float, text: str, source, marker: bool = False,
                       join: bool = True) -> None:
        """A finished utterance (or a gap mark), written once before the live edge."""
        if join and not marker and self._continues(source):
            cursor.insertText(" " + text, self._normal())
            first, before = self.lines[-1]
            self.lines[-1] = (first, f"{before} {text}")
        else:
            self._new_block(cursor, turn=source is not None and not marker)
            if marker:
                self._last_speaker = None  # after a gap, the next paragraph names its speaker again
                mark = self._format("#9a6a00", italic=True)
                mark.setFontPointSize(max(8, round(self.font_size * 0.6)))  # a note about the captions, not a caption
                cursor.insertText(text, mark)
                self.markers.add(len(self.lines))
            else:
                self._insert_header(cursor, start, source, final=True)
                cursor.insertText(text, self._normal())
            self.lines.append((start, text))
            self.line_sources.append(source)
        self._live_from = cursor.position()

    def _live_order(self) -> list[tuple[object, bool]]:
        """The inputs with words in progress, and whether each continues the last paragraph (drawn
        first, at its end); the others each on a line of their own, earliest utterance first."""
        guessing = [s for s, guess in self._guesses.items() if guess.strip() and s not in self._open]
        live = sorted(self._open, key=lambda s: self._open[s][0]) + guessing
        continued = [s for s in live if self._continues(s)]
        return [(s, True) for s in continued] + [(s, False) for s in live if s not in continued]

    def _draw_live(self, cursor: QTextCursor) -> None:
        for source, continued in self._live_order():
            entry = self._open.get(source)
            guess = self._guesses.get(source, "").strip()
            if not continued:
                self._new_block(cursor, turn=source is not None)
                if entry:
                    self._insert_header(cursor, entry[0], source, final=False)
                elif source is not None:  # a guess before any final word: still say whose it is
                    cursor.insertText(f"{self._name(source)}: ", self._name_format())
            text = entry[1].strip() if entry else ""
            if text:
                cursor.insertText((" " if continued else "") + text, self._normal())
            if guess:
                cursor.insertText((" " if text or continued else "") + guess, self._tentative_format())

    def _name(self, source: str) -> str:
        return self.source_names.get(source, source)

    def _insert_header(self, cursor: QTextCursor, start: float, source, final: bool) -> None:
        """What starts a paragraph: a meeting's turn says when and who ("[00:01:02] Others: ", as
        the saved TXT); otherwise the time when Timestamps is on, and a speaker label (#12) where
        the speaker changes."""
        if source is not None:
            cursor.insertText(f"[{clock_text(start)}] ", self._stamp_format())
            cursor.insertText(f"{self._name(source)}: ", self._name_format())
            return
        if self.show_timestamps:
            cursor.insertText(f"[{clock_text(start)}] ", self._normal())
        name = self.speakers.get(round(start * 1000))
        if name and name != self._last_speaker:
            cursor.insertText(f"{name}: ", self._name_format())
        if final:
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

    def name_sources(self, names: dict[str, str]) -> None:
        """What a meeting's inputs are called ("You", "Others", or the names the user gave them)."""
        if any(self.source_names.get(source) != name for source, name in names.items()):
            self.source_names.update(names)
            self.rerender()

    def speaker_names(self) -> list[str]:
        return sorted({name for name in self.speakers.values() if name} | set(self.source_names.values()))

    def add_marker(self, start: float, text: str, source=ALL) -> None:
        """A grey line where audio was not captioned (on ``source`` alone, in a meeting)."""
        self.end_line(source)
        cursor = self._cut_live()
        self._add_paragraph(cursor, start, text, None if source is ALL else source, marker=True)
        self._draw_live(cursor)
        self._show_guidance_if_empty()
        if self.following:
            self.jump_to_live()

    def _rows(self) -> list[tuple[str, str]]:
        """(final text, guess) of each paragraph, finished then in progress; a meeting's named."""
        def named(text: str, source) -> str:
            return f"{self._name(source)}: {text}".strip() if source is not None else text

        rows = [(named(text, source), "") for row, ((_, text), source) in enumerate(zip(self.lines, self.line_sources))
                if row not in self.markers]
        for source, continued in self._live_order():
            entry, guess = self._open.get(source), self._guesses.get(source, "").strip()
            text = entry[1].strip() if entry else ""
            if continued and rows:
                rows[-1] = (f"{rows[-1][0]} {text}".strip(), guess)
            else:
                rows.append((named(text, source), guess))
        return rows

    def all_lines(self) -> list[str]:
        return [text for text, _ in self._rows() if text]

    def last_lines(self, count: int = 2) -> list[str]:
        return [f"{text} {guess}".strip() for text, guess in self._rows() if text or guess][-count:]

    def overlay_parts(self, count: int = 2) -> tuple[list[str], str]:
        """The last ``count`` committed lines and the tentative tail, for the overlay (a meeting's
        lines named; the guess is the last line's own, never another input's)."""
        rows = self._rows()
        return [text for text, _ in rows if text][-count:], rows[-1][1] if rows else ""

    def tentative(self) -> str:
        return self._guesses.get(self._latest, "")

    def rerender(self) -> None:
        """Redraw everything (after the timestamp setting changes, a label arrives, a rename)."""
        lines, sources, markers = list(self.lines), list(self.line_sources), set(self.markers)
        live = (dict(self._open), dict(self._guesses), self._latest)
        speakers, names = dict(self.speakers), dict(self.source_names)
        following, position = self.following, self.text.verticalScrollBar().value()
        self.clear()
        self.speakers, self.source_names = speakers, names
        cursor = self._cut_live()
        for row, ((start, text), source) in enumerate(zip(lines, sources)):
            self._add_paragraph(cursor, start, text, source, marker=row in markers, join=False)
        self._open, self._guesses, self._latest = live
        self._draw_live(cursor)
        self._show_guidance_if_empty()
        if not following:  # a label arriving must not move a reader who scrolled back
            self.text.verticalScrollBar().setValue(position)
            self.following = False
            self.jump.setVisible(True)
        else:
            self.jump_to_live()

    def clear(self) -> None:
        self.text.clear()
        self.lines, self.line_sources, self.markers = [], [], set()
        self._open, self._guesses, self._latest, self._live_from = {}, {}, None, 0
        self.speakers, self._last_speaker, self.source_names = {}, None, {}
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
