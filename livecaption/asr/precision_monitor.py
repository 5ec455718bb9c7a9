"""Is the reduced precision (fp16, bf16, int8) still telling the truth? Checked at start, watched after.

At start, a 5.5 s real clip (the opening of JFK's inaugural address, public domain, shipped in
``livecaption/assets``) is transcribed in the chosen precision and in fp32; the reduced one
fails if any logit is NaN/inf or its words differ from fp32's by more than START_MAX_WER.

At run time every window decode is watched. A NaN/inf logit is never legitimate: one is enough
to fall back. Loops (compression ratio above 2.4 at temperature 0) also happen in fp32 on hard
audio, so only a run of them counts: LOOP_LIMIT loops within the last LOOP_WINDOW decodes.
Falling back means fp32 on the same device, said in the device description that every result,
stats event and the window's status bar carry.
"""

from __future__ import annotations

from collections import deque
from importlib import resources
from typing import Callable, TypeVar

from livecaption.asr.device import is_out_of_memory

T = TypeVar("T")

START_MAX_WER = 0.25  # 1 word in 4: more than quantization noise, less than a broken model
LOOP_WINDOW = 20
LOOP_LIMIT = 5


def check_clip_path():
    return resources.files("livecaption") / "assets" / "precision_check.flac"


class PrecisionMonitor:
    def __init__(self) -> None:
        self._loops: deque[bool] = deque(maxlen=LOOP_WINDOW)
        self.non_finite = 0

    def reset(self) -> None:
        self._loops.clear()

    def verdict(self, non_finite: bool, looped: bool) -> str | None:
        """Record one decode (did its output hold NaN/inf; did it loop, as the backend tells it);
        returns why the precision should be abandoned, or None."""
        if non_finite:
            self.non_finite += 1
            return "NaN/inf in the model's output"
        self._loops.append(looped)
        if sum(self._loops) >= LOOP_LIMIT:
            return f"{sum(self._loops)} decoder loops in the last {len(self._loops)} decodes"
        return None


def start_check_reason(reduced_text: str, reduced_non_finite: bool, fp32_text: str) -> str | None:
    """Why the start check failed (None: the reduced precision agrees with fp32)."""
    from livecaption.metrics import wer

    if reduced_non_finite:
        return "NaN/inf in the model's output on the start check"
    if not fp32_text.strip():
        return None  # nothing to compare against
    difference = wer(fp32_text, reduced_text)
    if difference > START_MAX_WER:
        return f"start check: {100 * difference:.0f}% of words differ from fp32"
    return None


class PrecisionFailure(Exception):
    """The reduced precision misbehaved (the message says how); the recognizer falls back to fp32."""


def with_fallbacks(decode: Callable[[], T], runtime, monitor: PrecisionMonitor) -> T:
    """``decode()``, redone after each fallback a failure calls for, each at most once: NaN/inf or
    looping in a reduced precision -> fp32 on the same device; CUDA out of memory -> the CPU (rather
    than fail or drop the audio). ``runtime`` has ``choice``, ``switch_to_fp32`` and ``move_to_cpu``;
    its choice then reports why."""
    for _ in range(2):
        try:
            return decode()
        except PrecisionFailure as failure:
            fallback, reason = runtime.switch_to_fp32, str(failure)
        except RuntimeError as exc:  # torch.cuda.OutOfMemoryError, or cuBLAS/context OOMs
            if not (runtime.choice.is_cuda and is_out_of_memory(exc)):
                raise
            fallback, reason = runtime.move_to_cpu, "CUDA out of memory during decoding"
        # Here, past the except block, the exception and the frames of the failed decode (with its
        # GPU tensors) are gone: the fallback can give that memory back.
        fallback(reason)
        monitor.reset()
    return decode()
