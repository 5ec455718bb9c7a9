"""The Whisper recognizer: audio of any length in, a typed ``Transcription`` out.

Long audio is decoded in 30 s windows. Each window ends either on the last timestamp the model
emitted (the next window starts exactly there) or at its full length, so segment times grow
monotonically across windows. Features follow CTranslate2/faster-whisper: the log-mel of the
whole recording is computed once and each window is zero-padded in the mel domain.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Callable, Sequence

import numpy as np
import torch

from livecaption.asr.whisper.alignment import WordAligner
from livecaption.asr.whisper.decoding import MAX_SAMPLE_TOKENS, is_greedy_loop, WindowDecodeRequest, WindowDecodeResult, WindowDecoder
from livecaption.asr.device import DeviceChoice, resolve_device
from livecaption.asr.whisper.models import DEFAULT_MODEL, ProgressCallback, resolve_model
from livecaption.asr.types import Segment, TranscribeOptions, Transcription, Word
from livecaption.asr.whisper.segments import WindowSegment, monotonic_segments
from livecaption.asr.whisper.settings import WhisperOptions
from livecaption.asr.whisper.streaming import WhisperStreamingPolicy
from livecaption.streaming.options import StreamingOptions
from livecaption.asr.whisper.runtime import (
    FRAMES_PER_SECOND,
    HOP_LENGTH,
    INPUT_STRIDE,
    N_FRAMES,
    SAMPLE_RATE,
    WhisperRuntime,
)
from livecaption.asr.gpu_memory import release_memory
from livecaption.asr.start_check_cache import checked_once
from livecaption.asr.precision_monitor import (PrecisionFailure, PrecisionMonitor, check_clip_path, start_check_reason,
                                               with_fallbacks)
from livecaption.audio.decode import decode_audio
from livecaption.errors import UserError

log = logging.getLogger("livecaption")

SECONDS_PER_TIMESTAMP = 0.02
MAX_PROMPT_TOKENS = 223  # half the text context, less <|startofprev|>
SILENCE_PEAK = 10 ** (-60 / 20)  # -60 dBFS


class WhisperRecognizer:
    """Whisper through transformers, on the device and precision decided by ``resolve_device``."""

    family = "whisper"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        device: str = "auto",
        precision: str = "auto",
        progress: ProgressCallback | None = None,
        verify_precision: bool = True,
    ):
        choice = resolve_device(device, precision)
        self.runtime = WhisperRuntime(resolve_model(model, progress), choice)
        self.model_name = model
        self.decoder = WindowDecoder(self.runtime)
        self.aligner = WordAligner(self.runtime)
        self.monitor = PrecisionMonitor()
        if verify_precision:
            self.verify_precision()

    @property
    def choice(self) -> DeviceChoice:
        return self.runtime.choice

    def describe_device(self) -> str:
        return self.choice.describe()

    def languages(self) -> Sequence[str]:
        return list(self.runtime.tokens.languages)

    # -- public API ---------------------------------------------------------------------

    # -- the Recognizer protocol (livecaption.asr.types) ------------------------------------

    def streaming_policy(self, options: StreamingOptions) -> WhisperStreamingPolicy:
        return WhisperStreamingPolicy(encoder_padding_s=options.encoder_padding_s, vocabulary=options.vocabulary)

    def begin_decode(self) -> None:
        self.runtime.begin_decode()

    def memory_stats(self) -> dict[str, int]:
        return self.runtime.memory_stats()

    def check_options(self, options: WhisperOptions) -> None:
        """Refuse combinations this model cannot do, before any audio is processed."""
        langs = self.runtime.tokens.languages
        if not langs:
            if options.language not in (None, "en"):
                raise UserError(f"model '{self.model_name}' is English-only; it cannot transcribe '{options.language}'")
            if options.task == "translate":
                raise UserError(f"model '{self.model_name}' is English-only; translation needs a multilingual model")
        elif options.language is not None and options.language not in langs:
            raise UserError(f"unknown language '{options.language}'; this model knows: {', '.join(sorted(langs))}")

    def transcribe(
        self,
        audio: np.ndarray,
        options: TranscribeOptions = TranscribeOptions(),
        on_progress: Callable[[float, float], None] | None = None,
    ) -> Transcription:
        options = WhisperOptions.of(options)
        return with_fallbacks(lambda: self._transcribe(audio, options, on_progress), self.runtime, self.monitor)

    def verify_precision(self) -> str | None:
        """The start check of a reduced precision against fp32 on a real clip; falls back to fp32
        (and returns why) when it fails. See ``precision_monitor``; its verdict is remembered per
        model, precision, device and library versions (``start_check_cache``)."""
        if self.choice.precision == "fp32":
            return None
        return checked_once(self.runtime.resolved.path, self.choice.precision, self.choice.device,
                            self._start_check, self.runtime.switch_to_fp32)

    def _start_check(self) -> str | None:
        clip = decode_audio(check_clip_path())
        sot = self.sot_sequence("en", WhisperOptions(language="en"))
        reduced = self._check_decode(self.runtime, clip, sot)
        reference = self._check_decode(WhisperRuntime(self.runtime.resolved, dataclasses.replace(
            self.choice, precision="fp32", fallback=None)), clip, sot)
        reason = start_check_reason(reduced.text, reduced.non_finite, reference.text)
        if reason is not None:
            self.runtime.switch_to_fp32(reason)
        release_memory()  # the fp32 copy used for the comparison
        # Both models were on the device during the check: the peaks reported from here on are this
        # model's alone (otherwise every per-decode and session peak would count fp16 + fp32).
        self.runtime.reset_peaks()
        return reason

    def _check_decode(self, runtime: WhisperRuntime, audio: np.ndarray, sot: tuple[int, ...]) -> WindowDecodeResult:
        states = runtime.encode(runtime.log_mel(audio)[:, :N_FRAMES])
        request = self.decode_request(states, sot, (), 0.0, WhisperOptions(beam_size=1, max_new_tokens=64))
        return WindowDecoder(runtime).decode(states, request)

    # Inference mode, not just no_grad: no version counters or autograd metadata on any tensor
    # (measured 7% off a decoder step on the CPU). The encoder, the decoder step and WindowDecoder
    # enter it themselves; here it also covers features, word alignment and segment building.
    @torch.inference_mode()
    def _transcribe(self, audio, options, on_progress) -> Transcription:
        self.check_options(options)
        self.decoder.reseed(0)
        duration = len(audio) / SAMPLE_RATE
        content_frames = len(audio) // HOP_LENGTH
        if options.batched:
            from livecaption.asr.whisper.batched import transcribe_batched

            segments, language = transcribe_batched(self, audio, options, options.batch_size)
            return self._result(segments, language, duration, options)
        # Less than one frame of audio (or none) holds nothing to transcribe, and is too short for the STFT.
        mel = self.runtime.log_mel(audio, pad_samples=HOP_LENGTH) if content_frames else None
        language = options.language or (None if self.runtime.tokens.languages else "en")
        history: list[int] = self.runtime.encode_text(" " + options.prompt.strip()) if options.prompt else []
        segments: list[Segment] = []
        seek = 0
        probability = None  # of a detected language
        while seek < content_frames:
            size = min(N_FRAMES, content_frames - seek)
            if _is_digital_silence(audio[seek * HOP_LENGTH : (seek + size) * HOP_LENGTH]):
                seek += size  # Whisper invents "you" in pure silence; never decode it
                continue
            window = torch.nn.functional.pad(mel[:, seek : seek + size], (0, self._window_frames(size, options) - size))
            states = self.runtime.encode(window)
            if language is None:
                language, probabilities = self.decoder.detect_language(states)
                probability = probabilities.get(language)
                log.info("detected language: %s (p=%.2f)", language, probability or 0.0)
            sot = self.sot_sequence(language, options)
            result = self.decode_with_fallback(states, sot, history, options)
            offset = seek / FRAMES_PER_SECOND
            if self.is_silence(result, options):
                seek += size
                continue
            pieces, advance = self.split_segments(result.tokens, size)
            seek += advance
            window_segments = self.finish_segments(pieces, result, offset, states, sot, size, language, options)
            segments.extend(monotonic_segments(window_segments, segments[-1].end if segments else 0.0, duration))
            if options.condition_on_previous_text and result.temperature <= 0.5:
                history.extend(result.tokens)
            else:
                history = []
            if on_progress:
                on_progress(min(seek / FRAMES_PER_SECOND, duration), duration)
        return dataclasses.replace(self._result(segments, language, duration, options), language_probability=probability)

    def _result(self, segments, language, duration, options) -> Transcription:
        text = "".join(seg.text if seg.text.startswith(" ") else " " + seg.text for seg in segments).strip()
        return Transcription(
            text=text,
            language=language or "en",
            segments=tuple(segments),
            duration=duration,
            model=self.model_name,
            device=self.choice.device,
            precision=self.choice.precision,
            fallback=self.choice.fallback,
            options=dataclasses.asdict(options),
        )

    # -- steps --------------------------------------------------------------------------

    @staticmethod
    def _window_frames(size: int, options: WhisperOptions) -> int:
        """Mel frames the encoder sees for ``size`` frames of audio: 3000, or the audio plus padding."""
        if options.encoder_padding_s is None:
            return N_FRAMES
        frames = size + round(options.encoder_padding_s * FRAMES_PER_SECOND)
        return min(N_FRAMES, frames + frames % INPUT_STRIDE)

    def sot_sequence(self, language: str, options: WhisperOptions) -> tuple[int, ...]:
        tok = self.runtime.tokens
        sequence = [tok.sot]
        if tok.languages:
            sequence += [tok.languages[language], tok.translate if options.task == "translate" else tok.transcribe]
        if options.without_timestamps:
            sequence.append(tok.no_timestamps)
        return tuple(sequence)

    @staticmethod
    def decode_request(states, sot, prompt, temperature: float, options: WhisperOptions) -> WindowDecodeRequest:
        """What one decode of ``states`` at ``temperature`` asks for, from the user's options."""
        return WindowDecodeRequest(
            prompt_tokens=prompt,
            sot_sequence=sot,
            temperature=temperature,
            beam_size=options.beam_size,
            patience=options.patience,
            length_penalty=options.length_penalty,
            with_timestamps=not options.without_timestamps,
            max_initial_timestamp_index=round(options.max_initial_timestamp / SECONDS_PER_TIMESTAMP),
            suppress_blank=options.suppress_blank,
            max_new_tokens=options.max_new_tokens or MAX_SAMPLE_TOKENS,
            last_timestamp_index=states.shape[1] if states.shape[1] < N_FRAMES // INPUT_STRIDE else None,
        )

    def decode_with_fallback(self, states, sot, history, options) -> WindowDecodeResult:
        prompt = (self.runtime.tokens.sot_prev, *history[-MAX_PROMPT_TOKENS:]) if history else ()
        attempts: list[WindowDecodeResult] = []
        for temperature in options.temperatures:
            result = self.decoder.decode(states, self.decode_request(states, sot, prompt, temperature, options))
            if self.choice.precision != "fp32":
                reason = self.monitor.verdict(result.non_finite, looped=is_greedy_loop(result))
                if reason is not None:
                    raise PrecisionFailure(reason)
            if not self.needs_fallback(result, options):
                return result
            attempts.append(result)
            log.debug("window decode at temperature %.1f rejected; retrying hotter", temperature)
        # Every temperature failed a check: the likeliest attempt that is not a loop is the least bad.
        threshold = options.compression_ratio_threshold
        not_loops = [r for r in attempts if threshold is None or r.compression_ratio <= threshold]
        return max(not_loops or attempts, key=lambda r: r.avg_logprob)

    @staticmethod
    def needs_fallback(result: WindowDecodeResult, options: WhisperOptions) -> bool:
        too_repetitive = options.compression_ratio_threshold is not None and (
            result.compression_ratio > options.compression_ratio_threshold
        )
        too_unsure = options.log_prob_threshold is not None and result.avg_logprob < options.log_prob_threshold
        silent = options.no_speech_threshold is not None and result.no_speech_prob > options.no_speech_threshold
        return too_repetitive or (too_unsure and not silent)

    @staticmethod
    def is_silence(result: WindowDecodeResult, options: WhisperOptions) -> bool:
        if options.no_speech_threshold is None or result.no_speech_prob <= options.no_speech_threshold:
            return False
        return options.log_prob_threshold is None or result.avg_logprob < options.log_prob_threshold

    def split_segments(self, tokens: Sequence[int], size: int) -> tuple[list[WindowSegment], int]:
        """Cut a window's tokens at timestamp pairs; returns the pieces and how far to seek."""
        ts_begin = self.runtime.tokens.timestamp_begin
        stamp = [t >= ts_begin for t in tokens]
        ends_single = len(tokens) >= 2 and stamp[-1] and not stamp[-2]
        pairs = [i for i in range(1, len(tokens)) if stamp[i] and stamp[i - 1]]
        if not pairs:
            stamps = [t for t in tokens if t >= ts_begin]
            seconds = size / FRAMES_PER_SECOND
            if stamps and stamps[-1] != ts_begin:
                seconds = (stamps[-1] - ts_begin) * SECONDS_PER_TIMESTAMP
            return [WindowSegment(0.0, seconds, list(tokens))], size
        cuts = pairs + ([len(tokens)] if ends_single else [])
        pieces, last = [], 0
        for cut in cuts:
            piece = list(tokens[last:cut])
            pieces.append(WindowSegment(
                (piece[0] - ts_begin) * SECONDS_PER_TIMESTAMP, (piece[-1] - ts_begin) * SECONDS_PER_TIMESTAMP, piece
            ))
            last = cut
        if ends_single:
            return pieces, size
        return pieces, (tokens[last - 1] - ts_begin) * INPUT_STRIDE

    def finish_segments(self, pieces, result, offset, states, sot, size, language, options) -> list[Segment]:
        eot = self.runtime.tokens.eot
        texts = [[t for t in piece.tokens if t < eot] for piece in pieces]
        words: list[Word] = []
        if options.word_timestamps:
            words = self.aligner.align(states, list(sot), [t for ts in texts for t in ts], size, language)
        segments, word_index = [], 0
        for piece, text_tokens in zip(pieces, texts):
            text = self.runtime.decode_text(text_tokens)
            if not text.strip():
                continue
            start, end = offset + piece.start, offset + piece.end
            seg_words = []
            # Words are handed out by their non-space characters: word texts concatenate to the segment texts.
            remaining = _visible_length(text)
            while word_index < len(words) and remaining > 0:
                word = words[word_index]
                remaining -= _visible_length(word.text)
                seg_words.append(Word(offset + word.start, offset + word.end, word.text, word.probability))
                word_index += 1
            if seg_words:  # aligned word times are finer than the 30 s window's timestamp tokens
                start, end = seg_words[0].start, seg_words[-1].end
            segments.append(Segment(
                start=start,
                end=end,
                text=text,
                words=tuple(seg_words),
                scores={"avg_logprob": result.avg_logprob, "no_speech_prob": result.no_speech_prob,
                        "compression_ratio": result.compression_ratio, "temperature": result.temperature},
            ))
        return segments


def _is_digital_silence(samples: np.ndarray) -> bool:
    """True when nothing in ``samples`` rises above -60 dBFS: no speech can be in it."""
    return samples.size == 0 or float(np.max(np.abs(samples))) < SILENCE_PEAK


def _visible_length(text: str) -> int:
    return len("".join(text.split()))

