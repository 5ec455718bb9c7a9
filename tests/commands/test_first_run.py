"""What a new user meets on a fresh machine: an empty model cache, conversion progress in a log,
argument errors refused before the slow first-use conversion."""

from __future__ import annotations

import io

from conftest import clip_path, run_cli
from livecaption.progress import ConversionProgress

ONE_TWO_THREE = str(clip_path("one_two_three.wav"))


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_first_use_converts_into_an_empty_cache_with_two_lines_of_progress_in_a_log(tmp_path):
    # stderr is a pipe here, as in a log or CI: one line when conversion starts, one when it ends.
    proc = run_cli("transcribe", ONE_TWO_THREE, "--beam-size", "1", env={"LIVECAPTION_CACHE_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "convert" in line]
    assert len(lines) == 2, proc.stderr
    assert lines[0].startswith("converting tiny.en") and lines[1].startswith("converted tiny.en in ")
    assert "\r" not in proc.stderr
    assert (tmp_path / "models" / "tiny.en" / "model.safetensors").is_file()
    listing = run_cli("models", env={"LIVECAPTION_CACHE_DIR": str(tmp_path)})
    assert listing.returncode == 0
    tiny_line = next(line for line in listing.stdout.splitlines() if line.startswith("tiny.en"))
    assert "converted" in tiny_line and str(tmp_path / "models" / "tiny.en") in tiny_line
    again = run_cli("transcribe", ONE_TWO_THREE, "--beam-size", "1", env={"LIVECAPTION_CACHE_DIR": str(tmp_path)})
    assert again.returncode == 0 and "convert" not in again.stderr, again.stderr  # converted once, reused


def test_progress_on_a_terminal_is_one_line_redrawn_in_place():
    terminal = _Terminal()
    progress = ConversionProgress("tiny.en", terminal)
    for done in range(1, 7):
        progress(done, 6, f"layer {done}")
    text = terminal.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    assert text.count("\r") == 6 and "100%" in text.splitlines()[-1]


def test_progress_in_a_log_is_at_most_two_lines_whatever_the_step_count():
    log = io.StringIO()
    progress = ConversionProgress("base", log)
    for done in range(1, 101):
        progress(done, 100, "weights")
    lines = log.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in log.getvalue()
    assert lines[0].startswith("converting base") and lines[1].startswith("converted base in ")


def test_bad_language_on_base_is_refused_before_converting_into_an_empty_cache(tmp_path):
    proc = run_cli("transcribe", ONE_TWO_THREE, "--model", "base", "--language", "xx",
                   env={"LIVECAPTION_CACHE_DIR": str(tmp_path)}, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("livecaption: error: ") and "xx" in lines[0], proc.stderr
    assert not (tmp_path / "models" / "base").exists()  # nothing slow ran before the cheap check


def test_english_only_model_refuses_another_language_before_converting(tmp_path):
    proc = run_cli("transcribe", ONE_TWO_THREE, "--model", "tiny.en", "--language", "de",
                   env={"LIVECAPTION_CACHE_DIR": str(tmp_path)}, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "English-only" in lines[0], proc.stderr
    assert not (tmp_path / "models" / "tiny.en").exists()
