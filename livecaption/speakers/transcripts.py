"""Speaker labels on a finished transcript (``transcribe --speakers``, ``bench --speakers``).

Whisper's segments often span a change of speaker, so labels are given per word (``label_words``)
and each segment is split where its words change speaker: every resulting segment has one
speaker, or None where the words were too short to judge (the short-utterance rule: no label
rather than a guess). A segment without word times is labelled by its whole span.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from itertools import groupby

import numpy as np

from livecaption.asr.types import Segment, Transcription
from livecaption.errors import UserError
from livecaption.speakers.clustering import MAX_SPEAKERS
from livecaption.speakers.labeling import FileLabelOptions, Speakers, label_words

INSTALL_HINT = "pip install 'livecaption[speakers]'"


def parse_speakers(value: str | int, flag: str = "--speakers") -> Speakers:
    """``auto`` or a number of speakers from 1 to MAX_SPEAKERS; anything else is a one-line UserError."""
    text = str(value).strip().lower()
    if text == "auto":
        return "auto"
    try:
        number = int(text)
    except ValueError:
        number = None
    if number is None or not 1 <= number <= MAX_SPEAKERS:
        raise UserError(f"{flag} must be auto or a number of speakers from 1 to {MAX_SPEAKERS}, not '{value}'")
    return number


def require_encoder(flag: str = "--speakers") -> None:
    """Refuse speaker labels up front (before any model loads) when the voice encoder's weights are missing."""
    from livecaption.speakers import available

    if not available():
        raise UserError(f"{flag} needs the voice encoder's weights, which come with resemblyzer: {INSTALL_HINT}")


def split_by_speaker(segment: Segment, labels: Sequence[str | None]) -> list[Segment]:
    """``segment`` cut where its words' labels change; the pieces keep the segment's outer times and scores."""
    if not segment.words:
        return [dataclasses.replace(segment, speaker=labels[0] if labels else None)]
    runs = [(label, [w for w, _ in group]) for label, group in groupby(zip(segment.words, labels), key=lambda p: p[1])]
    if len(runs) == 1:
        return [dataclasses.replace(segment, speaker=runs[0][0])]
    pieces = []
    for k, (label, words) in enumerate(runs):
        start = segment.start if k == 0 else words[0].start
        end = segment.end if k == len(runs) - 1 else words[-1].end
        pieces.append(Segment(start=start, end=max(end, start), text="".join(w.text for w in words),
                              words=tuple(words), scores=dict(segment.scores), speaker=label))
    return pieces


def label_transcription(audio: np.ndarray, result: Transcription, speakers: Speakers = "auto",
                        options: FileLabelOptions = FileLabelOptions(), encoder=None) -> Transcription:
    """``result`` with every segment labelled (split at speaker changes) and ``options["speakers"]`` recorded."""
    spans = [[(w.start, w.end) for w in seg.words] or [(seg.start, seg.end)] for seg in result.segments]
    flat = [span for group in spans for span in group]
    labels = iter(label_words(audio, flat, speakers, options, encoder) if flat else [])
    segments: list[Segment] = []
    for seg, group in zip(result.segments, spans):
        segments.extend(split_by_speaker(seg, [next(labels) for _ in group]))
    return dataclasses.replace(result, segments=tuple(segments), options={**result.options, "speakers": speakers})

