"""Batched file transcription: speech cut at pauses into windows of at most 30 s, decoded together.

Sequential transcription decodes one window at a time, each starting where the previous one's
last timestamp fell and primed with its text, so nothing can run in parallel. Here the VAD cuts
the recording at pauses into independent windows of at most ``batch_window_s`` (the
``batch_size_s`` idea of batched Whisper pipelines), the encoder runs on a batch of them at once
and the greedy decoder steps every window of the batch together. How many windows go in one
batch follows the free memory. A window whose hypothesis fails Whisper's checks (a loop, too
unsure) is redone alone with the sequential path's temperature fallback.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from livecaption.asr.types import Segment
from livecaption.asr.whisper.segments import monotonic_segments
from livecaption.asr.whisper.settings import WhisperOptions
from livecaption.asr.device import is_out_of_memory
from livecaption.asr.gpu_memory import release_memory
from livecaption.asr.whisper.runtime import HOP_LENGTH, N_FRAMES, SAMPLE_RATE
from livecaption.audio.vad import SpeechEnd, SpeechStart, VadGate
from livecaption.streaming.options import VadOptions
from livecaption.sysinfo import available_memory_bytes

log = logging.getLogger("livecaption")

MAX_WINDOW_S = 30.0
MAX_BATCH = 16
# Activations one window of a batch needs while encoding, per encoder width unit at 4 bytes an
# element (measured on tiny.en fp32 on the CPU, d_model 384: ~60 MB, mostly the encoder's 1500x1500
# attention). Half-precision elements take half that.
BYTES_PER_WINDOW_PER_DIM = 160 * 1024
ENCODER_POSITIONS = 1500


def window_bytes(config: dict, element_size: int) -> int:
    """Memory one more window of a batch takes: encoder activations, its encoder states, and the
    cross-attention keys and values every decoder layer keeps for it (which grow with the model's
    depth: 240 MB a window for large-v3 in fp16, where tiny.en needs 18 MB in fp32)."""
    d_model = int(config["d_model"])
    activations = BYTES_PER_WINDOW_PER_DIM * d_model * element_size // 4
    states = ENCODER_POSITIONS * d_model * element_size
    cross = 2 * int(config.get("decoder_layers", 4)) * ENCODER_POSITIONS * d_model * element_size
    return activations + states + cross


def speech_windows(audio: np.ndarray, max_window_s: float = MAX_WINDOW_S) -> list[tuple[int, int]]:
    """(start, end) sample ranges covering the speech, cut at pauses, each at most ``max_window_s``."""
    gate = VadGate(VadOptions(aggressiveness=2, hangover_ms=300))
    regions, start = [], None
    for event in gate.process(0, audio) + ([gate.flush()] if gate.in_speech else []):
        if isinstance(event, SpeechStart):
            start = event.index
        elif isinstance(event, SpeechEnd) and start is not None:
            regions.append((start, min(len(audio), event.index + SAMPLE_RATE // 5)))
            start = None
    limit = int(max_window_s * SAMPLE_RATE)
    windows: list[tuple[int, int]] = []
    for begin, end in regions:
        while end - begin > limit:  # one breath longer than a window: cut it hard
            windows.append((begin, begin + limit))
            begin += limit
        if windows and end - windows[-1][0] <= limit:
            windows[-1] = (windows[-1][0], end)  # the pause and this region still fit the window
        else:
            windows.append((begin, end))
    return windows


def batch_size_for(runtime) -> int:
    """Windows per batch from the memory free on the model's device (a first guess: a batch that
    still does not fit is halved, see ``transcribe_batched``)."""
    element_size = torch.empty((), dtype=runtime.dtype, device="cpu").element_size()
    per_window = window_bytes(runtime.config, element_size)
    if runtime.choice.is_cuda and torch.cuda.is_available():
        free, _ = torch.cuda.mem_get_info(torch.device(runtime.choice.device))
    else:
        free = available_memory_bytes() or per_window
    return max(1, min(MAX_BATCH, int(free * 0.5) // per_window))


def _encode_and_decode(recognizer, audio: np.ndarray, group, options: WhisperOptions, language):
    """Encoder states of ``group``'s windows, the language, the start sequence and the batched
    greedy results (None per window for beam search)."""
    runtime = recognizer.runtime
    mels = []
    for begin, end in group:
        mel = runtime.log_mel(audio[begin:end])[:, :N_FRAMES]
        mels.append(torch.nn.functional.pad(mel, (0, N_FRAMES - mel.shape[1])))
    states = runtime.encode_batch(torch.stack(mels))
    if language is None:
        language, _ = recognizer.decoder.detect_language(states[:1])
    sot = recognizer.sot_sequence(language, options)
    request = recognizer.decode_request(states, sot, (), 0.0, options)
    results = recognizer.decoder.decode_batch(states, request) if options.beam_size == 1 else [None] * len(group)
    return states, language, sot, results


def _batch_that_fits(recognizer, audio, group, options, language):
    """``_encode_and_decode`` of ``group``, or None when the device ran out of memory for it."""
    try:
        return _encode_and_decode(recognizer, audio, group, options, language)
    except RuntimeError as exc:  # torch.cuda.OutOfMemoryError, or an allocation failure in cuBLAS
        if len(group) == 1 or not (recognizer.runtime.choice.is_cuda and is_out_of_memory(exc)):
            raise  # one window that does not fit: the recognizer's own fallback decides
    return None


def transcribe_batched(recognizer, audio: np.ndarray, options: WhisperOptions, batch_size: int | None = None
                       ) -> tuple[list[Segment], str]:
    """Segments of ``audio`` and its language, decoded as batches of speech windows."""
    runtime = recognizer.runtime
    queue = speech_windows(audio)
    size = batch_size or batch_size_for(runtime)
    language = options.language or ("en" if not runtime.tokens.languages else None)
    found: list[Segment] = []
    log.info("batched: %d windows, %d per batch", len(queue), size)
    while queue:
        group = queue[:size]
        done = _batch_that_fits(recognizer, audio, group, options, language)
        if done is None:
            # Too big a batch for the memory free now: half as many windows, same device. Past the
            # except block, so the failed batch's tensors are gone and their memory can go back.
            release_memory()
            size = max(1, len(group) // 2)
            log.warning("batched: out of GPU memory; %d windows per batch from now on", size)
            continue
        queue = queue[size:]
        states, language, sot, results = done
        sizes = [(end - begin) // HOP_LENGTH for begin, end in group]
        for row, ((begin, end), frames) in enumerate(zip(group, sizes)):
            window_states = states[row : row + 1]
            result = results[row]
            if result is None or recognizer.needs_fallback(result, options) or result.non_finite:
                # Beam search, or a window that failed the checks: the sequential path, alone.
                result = recognizer.decode_with_fallback(window_states, sot, [], options)
            if recognizer.is_silence(result, options):
                continue
            pieces, advance = recognizer.split_segments(result.tokens, frames)
            found.extend(recognizer.finish_segments(pieces, result, begin / SAMPLE_RATE, window_states, sot, frames,
                                                     language, options))
            rest = begin + advance * HOP_LENGTH
            if end - rest >= SAMPLE_RATE // 2:  # an unfinished last segment: decoded again from its start
                queue.append((rest, end))
    found.sort(key=lambda seg: seg.start)
    return monotonic_segments(found, 0.0, len(audio) / SAMPLE_RATE), language or "en"
