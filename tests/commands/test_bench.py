"""``livecaption bench``: --compare runs both engines on the same clip and reports ratios; streaming; soak."""

from __future__ import annotations

import json

from conftest import CLIPS, clip_path, run_cli


def test_bench_compares_against_faster_whisper_int8(tmp_path):
    ref = tmp_path / "ref.txt"
    ref.write_text(CLIPS["jfk.flac"]["reference"])
    proc = run_cli("bench", str(clip_path("jfk.flac")), "--compare", "--batched", "--ref", str(ref),
                   "--precisions", "fp32,int8", "--beam-size", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {(r["engine"], r["precision"]): r for r in json.loads(proc.stdout)}
    assert set(rows) == {("faster-whisper cpu", "int8"), ("faster-whisper cpu", "fp32"),
                         ("livecaption cpu", "fp32"), ("livecaption cpu", "int8"),
                         ("livecaption cpu batched", "fp32"), ("livecaption cpu batched", "int8")}
    baseline = rows[("faster-whisper cpu", "int8")]
    assert baseline["ratio_to_baseline"] == 1.0
    for row in rows.values():
        assert abs(row["ratio_to_baseline"] - row["seconds"] / baseline["seconds"]) < 1e-9
    for row in rows.values():
        assert row["seconds"] > 0 and row["rtf"] > 0
        assert row["wer"] <= 0.10, row["text"]


def test_bench_refuses_non_embedded_models(tmp_path):
    proc = run_cli("bench", str(clip_path("one_two_three.wav")), "--offline", "--model", str(tmp_path))
    assert proc.returncode == 2 and "embedded model" in proc.stderr


def test_streaming_bench_reports_latency_and_writes_recomputable_events(tmp_path):
    ref = tmp_path / "ref.txt"
    ref.write_text(CLIPS["jfk.flac"]["reference"])
    events = tmp_path / "events.jsonl"
    proc = run_cli("bench", str(clip_path("jfk.flac")), "--fast", "--ref", str(ref), "--events", str(events), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["mode"] == "fast" and report["device"] == "cpu" and report["precision"] == "fp32"
    assert report["wer_vs_reference"] <= 0.15 and report["offline_wer_vs_reference"] <= 0.05
    for key in ("emission_latency_p50", "emission_latency_p95", "final_latency_p50", "first_word_latency_p50"):
        assert report[key] is not None and report[key] > 0, key
    assert report["rtf"] > 0 and report["dropped_seconds"] == 0 and report["peak_rss_mb"] > 50
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert len(lines) == report["words"] > 15
    assert set(lines[0]) == {"word", "start", "end", "emitted"}
    import statistics

    recomputed = statistics.median(w["emitted"] - w["end"] for w in lines)
    assert abs(recomputed - report["emission_latency_p50"]) < 0.01


def test_soak_needs_positive_minutes():
    proc = run_cli("bench", str(clip_path("jfk.flac")), "--soak", "0")
    assert proc.returncode == 2 and "--soak must be from 0.1 to 1440, not 0" in proc.stderr


def test_meeting_bench_reports_each_input_alone_and_together_with_labelled_events(tmp_path):
    refs = {}
    for name in ("jfk.flac", "one_two_three.wav"):
        refs[name] = tmp_path / f"{name}.txt"
        refs[name].write_text(CLIPS[name]["reference"])
    events = tmp_path / "events.jsonl"
    proc = run_cli("bench", str(clip_path("one_two_three.wav")), "--ref", str(refs["one_two_three.wav"]),
                   "--system-audio-file", str(clip_path("jfk.flac")), "--system-ref", str(refs["jfk.flac"]),
                   "--fast", "--events", str(events), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    inputs = {i["speaker"]: i for i in report["inputs"]}
    assert set(inputs) == {"You", "Others"} and inputs["You"]["source"] == "microphone"
    for i in inputs.values():
        assert i["wer_against"] == "reference" and i["wer_together"] <= i["wer_alone"] + 0.03, i
        assert i["final_latency_p50"] > 0 and i["dropped_seconds"] == 0
    assert report["word_attribution"] >= 0.98 and report["rtf_together"] > 0
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert {(w["source"], w["speaker"]) for w in lines} == {("microphone", "You"), ("system", "Others")}
    assert sum(w["source"] == "system" for w in lines) == inputs["Others"]["words"]


def test_meeting_bench_options_that_do_not_go_together_are_one_line(tmp_path):
    for extra in (["--offline"], ["--soak", "1"], ["--system-ref", str(tmp_path / "x.txt")]):
        args = ["bench", str(clip_path("jfk.flac")), *extra]
        if extra[0] != "--system-ref":
            args += ["--system-audio-file", str(clip_path("one_two_three.wav"))]
        proc = run_cli(*args)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    proc = run_cli("bench", str(clip_path("jfk.flac")), "--system-audio-file", str(tmp_path / "missing.wav"))
    assert proc.returncode == 2 and "missing.wav" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_cold_bench_times_whole_processes_against_faster_whisper():
    proc = run_cli("bench", str(clip_path("one_two_three.wav")), "--cold", "--compare", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {row["what"]: row["runs"] for row in json.loads(proc.stdout)}
    assert set(rows) == {"faster-whisper (int8)", "faster-whisper (float32)", "livecaption transcribe (fp32)",
                         "livecaption listen --replay (fp32)"}
    for runs in rows.values():
        assert len(runs) == 1 and runs[0]["seconds"] > 0.3
        assert 100 < runs[0]["peak_rss_mb"] < 4000  # each child's own peak: a whole interpreter with torch
    (live,) = rows["livecaption listen --replay (fp32)"]
    # Ready before the first caption, which comes before the replay (2.5 s at real-time pace) ends.
    assert 0 < live["ready_s"] < live["first_caption_s"] < live["seconds"]
    assert live["seconds"] > 2.5


def test_cold_bench_options_that_do_not_go_together_are_one_line():
    for extra in (["--offline"], ["--fast"], ["--events", "e.jsonl"]):
        proc = run_cli("bench", str(clip_path("one_two_three.wav")), "--cold", *extra)
        assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
        assert "--cold times whole transcribe and listen processes" in proc.stderr
    proc = run_cli("bench", "-", "--cold")
    assert proc.returncode == 2 and "give a file, not -" in proc.stderr, proc.stderr
