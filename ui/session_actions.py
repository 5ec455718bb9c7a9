"""File actions of the window: save, quit and New session (which ask before discarding unsaved
captions), past sessions, restoring after a crash, and replaying a recording once.

A mixin of ``MainWindow`` (kept apart so each file stays readable); it uses the window's
transcript, captions, banner, controller and ``dirty`` flag.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from ui.engine import CaptionUpdate, UserError, list_sessions, mark_recovered, read_journal, render, write_text_atomic
from ui import prompts
from ui.sessions_dialog import SessionsDialog, ask_transcript_path, journal_files


class SessionActions:
    def restore_unfinished_session(self) -> None:
        """After a crash or kill, bring the last unfinished session's captions back into the window."""
        unfinished = [s for s in list_sessions() if not s.finished and s.words]
        if not unfinished:
            return
        session = self._show_journal(unfinished[-1].path)
        mark_recovered(session.path)
        self.dirty = True
        self.banner.show_message(f"Restored {session.words} words from an unfinished session ({session.name}); "
                                 "save them with File → Save transcript.", error=False)

    def _show_journal(self, path: Path):
        session, restored = read_journal(path)
        self.transcript.name_sources(restored.source_names)
        self.captions.name_sources(restored.source_names)  # a meeting's lines are labelled You / Others again
        for segment, source in zip(restored.groups(), restored.sources()):
            self._caption(CaptionUpdate(committed=tuple(segment), tentative="", time=0.0, utterance_ended=True,
                                        source=source))
        for (start, end, reason), source in zip(restored.gaps, restored.gap_sources):
            self.transcript.add_gap(start, end, reason, source)
        if restored.labelled:  # speaker labels the journal recorded (the latest of each)
            self.apply_speakers([(key / 1000, key / 1000, name) for key, name in restored.speakers.items()])
        return session

    def save_transcript(self, path: Path, fmt: str) -> None:
        # The file dialog asked before replacing a file; still, never a recording being replayed or a
        # session's journal (the same rule as the command line's outputs).
        replays = [name for name in (self.active_replay, self.replay_file) if name]
        self.relabel_before_save()
        write_text_atomic(Path(path), render(self.transcript.to_transcription(), fmt), force=True,
                          reads=[*replays, *journal_files()])
        self.dirty = False

    def save_dialog(self) -> bool:
        chosen = ask_transcript_path(self, "Save transcript", "meeting.txt")
        if chosen is None:
            return False
        path, fmt = chosen
        try:
            self.save_transcript(path, fmt)
        except UserError as exc:
            self.banner.show_message(str(exc))
            return False
        self.banner.show_message(f"Saved {path}", error=False)
        return True

    def settle_unsaved(self, title: str, action: str) -> bool:
        """True when the captions on show may go: saved, nothing to save, or the user says so. They
        stay in File → Past sessions either way (the journal), which the question says."""
        if not self.dirty or not self.transcript.words():
            return True
        answer = prompts.ask(self, title, f"{len(self.transcript.words())} captioned words are not saved. "
                             f"Save them before you {action}?\n\nThey stay in File → Past sessions either way.")
        if answer == prompts.SAVE:
            return self.save_dialog()
        return answer == prompts.DISCARD

    def new_session(self, confirm: bool = True) -> None:
        if confirm and not self.settle_unsaved("New session", "start a new session"):
            return
        was_running = self.controller.running
        if was_running:
            self.controller.stop()
        self.controller.end_session()
        self.transcript = self._new_transcript(self.running_on)
        self.dirty = False
        self.captions.clear()
        self.overlay.show_lines([])
        self.banner.hide()
        self.status.reset()
        if was_running:  # the new session goes on captioning the same input
            self.controller.start(self.config())
            self.start_action.setText("Loading…")

    def show_sessions(self) -> None:
        journal = self.controller.worker.journal  # the session on show: "current", not "unfinished"
        self.sessions_dialog = SessionsDialog(self, current=journal.path if journal is not None else None)
        self.sessions_dialog.open_requested.connect(self.open_session)
        self.sessions_dialog.show()  # not modal: captions keep coming while it is open

    def open_session(self, path: Path) -> None:
        if self.controller.running:
            self.banner.show_message("Stop captioning before opening a past session.")
            return
        if not self.settle_unsaved("Open a past session", "open another session"):
            return
        self.new_session(confirm=False)
        session = self._show_journal(Path(path))
        self.dirty = False  # it is on disk already
        self.viewing_past_session = True  # Start must not append to it: see toggle_running
        self.banner.show_message(f"Showing the session of {session.name} ({session.words} words). "
                                 "File → Save transcript as… exports it; Start begins a new session.", error=False)

    def replay_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Replay a recording as if it were the microphone")
        if path:
            self.replay(path)

    def replay(self, path: str) -> None:
        """Caption a recording once, at real-time pace; when it ends the window says so and Start
        means the selected input again."""
        if self.controller.running:  # the live input stops; the recording replaces it
            self.replay_next, self.replay_file = path, None
            self.controller.stop()
            self.controller.start(dataclasses.replace(self.config(), replay_file=path))
            self.start_action.setText("Loading…")
            return
        self.replay_file = path
        self.toggle_running()
