"""The window's Captions menu (issue #14): translation to English and the vocabulary, remembered,
applied to the engine, and refused where the model cannot do it."""

from __future__ import annotations

import json

from conftest import clip_path
from ui_windows import bare_window, closed, shown_window  # noqa: F401 - a fixture


def test_translation_and_vocabulary_are_remembered_and_reach_the_engine(qtbot, bare_window, tmp_path):
    window = bare_window
    window._model_languages(window.model_combo.currentText(), frozenset({"en", "fr", "de"}))  # a multilingual model
    window.translate_action.setChecked(True)
    window.set_vocabulary("  Dana,   Kubernetes, OKR ")
    config = window.config()
    assert config.task == "translate" and config.vocabulary == "Dana, Kubernetes, OKR"
    assert window.vocabulary_action.text().startswith("Vocabulary: Dana")
    again = shown_window(qtbot, window.settings_path)
    try:
        assert again.translate_action.isChecked() and again.settings.vocabulary == "Dana, Kubernetes, OKR"
    finally:
        closed(again)


def test_the_status_bar_names_the_language_each_utterance_was_spoken_in(qtbot, bare_window):
    from livecaption.streaming.events import CaptionUpdate, CommittedWord

    window = bare_window
    for language, name in (("en", "English"), ("de", "German")):
        window._caption(CaptionUpdate((CommittedWord(" Hallo", 1.0, 1.5, 2.0, 0.9),), "", 2.0, True, language=language))
        assert window.status.spoken.text() == name
    window.status.reset()
    assert window.status.spoken.text() == ""


def test_an_english_only_model_cannot_be_asked_to_translate(qtbot, bare_window):
    window = bare_window
    window.translate_action.setChecked(True)
    window._model_languages(window.model_combo.currentText(), frozenset())  # tiny.en: English only
    assert not window.translate_action.isEnabled() and "English-only" in window.translate_action.toolTip()
    assert window.config().task == "transcribe"


def test_a_vocabulary_too_long_for_the_prompt_is_refused_with_a_banner(qtbot, bare_window):
    window = bare_window
    window.set_vocabulary("term " * 100)
    assert window.settings.vocabulary == "" and "at most 300" in window.banner.label.text()


def test_a_french_replay_is_captioned_in_english_with_the_language_recorded(qtbot, tmp_path, base_fp32):
    window = shown_window(qtbot, tmp_path / "settings.ini")
    try:
        window.model_combo.insertItem(0, "base")
        window.model_combo.setCurrentIndex(window.model_combo.findText("base"))
        window._settings_changed()
        window.precision_combo.setCurrentIndex(window.precision_combo.findData("fp32"))
        window.translate_action.setChecked(True)
        shown = []  # the status bar's language label as it was while captioning (Stop clears it)
        original = window.status.set_spoken_language

        def spy(code, translating):
            original(code, translating)
            shown.append(window.status.spoken.text())
        window.status.set_spoken_language = spy
        window.replay_file = str(clip_path("fr_short.aiff"))
        with qtbot.waitSignal(window.controller.worker.started, timeout=120_000):
            window.toggle_running()
        qtbot.waitUntil(lambda: not window.controller.running, timeout=120_000)
        window.save_transcript(tmp_path / "fr.json", "json")
        data = json.loads((tmp_path / "fr.json").read_text())
        assert "dictat" in data["text"].lower() and "number" in data["text"].lower(), data["text"]
        assert data["language"] == "fr" and {seg.get("language") for seg in data["segments"]} == {"fr"}
        assert data["options"]["streaming"]["task"] == "translate"
        assert shown and shown[-1] == "French → English", shown  # what was spoken, where people look
    finally:
        closed(window)
