"""Typed events out of the streaming engine (no Qt): what the terminal, the window and tests consume."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from livecaption.asr.device import DeviceChoice


# The inputs of a meeting capture (issue #11) and who each one is heard as until the user renames
# them: the microphone is the user, the system audio the other people on the call.
MICROPHONE, SYSTEM = "microphone", "system"
SOURCE_SPEAKERS = {MICROPHONE: "You", SYSTEM: "Others"}


@dataclass(frozen=True)
class CommittedWord:
    text: str  # with its leading space where the language uses spaces
    start: float  # audio seconds since the stream began
    end: float
    emitted: float  # stream-clock seconds when it was committed
    probability: float


@dataclass(frozen=True)
class CaptionUpdate:
    committed: tuple[CommittedWord, ...]  # newly committed words only; never retracted later
    tentative: str  # the current unstable tail, replaced by the next update
    time: float  # stream-clock seconds
    utterance_ended: bool = False
    language: str | None = None  # the utterance's language, once known (detected per utterance with auto)
    source: str | None = None  # the input it was heard on in a meeting capture ("microphone", "system")


@dataclass(frozen=True)
class SpeechActivity:
    speaking: bool
    audio_time: float  # where in the audio the VAD decided
    time: float


@dataclass(frozen=True)
class StreamStats:
    time: float
    device: DeviceChoice  # where the model runs now; .describe() gives "cpu fp32 (fallback: …)"
    final_latency_last: float | None
    final_latency_p50: float | None
    first_word_latency_last: float | None
    lag: float  # seconds of captured audio the worker has not processed yet
    lag_max: float
    rtf: float  # compute seconds per second of audio processed
    step: float  # the adaptive decode step now
    dropped_seconds: float
    rss_bytes: int
    input_level_db: float = -120.0  # loudness of the latest captured audio (dBFS)
    gpu_allocated: int | None = None
    gpu_peak: int | None = None  # the session's peak
    gpu_decode_peak: int | None = None  # the peak of the latest decode alone
    gpu_reserved: int | None = None  # held by torch's caching allocator (what other apps cannot use)
    gpu_total: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    source: str | None = None  # in a meeting capture: the input these figures are of


@dataclass(frozen=True)
class CaptureGap:
    start: float  # audio seconds where capture stopped
    end: float  # audio seconds where it resumed
    reason: str
    time: float
    fell_behind: bool = False  # True: decoding was too slow and the ring buffer dropped this audio
    engine_error: bool = False  # True: the audio was there, but its decode failed (EngineRestarted follows)
    source: str | None = None  # in a meeting capture: the input that lost this stretch (the other went on)
    input_lost: bool = False  # True: that input never came back (the rest of the session, in a meeting)


@dataclass(frozen=True)
class EngineRestarted:
    """A decode failed inside the worker; the engine dropped the speech in flight and goes on."""

    time: float
    error: str  # what failed, e.g. "IndexError: list index out of range"
    start: float  # audio seconds left uncaptioned (also marked as a CaptureGap)
    end: float
    source: str | None = None


@dataclass(frozen=True)
class StreamEnded:
    time: float
    error: str | None  # None when stopped or the recording ended; else why capture stopped
    source: str | None = None  # in a meeting capture: one input's end (the session ends with the last)


@dataclass(frozen=True)
class UtteranceSpeaker:
    start: float  # session seconds of the utterance's first committed word (its key)
    end: float  # ... and of its last word's end
    speaker: str | None  # "Speaker 2", a name the user gave, or None: too short to judge yet


@dataclass(frozen=True)
class SpeakerLabels:
    """Speaker labels (issue #12), a moment after the captions they label: each entry sets the
    speaker of every committed word in [start, end]. Later events may relabel earlier utterances
    (a short one once its neighbours agree, all of them at save, a rename); the last word wins."""

    time: float  # wall-clock seconds (time.monotonic) when labelled
    utterances: tuple[UtteranceSpeaker, ...]
    relabelled_all: bool = False  # True: the whole session was re-clustered (at save)


Event = CaptionUpdate | SpeechActivity | StreamStats | CaptureGap | EngineRestarted | StreamEnded | SpeakerLabels


def shifted(event, seconds: float):
    """``event`` with its audio and clock times moved by ``seconds`` (a stream that is not the
    session's first: its times continue the session's, in the journal and the window alike)."""
    if not seconds:
        return event
    if isinstance(event, CaptionUpdate):
        words = tuple(dataclasses.replace(w, start=w.start + seconds, end=w.end + seconds, emitted=w.emitted + seconds)
                      for w in event.committed)
        return dataclasses.replace(event, committed=words, time=event.time + seconds)
    if isinstance(event, (CaptureGap, EngineRestarted)):
        return dataclasses.replace(event, start=event.start + seconds, end=event.end + seconds)
    return event
