"""Seeded fuzzing of the three kinds of file a user (or a crash) hands the app: WAV headers,
session journals, and model folders (config.json and the safetensors header).

Each mutated file goes through the real ``cli.main`` in this process, so the validation layer,
the loading guards and the last-resort handler are all on the path. What must hold for every one:
exit status 0 or 2 (1 would be an internal fault), no traceback, no "internal error", and the
input byte for byte unchanged. The recognizer is a scripted stand-in (the model folder is still
resolved and checked for real), so hundreds of cases cost seconds, not hundreds of model loads.
"""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path

import numpy as np
import pytest

from conftest import clip_path
from hostile import HEADER, SMALL_CONFIG, digest, small_model, words_record, write_journal
from livecaption import cli
from livecaption.asr.types import Transcription
from livecaption.audio.decode import SAMPLE_RATE, decode_audio

SEED = 17
HOSTILE_VALUES = [None, True, -1, 0, 2**63, 1e308, float("nan"), float("inf"), "", "x" * 300, [], {}, [1, "a"],
                  {"a": None}]


class ScriptedRecognizer:
    """Stands in for Whisper: checks what it is given, returns an empty transcript."""

    model_name = "scripted"

    def check_options(self, options) -> None:
        pass

    def transcribe(self, audio, options) -> Transcription:
        assert audio.dtype == np.float32 and np.isfinite(audio).all() and np.abs(audio).max(initial=0) <= 1
        return Transcription(text="", language="en", segments=(), duration=len(audio) / SAMPLE_RATE,
                             model="scripted", device="cpu", precision="fp32")


@pytest.fixture
def scripted(monkeypatch):
    from livecaption.asr.whisper.models import resolve_model

    def load(args):
        resolve_model(args.model)  # the real resolution and model-folder guard
        return ScriptedRecognizer()

    from livecaption.commands import listen, transcribe

    for command in (transcribe, listen):
        monkeypatch.setattr(command, "load_recognizer_for", load)


def run(capsys, *args: str) -> tuple[int, str]:
    code = cli.main(list(args))
    return code, capsys.readouterr().err


def assert_clean(code: int, err: str, case: str) -> None:
    assert code in (0, 2), (case, code, err)
    assert "Traceback" not in err and "internal error" not in err, (case, err)
    errors = [line for line in err.splitlines() if line.startswith("livecaption: error:")]
    assert len(errors) == (1 if code == 2 else 0), (case, err)


# -- WAV headers -------------------------------------------------------------------------------

def _wav_bytes() -> bytes:
    speech = decode_audio(clip_path("one_two_three.wav"))[: SAMPLE_RATE // 2]
    data = (speech * 32767).astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, SAMPLE_RATE, SAMPLE_RATE * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _mutate_wav(rng: random.Random, wav: bytes) -> bytes:
    data = bytearray(wav)
    kind = rng.choice(["flip", "field", "field", "truncate", "append", "float-nan"])
    if kind == "flip":
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(44)] = rng.randrange(256)
    elif kind == "field":  # a header field set to an edge value: sizes, rate, channels, width, format
        offset, size = rng.choice([(4, 4), (16, 4), (20, 2), (22, 2), (24, 4), (28, 4), (32, 2), (34, 2), (40, 4)])
        value = rng.choice([0, 1, 3, 7, 255, 65535, 2**31 - 1, 2**32 - 1, rng.randrange(2 ** (8 * size))])
        data[offset:offset + size] = (value % 2 ** (8 * size)).to_bytes(size, "little")
        if offset == 24 and value > 192_000:
            data[24:28] = (8_000).to_bytes(4, "little")  # keep fuzz time bounded: a 1 Hz rate is tested below
    elif kind == "truncate":
        del data[rng.randrange(len(data)):]
    elif kind == "append":
        data += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
    else:  # the same samples as IEEE float, some of them NaN or infinite
        samples = np.frombuffer(bytes(data[44:]), "<i2").astype("<f4") / 32768
        samples[rng.randrange(len(samples))::rng.randint(2, 1000)] = rng.choice([np.nan, np.inf, -np.inf])
        payload = samples.tobytes()
        fmt = struct.pack("<HHIIHH", 3, 1, SAMPLE_RATE, SAMPLE_RATE * 4, 4, 32)
        body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(payload)) + payload
        data = bytearray(b"RIFF" + struct.pack("<I", len(body)) + body)
    return bytes(data)


def test_fuzzed_wav_headers(tmp_path, capsys, scripted):
    rng, base = random.Random(SEED), _wav_bytes()
    for i in range(150):
        path = tmp_path / f"case{i}.wav"
        path.write_bytes(_mutate_wav(rng, base))
        before = digest(path)
        code, err = run(capsys, "transcribe", str(path), "--device", "cpu")
        assert_clean(code, err, f"case {i}")
        assert digest(path) == before


