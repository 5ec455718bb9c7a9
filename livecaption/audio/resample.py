"""Streaming resampling of captured blocks to 16 kHz (libswresample through PyAV), keeping state
across blocks so there are no clicks at block edges."""

from __future__ import annotations

import numpy as np

TARGET_RATE = 16_000


class StreamResampler:
    def __init__(self, source_rate: int):
        self.source_rate = source_rate
        self._resampler = None
        self.reset()

    def reset(self) -> None:
        """Forget filter state (after a gap in the input)."""
        if self.source_rate != TARGET_RATE:
            import av

            self._resampler = av.AudioResampler(format="flt", layout="mono", rate=TARGET_RATE)

    def process(self, samples: np.ndarray) -> np.ndarray:
        if self._resampler is None or len(samples) == 0:
            return np.asarray(samples, dtype=np.float32)
        import av

        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, dtype=np.float32)[None, :], format="flt", layout="mono")
        frame.sample_rate = self.source_rate
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        return np.concatenate(out).astype(np.float32) if out else np.zeros(0, dtype=np.float32)
