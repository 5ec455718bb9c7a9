"""Issue #17: hostile and careless inputs through the real command. Each test checks the exit
status, that stderr is exactly one line (no traceback), and that every input is byte for byte intact.

Most of these fail before any model is loaded, which is the point: the cheap checks come first.
The few that need a model use tiny.en on the CPU and one short clip.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from conftest import clip_path, run_cli
from hostile import HEADER, digest, words_record, write_float_wav, write_journal

CPU = ("--device", "cpu")


def one_line(proc, status: int = 2, *phrases: str) -> str:
    """The command failed with ``status`` and said so in exactly one line, without a traceback."""
    assert proc.returncode == status, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("livecaption: error: "), proc.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def recording(tmp_path):
    """The user's only copy of a recording, and its digest."""
    path = tmp_path / "rec.wav"
    shutil.copyfile(clip_path("one_two_three.wav"), path)
    return path, digest(path)


# -- data loss -----------------------------------------------------------------------------------

@pytest.mark.parametrize("force", [[], ["--force"]])
def test_transcribe_output_that_is_the_input_is_refused_even_with_force(recording, force):
    rec, before = recording
    line = one_line(run_cli("transcribe", str(rec), "-o", str(rec), *force, *CPU), 2, "is the input", "never writes over")
    assert "pass --force" not in line  # the old message invited the user to destroy the recording
    assert digest(rec) == before


def test_output_that_is_the_input_through_a_symlink_or_hard_link_is_refused(recording, tmp_path):
    rec, before = recording
    (tmp_path / "notes.txt").symlink_to(rec)
    os.link(rec, tmp_path / "hard.txt")
    for name in ("notes.txt", "hard.txt"):
        one_line(run_cli("transcribe", str(rec), "-o", str(tmp_path / name), "--force", *CPU), 2, "is the input")
    assert digest(rec) == before


def test_listen_replay_output_that_is_the_input_is_refused(recording):
    rec, before = recording
    one_line(run_cli("listen", "--replay", str(rec), "-o", str(rec), "--force", *CPU), 2, "is the input")
    assert digest(rec) == before


def test_bench_events_never_clobbers_and_never_overwrites_the_input(recording, tmp_path):
    rec, before = recording
    events = tmp_path / "events.jsonl"
    events.write_text("last week's events\n")
    one_line(run_cli("bench", str(rec), "--fast", "--events", str(events)), 2, "already exists", "--force")
    assert events.read_text() == "last week's events\n"
    one_line(run_cli("bench", str(rec), "--fast", "--events", str(rec), "--force"), 2, "is the input")
    assert digest(rec) == before


def test_recover_output_that_is_the_journal_is_refused(tmp_path):
    journal = write_journal(tmp_path / "sessions", "s1", [HEADER, words_record("one", "two")])
    before = digest(journal)
    one_line(run_cli("recover", str(journal), "-o", str(journal), "--force"), 2, "is the input")
    assert digest(journal) == before


def test_a_malformed_journal_does_not_stop_the_listing(tmp_path):
    sessions = tmp_path / "sessions"
    good = write_journal(sessions, "20260101-000000-aaaaaa", [HEADER, words_record("one", "two")])
    bad = write_journal(sessions, "20260101-000001-bbbbbb", ["[1, 2, 3]", words_record("x")])
    before = digest(bad)
    proc = run_cli("recover", "--list", env={"LIVECAPTION_DATA_DIR": str(tmp_path)})
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert good.stem in proc.stdout and "2 words" in proc.stdout
    assert f"notice: skipped {bad}" in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert digest(bad) == before


def test_a_failed_listen_leaves_no_header_only_journal(tmp_path):
    # The model folder is broken, so listen fails after the checks; nothing may be left behind.
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("[]")
    (model / "model.safetensors").write_bytes(b"")
    write_journal(tmp_path / "sessions", "20260101-000001-bbbbbb", ["garbage"])
    replay = tmp_path / "a.wav"
    shutil.copyfile(clip_path("one_two_three.wav"), replay)
    proc = run_cli("listen", "--replay", str(replay), "--model", str(model), *CPU,
                   env={"LIVECAPTION_DATA_DIR": str(tmp_path)})
    one_line(proc, 2, "config.json is not a JSON object")
    assert sorted(p.name for p in (tmp_path / "sessions").iterdir()) == ["20260101-000001-bbbbbb.jsonl"]


# -- options, checked before any work -----------------------------------------------------------

@pytest.mark.parametrize("args, phrase", [
    (["--beam-size", "60000"], "--beam-size must be from 1 to 20, not 60000"),
    (["--beam-size", "0"], "--beam-size must be from 1 to 20"),
    (["--batched", "--batch-size", "100000"], "--batch-size must be from 1 to 256"),
    (["--batch-size", "4"], "--batch-size goes with --batched"),
    (["--beam-size", "many"], "invalid int value: 'many'"),
    (["--language", "english!"], "invalid language 'english!'"),
    (["--device", "gpu"], "invalid device 'gpu'"),
    (["--prompt", "x" * 20_000], "--prompt is 20000 characters"),
])
def test_transcribe_options_out_of_bounds(recording, args, phrase):
    rec, before = recording
    one_line(run_cli("transcribe", str(rec), *args), 2, phrase)
    assert digest(rec) == before


