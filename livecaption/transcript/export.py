"""Transcript formats (TXT, SRT, VTT, JSON) and a safe way to write them to disk.

Writing never clobbers: an existing file is kept unless the caller passes ``force``, and the
new content goes to a temporary file in the same folder that is renamed into place, so a full
disk or a crash leaves either the old file or the complete new one. Files are created
readable by the user only, because transcripts of meetings are private.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Callable

from livecaption.asr.types import Transcription
from livecaption.errors import OutputError, UserError

FORMATS = ("txt", "srt", "vtt", "json")


def _clock(seconds: float, decimal: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"


def to_txt(result: Transcription) -> str:
    return "\n".join(seg.text.strip() for seg in result.segments if seg.text.strip()) + "\n"


def _cues(result: Transcription, decimal: str) -> list[str]:
    cues = []
    for seg in result.segments:
        text = seg.text.strip()
        if not text:
            continue
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


def check_writable(path: Path, force: bool) -> None:
    """Fail before any work if ``path`` cannot be written or would overwrite a file."""
    if path.is_dir():
        raise OutputError(f"{path}: is a directory; give a file name")
    if path.exists() and not force:
        raise OutputError(f"{path}: already exists; pass --force to overwrite it")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{path}: folder {parent} is not writable")


def write_text_atomic(path: Path, text: str, force: bool = False) -> None:
    """Write ``text`` to ``path`` via a same-folder temporary file and an atomic rename."""
    check_writable(path, force)
    parent = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=parent)  # created 0600
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if not force and path.exists():  # appeared while we were writing
            raise OutputError(f"{path}: already exists; pass --force to overwrite it")
        os.replace(tmp, path)
    except OSError as exc:
        os.unlink(tmp)
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
    except BaseException:
        os.unlink(tmp)
        raise
