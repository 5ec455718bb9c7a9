"""A live session's transcript: committed words grouped into utterances, exportable like a file's."""

from __future__ import annotations

import dataclasses

from livecaption.asr.types import Segment, Transcription, Word
from livecaption.streaming.events import CaptionUpdate, CommittedWord


class LiveTranscript:
    def __init__(self, model: str, device: str, precision: str, fallback: str | None, options: dict):
        self.model, self.device, self.precision, self.fallback = model, device, precision, fallback
        self.options = options
        self.segments: list[list[CommittedWord]] = []
        self._open: list[CommittedWord] = []
        # The language of each utterance in ``segments`` (and of the open one), as the engine said.
        self.segment_languages: list[str | None] = []
        self._open_language: str | None = None
        self.gaps: list[tuple[float, float, str]] = []  # (start, end, reason): audio that was never captioned
        # Speaker labels (issue #12), keyed by the utterance's first word's start in ms (the journal
        # keeps times to the ms): the latest label given wins, so relabels and renames just overwrite.
        self.speakers: dict[int, str | None] = {}

    @property
    def labelled(self) -> bool:
        return bool(self.speakers)

    def set_speakers(self, utterances) -> None:
        """Apply ``UtteranceSpeaker``s (or (start, end, speaker) triples) from a SpeakerLabels event."""
        for entry in utterances:
            start, _, speaker = (entry.start, entry.end, entry.speaker) if hasattr(entry, "speaker") else entry
            self.speakers[_key(start)] = speaker

    def speaker_of(self, group: list[CommittedWord]) -> str | None:
        return self.speakers.get(_key(group[0].start)) if group else None

    def add_gap(self, start: float, end: float, reason: str) -> None:
        if self._open:  # the utterance in progress ended with the capture
            self._close_open()
        self.gaps.append((start, end, reason))

    def _close_open(self) -> None:
        self.segments.append(self._open)
        self.segment_languages.append(self._open_language)
        self._open, self._open_language = [], None

    def add(self, update: CaptionUpdate) -> None:
        self._open.extend(update.committed)
        if update.language:
            self._open_language = update.language
        if update.utterance_ended and self._open:
            self._close_open()
        elif update.utterance_ended:  # an utterance that committed nothing: its language goes with it
            self._open_language = None

    def words(self) -> list[CommittedWord]:
        return [w for seg in self.segments for w in seg] + self._open

    def groups(self) -> list[list[CommittedWord]]:
        """Words per utterance, the one still open included."""
        return self.segments + ([self._open] if self._open else [])

    def languages(self) -> list[str | None]:
        """The language of each utterance of ``groups()``."""
        return self.segment_languages + ([self._open_language] if self._open else [])

    def main_language(self) -> str | None:
        """The language most words were spoken in (None when the engine never said)."""
        counts: dict[str, int] = {}
        for group, language in zip(self.groups(), self.languages()):
            if language:
                counts[language] = counts.get(language, 0) + len(group)
        return max(counts, key=counts.get) if counts else None

    def to_transcription(self, language: str | None = None, duration: float | None = None) -> Transcription:
        """The session as a transcript. Its language is the one most words were spoken in, as
        detected; ``language`` (the session's setting) only where the engine never said (journals
        from before languages were recorded); "und" (undetermined) when nobody knows."""
        groups = self.groups()
        spoken = [
            Segment(
                start=group[0].start,
                end=group[-1].end,
                text="".join(w.text for w in group),
                words=tuple(Word(w.start, w.end, w.text, w.probability) for w in group),
                speaker=self.speaker_of(group),
                language=spoken_in,
            )
            for group, spoken_in in zip(groups, self.languages())
        ]
        language = self.main_language() or language or "und"
        # A gap is marked where it happened, so nobody mistakes lost audio for silence. The reason
        # says why (no audio from the device, audio dropped when decoding fell behind, a decode that
        # failed); "not captioned" is true of all of them.
        marks = [Segment(start=a, end=b, text=f" [not captioned {a:.1f}-{b:.1f} s: {reason}]")
                 for a, b, reason in self.gaps]
        segments = tuple(sorted(spoken + marks, key=lambda seg: seg.start))
        text = "".join(seg.text for seg in segments if seg.words).strip()
        end = segments[-1].end if segments else 0.0
        return Transcription(
            text=text, language=language, segments=segments, duration=duration if duration is not None else end,
            model=self.model, device=self.device, precision=self.precision, fallback=self.fallback,
            options={**self.options, **({"speakers": "auto"} if self.labelled else {})},
        )


def _key(start: float) -> int:
    return int(round(start * 1000))


def session_options(streaming, vad, language: str | None) -> dict:
    """The settings that produced a live transcript, recorded alongside it."""
    return {"streaming": dataclasses.asdict(streaming), "vad": dataclasses.asdict(vad), "language": language}
