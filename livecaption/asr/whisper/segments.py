"""Segments of one 30 s window and their times across windows (shared by the sequential and
batched decode paths)."""

from __future__ import annotations

import dataclasses

from livecaption.asr.types import Segment


@dataclasses.dataclass
class WindowSegment:
    start: float
    end: float
    tokens: list[int]


def monotonic_segments(segments: list[Segment], floor: float, duration: float) -> list[Segment]:
    """Clamp segment and word times so they never go backwards or past the audio's end."""
    fixed = []
    for seg in segments:
        start = min(max(seg.start, floor), duration)
        end = min(max(seg.end, start), duration)
        words, word_floor = [], start
        for w in seg.words:
            w_start = min(max(w.start, word_floor), end)
            w_end = min(max(w.end, w_start), end)
            words.append(dataclasses.replace(w, start=w_start, end=w_end))
            word_floor = w_end
        fixed.append(dataclasses.replace(seg, start=start, end=end, words=tuple(words)))
        floor = end
    return fixed
