"""The real ``livecaption`` command in a subprocess: outputs, and every error path's message and status."""

from __future__ import annotations

import json

import pytest

from conftest import CLIPS, clip_path, run_cli
from livecaption.asr.whisper.models import converted_path
from livecaption.metrics import wer

JFK = str(clip_path("jfk.flac"))
ONE_TWO_THREE = str(clip_path("one_two_three.wav"))


def assert_user_error(proc, *phrases: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip() and "WARNING" not in line]
    assert len(lines) == 1 and lines[0].startswith("livecaption: error: "), proc.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


def test_transcribe_prints_text(tmp_path):
    proc = run_cli("transcribe", JFK)
    assert proc.returncode == 0, proc.stderr
    assert wer(CLIPS["jfk.flac"]["reference"], proc.stdout) <= 0.05


def test_json_output_by_extension_and_no_clobber_without_force(tmp_path):
    out = tmp_path / "jfk.json"
    proc = run_cli("transcribe", JFK, "-o", str(out), "--precision", "int8", "--beam-size", "1")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["precision"] == "int8" and data["device"] == "cpu" and data["model"] == "tiny.en"
    assert data["segments"] and data["segments"][0]["words"]

    out.write_text("keep me")
    proc = run_cli("transcribe", JFK, "-o", str(out))
    assert_user_error(proc, str(out), "already exists", "--force")
    assert out.read_text() == "keep me"
    proc = run_cli("transcribe", JFK, "-o", str(out), "--force", "--beam-size", "1")
    assert proc.returncode == 0 and json.loads(out.read_text())["text"]


def test_several_files_into_a_folder(tmp_path):
    out = tmp_path / "subs"
    proc = run_cli("transcribe", JFK, ONE_TWO_THREE, "-o", str(out), "--format", "vtt", "--beam-size", "1")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["jfk.vtt", "one_two_three.vtt"]
    assert "One, two, three" in (out / "one_two_three.vtt").read_text()


def test_models_lists_both_embedded_models():
    proc = run_cli("models")
    assert proc.returncode == 0
    names = [line.split("\t")[0] for line in proc.stdout.splitlines()]
    assert names == ["tiny.en (default)", "base"]


def test_local_transformers_folder_as_model(tiny_fp32):
    proc = run_cli("transcribe", ONE_TWO_THREE, "--model", str(converted_path("tiny.en")), "--beam-size", "1")
    assert proc.returncode == 0, proc.stderr
    assert "one, two, three" in proc.stdout.lower()


def test_missing_file():
    assert_user_error(run_cli("transcribe", "/no/such/recording.wav"), "/no/such/recording.wav", "no such file")


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert_user_error(run_cli("transcribe", str(empty)), "empty.wav", "empty")


def test_corrupt_file(tmp_path):
    corrupt = tmp_path / "corrupt.flac"
    corrupt.write_bytes(b"fLaC" + bytes(range(256)) * 40)
    assert_user_error(run_cli("transcribe", str(corrupt)), "corrupt.flac")


def test_non_audio_file(tmp_path):
    text = tmp_path / "minutes.txt"
    text.write_text("Action items: none.\n" * 100)
    assert_user_error(run_cli("transcribe", str(text)), "minutes.txt")


def test_unknown_model_names_the_model():
    assert_user_error(run_cli("transcribe", JFK, "--model", "nobody/no-such-whisper"), "nobody/no-such-whisper",
                      "could not be loaded from the Hugging Face hub")
    assert_user_error(run_cli("transcribe", JFK, "--model", "./models/missing"), "./models/missing", "unknown model")


def test_output_folder_that_does_not_exist(tmp_path):
    out = tmp_path / "no" / "such" / "folder" / "out.txt"
    assert_user_error(run_cli("transcribe", JFK, "-o", str(out)), "does not exist")


def test_output_that_cannot_be_written():
    # /proc accepts no new files, even from root, which CI runs as.
    assert_user_error(run_cli("transcribe", ONE_TWO_THREE, "-o", "/proc/livecaption-out.txt", "--beam-size", "1"),
                      "/proc/livecaption-out.txt", "cannot write")


def test_output_folder_for_one_input_gets_a_file_named_after_it(tmp_path):
    proc = run_cli("transcribe", ONE_TWO_THREE, "-o", str(tmp_path), "--format", "srt", "--beam-size", "1")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "one_two_three.srt").read_text().startswith("1\n00:00:00")


@pytest.mark.parametrize("args, phrases", [
    (["--language", "fr"], ["English-only"]),
    (["--device", "gpu"], ["invalid device 'gpu'"]),
    (["--device", "cuda", "--precision", "int8"], ["int8", "CPU only"]),
    (["--model", "base", "--language", "xx"], ["unknown language 'xx'"]),
])
def test_invalid_choices(args, phrases):
    assert_user_error(run_cli("transcribe", ONE_TWO_THREE, *args), *phrases)
