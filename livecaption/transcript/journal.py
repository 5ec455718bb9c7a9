"""The session journal: every committed caption is on disk (fsync'd) before anyone sees it.

One JSON-lines file per live session, readable by the user only (0600), in the user's data
folder. The first line is a header with the options that produced the session; each
``CaptionUpdate`` that commits words appends one line; a clean stop appends an ``end`` line.
A journal without ``end`` belongs to a session that crashed or was killed: ``recover`` reads it
back, tolerating a torn last line, and exports it like any transcript.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from livecaption.errors import UserError
from livecaption.streaming.events import CaptionUpdate, CommittedWord
from livecaption.transcript.live import LiveTranscript

JOURNAL_VERSION = 1


def sessions_dir() -> Path:
    """$LIVECAPTION_DATA_DIR/sessions, else the platform's user data folder."""
    override = os.environ.get("LIVECAPTION_DATA_DIR")
    if override:
        return Path(override).expanduser() / "sessions"
    from platformdirs import user_data_dir

    return Path(user_data_dir("livecaption")) / "sessions"


class Journal:
    def __init__(self, header: dict, folder: Path | None = None):
        folder = folder or sessions_dir()
        folder.mkdir(parents=True, exist_ok=True)
        self.session = datetime.now().strftime("%Y%m%d-%H%M%S") + f"-{secrets.token_hex(3)}"
        self.path = folder / f"{self.session}.jsonl"
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._write({"type": "header", "version": JOURNAL_VERSION, "session": self.session, "started": started, **header})

    def _write(self, record: dict) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def append(self, update: CaptionUpdate) -> None:
        if update.committed or update.utterance_ended:
            self._write({
                "type": "words",
                "words": [{"text": w.text, "start": round(w.start, 3), "end": round(w.end, 3),
                           "emitted": round(w.emitted, 3), "p": round(w.probability, 4)} for w in update.committed],
                "utterance_ended": update.utterance_ended,
            })

    def append_gap(self, start: float, end: float, reason: str) -> None:
        self._write({"type": "gap", "start": round(start, 3), "end": round(end, 3), "reason": reason})

    def close(self) -> None:
        if not self._file.closed:
            self._write({"type": "end", "time": time.time()})
            self._file.close()


def mark_recovered(path: Path) -> None:
    """Close an unfinished journal whose words were restored elsewhere, so they are offered once."""
    torn = not path.read_bytes().endswith(b"\n")  # a crash mid-line: start the record on a line of its own
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(("\n" if torn else "") + json.dumps({"type": "end", "time": time.time(), "recovered": True}) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


@dataclass(frozen=True)
class JournalSession:
    path: Path
    header: dict
    finished: bool
    words: int

    @property
    def name(self) -> str:
        return self.path.stem


def read_journal(path: Path) -> tuple[JournalSession, LiveTranscript]:
    """Rebuild a session's transcript; a torn or garbled line (the crash point) is skipped."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise UserError(f"{path}: cannot read journal ({exc.strerror})") from None
    records = []
    for line in lines:
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:  # the line a crash tore; everything around it is still recovered
            continue
    if not records or records[0].get("type") != "header":
        raise UserError(f"{path}: not a livecaption journal")
    header = records[0]
    transcript = LiveTranscript(header.get("model", "?"), header.get("device", "?"), header.get("precision", "?"),
                                header.get("fallback"), header.get("options", {}))
    count = 0
    for record in records[1:]:
        if record.get("type") == "gap":
            transcript.add_gap(record["start"], record["end"], record["reason"])
            continue
        if record.get("type") != "words":
            continue
        words = tuple(CommittedWord(w["text"], w["start"], w["end"], w["emitted"], w.get("p", 0.0)) for w in record["words"])
        count += len(words)
        transcript.add(CaptionUpdate(committed=words, tentative="", time=0.0, utterance_ended=record["utterance_ended"]))
    finished = records[-1].get("type") == "end"
    return JournalSession(path, header, finished, count), transcript


def list_sessions(folder: Path | None = None) -> list[JournalSession]:
    folder = folder or sessions_dir()
    sessions = []
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        try:
            sessions.append(read_journal(path)[0])
        except UserError:
            continue  # not ours or unreadable: listed by nobody, deleted by nobody
    return sessions


def find_session(name: str, folder: Path | None = None) -> Path:
    folder = folder or sessions_dir()
    candidate = Path(name)
    if candidate.is_file():
        return candidate
    path = folder / f"{name}.jsonl"
    if not path.is_file():
        raise UserError(f"no session '{name}' in {folder}; see livecaption recover --list")
    return path
