"""Batched file transcription: speech windows cut at pauses, decoded together, same accuracy."""

from __future__ import annotations

import json


from conftest import CLIPS, clip_path, run_cli
from livecaption.asr.whisper.batched import MAX_BATCH, batch_size_for, speech_windows
from livecaption.asr.types import TranscribeOptions
from livecaption.audio.decode import SAMPLE_RATE
from livecaption.metrics import wer
from signals import silence


def test_speech_windows_cover_the_speech_and_never_exceed_30_s(english_concat):
    audio, _ = english_concat
    windows = speech_windows(audio)
    assert windows and all(0 < end - begin <= 30 * SAMPLE_RATE for begin, end in windows)
    assert all(a[1] <= b[0] for a, b in zip(windows, windows[1:]))
    covered = sum(end - begin for begin, end in windows) / SAMPLE_RATE
    assert covered >= len(audio) / SAMPLE_RATE - 4 * 1.5 - 1.0  # everything but (most of) the pauses
    assert speech_windows(silence(20)) == []


def test_batched_equals_sequential_within_half_a_wer_point(tiny_fp32, english_concat):
    audio, reference = english_concat
    sequential = tiny_fp32.transcribe(audio, TranscribeOptions(beam_size=1))
    batched = tiny_fp32.transcribe(audio, TranscribeOptions(beam_size=1, batched=True, batch_size=2))
    one_by_one = tiny_fp32.transcribe(audio, TranscribeOptions(beam_size=1, batched=True, batch_size=1))
    print(f"WER sequential {wer(reference, sequential.text):.4f}, batched {wer(reference, batched.text):.4f}")
    assert wer(reference, batched.text) <= wer(reference, sequential.text) + 0.005, batched.text
    assert wer(batched.text, one_by_one.text) <= 0.01  # batching itself changes nothing that matters
    starts = [seg.start for seg in batched.segments]
    assert starts == sorted(starts) and batched.segments[-1].end <= batched.duration
    assert batched.options["batched"] is True


def test_batch_size_follows_free_memory_within_bounds(tiny_fp32):
    assert 1 <= batch_size_for(tiny_fp32.runtime) <= MAX_BATCH


def test_cli_batched_transcription_and_its_flag_errors(tmp_path):
    out = tmp_path / "jfk.json"
    proc = run_cli("transcribe", str(clip_path("jfk.flac")), "--batched", "--batch-size", "2", "--beam-size", "1",
                   "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert wer(CLIPS["jfk.flac"]["reference"], result["text"]) <= 0.05
    lonely = run_cli("transcribe", str(clip_path("jfk.flac")), "--batch-size", "2")
    assert lonely.returncode == 2 and "--batch-size goes with --batched" in lonely.stderr
    zero = run_cli("transcribe", str(clip_path("jfk.flac")), "--batched", "--batch-size", "0")
    assert zero.returncode == 2 and "--batch-size must be from 1 to 256, not 0" in zero.stderr
