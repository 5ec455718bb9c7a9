"""The typed results every recognizer backend produces, and the options that drive it.

Whatever the model (Whisper, or a CTC model such as wav2vec2), its output is normalised
into ``Transcription`` -> ``Segment`` -> ``Word`` with times in seconds of the input audio, so the
streaming layer and the exporters never see model-specific structures.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Protocol, Sequence

import numpy as np

from livecaption.asr.device import DeviceChoice
from livecaption.errors import UserError

if TYPE_CHECKING:  # the streaming layer imports this module: a type only, no cycle
    from livecaption.streaming.options import StreamingOptions

TASKS = ("transcribe", "translate")


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str  # with its leading space where the language uses spaces
    probability: float


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    # The backend's own confidence figures, named by it (Whisper: avg_logprob, no_speech_prob,
    # compression_ratio, temperature). Exports write them beside the segment's fields; nothing
    # outside the backend reads them.
    scores: Mapping[str, float] = field(default_factory=dict)
    # Who said it ("Speaker 1", a name the user gave, "You"), when the transcript was labelled;
    # None there means too short to judge (never a guess). Unlabelled transcripts leave it None.
    speaker: str | None = None
    # The language it was spoken in, when a transcript holds several (live captions detect it per
    # utterance); None: the transcript's ``language``.
    language: str | None = None
    # Which input it was heard on in a meeting capture ("microphone", "system"; issue #11); None
    # for a file or a single input.
    source: str | None = None


@dataclass(frozen=True)
class Transcription:
    text: str
    language: str
    segments: tuple[Segment, ...]
    duration: float  # seconds of audio
    model: str
    device: str
    precision: str
    fallback: str | None = None
    options: dict = field(default_factory=dict)
    # How sure the model was of ``language`` when it detected it (None: it was given, or the model
    # has one language): the streaming core keeps a short utterance's language steady with it.
    language_probability: float | None = None

    def to_dict(self) -> dict:
        data = asdict(self)
        if data.get("language_probability") is None:
            data.pop("language_probability", None)
        # A labelled transcript (options["speakers"] set) gives every segment its speaker, null
        # included; an unlabelled one keeps exactly the fields it always had.
        labelled = self.labelled
        data["segments"] = [
            {"start": seg.start, "end": seg.end, "text": seg.text, **seg.scores,
             **({"speaker": seg.speaker} if labelled else {}),
             **({"language": seg.language} if seg.language else {}),
             **({"source": seg.source} if seg.source else {}),
             "words": [asdict(w) for w in seg.words]}
            for seg in self.segments
        ]
        return data

    @property
    def labelled(self) -> bool:
        """Whether speaker labels were asked for (``--speakers``, or the window's speaker labels)."""
        return bool(self.options.get("speakers")) or any(seg.speaker for seg in self.segments)


@dataclass(frozen=True)
class TranscribeOptions:
    """What a caller may ask of any recognizer; validated once, up front.

    How a backend decodes (Whisper's temperature ladder, thresholds, encoder window) is its own
    business: ``tuning`` carries a backend's settings object when a caller that knows the backend
    (its own streaming policy, a benchmark) wants more than the defaults; None means its defaults.
    """

    language: str | None = None  # None = detect
    task: str = "transcribe"
    prompt: str | None = None
    beam_size: int = 5
    word_timestamps: bool = True
    # Long files: decode speech windows cut at pauses in batches instead of one after another;
    # batch_size None = chosen from free memory. Backends without windows ignore it.
    batched: bool = False
    batch_size: int | None = None
    tuning: Any = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise UserError(f"invalid task '{self.task}': use {' or '.join(TASKS)}")
        if self.beam_size < 1:
            raise UserError(f"beam size must be at least 1, not {self.beam_size}")
        if self.batch_size is not None and self.batch_size < 1:
            raise UserError("batch size must be at least 1")


class StreamingPolicy(Protocol):
    """How a backend decodes inside the streaming core: the attempts a decode makes (a final
    decode may retry with other settings) and the backend's own hallucination guards."""

    def attempts(self, audio_seconds: float, request: TranscribeOptions, final: bool) -> list[TranscribeOptions]:
        """The requests to try in order for one decode of ``audio_seconds`` of audio."""
        ...

    def retry(self, reason: str, attempt: TranscribeOptions) -> bool:
        """Whether a hypothesis rejected for ``reason`` under ``attempt`` is worth the next attempt."""
        ...

    def rejection_reason(self, result: Transcription) -> str | None:
        """Why the backend disbelieves this hypothesis (None: it may be shown)."""
        ...


class Recognizer(Protocol):
    """Everything outside a backend's package needs from a speech model (see ``load_recognizer``)."""

    model_name: str
    family: str  # "whisper", "ctc": for display and the saved transcript's header

    @property
    def choice(self) -> DeviceChoice:
        """Where it runs and in what precision (after any fallback)."""
        ...

    def describe_device(self) -> str: ...

    def languages(self) -> Sequence[str]:
        """Language codes the model accepts; empty for a single-language model."""
        ...

    def transcribe(self, audio: np.ndarray, options: TranscribeOptions) -> Transcription:
        """Transcribe 16 kHz mono float32 audio of any length."""
        ...

    def streaming_policy(self, options: StreamingOptions) -> StreamingPolicy: ...

    def begin_decode(self) -> None:
        """Per-decode bookkeeping (peak-memory counters) before one streaming decode."""
        ...

    def memory_stats(self) -> dict[str, int]:
        """Bytes in use and at peak on the device; empty when the backend cannot tell."""
        ...

    def check_options(self, options: TranscribeOptions) -> None:
        """Refuse, before any audio, what this model cannot do (a language it lacks, translation)."""
        ...
