"""Helpers for the hostile-input tests: float WAVs (which may hold NaN), journals, digests."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import numpy as np


def write_float_wav(path: Path, samples: np.ndarray, rate: int = 16_000) -> Path:
    """A mono IEEE-float WAV (format 3), written by hand: ``wave`` cannot, and NaN must survive."""
    data = np.asarray(samples, dtype="<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


HEADER = {"type": "header", "version": 1, "session": "s", "started": "2026-01-01T00:00:00+00:00",
          "model": "tiny.en", "device": "cpu", "precision": "fp32", "fallback": None,
          "options": {"language": "en"}}


def words_record(*texts: str, start: float = 0.0, ended: bool = True) -> dict:
    return {"type": "words", "utterance_ended": ended,
            "words": [{"text": " " + t, "start": start + i * 0.5, "end": start + i * 0.5 + 0.4,
                       "emitted": start + i * 0.5 + 1.0, "p": 0.9} for i, t in enumerate(texts)]}


def write_journal(folder: Path, name: str, lines: list) -> Path:
    """A journal of ``lines``: dicts are written as JSON, strings as they are (torn or hostile lines)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.jsonl"
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path