# -- journals --------------------------------------------------------------------------------

def _mutate_record(rng: random.Random, record):
    if isinstance(record, dict) and record and rng.random() < 0.7:
        record = dict(record)
        key = rng.choice(list(record))
        if rng.random() < 0.3:
            del record[key]
        elif key == "words" and isinstance(record[key], list) and record[key] and rng.random() < 0.6:
            words = [dict(w) for w in record[key]]
            word = rng.choice(words)
            word[rng.choice(list(word))] = rng.choice(HOSTILE_VALUES)
            record[key] = words
        else:
            record[key] = rng.choice(HOSTILE_VALUES)
        return record
    return rng.choice(HOSTILE_VALUES)


def _journal_lines(rng: random.Random) -> list:
    lines: list = [dict(HEADER), words_record("one", "two"), {"type": "gap", "start": 1.0, "end": 2.0, "reason": "r"},
                   words_record("three", start=3.0), {"type": "end", "time": 1.0}]
    for _ in range(rng.randint(1, 3)):
        index = rng.randrange(len(lines))
        kind = rng.choice(["value", "value", "bytes", "drop", "swap"])
        if kind == "value":
            lines[index] = _mutate_record(rng, lines[index])
        elif kind == "bytes":
            text = json.dumps(lines[index]) if not isinstance(lines[index], str) else lines[index]
            cut = rng.randrange(len(text) + 1)
            lines[index] = text[:cut] + rng.choice(["", "\x00", "}", "{", "\ufffd", "NaN", ","]) + text[cut + 1:]
        elif kind == "drop":
            del lines[index]
            if not lines:
                lines = ["{}"]
        else:
            j = rng.randrange(len(lines))
            lines[index], lines[j] = lines[j], lines[index]
    return [line if isinstance(line, (dict, str)) else json.dumps(line) for line in lines]


def test_fuzzed_journals(tmp_path, capsys, monkeypatch):
    rng = random.Random(SEED)
    monkeypatch.setenv("LIVECAPTION_DATA_DIR", str(tmp_path))
    sessions = tmp_path / "sessions"
    for i in range(300):
        path = write_journal(sessions, f"case{i:03d}", _journal_lines(rng))
        before = digest(path)
        fmt = rng.choice(["txt", "srt", "vtt", "json"])
        code, err = run(capsys, "recover", str(path), "--format", fmt)
        assert_clean(code, err, f"case {i}: {path.read_text()!r}")
        assert digest(path) == before
    code, err = run(capsys, "recover", "--list")  # all 300 at once, however damaged
    assert code == 0 and "Traceback" not in err and "internal error" not in err


# -- model folders ---------------------------------------------------------------------------

def _mutate_config(rng: random.Random) -> str:
    config = dict(SMALL_CONFIG)
    kind = rng.choice(["value", "value", "drop", "whole", "bytes"])
    if kind == "value":
        config[rng.choice(list(config))] = rng.choice(HOSTILE_VALUES + [rng.randint(-5, 5000)])
    elif kind == "drop":
        del config[rng.choice(list(config))]
    elif kind == "whole":
        return json.dumps(rng.choice(HOSTILE_VALUES))
    text = json.dumps(config)
    if kind == "bytes":
        cut = rng.randrange(len(text))
        text = text[:cut] + rng.choice(["", "\x00", "{", "]", '"', "NaN"]) + text[cut + 1:]
    return text


def _mutate_safetensors(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    length = struct.unpack("<Q", data[:8])[0]
    kind = rng.choice(["flip", "length", "truncate", "append"])
    if kind == "flip":
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(8 + length)] = rng.randrange(256)
    elif kind == "length":
        data[:8] = struct.pack("<Q", rng.choice([0, 1, length - 1, length + 1, 2**63, len(data)]))
    elif kind == "truncate":
        del data[rng.randrange(len(data)):]
    else:
        data += bytes(rng.randrange(1, 64))
    return bytes(data)


def test_fuzzed_model_folders(tmp_path, capsys, scripted):
    rng = random.Random(SEED)
    wav = Path(clip_path("one_two_three.wav"))
    weights = small_model(tmp_path / "whole") / "model.safetensors"
    for i in range(200):
        folder = small_model(tmp_path / f"case{i}")
        if i % 2:
            (folder / "config.json").write_text(_mutate_config(rng))
        else:
            (folder / "model.safetensors").write_bytes(_mutate_safetensors(rng, weights.read_bytes()))
        before = {p.name: digest(p) for p in folder.iterdir()}
        code, err = run(capsys, "transcribe", str(wav), "--model", str(folder), "--device", "cpu")
        assert_clean(code, err, f"case {i}: {(folder / 'config.json').read_text()[:200]!r}")
        assert {p.name: digest(p) for p in folder.iterdir()} == before
