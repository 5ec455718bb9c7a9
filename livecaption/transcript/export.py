"""Transcript formats (TXT, SRT, VTT, JSON), and the names every caller writes them with.

Writing goes through ``livecaption.outputs``: never over an existing file without ``force``,
never over a file the command reads, exclusive when two writers race, atomic, and readable by
the user only, because transcripts of meetings are private.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterable

from livecaption.asr.types import Segment, Transcription
from livecaption.errors import UserError
from livecaption.outputs import check_output, write_exclusive

FORMATS = ("txt", "srt", "vtt", "json")


def _clock(seconds: float, decimal: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"


def speaker_turns(segments) -> list[list[Segment]]:
    """Consecutive segments of one speaker (a paragraph each); a segment without words (a gap
    mark) stands alone, and so does each run of unlabelled segments."""
    out: list[list[Segment]] = []
    for seg in segments:
        if not seg.text.strip():
            continue
        if out and out[-1][-1].words and seg.words and out[-1][-1].speaker == seg.speaker:
            out[-1].append(seg)
        else:
            out.append([seg])
    return out


def to_txt(result: Transcription) -> str:
    if not result.labelled:
        return "\n".join(seg.text.strip() for seg in result.segments if seg.text.strip()) + "\n"
    # A paragraph per speaker turn, "[00:01:02] Speaker 1: ..."; no name where none was judged.
    paragraphs = []
    for turn in speaker_turns(result.segments):
        text = " ".join(seg.text.strip() for seg in turn)
        who = f"{turn[0].speaker}: " if turn[0].speaker else ""
        paragraphs.append(f"[{_clock(turn[0].start, '.')[:8]}] {who}{text}")
    return "\n\n".join(paragraphs) + "\n"


def _voice(name: str) -> str:
    """A speaker's name inside a WebVTT voice tag, where <, > and & would end or garble it."""
    return name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cues(result: Transcription, decimal: str) -> list[str]:
    cues = []
    for seg in result.segments:
        text = seg.text.strip()
        if not text:
            continue
        if seg.speaker:  # SRT has no voices: a plain prefix; WebVTT has voice tags for it
            text = f"<v {_voice(seg.speaker)}>{text}" if decimal == "." else f"{seg.speaker}: {text}"
        # Rounding to milliseconds must not make a cue start before the previous one ended.
        cues.append((_clock(seg.start, decimal), _clock(max(seg.end, seg.start), decimal), text))
    return [f"{start} --> {end}\n{text}\n" for start, end, text in cues]


def to_srt(result: Transcription) -> str:
    return "\n".join(f"{index}\n{cue}" for index, cue in enumerate(_cues(result, ","), start=1))


def to_vtt(result: Transcription) -> str:
    return "WEBVTT\n\n" + "\n".join(_cues(result, "."))


def to_json(result: Transcription) -> str:
    data = result.to_dict()
    ordered = {key: data[key] for key in ("text", "language", "segments", "model", "device", "precision")}
    ordered.update({key: value for key, value in data.items() if key not in ordered})
    return json.dumps(ordered, ensure_ascii=False, indent=2) + "\n"


EXPORTERS: dict[str, Callable[[Transcription], str]] = {
    "txt": to_txt,
    "srt": to_srt,
    "vtt": to_vtt,
    "json": to_json,
}


def format_for(output: str | Path | None, explicit: str | None = None) -> str:
    """The format to write: the one asked for, else the output file's extension, else txt."""
    if explicit:
        return explicit
    suffix = Path(output).suffix.lower().lstrip(".") if output else ""
    return suffix if suffix in FORMATS else "txt"


def render(result: Transcription, fmt: str) -> str:
    if fmt not in EXPORTERS:
        raise UserError(f"unknown format '{fmt}': use one of {', '.join(FORMATS)}")
    return EXPORTERS[fmt](result)


def check_writable(path: Path, force: bool, reads: Iterable[str | Path] = ()) -> None:
    """Fail before any work if ``path`` cannot be written, would overwrite a file, or is an input."""
    check_output(path, force, reads)


def write_text_atomic(path: Path, text: str, force: bool = False, reads: Iterable[str | Path] = ()) -> None:
    """Write ``text`` to ``path`` through the one exclusive, atomic writer (``livecaption.outputs``)."""
    write_exclusive(path, text, force=force, reads=reads)
