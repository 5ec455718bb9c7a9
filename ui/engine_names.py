"""The window's whole view of the engine: the names the rest of ui/ uses, and small helpers.

The rest of ui/ imports these names through ``ui.engine`` (which re-exports them) and never a
livecaption module itself (tests/test_import_graph.py), so what the window depends on is this
list, and none of it pulls in torch. Kept apart from ``ui.engine`` (the worker and controller) so
each file stays small; both are the adapter.
"""

from __future__ import annotations

from livecaption.asr.device import DeviceChoice
from livecaption.audio.pulse import list_monitors
from livecaption.audio.sources import list_input_devices
from livecaption.errors import UserError
from livecaption.streaming.events import MICROPHONE, SOURCE_SPEAKERS, SYSTEM, CaptionUpdate, SpeakerLabels, StreamStats
from livecaption.streaming.options import StreamingOptions, VadOptions
from livecaption.transcript.export import FORMATS, render, write_text_atomic
from livecaption.transcript.journal import list_sessions, mark_recovered, read_journal, sessions_dir
from livecaption.transcript.live import LiveTranscript, session_options

__all__ = ["CaptionUpdate", "DeviceChoice", "FORMATS", "LiveTranscript", "MICROPHONE", "SOURCE_SPEAKERS", "SYSTEM",
           "SpeakerLabels", "StreamStats", "UserError", "embedded_model_names", "list_input_devices", "list_monitors",
           "list_sessions", "mark_recovered", "new_transcript", "read_journal", "recorded_options", "render",
           "sessions_dir", "speakers_available", "write_text_atomic"]


def embedded_model_names() -> list[str]:
    from livecaption.asr import embedded_models

    return list(embedded_models())


def speakers_available() -> bool:
    from livecaption.speakers import available  # the voice encoder's weights are installed

    return available()


def new_transcript(model: str, choice: DeviceChoice | None, language: str | None, task: str = "transcribe",
                   vocabulary: str | None = None) -> LiveTranscript:
    """An empty session transcript, with the options header the journal records too."""
    return LiveTranscript(model, choice.device if choice else "", choice.precision if choice else "",
                          choice.fallback if choice else None, recorded_options(language, task, vocabulary))


def recorded_options(language: str | None, task: str = "transcribe", vocabulary: str | None = None) -> dict:
    """The settings a session's transcript and journal record (translation and vocabulary included)."""
    return session_options(StreamingOptions(language=language, task=task, vocabulary=vocabulary), VadOptions(),
                           language)
