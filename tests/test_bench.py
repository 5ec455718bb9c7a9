"""``livecaption bench --offline --compare`` runs both engines on the same clip and reports ratios."""

from __future__ import annotations

import json

from conftest import CLIPS, clip_path, run_cli


def test_bench_compares_against_faster_whisper_int8(tmp_path):
    ref = tmp_path / "ref.txt"
    ref.write_text(CLIPS["jfk.flac"]["reference"])
    proc = run_cli("bench", str(clip_path("jfk.flac")), "--offline", "--compare", "--ref", str(ref),
                   "--precisions", "fp32,int8", "--beam-size", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {(r["engine"], r["precision"]): r for r in json.loads(proc.stdout)}
    assert set(rows) == {("faster-whisper", "int8"), ("faster-whisper", "fp32"), ("livecaption", "fp32"), ("livecaption", "int8")}
    assert rows[("faster-whisper", "int8")]["ratio_to_baseline"] == 1.0
    for row in rows.values():
        assert row["seconds"] > 0 and row["rtf"] > 0
        assert row["wer"] <= 0.10, row["text"]


def test_bench_refuses_non_embedded_models(tmp_path):
    proc = run_cli("bench", str(clip_path("one_two_three.wav")), "--offline", "--model", str(tmp_path))
    assert proc.returncode == 2 and "embedded model" in proc.stderr
