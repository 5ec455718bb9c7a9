"""The CTC recognizer (wav2vec2, HuBERT): audio of any length in, a typed ``Transcription`` out.

Decoding is greedy and per frame, so there are no decode settings to speak of: ``beam_size`` and
``prompt`` are ignored (the streaming core sends a prompt to every backend), ``batched`` too (long
audio is always cut into chunks). Audio up to ``chunk_s + 2 * context_s`` is one forward pass;
longer audio is cut into ``chunk_s`` chunks, each read with ``context_s`` of audio either side so
the frames kept (the chunk's own) never sit at an edge the model could not see past. Each kept
frame is placed by its index on the whole recording's 20 ms grid, so chunking never shifts a time.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from livecaption.asr.ctc.decode import SEGMENT_GAP_S, build_segments, frames_to_words, greedy_frames
from livecaption.asr.ctc.files import check_folder
from livecaption.asr.ctc.runtime import SAMPLE_RATE, CtcRuntime
from livecaption.asr.gpu_memory import release_memory
from livecaption.asr.ctc.streaming import CtcStreamingPolicy
from livecaption.asr.device import DeviceChoice, resolve_device
from livecaption.asr.start_check_cache import checked_once
from livecaption.asr.precision_monitor import (PrecisionFailure, PrecisionMonitor, check_clip_path, start_check_reason,
                                               with_fallbacks)
from livecaption.asr.types import TranscribeOptions, Transcription
from livecaption.errors import UserError

log = logging.getLogger("livecaption")

UNDETERMINED = "und"  # ISO 639-2 for a language nobody stated (a CTC config rarely does)


@dataclass(frozen=True)
class CtcTuning:
    """CTC's own settings, attached as ``TranscribeOptions.tuning`` by a caller that wants more than
    the defaults. 30 s chunks: attention cost grows with the square of the length."""

    chunk_s: float = 30.0
    context_s: float = 2.0
    segment_gap_s: float = SEGMENT_GAP_S

    def __post_init__(self) -> None:
        if not 1.0 <= self.chunk_s <= 120.0:
            raise UserError("CTC chunk must be between 1 and 120 s")
        if not 0.0 <= self.context_s <= self.chunk_s:
            raise UserError("CTC chunk context must be between 0 s and the chunk's length")
        if self.segment_gap_s <= 0:
            raise UserError("CTC segment gap must be positive")


@dataclass
class _Frames:
    """Greedy labels of the whole recording, one entry per frame on the model's grid."""

    ids: list[np.ndarray] = dataclasses.field(default_factory=list)
    probs: list[np.ndarray] = dataclasses.field(default_factory=list)
    logprobs: list[np.ndarray] = dataclasses.field(default_factory=list)
    count: int = 0

    def add(self, ids, probs, logprobs) -> None:
        self.ids.append(ids)
        self.probs.append(probs)
        self.logprobs.append(logprobs)
        self.count += len(ids)

    def pad_to(self, frame: int, blank: int) -> None:
        """Blank frames up to ``frame`` (never needed with real context; keeps indices equal to time)."""
        if frame > self.count:
            missing = frame - self.count
            self.add(np.full(missing, blank), np.ones(missing), np.zeros(missing))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.ids:
            return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
        return np.concatenate(self.ids), np.concatenate(self.probs), np.concatenate(self.logprobs)


