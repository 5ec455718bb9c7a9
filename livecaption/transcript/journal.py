"""The session journal: every committed caption is on disk (fsync'd) before anyone sees it.

One JSON-lines file per live session, readable by the user only (0600), in the user's data
folder. The first line is a header with the options that produced the session; each
``CaptionUpdate`` that commits words appends one line; a clean stop appends an ``end`` line.
A journal without ``end`` belongs to a session that crashed or was killed: ``recover`` reads it
back and exports it like any transcript.

Reading is tolerant because a journal is whatever a crash, a full disk or a person left on disk:
a torn line, a record of the wrong shape (a string where words should be, NaN or text for a
time, a missing key) is skipped and counted, and everything else is recovered. A file that is
not a journal at all is reported by name, never allowed to stop the listing or a new session.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import stat
import threading
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
        self.session = datetime.now().strftime("%Y%m%d-%H%M%S") + f"-{secrets.token_hex(3)}"
        self.path = folder / f"{self.session}.jsonl"
        self.words_written = 0
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        except OSError as exc:
            raise UserError(f"cannot create the session journal in {folder} ({exc.strerror}); "
                            "check LIVECAPTION_DATA_DIR") from None
        self._file = os.fdopen(fd, "a", encoding="utf-8")
        self._lock = threading.Lock()  # captions (pipeline worker) and speaker labels (their own thread)
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._write({"type": "header", "version": JOURNAL_VERSION, "session": self.session, "started": started, **header})

    def _write(self, record: dict) -> None:
        with self._lock:
            if self._file.closed:  # a label arriving after the session was closed is not news
                return
            self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())

    def append(self, update: CaptionUpdate) -> None:
        if update.committed or update.utterance_ended:
            self.words_written += len(update.committed)
            self._write({
                "type": "words",
                "words": [{"text": w.text, "start": round(w.start, 3), "end": round(w.end, 3),
                           "emitted": round(w.emitted, 3), "p": round(w.probability, 4)} for w in update.committed],
                "utterance_ended": update.utterance_ended,
                **({"language": update.language} if update.language else {}),
                **({"source": update.source} if update.source else {}),
            })

    def append_source_names(self, names: dict[str, str]) -> None:
        """Who each input of a meeting capture is heard as ("You", "Others"), at its start and on a rename."""
        self._write({"type": "sources", "names": dict(names)})

    def append_speakers(self, event) -> None:
        """A ``SpeakerLabels`` event: each utterance [start, end] and its speaker (null: unlabelled)."""
        if event.utterances:
            self._write({"type": "speakers", "utterances": [[round(u.start, 3), round(u.end, 3), u.speaker]
                                                            for u in event.utterances]})

    def append_settings(self, options: dict) -> None:
        """The session's settings changed mid-session (translation, vocabulary): later words were
        made with these, and a recovered transcript records them as a saved one does."""
        self._write({"type": "settings", "options": options})

    def append_gap(self, start: float, end: float, reason: str, source: str | None = None) -> None:
        self._write({"type": "gap", "start": round(start, 3), "end": round(end, 3), "reason": reason,
                     **({"source": source} if source else {})})

    def close(self) -> None:
        if not self._file.closed:
            self._write({"type": "end", "time": time.time()})
            self._file.close()

    def discard_if_empty(self) -> bool:
        """After a session that failed before committing anything: remove the header-only journal,
        which would otherwise be offered for recovery forever. Returns True when removed; a journal
        with words is left as it is (unfinished, so it is offered for recovery)."""
        if self.words_written:
            return False
        if not self._file.closed:
            self._file.close()
        try:
            self.path.unlink()
        except OSError:
            return False
        return True


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
    skipped: int = 0  # records that were torn or of the wrong shape

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def language(self) -> str | None:
        """The session's pinned language; for one on auto (journals from before languages were
        recorded per utterance), English when the model only knows English, else unknown."""
        language = self.header["options"].get("language")
        if isinstance(language, str):
            return language
        from livecaption.asr import declared_languages

        try:
            return "en" if declared_languages(self.header["model"]) == frozenset() else None
        except Exception:  # a model folder gone or damaged since: unknown, not a failure to recover
            return None


MAX_SECONDS = 1e8  # three years of audio: anything larger is damage, and would overflow cue times


def _number(value) -> bool:
    """A finite JSON number in range (``true`` is not a time, nor is NaN, which Python's json accepts)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            and abs(value) <= MAX_SECONDS)


def _text(value, default: str | None) -> str | None:
    return value if isinstance(value, str) else default


def _clean_header(record: dict) -> dict:
    """The header with every field of the expected type; a wrong one becomes its default."""
    options = record.get("options")
    return {**record, "model": _text(record.get("model"), "?"), "device": _text(record.get("device"), "?"),
            "precision": _text(record.get("precision"), "?"), "fallback": _text(record.get("fallback"), None),
            "options": options if isinstance(options, dict) else {}}


def _words(record: dict) -> tuple[CommittedWord, ...] | None:
    words = record.get("words")
    if not isinstance(words, list) or not isinstance(record.get("utterance_ended"), bool):
        return None
    parsed = []
    for w in words:
        if not isinstance(w, dict) or not isinstance(w.get("text"), str):
            return None
        if not all(_number(w.get(key)) for key in ("start", "end", "emitted")):
            return None
        p = w.get("p", 0.0)
        parsed.append(CommittedWord(w["text"], float(w["start"]), float(w["end"]), float(w["emitted"]),
                                    float(p) if _number(p) else 0.0))
    return tuple(parsed)


def _gap(record: dict) -> tuple[float, float, str, str | None] | None:
    start, end, reason = record.get("start"), record.get("end"), record.get("reason")
    if _number(start) and _number(end) and isinstance(reason, str):
        return float(start), float(end), reason, _source(record)
    return None


def _source(record: dict) -> str | None:
    """The input a record is of (meeting capture); anything but a short string is no input."""
    source = record.get("source")
    return source if isinstance(source, str) and 0 < len(source) <= 32 else None


def _source_names(record: dict) -> dict[str, str] | None:
    names = record.get("names")
    if not isinstance(names, dict):
        return None
    return {k: v for k, v in names.items() if isinstance(k, str) and isinstance(v, str) and v.strip()} or None


def _speakers(record: dict) -> list[tuple[float, float, str | None]] | None:
    entries = record.get("utterances")
    if not isinstance(entries, list):
        return None
    out = []
    for entry in entries:
        if not (isinstance(entry, list) and len(entry) == 3 and _number(entry[0]) and _number(entry[1])
                and (entry[2] is None or isinstance(entry[2], str))):
            return None
        out.append((float(entry[0]), float(entry[1]), entry[2]))
    return out


def _records(path: Path):
    """Each line parsed as JSON, or None for a line that is not a JSON object (torn, garbled)."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):  # a FIFO would block the reader forever, a device never end
            raise UserError(f"{path}: not a regular file, so not a livecaption journal")
        handle = open(path, encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UserError(f"{path}: cannot read journal ({exc.strerror})") from None
    with handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):  # the line a crash tore; the rest is still recovered
                yield None
                continue
            yield record if isinstance(record, dict) else None


def read_journal(path: Path) -> tuple[JournalSession, LiveTranscript]:
    """Rebuild a session's transcript; torn and malformed records are skipped and counted."""
    records = _records(path)
    first = next(records, None)
    if first is None or first.get("type") != "header":
        raise UserError(f"{path}: not a livecaption journal (its first line is not a journal header)")
    header = _clean_header(first)
    transcript = LiveTranscript(header["model"], header["device"], header["precision"], header["fallback"],
                                header["options"])
    count = skipped = 0
    finished = False
    for record in records:
        kind = record.get("type") if record is not None else None
        if kind == "words":
            words = _words(record)
            if words is not None:
                count += len(words)
                language = record.get("language")
                transcript.add(CaptionUpdate(committed=words, tentative="", time=0.0,
                                             utterance_ended=record["utterance_ended"],
                                             language=language if isinstance(language, str) and len(language) <= 16
                                             else None, source=_source(record)))
                finished = False
                continue
        elif kind == "gap":
            gap = _gap(record)
            if gap is not None:
                transcript.add_gap(*gap)
                finished = False
                continue
        elif kind == "sources":  # a meeting capture's input names (journals before #11 have none)
            names = _source_names(record)
            if names is not None:
                transcript.name_sources(names)
                continue
        elif kind == "speakers":  # labels given after the words (journals before #12 have none)
            labels = _speakers(record)
            if labels is not None:
                transcript.set_speakers(labels)
                continue
        elif kind == "settings":
            options = record.get("options")
            if isinstance(options, dict):
                header["options"] = transcript.options = options
                continue
        elif kind == "end":
            finished = True
            continue
        elif kind == "header" or (record is not None and isinstance(kind, str)):
            continue  # a record type from a newer version: not damage
        skipped += 1
    return JournalSession(path, header, finished, count, skipped), transcript


def scan_sessions(folder: Path | None = None) -> tuple[list[JournalSession], list[str]]:
    """Every readable session in ``folder``, and one line for each file that is not one."""
    folder = folder or sessions_dir()
    sessions, problems = [], []
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        try:
            sessions.append(read_journal(path)[0])
        except UserError as exc:
            problems.append(f"skipped {exc}")  # not ours or unreadable: listed by nobody, deleted by nobody
    return sessions, problems


def list_sessions(folder: Path | None = None) -> list[JournalSession]:
    return scan_sessions(folder)[0]


def find_session(name: str, folder: Path | None = None) -> Path:
    folder = folder or sessions_dir()
    candidate = Path(name)
    if candidate.exists() and not candidate.is_dir():
        return candidate
    path = folder / f"{name}.jsonl"
    if not path.is_file():
        raise UserError(f"no session '{name}' in {folder}; see livecaption recover --list")
    return path
