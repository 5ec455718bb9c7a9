"""Speaker labels in the window (issue #12): the toggle, labels arriving, the relabel at save, renames
(of voices, and of a meeting capture's inputs, You and Others: issue #11).

A mixin of ``MainWindow`` (as SessionActions is); it uses the window's settings, transcript,
captions, banner and controller. Labels arrive as ``SpeakerLabels`` events a moment after the
captions they label; each one updates the session transcript (what is saved) and redraws the
caption view with the speaker's name at the start of each turn.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMenu

from ui.engine import speakers_available

INSTALL_HINT = "pip install 'livecaption[speakers]'"


class SpeakerActions:
    def _build_speaker_menu(self) -> None:
        menu = self.menuBar().addMenu("&Speakers")
        self.speakers_action = menu.addAction("Label speakers")
        self.speakers_action.setCheckable(True)
        available = speakers_available()
        self.speakers_action.setChecked(available and self.settings.speaker_labels)
        self.speakers_action.setEnabled(available)
        self.speakers_action.setToolTip("Who said what: Speaker 1, Speaker 2, … a moment after the captions"
                                        if available else f"Needs the voice encoder: {INSTALL_HINT}")
        menu.setToolTipsVisible(True)
        self.speakers_action.toggled.connect(self.set_speaker_labels)
        self.rename_action = menu.addAction("Rename speaker…", self.rename_speaker_dialog)
        self.captions.text.setContextMenuPolicy(Qt.CustomContextMenu)
        self.captions.text.customContextMenuRequested.connect(self._caption_menu)

    def speaker_labels_on(self) -> bool:
        return self.speakers_action.isChecked()

    def set_speaker_labels(self, on: bool) -> None:
        self.settings.speaker_labels = on
        self.settings.save(self.settings_path)
        if self.controller.running:
            self.banner.show_message(f"Speaker labels {'start' if on else 'stop'} with the next Start.", error=False)

    # -- labels arriving ---------------------------------------------------------------------------
    def _speakers_labelled(self, event) -> None:
        self.apply_speakers([(u.start, u.end, u.speaker) for u in event.utterances])

    def apply_speakers(self, entries) -> None:
        """(start, end, speaker) per utterance: into the transcript (exports) and the caption view."""
        self.transcript.set_speakers(entries)
        self.captions.set_speakers([(start, speaker) for start, _, speaker in entries])

    def relabel_before_save(self) -> None:
        """The whole session is known at save: re-cluster it, and show what is saved."""
        if self.transcript.labelled:
            entries = self.controller.relabel_speakers()
            if entries:
                self.apply_speakers([(u.start, u.end, u.speaker) for u in entries])

    # -- renaming ------------------------------------------------------------------------------------
    def rename_speaker(self, old: str, new: str) -> bool:
        """Every line of ``old`` becomes ``new``: the window, the exports and (live) the journal.
        ``old`` may be a voice (Speaker 1) or a meeting's input (You, Others)."""
        new = " ".join(new.split())
        names = self.captions.speaker_names()
        if not new or old not in names:
            return False
        if new in names and new != old:
            self.banner.show_message(f"Another speaker is already called {new}.")
            return False
        source = next((sid for sid, name in self.captions.source_names.items() if name == old), None)
        if source is not None:  # a meeting's input: its lines, its level meter, and the journal's `sources`
            self.controller.rename_source(source, new)
            self.transcript.name_sources({source: new})
            self.captions.name_sources({source: new})
            self.status.rename_input(source, new)
        else:
            self.controller.rename_speaker(old, new)  # journals it and re-sends the lines (live sessions)
            self.apply_speakers([(start / 1000, start / 1000, new)
                                 for start, name in self.transcript.speakers.items() if name == old])
        self.dirty = True
        self._update_overlay()
        return True

    def rename_speaker_dialog(self, old: str | None = None) -> None:
        names = self.captions.speaker_names()
        if not names:
            self.banner.show_message("No speaker labels yet: turn on Speakers → Label speakers, or pick Input → "
                                     "Microphone + system audio (You / Others), then Start.", error=False)
            return
        if old is None:
            old, ok = QInputDialog.getItem(self, "Rename speaker", "Speaker:", names, 0, False)
            if not ok:
                return
        new, ok = QInputDialog.getText(self, "Rename speaker", f"New name for {old}:", text=old)
        if ok:
            self.rename_speaker(old, new)

    def _caption_menu(self, position) -> None:
        menu = QMenu(self)
        menu.addAction("Copy", self.captions.text.copy).setEnabled(self.captions.text.textCursor().hasSelection())
        for name in self.captions.speaker_names():
            menu.addAction(f"Rename {name}…", lambda name=name: self.rename_speaker_dialog(name))
        menu.exec(self.captions.text.mapToGlobal(position))
