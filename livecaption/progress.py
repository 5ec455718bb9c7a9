"""Conversion progress on stderr, shaped for where stderr goes.

On a terminal it is one line redrawn in place. Anywhere else (a log file, a pipe, a test, CI)
a carriage-return animation becomes dozens of lines of noise, so it writes one line when the
conversion starts and one when it ends.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ConversionProgress:
    """A ``ProgressCallback`` (done, total, what) for the one-time conversion of an embedded model."""

    def __init__(self, label: str, stream: TextIO | None = None):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.interactive = bool(isatty and isatty())
        self._started: float | None = None

    def __call__(self, done: int, total: int, what: str) -> None:
        finished = total > 0 and done >= total
        if self.interactive:
            percent = 100 * done // total if total else 100
            line = f"\rconverting {self.label}: {percent:3d}% ({what})".ljust(60)
            print(line, end="\n" if finished else "", file=self.stream, flush=True)
            return
        if self._started is None:
            self._started = time.monotonic()
            print(f"converting {self.label} (first use, once) ...", file=self.stream, flush=True)
        if finished:
            seconds = time.monotonic() - self._started
            print(f"converted {self.label} in {seconds:.1f} s", file=self.stream, flush=True)
