"""Option sets for capture, the VAD gate and the streaming worker: frozen, validated up front.

Overrides go through ``dataclasses.replace``; ``asdict`` of these is what a transcript's header
records, so a transcript always says which settings produced it.
"""

from __future__ import annotations

from dataclasses import dataclass

from livecaption.errors import UserError


@dataclass(frozen=True)
class VadOptions:
    frame_ms: int = 30  # webrtcvad accepts 10, 20 or 30 ms frames
    aggressiveness: int = 3  # 0 (lenient) .. 3 (strict about what counts as speech)
    pre_roll_ms: int = 300  # audio kept from before the onset so the first syllable is not clipped
    hangover_ms: int = 500  # silence needed before an utterance is considered finished
    start_window_ms: int = 300  # onset needs `start_ratio` voiced frames within this window
    start_ratio: float = 0.6
    tail_ms: int = 200  # audio decoded after the last voiced frame (soft consonants)

    def __post_init__(self) -> None:
        if self.frame_ms not in (10, 20, 30):
            raise UserError(f"VAD frame must be 10, 20 or 30 ms, not {self.frame_ms}")
        if self.aggressiveness not in (0, 1, 2, 3):
            raise UserError(f"VAD aggressiveness must be 0-3, not {self.aggressiveness}")
        for name in ("pre_roll_ms", "hangover_ms", "start_window_ms", "tail_ms"):
            if getattr(self, name) < 0:
                raise UserError(f"VAD {name} must not be negative")
        if self.hangover_ms < self.frame_ms:
            raise UserError("VAD hangover must be at least one frame")
        if not 0 < self.start_ratio <= 1:
            raise UserError("VAD start ratio must be in (0, 1]")


COMMIT_MODES = ("agreement", "pauses")
MAX_VOCABULARY_CHARS = 300


@dataclass(frozen=True)
class StreamingOptions:
    step_s: float = 0.5  # minimum audio between two decodes of the current utterance
    max_step_s: float = 5.0  # the adaptive step never grows past this
    max_utterance_s: float = 20.0  # longer utterances are cut at a committed word boundary
    ring_seconds: float = 60.0  # capture buffer; beyond it the oldest audio is dropped (reported)
    prompt_chars: int = 200  # recently committed text given to the model as its prompt
    beam_size: int = 1
    language: str | None = None
    min_word_probability: float = 0.0
    reconnect_s: float = 30.0  # after losing the input device, how long to try to get it (or the default) back
    # For backends with a fixed input window (Whisper's 30 s): decodes encode the utterance plus this
    # much padding instead of the full window (None: full window always); a final decode whose
    # short-window hypothesis is rejected is redone on the full window. Backends without one ignore
    # it. Measured in docs/benchmarks.md.
    encoder_padding_s: float | None = None
    # After this much silence inside an utterance (less than the VAD's hangover, which ends it), the
    # words before the pause are committed at once instead of when the utterance ends; 0 waits for
    # the end. A pause is a safe point: the words before it are complete. Measured in docs/benchmarks.md.
    pause_commit_ms: int = 250
    # What commits words inside an utterance: "agreement" (two successive partial decodes agree:
    # sooner, but which partial decodes exist depends on when the worker is free, so the text
    # depends a little on the machine's load) or "pauses" (only pauses and ends the VAD heard, and
    # cuts at max_utterance_s: the text depends on the audio alone; partials are tentative only).
    # Measured in docs/benchmarks.md.
    commit: str = "agreement"
    task: str = "transcribe"  # or "translate": captions in English, the spoken language still recorded
    # Names and terms that prime the decoder ("Dana, Kubernetes, OKR"), given before the recently
    # committed text in every decode's prompt; a hypothesis made only of them is not believed
    # unless the model is sure (Whisper echoes its prompt on silence).
    vocabulary: str | None = None

    def __post_init__(self) -> None:
        if not 0 < self.step_s <= self.max_step_s:
            raise UserError("streaming step must be positive and at most max_step_s")
        if not 2.0 <= self.max_utterance_s <= 28.0:
            raise UserError("max utterance must be between 2 and 28 s (Whisper sees 30 s at most)")
        if self.ring_seconds < self.max_utterance_s:
            raise UserError("the ring buffer must hold at least one maximal utterance")
        if self.beam_size < 1:
            raise UserError("beam size must be at least 1")
        if self.task not in ("transcribe", "translate"):
            raise UserError(f"task must be transcribe or translate, not '{self.task}'")
        if self.vocabulary is not None and len(self.vocabulary) > MAX_VOCABULARY_CHARS:
            raise UserError(f"the vocabulary prompt is {len(self.vocabulary)} characters; at most "
                            f"{MAX_VOCABULARY_CHARS} fit in the model's prompt")
        if self.commit not in COMMIT_MODES:
            raise UserError(f"commit must be one of {', '.join(COMMIT_MODES)}, not '{self.commit}'")
        if self.pause_commit_ms < 0:
            raise UserError("pause commit must be 0 (off) or a positive number of milliseconds")
        if self.encoder_padding_s is not None and not 0 <= self.encoder_padding_s <= 30:
            raise UserError("encoder padding must be between 0 and 30 s")
