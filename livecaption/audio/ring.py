"""A bounded single-writer / single-reader audio ring buffer with an explicit drop policy.

The capture side (an audio callback) must never block, so when the buffer is full the oldest
unread audio is dropped to make room. Every dropped sample is counted, and because samples are
addressed by their absolute index since the stream began, the reader knows exactly where a gap
is and how long it was. Memory is fixed at construction: it never grows.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Chunk:
    start_index: int  # absolute sample index of samples[0] since the stream began
    samples: np.ndarray
    dropped_before: int  # samples lost between the previous read and this chunk


class RingBuffer:
    def __init__(self, capacity_seconds: float, sample_rate: int):
        if capacity_seconds <= 0:
            raise ValueError("ring buffer capacity must be positive")
        self.sample_rate = sample_rate
        self.capacity = int(round(capacity_seconds * sample_rate))
        self._data = np.zeros(self.capacity, dtype=np.float32)
        self._written = 0  # absolute index one past the newest sample
        self._read = 0  # absolute index of the oldest unread sample
        self._dropped_total = 0
        self._dropped_pending = 0  # dropped since the last read, reported with the next chunk
        self._closed = False
        self._cond = threading.Condition()

    # -- writer side ----------------------------------------------------------------------

    def write(self, samples: np.ndarray) -> int:
        """Append samples; returns how many unread samples were dropped to make room."""
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        with self._cond:
            n = len(samples)
            if n > self.capacity:  # only the newest `capacity` samples can be kept at all
                self._written += n - self.capacity
                samples = samples[n - self.capacity :]
                n = self.capacity
            pos = self._written % self.capacity
            first = min(n, self.capacity - pos)
            self._data[pos : pos + first] = samples[:first]
            self._data[: n - first] = samples[first:]
            self._written += n
            overrun = max(0, self._written - self._read - self.capacity)
            self._read += overrun  # drop policy: the oldest unread audio goes
            self._dropped_total += overrun
            self._dropped_pending += overrun
            self._cond.notify_all()
            return overrun

    def close(self) -> None:
        """No more audio will come; wakes a waiting reader."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # -- reader side ----------------------------------------------------------------------

    @property
    def available(self) -> int:
        with self._cond:
            return self._written - self._read

    @property
    def closed(self) -> bool:
        with self._cond:
            return self._closed

    @property
    def dropped_seconds(self) -> float:
        with self._cond:
            return self._dropped_total / self.sample_rate

    @property
    def written_index(self) -> int:
        with self._cond:
            return self._written

    def wait(self, min_samples: int, timeout: float | None) -> bool:
        """Block until ``min_samples`` are unread or the buffer is closed; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._closed or self._written - self._read >= min_samples, timeout)

    def read(self, max_samples: int | None = None) -> Chunk:
        """Take the oldest unread samples (all of them, or at most ``max_samples``)."""
        with self._cond:
            available = self._written - self._read
            n = available if max_samples is None else min(available, max_samples)
            start = self._read
            pos = start % self.capacity
            first = min(n, self.capacity - pos)
            out = np.concatenate([self._data[pos : pos + first], self._data[: n - first]])
            self._read += n
            dropped, self._dropped_pending = self._dropped_pending, 0
            return Chunk(start_index=start, samples=out, dropped_before=dropped)
