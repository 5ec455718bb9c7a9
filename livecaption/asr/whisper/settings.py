"""Whisper's own decode settings: what only Whisper understands stays in Whisper's package.

Callers outside the package ask with the backend-neutral ``TranscribeOptions``; one that knows it
talks to Whisper (its streaming policy, a benchmark) may attach a ``WhisperTuning`` as
``options.tuning``. The decode loop reads ``WhisperOptions``: the request and the tuning in one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from livecaption.asr.types import TranscribeOptions
from livecaption.errors import UserError


@dataclass(frozen=True)
class WhisperTuning:
    patience: float = 1.0
    length_penalty: float = 1.0
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    compression_ratio_threshold: float | None = 2.4
    log_prob_threshold: float | None = -1.0
    no_speech_threshold: float | None = 0.6
    condition_on_previous_text: bool = True
    without_timestamps: bool = False
    max_initial_timestamp: float = 1.0
    suppress_blank: bool = True
    max_new_tokens: int | None = None  # per 30 s window; None = Whisper's 224
    # Encoder window in seconds for audio shorter than 30 s: None = Whisper's full 30 s. A short
    # window (the audio plus this much padding) is several times cheaper; streaming partial decodes
    # use it, see docs/benchmarks.md for what it costs in accuracy.
    encoder_padding_s: float | None = None

    def __post_init__(self) -> None:
        if not self.temperatures or any(t < 0 for t in self.temperatures):
            raise UserError("temperatures must be a non-empty list of values >= 0")
        if self.patience <= 0:
            raise UserError(f"patience must be positive, not {self.patience}")
        if self.max_new_tokens is not None and self.max_new_tokens < 1:
            raise UserError("max_new_tokens must be at least 1")
        if self.encoder_padding_s is not None and not 0 <= self.encoder_padding_s <= 30:
            raise UserError("encoder padding must be between 0 and 30 s")


@dataclass(frozen=True)
class WhisperOptions(WhisperTuning):
    """A request with its Whisper tuning, flattened: what the decode loop reads."""

    language: str | None = None
    task: str = "transcribe"
    prompt: str | None = None
    beam_size: int = 5
    word_timestamps: bool = True
    batched: bool = False
    batch_size: int | None = None

    @classmethod
    def of(cls, request: TranscribeOptions | "WhisperOptions") -> "WhisperOptions":
        if isinstance(request, WhisperOptions):
            return request
        tuning = request.tuning if request.tuning is not None else WhisperTuning()
        if not isinstance(tuning, WhisperTuning):
            raise UserError(f"Whisper cannot use {type(tuning).__name__} settings")
        fields = {f.name: getattr(request, f.name) for f in dataclasses.fields(TranscribeOptions) if f.name != "tuning"}
        return cls(**dataclasses.asdict(tuning), **fields)


def whisper_options(**fields) -> TranscribeOptions:
    """A neutral request with Whisper tuning from keyword arguments of either kind (tests, benches)."""
    tuning_names = {f.name for f in dataclasses.fields(WhisperTuning)}
    tuning = WhisperTuning(**{k: v for k, v in fields.items() if k in tuning_names})
    return TranscribeOptions(**{k: v for k, v in fields.items() if k not in tuning_names}, tuning=tuning)
