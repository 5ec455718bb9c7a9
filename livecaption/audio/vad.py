"""Voice activity gate on webrtcvad: decides which audio is an utterance and which is never decoded.

An utterance opens when enough frames in a short window are voiced (so a click does not open
one) and starts ``pre_roll_ms`` before the first of them, so the first syllable is kept. It
closes only after ``hangover_ms`` of continuous non-speech; its end is the end of the last
voiced frame. Positions are absolute sample indexes of the 16 kHz stream.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from livecaption.streaming.options import VadOptions

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class SpeechStart:
    index: int  # first sample of the utterance, pre-roll included


@dataclass(frozen=True)
class SpeechEnd:
    index: int  # one past the last sample of the last voiced frame


@dataclass(frozen=True)
class SpeechPause:
    """Inside an utterance, ``pause_ms`` of silence (less than the hangover, which would end it)."""

    index: int  # where the pause began: one past the last voiced frame before it


def load_webrtcvad(aggressiveness: int):
    try:
        import webrtcvad
    except ImportError as exc:  # pragma: no cover - a dependency, but say what to install
        from livecaption.errors import UserError

        raise UserError(f"the VAD needs webrtcvad ({exc}): pip install webrtcvad-wheels") from None
    return webrtcvad.Vad(aggressiveness)


class VadGate:
    def __init__(self, options: VadOptions = VadOptions(), vad=None):
        self.options = options
        self.vad = vad if vad is not None else load_webrtcvad(options.aggressiveness)
        self.frame = SAMPLE_RATE * options.frame_ms // 1000
        self._window = deque(maxlen=max(1, options.start_window_ms // options.frame_ms))
        self._hangover_frames = max(1, options.hangover_ms // options.frame_ms)
        self._pending = np.zeros(0, dtype=np.float32)
        self._pending_start = 0  # absolute index of _pending[0]
        self.in_speech = False
        self._silent_run = 0
        self._last_voiced_end = 0
        # Silence inside an utterance that is reported as a SpeechPause (0: never). An event, not
        # only the ``pause`` property: whoever reads it late (a busy decoder) still learns of
        # every pause, in order, at the sample where it began.
        self.pause_ms = 0

    def reset(self, next_index: int) -> None:
        """Forget partial frames and state (after a gap in the stream). An utterance open before the gap
        is over (its owner closes it at the gap), so speech after it starts a new one."""
        self._pending = np.zeros(0, dtype=np.float32)
        self._pending_start = next_index
        self._window.clear()
        self._silent_run = 0
        self.in_speech = False

    def is_speech(self, frame: np.ndarray) -> bool:
        pcm = (np.clip(frame, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        return bool(self.vad.is_speech(pcm, SAMPLE_RATE))

    def process(self, start_index: int, samples: np.ndarray) -> list[SpeechStart | SpeechEnd | SpeechPause]:
        """Feed contiguous samples beginning at ``start_index``; returns onset/offset events."""
        if start_index != self._pending_start + len(self._pending):
            self.reset(start_index)
        self._pending = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32)])
        events: list[SpeechStart | SpeechEnd | SpeechPause] = []
        offset = 0
        while len(self._pending) - offset >= self.frame:
            frame_start = self._pending_start + offset
            voiced = self.is_speech(self._pending[offset : offset + self.frame])
            offset += self.frame
            event = self._step(frame_start, voiced)
            if event is not None:
                events.append(event)
        self._pending = self._pending[offset:]
        self._pending_start += offset
        return events

    def _step(self, frame_start: int, voiced: bool) -> SpeechStart | SpeechEnd | SpeechPause | None:
        frame_end = frame_start + self.frame
        if not self.in_speech:
            self._window.append((frame_start, voiced))
            voiced_count = sum(1 for _, v in self._window if v)
            if voiced and voiced_count >= self.options.start_ratio * self._window.maxlen:
                first_voiced = next(start for start, v in self._window if v)
                self.in_speech, self._silent_run, self._last_voiced_end = True, 0, frame_end
                self._window.clear()
                pre_roll = SAMPLE_RATE * self.options.pre_roll_ms // 1000
                return SpeechStart(max(0, first_voiced - pre_roll))
            return None
        if voiced:
            self._silent_run, self._last_voiced_end = 0, frame_end
            return None
        self._silent_run += 1
        if self._silent_run >= self._hangover_frames:
            self.in_speech = False
            return SpeechEnd(self._last_voiced_end)
        if self.pause_ms and self._silent_run == -(-self.pause_ms // self.options.frame_ms):
            return SpeechPause(self._last_voiced_end)
        return None

    @property
    def pause(self) -> tuple[int, float] | None:
        """Inside an utterance, the silence it currently ends with: (its first sample, its seconds);
        None outside speech or while voiced."""
        if not self.in_speech or self._silent_run == 0:
            return None
        return self._last_voiced_end, self._silent_run * self.frame / SAMPLE_RATE

    def flush(self) -> SpeechEnd | None:
        """End of stream: close an open utterance at its last voiced frame."""
        if self.in_speech:
            self.in_speech = False
            return SpeechEnd(self._last_voiced_end)
        return None