@pytest.mark.parametrize("args, phrase", [
    (["--hangover-ms", "99999999"], "--hangover-ms must be from 30 to 10000"),
    (["--pause-commit-ms", "-5"], "--pause-commit-ms must be from 0 to 10000"),
    (["--language", "FR"], "English-only"),  # lowercased, then checked against tiny.en's metadata
])
def test_listen_options_are_checked_before_audio_opens(recording, args, phrase):
    rec, before = recording
    one_line(run_cli("listen", "--replay", str(rec), *args, *CPU), 2, phrase)
    assert digest(rec) == before


def test_listen_language_in_capitals_is_lowercased(recording, tmp_path):
    """Also: a malformed journal in the sessions folder does not stop a new session (it used to crash)."""
    rec, before = recording
    bad = write_journal(tmp_path / "sessions", "20260101-000001-bbbbbb", ['{"type": "header", "options": null}',
                                                                       '"just a string"'])
    write_journal(tmp_path / "sessions", "20260101-000002-cccccc", ["[1, 2, 3]"])
    out = tmp_path / "out.txt"
    proc = run_cli("listen", "--replay", str(rec), "--language", "EN", "-o", str(out), *CPU,
                   env={"LIVECAPTION_DATA_DIR": str(tmp_path)})
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "three" in out.read_text().lower()
    assert digest(rec) == before
    assert len(list((tmp_path / "sessions").glob("*.jsonl"))) == 3  # the bad ones, untouched, and this session's
    assert "notice: skipped" in proc.stderr
    assert bad.read_text().startswith('{"type": "header", "options": null}')


@pytest.mark.parametrize("args, phrase", [
    (["--soak", "nan"], "--soak must be a number from 0.1 to 1440, not nan"),
    (["--soak", "inf"], "--soak must be a number"),
    (["--soak", "5", "--pause", "-1"], "--pause must be from 0 to 3600"),
    (["--repeat", "1000", "--offline"], "--repeat must be from 1 to 100"),
    (["--offline", "--precisions", "fp32,fp64"], "invalid precision 'fp64'"),
    (["--ref", "missing.txt"], "missing.txt: no such file (--ref)"),
    (["--events", "no/such/folder/events.jsonl"], "folder no/such/folder does not exist"),
    (["--offline", "--events", "e.jsonl"], "--events goes with the streaming bench"),
])
def test_bench_arguments_are_checked_before_the_work(recording, args, phrase):
    rec, before = recording
    one_line(run_cli("bench", str(rec), *args), 2, phrase)
    assert digest(rec) == before


def test_language_the_embedded_model_lacks_is_refused_before_conversion(recording, tmp_path):
    """Issue #10: the bundle's metadata says tiny.en is English-only; nothing is converted."""
    rec, _ = recording
    cache = tmp_path / "cache"
    one_line(run_cli("transcribe", str(rec), "--language", "de", env={"LIVECAPTION_CACHE_DIR": str(cache)}),
             2, "English-only")
    one_line(run_cli("transcribe", str(rec), "--model", "base", "--language", "xx",
                     env={"LIVECAPTION_CACHE_DIR": str(cache)}), 2, "unknown language 'xx'")
    one_line(run_cli("transcribe", str(rec), "--task", "translate", env={"LIVECAPTION_CACHE_DIR": str(cache)}),
             2, "translation needs a multilingual model")
    assert not cache.exists()


# -- paths ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("slash", [os.sep, ""])
def test_several_inputs_with_a_missing_one_still_transcribe_the_good_one(recording, tmp_path, slash):
    # Without the trailing slash too: two inputs named make -o a folder even when only one is left
    # (it once became a file named outdir).
    rec, before = recording
    out = tmp_path / "outdir"
    proc = run_cli("transcribe", str(rec), str(tmp_path / "missing.wav"), "-o", f"{out}{slash}", "--beam-size", "1", *CPU)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("livecaption: error:")]
    assert errors == [f"livecaption: error: {tmp_path / 'missing.wav'}: no such file"], proc.stderr
    assert "three" in (out / "rec.txt").read_text().lower()
    assert digest(rec) == before


def test_only_bad_inputs_leave_no_empty_folder(tmp_path):
    out = tmp_path / "outdir"
    proc = run_cli("transcribe", str(tmp_path / "a.wav"), str(tmp_path / "b.wav"), "-o", str(out))
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 2 and "Traceback" not in proc.stderr
    assert not out.exists()


