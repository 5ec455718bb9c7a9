"""TXT/SRT/VTT/JSON from a real multi-window transcription: they parse back, ordered, no overlap."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest

from conftest import clip_path
from livecaption.audio.decode import SAMPLE_RATE, decode_audio
from livecaption.errors import OutputError
from livecaption.transcript.export import render, write_text_atomic

CUE_TIME = r"(\d{2}):(\d{2}):(\d{2})[,.](\d{3})"


@pytest.fixture(scope="module")
def long_result(tiny_fp32, jfk_audio):
    licence = decode_audio(clip_path("en_de_license.mp3"))[: SAMPLE_RATE * 31]
    return tiny_fp32.transcribe(np.concatenate([licence, np.zeros(SAMPLE_RATE, np.float32), jfk_audio]))


def _seconds(match: tuple[str, ...]) -> float:
    h, m, s, ms = (int(x) for x in match)
    return h * 3600 + m * 60 + s + ms / 1000


def parse_cues(text: str, decimal: str) -> list[tuple[float, float, str]]:
    pattern = re.compile(CUE_TIME.replace("[,.]", re.escape(decimal)) + " --> " + CUE_TIME.replace("[,.]", re.escape(decimal)) + r"\n(.+?)\n(?:\n|$)", re.S)
    return [(_seconds(m[:4]), _seconds(m[4:8]), m[8]) for m in pattern.findall(text)]


def _assert_ordered(cues, result):
    assert len(cues) == len(result.segments) >= 4
    assert all(start <= end for start, end, _ in cues)
    assert all(a[1] <= b[0] for a, b in zip(cues, cues[1:])), "cues overlap"
    assert " ".join(text for _, _, text in cues) == " ".join(seg.text.strip() for seg in result.segments)


def test_srt_parses_back(long_result):
    text = render(long_result, "srt")
    blocks = text.strip().split("\n\n")
    assert [int(block.splitlines()[0]) for block in blocks] == list(range(1, len(blocks) + 1))
    _assert_ordered(parse_cues(text, ","), long_result)


def test_vtt_parses_back(long_result):
    text = render(long_result, "vtt")
    assert text.startswith("WEBVTT\n\n")
    _assert_ordered(parse_cues(text, "."), long_result)


def test_json_has_every_documented_field(long_result):
    data = json.loads(render(long_result, "json"))
    assert list(data)[:6] == ["text", "language", "segments", "model", "device", "precision"]
    assert isinstance(data["text"], str) and data["text"] == long_result.text
    assert data["language"] == "en" and data["model"] == "tiny.en"
    assert data["device"] == "cpu" and data["precision"] == "fp32"
    for seg in data["segments"]:
        assert {"start", "end", "text", "words"} <= set(seg)
        assert isinstance(seg["start"], float) and seg["start"] <= seg["end"]
        for word in seg["words"]:
            assert {"start", "end", "text", "probability"} <= set(word)
            assert seg["start"] - 1e-6 <= word["start"] <= word["end"] <= seg["end"] + 1e-6


def test_txt_is_one_line_per_segment(long_result):
    lines = render(long_result, "txt").splitlines()
    assert lines == [seg.text.strip() for seg in long_result.segments]


def test_write_refuses_to_clobber_and_writes_private_files(tmp_path):
    path = tmp_path / "meeting.txt"
    path.write_text("the only copy of yesterday's notes")
    with pytest.raises(OutputError, match="already exists"):
        write_text_atomic(path, "new")
    assert path.read_text() == "the only copy of yesterday's notes"
    write_text_atomic(path, "new", force=True)
    assert path.read_text() == "new"
    fresh = tmp_path / "fresh.srt"
    write_text_atomic(fresh, "x")
    assert oct(os.stat(fresh).st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
