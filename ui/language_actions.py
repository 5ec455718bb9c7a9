"""Live languages in the window (issue #14): translation to English and the vocabulary prompt.

A mixin of ``MainWindow`` (as SpeakerActions is). The language picker itself is the toolbar's
(the model's languages by name, with auto: each utterance's language is detected then). Both
settings are remembered; changed while captioning, they take effect at once through the same
switch a precision change uses, so nothing said is lost.
"""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog

VOCABULARY_LIMIT = 300  # livecaption.streaming.options.MAX_VOCABULARY_CHARS: what fits the model's prompt
ENGLISH_ONLY = "This model is English-only: translation needs a multilingual model (e.g. base)"


class LanguageActions:
    def _build_language_menu(self) -> None:
        menu = self.menuBar().addMenu("&Captions")
        menu.setToolTipsVisible(True)
        self.translate_action = menu.addAction("Translate to English")
        self.translate_action.setCheckable(True)
        self.translate_action.setChecked(self.settings.task == "translate")
        self.translate_action.setToolTip("Captions in English whatever is spoken; the spoken language is "
                                         "still recorded with each line")
        self.translate_action.toggled.connect(self.set_translate)
        self.vocabulary_action = menu.addAction("Vocabulary…", self.vocabulary_dialog)
        self.vocabulary_action.setToolTip("Names and terms the captions should get right")
        self._show_vocabulary()

    def task(self) -> str:
        return "translate" if self.translate_action.isChecked() and self.translate_action.isEnabled() else "transcribe"

    def vocabulary(self) -> str | None:
        return self.settings.vocabulary or None

    def set_translate(self, on: bool) -> None:
        self.settings.task = "translate" if on else "transcribe"
        self._language_settings_changed()

    def vocabulary_dialog(self) -> None:
        text, ok = QInputDialog.getText(self, "Vocabulary", "Names and terms, separated by commas "
                                        "(e.g. Dana, Kubernetes, OKR):", text=self.settings.vocabulary)
        if ok:
            self.set_vocabulary(text)

    def set_vocabulary(self, text: str) -> None:
        text = " ".join(text.split())
        if len(text) > VOCABULARY_LIMIT:
            self.banner.show_message(f"The vocabulary is {len(text)} characters; at most {VOCABULARY_LIMIT} fit. "
                                     "Keep names and terms, not sentences.", error=True)
            return
        self.settings.vocabulary = text
        self._show_vocabulary()
        self._language_settings_changed()

    def follow_model_languages(self, known) -> None:
        """An English-only model cannot translate: the toggle says so instead of failing at Start."""
        english_only = known is not None and not known
        self.translate_action.setEnabled(not english_only)
        if english_only:
            self.translate_action.setToolTip(ENGLISH_ONLY)

    def _show_vocabulary(self) -> None:
        shown = self.settings.vocabulary
        self.vocabulary_action.setText(f"Vocabulary: {shown[:30]}{'…' if len(shown) > 30 else ''}" if shown
                                       else "Vocabulary…")

    def _language_settings_changed(self) -> None:
        self.settings.save(self.settings_path)
        if self.controller.running:  # the new settings apply now; the switch loses nothing said
            self.controller.switch(self.config())
