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
        # The language and the input (meeting capture: "microphone"/"system"; else None) of each
        # utterance in ``segments``, as the engine said.
        self.segment_languages: list[str | None] = []
        self.segment_sources: list[str | None] = []
        # The utterance in progress on each input: two inputs speak at once in a meeting capture.
        self._open: dict[str | None, list[CommittedWord]] = {}
        self._open_language: dict[str | None, str | None] = {}
        self.gaps: list[tuple[float, float, str]] = []  # (start, end, reason): audio that was never captioned
        self.gap_sources: list[str | None] = []
        # Speaker labels (issue #12), keyed by the utterance's first word's start in ms (the journal
        # keeps times to the ms): the latest label given wins, so relabels and renames just overwrite.
        self.speakers: dict[int, str | None] = {}
        # Who each input is heard as (issue #11: "You", "Others", or the names the user gave them).
        self.source_names: dict[str, str] = {}

    @property
    def labelled(self) -> bool:
        """Whether voices were labelled (issue #12); a meeting capture's inputs name lines without it."""
        return bool(self.speakers)

    def name_sources(self, names: dict[str, str]) -> None:
        """Who each input of a meeting capture is heard as (a rename overwrites)."""
        self.source_names.update(names)

    def set_speakers(self, utterances) -> None:
        """Apply ``UtteranceSpeaker``s (or (start, end, speaker) triples) from a SpeakerLabels event."""
        for entry in utterances:
            start, _, speaker = (entry.start, entry.end, entry.speaker) if hasattr(entry, "speaker") else entry
            self.speakers[_key(start)] = speaker

    def speaker_of(self, group: list[CommittedWord], source: str | None = None) -> str | None:
        """A speaker label the user or the labeller gave, else the name of the input it was heard on."""
        label = self.speakers.get(_key(group[0].start)) if group else None
        return label or (self.source_names.get(source) if source else None)

    def add_gap(self, start: float, end: float, reason: str, source: str | None = None) -> None:
        if self._open.get(source):  # the utterance in progress on that input ended with its capture
            self._close_open(source)
        self.gaps.append((start, end, reason))
        self.gap_sources.append(source)

    def _close_open(self, source: str | None) -> None:
        self.segments.append(self._open.pop(source))
        self.segment_languages.append(self._open_language.pop(source, None))
        self.segment_sources.append(source)

    def add(self, update: CaptionUpdate) -> None:
        source = update.source
        if update.committed:
            self._open.setdefault(source, []).extend(update.committed)
        if update.language:
            self._open_language[source] = update.language
        if update.utterance_ended and self._open.get(source):
            self._close_open(source)
        elif update.utterance_ended:  # an utterance that committed nothing: its language goes with it
            self._open_language.pop(source, None)

    def _opened(self) -> list[tuple[str | None, list[CommittedWord]]]:
        """The utterances in progress, earliest first."""
        return sorted(((src, words) for src, words in self._open.items() if words), key=lambda item: item[1][0].start)

    def words(self) -> list[CommittedWord]:
        return [w for seg in self.segments for w in seg] + [w for _, words in self._opened() for w in words]

    def groups(self) -> list[list[CommittedWord]]:
        """Words per utterance, the ones still open included."""
        return self.segments + [words for _, words in self._opened()]

    def languages(self) -> list[str | None]:
        """The language of each utterance of ``groups()``."""
        return self.segment_languages + [self._open_language.get(src) for src, _ in self._opened()]

    def sources(self) -> list[str | None]:
        """The input of each utterance of ``groups()`` (None outside a meeting capture)."""
        return self.segment_sources + [src for src, _ in self._opened()]

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
                speaker=self.speaker_of(group, source),
                language=spoken_in,
                source=source,
            )
            for group, spoken_in, source in zip(groups, self.languages(), self.sources())
        ]
        language = self.main_language() or language or "und"
        # A gap is marked where it happened, so nobody mistakes lost audio for silence. The reason
        # says why (no audio from the device, audio dropped when decoding fell behind, a decode that
        # failed); "not captioned" is true of all of them.
        marks = [Segment(start=a, end=b, text=f" [not captioned {a:.1f}-{b:.1f} s{_on(source)}: {reason}]",
                         source=source)
                 for (a, b, reason), source in zip(self.gaps, self.gap_sources)]
        segments = tuple(sorted(spoken + marks, key=lambda seg: seg.start))
        text = "".join(seg.text for seg in segments if seg.words).strip()
        end = segments[-1].end if segments else 0.0
        return Transcription(
            text=text, language=language, segments=segments, duration=duration if duration is not None else end,
            model=self.model, device=self.device, precision=self.precision, fallback=self.fallback,
            options={**self.options, **({"speakers": "auto"} if self.labelled else {})},
        )


def _on(source: str | None) -> str:
    """Which input a gap mark is about, in a meeting capture (the other input went on)."""
    return {None: ""}.get(source, f" on the {'system audio' if source == 'system' else source}")


def _key(start: float) -> int:
    return int(round(start * 1000))


def session_options(streaming, vad, language: str | None) -> dict:
    """The settings that produced a live transcript, recorded alongside it."""
    return {"streaming": dataclasses.asdict(streaming), "vad": dataclasses.asdict(vad), "language": language}