def test_process_substitution_is_read(tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    source = clip_path("one_two_three.wav")
    # What `transcribe <(cat a.wav)` does: the shell hands over a pipe that is written once.
    import subprocess
    writer = subprocess.Popen(["sh", "-c", f"cat '{source}' > '{fifo}'"])
    proc = run_cli("transcribe", str(fifo), "--beam-size", "1", *CPU)
    writer.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert "three" in proc.stdout.lower()


@pytest.mark.parametrize("device, phrase", [("/dev/zero", "is a character device"), ("/dev/null", "is a character device")])
def test_a_device_given_as_audio_is_refused_by_name(device, phrase):
    one_line(run_cli("transcribe", device), 2, phrase)


def test_output_that_is_a_device_is_refused_even_with_force(recording):
    rec, before = recording
    one_line(run_cli("transcribe", str(rec), "-o", "/dev/null", "--force"), 2, "not a regular file")
    assert digest(rec) == before


def test_output_below_a_file_says_the_file_is_not_a_folder(recording, tmp_path):
    rec, _ = recording
    notes = tmp_path / "notes.txt"
    notes.write_text("keep")
    one_line(run_cli("transcribe", str(rec), "-o", str(notes / "out.txt")), 2, f"{notes} is a file, not a folder")
    assert notes.read_text() == "keep"


def test_dangling_symlink_output_is_not_replaced_without_force(recording, tmp_path):
    rec, _ = recording
    link = tmp_path / "out.txt"
    link.symlink_to(tmp_path / "elsewhere.txt")
    one_line(run_cli("transcribe", str(rec), "-o", str(link)), 2, "already exists")
    assert link.is_symlink()


@pytest.mark.parametrize("variable, command", [
    ("LIVECAPTION_CACHE_DIR", ["transcribe"]), ("LIVECAPTION_DATA_DIR", ["recover", "--list"]),
    ("LIVECAPTION_DATA_DIR", ["listen", "--replay"]),
])
def test_environment_folder_that_is_a_file(recording, tmp_path, variable, command):
    rec, before = recording
    args = [*command, str(rec)] if command[0] != "recover" else command
    one_line(run_cli(*args, env={variable: str(rec)}), 2, f"{variable}=", "is a file, not a folder")
    assert digest(rec) == before


def test_recover_output_without_a_session_is_refused(tmp_path):
    one_line(run_cli("recover", "-o", str(tmp_path / "out.txt"), env={"LIVECAPTION_DATA_DIR": str(tmp_path)}),
             2, "-o needs a SESSION")
    assert not (tmp_path / "out.txt").exists()


# -- audio content ------------------------------------------------------------------------------

def test_float_wav_of_only_nan_and_inf_is_refused(tmp_path):
    samples = np.full(16_000, np.nan, np.float32)
    samples[::2] = np.inf
    wav = write_float_wav(tmp_path / "nan.wav", samples)
    before = digest(wav)
    cache = tmp_path / "cache"  # refused before the model is converted or loaded
    one_line(run_cli("transcribe", str(wav), env={"LIVECAPTION_CACHE_DIR": str(cache)}), 2,
             "every sample is NaN or infinite")
    assert digest(wav) == before and not cache.exists()


def test_float_wav_with_some_nan_samples_is_transcribed_as_silence_there(tmp_path, jfk_audio):
    from livecaption.audio.decode import SAMPLE_RATE, decode_audio

    speech = decode_audio(clip_path("one_two_three.wav"))
    samples = speech.copy()
    samples[::1000] = np.nan
    samples[500::1000] = -np.inf
    wav = write_float_wav(tmp_path / "some-nan.wav", samples, SAMPLE_RATE)
    before = digest(wav)
    proc = run_cli("transcribe", str(wav), *CPU, timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "NaN or infinite" in proc.stderr and "two" in proc.stdout.lower()
    assert digest(wav) == before


# -- the last resort --------------------------------------------------------------------------------

def test_an_unexpected_exception_is_one_line_pointing_to_verbose(monkeypatch, capsys):
    from livecaption import cli

    def broken(args):
        raise RuntimeError("something nobody foresaw\nsecond line")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    for action in parser._subparsers._group_actions[0].choices.values():
        if action.prog.endswith("models"):
            action.set_defaults(func=broken)
    assert cli.main(["models"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error, RuntimeError: something nobody foresaw second line" in err
    assert "run with -v" in err and "Traceback" not in err
    assert cli.main(["-v", "models"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_an_os_error_about_a_users_file_is_exit_2(monkeypatch, capsys):
    from livecaption import cli

    def vanished(args):
        raise FileNotFoundError(2, "No such file or directory", "/tmp/gone.wav")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    for action in parser._subparsers._group_actions[0].choices.values():
        if action.prog.endswith("models"):
            action.set_defaults(func=vanished)
    assert cli.main(["models"]) == 2
    err = capsys.readouterr().err
    assert err == "livecaption: error: /tmp/gone.wav: No such file or directory (run with -v to see where)\n"
