"""The stream's clock: wall time for live audio, or a simulated clock for replay as fast as possible.

On the simulated clock, time passes only when audio is waited for (the replay jumps ahead to
the next block) or when compute is spent (``charge``), so latencies measured on it equal those
of a real-time run with the same compute, without waiting for the audio to play.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class StreamClock(Protocol):
    simulated: bool

    def now(self) -> float: ...

    def charge(self, seconds: float) -> float:
        """Account for compute time just spent (the wall clock has already moved); returns the
        clock seconds it took."""

    def anchor(self, audio_seconds: float) -> float:
        """At the input's first audio: make time 0 the first sample's; returns how far it moved."""


class RealClock:
    simulated = False

    def __init__(self) -> None:
        self._start = time.perf_counter()

    def now(self) -> float:
        return time.perf_counter() - self._start

    def charge(self, seconds: float) -> float:
        return seconds

    def anchor(self, audio_seconds: float) -> float:
        """Make now() equal ``audio_seconds`` (the audio captured so far): time 0 becomes the moment
        the input's first sample was captured, not the moment the clock was made. Opening a device
        can take seconds before it delivers anything (~2 s through ALSA's pulse plugin); measured
        from the earlier moment, every latency carried that delay (issue #15: the window read
        2.4 s where the bench read 0.64 s). Returns how far time 0 moved forward, in seconds; never
        backward (a replay faster than real time is ahead of the wall clock by design)."""
        moved = max(0.0, self.now() - audio_seconds)
        self._start += moved
        return moved


class SimulatedClock:
    simulated = True

    def __init__(self, compute_scale: float = 1.0, decode_seconds: float | None = None) -> None:
        if compute_scale <= 0 or (decode_seconds is not None and decode_seconds < 0):
            raise ValueError("compute scale must be positive and decode seconds not negative")
        # compute_scale > 1 plays a machine that many times slower than this one: how the pipeline
        # behaves when decoding cannot keep up, reproducibly, without a slow machine at hand.
        self.compute_scale = compute_scale
        # decode_seconds plays a machine whose every decode takes exactly that long, whatever this
        # machine's speed or load: the schedule (and so the text) no longer depends on the host.
        self.decode_seconds = decode_seconds
        self._now = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def charge(self, seconds: float) -> float:
        charged = self.decode_seconds if self.decode_seconds is not None else max(0.0, seconds) * self.compute_scale
        with self._lock:
            self._now += charged
        return charged

    def anchor(self, audio_seconds: float) -> float:
        """Nothing to move: on this clock the audio is the time (the replay is due when the clock says)."""
        return 0.0

    def advance_to(self, moment: float) -> None:
        with self._lock:
            self._now = max(self._now, moment)
