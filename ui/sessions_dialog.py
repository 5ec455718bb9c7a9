"""File → Past sessions: every session the journals hold, to open in the window or export.

Every live session is journaled (fsync'd) as it is captioned, so nothing said is gone after a
quit, a crash or a New session; this is where a person finds it again. The list is read from
the journals on disk each time it opens (``livecaption.transcript.journal``), never cached.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QFileDialog, QHeaderView, QLabel,
                               QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout)

from ui.engine import FORMATS, UserError, list_sessions, read_journal, render, sessions_dir, write_text_atomic

COLUMNS = ("Started", "Words", "Model", "State", "First words")


def _started(header: dict, name: str) -> str:
    text = header.get("started")
    try:
        return datetime.fromisoformat(text).astimezone().strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return name


def ask_transcript_path(parent, title: str, suggested: str) -> tuple[Path, str] | None:
    """The save dialog for a transcript: the path and its format (from the extension, else the
    chosen filter), or None when the user cancels."""
    filters = ";;".join(f"{fmt.upper()} (*.{fmt})" for fmt in FORMATS)
    path, chosen = QFileDialog.getSaveFileName(parent, title, suggested, filters)
    if not path:
        return None
    fmt = Path(path).suffix.lstrip(".").lower()
    return Path(path), fmt if fmt in FORMATS else chosen.split()[0].lower()


def journal_files(folder: Path | None = None) -> list[Path]:
    """Every session's journal: the record of meetings, never to be written over by an export."""
    folder = folder or sessions_dir()
    return sorted(folder.glob("*.jsonl")) if folder.is_dir() else []


class SessionsDialog(QDialog):
    open_requested = Signal(object)  # Path of the journal to show in the window

    def __init__(self, parent=None, folder: Path | None = None, current: Path | None = None):
        super().__init__(parent)
        self.current = current  # the window's own session, still being written
        self.setWindowTitle("Past sessions")
        self.resize(760, 380)
        self.folder = folder
        self.note = QLabel("Every session is saved as it is captioned. Open one to read it in the window, "
                           "or export it as text, subtitles or JSON.")
        self.note.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.Stretch)
        self.table.doubleClicked.connect(lambda _: self.open_selected())
        buttons = QDialogButtonBox(QDialogButtonBox.Close, self)
        self.open_button = QPushButton("Open in window")
        self.export_button = QPushButton("Export…")
        buttons.addButton(self.open_button, QDialogButtonBox.ActionRole)
        buttons.addButton(self.export_button, QDialogButtonBox.ActionRole)
        buttons.rejected.connect(self.reject)
        self.open_button.clicked.connect(self.open_selected)
        self.export_button.clicked.connect(self.export_dialog)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.sessions = []
        self.reload()

    def reload(self) -> None:
        # Latest written first: the one just finished is the one people look for.
        sessions = [s for s in list_sessions(self.folder) if s.words]
        self.sessions = sorted(sessions, key=lambda s: s.path.stat().st_mtime_ns, reverse=True)
        self.table.setRowCount(len(self.sessions))
        for row, session in enumerate(self.sessions):
            _, transcript = read_journal(session.path)
            first = "".join(w.text for w in transcript.words()[:12]).strip()
            cells = (_started(session.header, session.name), str(session.words), session.header.get("model", "?"),
                     "current" if session.path == self.current else "finished" if session.finished else "unfinished",
                     first)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(str(session.path))
                if column == 1:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        if self.sessions:
            self.table.selectRow(0)
        has = bool(self.sessions)
        self.open_button.setEnabled(has)
        self.export_button.setEnabled(has)
        if not has:
            self.note.setText("No past sessions yet: sessions appear here once something has been captioned.")

    def selected(self):
        rows = self.table.selectionModel().selectedRows()
        return self.sessions[rows[0].row()] if rows else None

    def open_selected(self) -> None:
        session = self.selected()
        if session is not None:
            self.open_requested.emit(session.path)

    def export_to(self, path: Path, fmt: str) -> None:
        session = self.selected()
        if session is None:
            return
        _, transcript = read_journal(session.path)
        # The user confirmed any overwrite in the file dialog, but never over a session's journal.
        write_text_atomic(Path(path), render(transcript.to_transcription(session.language), fmt), force=True,
                          reads=journal_files(self.folder))

    def export_dialog(self) -> None:
        session = self.selected()
        if session is None:
            return
        chosen = ask_transcript_path(self, "Export session", f"{session.name}.txt")
        if chosen is None:
            return
        path, fmt = chosen
        try:
            self.export_to(path, fmt)
        except UserError as exc:
            self.note.setText(str(exc))
        else:
            self.note.setText(f"Exported {path}")