class CtcRecognizer:
    """A wav2vec2 or HuBERT CTC model through transformers, on the device and precision decided by
    ``resolve_device``, watched by the same precision monitor as Whisper."""

    family = "ctc"

    def __init__(
        self,
        model: str,
        device: str = "auto",
        precision: str = "auto",
        progress: Callable | None = None,  # nothing to convert: accepted for the factory's signature
        verify_precision: bool = True,
    ):
        choice = resolve_device(device, precision)
        self.folder = check_folder(model)
        self.runtime = CtcRuntime(self.folder, choice)
        self.model_name = model
        self.monitor = PrecisionMonitor()
        if verify_precision:
            self.verify_precision()

    # -- the Recognizer protocol (livecaption.asr.types) ----------------------------------

    @property
    def choice(self) -> DeviceChoice:
        return self.runtime.choice

    def describe_device(self) -> str:
        return self.choice.describe()

    def languages(self) -> Sequence[str]:
        # A CTC model reads one language (its vocabulary's); a list only when its config names it, so
        # that pickers offer nothing to choose for an unnamed single-language model.
        return list(self.folder.languages)

    def streaming_policy(self, options) -> CtcStreamingPolicy:
        return CtcStreamingPolicy()

    def begin_decode(self) -> None:
        self.runtime.begin_decode()

    def memory_stats(self) -> dict[str, int]:
        return self.runtime.memory_stats()

    def check_options(self, options: TranscribeOptions) -> None:
        """Refuse, before any audio, what a CTC model cannot do."""
        if options.task == "translate":
            raise UserError(f"model '{self.model_name}' is a CTC speech recognizer; it transcribes in its own "
                            "language and cannot translate (use a multilingual Whisper model)")
        known = self.folder.languages
        if options.language is not None and known and options.language not in known:
            raise UserError(f"model '{self.model_name}' transcribes {', '.join(known)} only; it cannot transcribe "
                            f"'{options.language}'")
        if options.tuning is not None and not isinstance(options.tuning, CtcTuning):
            raise UserError(f"a CTC model cannot use {type(options.tuning).__name__} settings")

    def transcribe(
        self,
        audio: np.ndarray,
        options: TranscribeOptions = TranscribeOptions(),
        on_progress: Callable[[float, float], None] | None = None,
    ) -> Transcription:
        return with_fallbacks(lambda: self._transcribe(audio, options, on_progress), self.runtime, self.monitor)

    def verify_precision(self) -> str | None:
        """The start check of a reduced precision against fp32 on a real clip (see ``precision_monitor``);
        falls back to fp32 (and returns why) when it fails."""
        if self.choice.precision == "fp32":
            return None
        return checked_once(self.folder.path, self.choice.precision, self.choice.device,
                            self._start_check, self.runtime.switch_to_fp32)

    def _start_check(self) -> str | None:
        from livecaption.audio.decode import decode_audio

        clip = decode_audio(check_clip_path())
        reduced_text, reduced_non_finite = self._check_decode(self.runtime, clip)
        reference = CtcRuntime(self.folder, dataclasses.replace(self.choice, precision="fp32", fallback=None))
        reference_text, _ = self._check_decode(reference, clip)
        del reference
        reason = start_check_reason(reduced_text, reduced_non_finite, reference_text)
        if reason is not None:
            self.runtime.switch_to_fp32(reason)
        release_memory()  # the fp32 copy used for the comparison
        # Both models shared the device during the check: peaks from here on are this model's alone.
        self.runtime.reset_peaks()
        return reason

    @staticmethod
    def _check_decode(runtime: CtcRuntime, clip: np.ndarray) -> tuple[str, bool]:
        ids, probs, _, non_finite = greedy_frames(runtime.logits(clip))
        text = "".join(" " + w.text if w.spaced else w.text for w in frames_to_words(ids, probs, runtime.vocab))
        return text.strip(), non_finite

    # -- decoding -----------------------------------------------------------------------

    def _transcribe(self, audio: np.ndarray, options: TranscribeOptions, on_progress) -> Transcription:
        self.check_options(options)
        tuning = options.tuning or CtcTuning()
        runtime = self.runtime
        duration = len(audio) / SAMPLE_RATE
        ids, probs, logprobs = self._frames(audio, tuning, on_progress)
        segments = []
        if len(ids):
            pause_frames = round(tuning.segment_gap_s / runtime.stride_s)
            words = frames_to_words(ids, probs, runtime.vocab, pause_frames)
            segments = build_segments(words, logprobs, runtime.stride_s, duration, tuning.segment_gap_s)
        language = self.folder.languages[0] if len(self.folder.languages) == 1 else options.language
        return Transcription(
            text="".join(seg.text for seg in segments).strip(),
            language=language or UNDETERMINED,
            segments=tuple(segments),
            duration=duration,
            model=self.model_name,
            device=self.choice.device,
            precision=self.choice.precision,
            fallback=self.choice.fallback,
            options=dataclasses.asdict(options),
        )

    def _frames(self, audio: np.ndarray, tuning: CtcTuning, on_progress) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Greedy labels for every frame of ``audio``, chunk by chunk; watched by the precision monitor."""
        runtime = self.runtime
        stride = runtime.stride
        # Chunk edges on the frame grid, so a chunk's frame j is frame first + j of the whole recording.
        chunk = max(1, round(tuning.chunk_s * SAMPLE_RATE / stride)) * stride
        context = round(tuning.context_s * SAMPLE_RATE / stride) * stride
        total = len(audio)
        if total <= chunk + 2 * context:
            chunk = max(total, 1)  # one pass: short audio needs no seams
        frames = _Frames()
        for core in range(0, total, chunk):
            begin, end = max(0, core - context), min(total, core + chunk + context)
            if end - begin < runtime.receptive_field:
                continue  # shorter than one frame's worth of audio: nothing to read
            ids, probs, logprobs, non_finite = greedy_frames(runtime.logits(audio[begin:end]))
            if self.choice.precision != "fp32":
                # CTC has no decoder to loop: only non-finite output counts against the precision.
                reason = self.monitor.verdict(non_finite, looped=False)
                if reason is not None:
                    raise PrecisionFailure(reason)
            first, keep_from = begin // stride, core // stride
            keep_to = (core + chunk) // stride if core + chunk < total else first + len(ids)
            frames.pad_to(keep_from, runtime.vocab.blank)
            frames.add(*(a[keep_from - first : keep_to - first] for a in (ids, probs, logprobs)))
            if on_progress:
                on_progress(min(core + chunk, total) / SAMPLE_RATE, total / SAMPLE_RATE)
        return frames.arrays()
