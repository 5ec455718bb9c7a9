"""The typed results every recognizer backend produces, and the options that drive it.

Whatever the model (Whisper today, a CTC model such as wav2vec2 later), its output is normalised
into ``Transcription`` -> ``Segment`` -> ``Word`` with times in seconds of the input audio, so the
streaming layer and the exporters never see model-specific structures.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Protocol, Sequence

import numpy as np

from livecaption.errors import UserError

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
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 0.0
    temperature: float = 0.0


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

    def to_dict(self) -> dict:
        data = asdict(self)
        data["segments"] = [
            {**asdict(seg), "words": [asdict(w) for w in seg.words]} for seg in self.segments
        ]
        return data


@dataclass(frozen=True)
class TranscribeOptions:
    """Everything that changes what a recognizer outputs; validated once, up front."""

    language: str | None = None  # None = detect
    task: str = "transcribe"
    prompt: str | None = None
    beam_size: int = 5
    patience: float = 1.0
    length_penalty: float = 1.0
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    compression_ratio_threshold: float | None = 2.4
    log_prob_threshold: float | None = -1.0
    no_speech_threshold: float | None = 0.6
    condition_on_previous_text: bool = True
    word_timestamps: bool = True
    without_timestamps: bool = False
    max_initial_timestamp: float = 1.0
    suppress_blank: bool = True
    max_new_tokens: int | None = None  # per 30 s window; None = Whisper's 224
    # Encoder window in seconds for audio shorter than 30 s: None = Whisper's full 30 s. A short
    # window (the audio plus this much padding) is several times cheaper; streaming partial decodes
    # use it, see docs/benchmarks.md for what it costs in accuracy.
    encoder_padding_s: float | None = None
    # Long files: decode speech windows cut at pauses in batches (livecaption.asr.batched) instead
    # of one window after another; batch_size None = chosen from free memory.
    batched: bool = False
    batch_size: int | None = None


    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise UserError(f"invalid task '{self.task}': use {' or '.join(TASKS)}")
        if self.beam_size < 1:
            raise UserError(f"beam size must be at least 1, not {self.beam_size}")
        if not self.temperatures or any(t < 0 for t in self.temperatures):
            raise UserError("temperatures must be a non-empty list of values >= 0")
        if self.patience <= 0:
            raise UserError(f"patience must be positive, not {self.patience}")
        if self.max_new_tokens is not None and self.max_new_tokens < 1:
            raise UserError("max_new_tokens must be at least 1")
        if self.batch_size is not None and self.batch_size < 1:
            raise UserError("batch size must be at least 1")
        if self.encoder_padding_s is not None and not 0 <= self.encoder_padding_s <= 30:
            raise UserError("encoder padding must be between 0 and 30 s")


class Recognizer(Protocol):
    """What the streaming layer and the CLI need from any speech model."""

    model_name: str

    def describe_device(self) -> str: ...

    def transcribe(self, audio: np.ndarray, options: TranscribeOptions) -> Transcription:
        """Transcribe 16 kHz mono float32 audio of any length."""
        ...

    def languages(self) -> Sequence[str]:
        """Language codes the model accepts; empty for a single-language model."""
        ...
