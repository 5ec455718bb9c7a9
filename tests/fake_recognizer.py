"""A scripted recognizer: the Recognizer protocol without a model, for tests of the streaming core
that need to know exactly what "the model" heard.

It is given the whole recording and a script of words with absolute times. Each decode is handed
a slice of that recording; the fake finds where the slice begins (by the bits of its first two
samples) and answers with the script's words that lie wholly inside the slice, in slice time: a
perfect model. ``answer`` can override that per call to play a bad one (a loop, a phantom phrase).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from livecaption.asr.device import DeviceChoice
from livecaption.asr.types import Segment, TranscribeOptions, Transcription, Word

SAMPLE_RATE = 16_000


@dataclass
class Call:
    start: float  # absolute seconds where the decoded slice begins
    end: float
    options: TranscribeOptions
    final: bool = False


@dataclass
class SingleAttempt:
    """A policy with one attempt per decode and no guards of its own (unless given some)."""

    reject: dict = field(default_factory=dict)  # text -> reason

    def attempts(self, audio_seconds, request, final):
        return [request]

    def retry(self, reason, attempt):
        return False

    def rejection_reason(self, result):
        return self.reject.get(result.text.strip())


class ScriptedRecognizer:
    model_name = "scripted"
    family = "scripted"

    def __init__(self, audio: np.ndarray, script: list[tuple[str, float, float]], policy=None, answer=None):
        # Dither makes every stretch of the recording unique, so a slice's start can be found.
        rng = np.random.default_rng(0)
        self.audio = (audio + rng.normal(0, 1e-4, len(audio))).astype(np.float32)
        self.script = script
        self.policy = policy or SingleAttempt()
        self.answer = answer  # optional (call) -> str | None: replace the perfect answer
        self.calls: list[Call] = []
        keys = _pair_keys(self.audio)
        self._order = np.argsort(keys, kind="stable")
        self._sorted = keys[self._order]
        self.choice = DeviceChoice("cpu", "fp32")

    # -- the Recognizer protocol --------------------------------------------------------------

    def describe_device(self) -> str:
        return self.choice.describe()

    def languages(self):
        return []

    def check_options(self, options) -> None:
        pass

    def streaming_policy(self, options):
        return self.policy

    def begin_decode(self) -> None:
        pass

    def memory_stats(self) -> dict:
        return {}

    def transcribe(self, audio: np.ndarray, options: TranscribeOptions) -> Transcription:
        start = self._locate(audio) / SAMPLE_RATE
        end = start + len(audio) / SAMPLE_RATE
        call = Call(start, end, options)
        self.calls.append(call)
        text = self.answer(call) if self.answer else None
        if text is not None:  # a scripted bad answer: words spread over the slice
            spoken = text.split()
            step = (end - start) / max(1, len(spoken))
            words = [(f" {w}", start + i * step, start + (i + 1) * step) for i, w in enumerate(spoken)]
        else:
            words = [(f" {w}", s, e) for w, s, e in self.script if s >= start - 1e-6 and e <= end + 1e-6]
        timed = tuple(Word(s - start, e - start, w, 0.9) for w, s, e in words)
        joined = "".join(w for w, _, _ in words)
        segments = (Segment(timed[0].start, timed[-1].end, joined, timed),) if timed else ()
        return Transcription(joined.strip(), "en", segments, end - start, "scripted", "cpu", "fp32",
                             options=dataclasses.asdict(options))

    def _locate(self, audio: np.ndarray) -> int:
        key = _pair_keys(np.asarray(audio[:2], dtype=np.float32))[0]
        at = int(np.searchsorted(self._sorted, key))
        assert at < len(self._sorted) and self._sorted[at] == key, "a slice that is not part of the recording"
        return int(self._order[at])


def _pair_keys(audio: np.ndarray) -> np.ndarray:
    """Each position's two samples (float32 bits) as one int64: with dither, unique per position."""
    pairs = np.lib.stride_tricks.sliding_window_view(np.ascontiguousarray(audio, dtype=np.float32), 2)
    return np.ascontiguousarray(pairs).view(np.int64).ravel()


class FailingRecognizer:
    """The real recognizer, except that the decodes numbered in ``fail_on`` raise (as the agreement's
    IndexError once did mid-reading)."""

    def __init__(self, recognizer, fail_on: set[int]):
        self._recognizer, self.fail_on, self.calls = recognizer, fail_on, 0

    def __getattr__(self, name):
        return getattr(self._recognizer, name)

    def transcribe(self, audio, options=None):
        self.calls += 1
        if self.calls in self.fail_on:
            raise IndexError("list index out of range")
        return self._recognizer.transcribe(audio, options)
