"""Hostile inputs found beyond issue #17's list: names, folders and settings that used to be
misread (an empty -o wrote into the current folder) or crash with a traceback."""

from __future__ import annotations

import shutil

import pytest

from conftest import clip_path, run_cli
from hostile import HEADER, digest, words_record, write_journal
from test_hostile_inputs import one_line


@pytest.fixture
def rec(tmp_path):
    path = tmp_path / "rec.wav"
    shutil.copyfile(clip_path("one_two_three.wav"), path)
    return path


@pytest.mark.parametrize("args, phrase", [
    (["transcribe", "REC", "-o", ""], "-o is an empty name"),
    (["transcribe", ""], "an input file is an empty name"),
    (["transcribe", "REC", "--model", ""], "--model is an empty name"),
    (["transcribe", "REC", "-o", "x" * 300 + ".txt"], "-o names a path too long"),
    (["recover", "y" * 300], "SESSION names a path too long"),
    (["listen", "--replay", "REC", "-o", ""], "-o is an empty name"),
])
def test_empty_and_overlong_names(rec, tmp_path, args, phrase):
    before = digest(rec)
    args = [str(rec) if a == "REC" else a for a in args]
    one_line(run_cli(*args, env={"LIVECAPTION_DATA_DIR": str(tmp_path)}), 2, phrase)
    assert digest(rec) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.wav"]  # nothing written anywhere


def test_sessions_folder_that_is_a_file(rec, tmp_path):
    (tmp_path / "sessions").write_text("not a folder")
    for args in (["recover", "--list"], ["listen", "--replay", str(rec)]):
        one_line(run_cli(*args, env={"LIVECAPTION_DATA_DIR": str(tmp_path)}), 2, "is a file", "session journals")
    assert (tmp_path / "sessions").read_text() == "not a folder"


def test_one_input_and_an_output_folder_with_a_trailing_slash(rec, tmp_path):
    """`-o newdir/` names a folder (Path() drops the slash, which used to make it a file 'newdir')."""
    out = tmp_path / "newdir"
    proc = run_cli("transcribe", str(rec), "-o", f"{out}/", "--beam-size", "1", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert out.is_dir() and "three" in (out / "rec.txt").read_text().lower()


def test_several_inputs_into_a_folder_below_a_file(rec, tmp_path):
    (tmp_path / "notes").write_text("keep")
    one_line(run_cli("transcribe", str(rec), str(rec), "-o", str(tmp_path / "notes" / "out")), 2, "is a file")
    assert (tmp_path / "notes").read_text() == "keep"


def test_recover_into_an_existing_file_without_force_keeps_it(tmp_path):
    journal = write_journal(tmp_path, "s", [HEADER, words_record("one")])
    out = tmp_path / "out.txt"
    out.write_text("last week")
    one_line(run_cli("recover", str(journal), "-o", str(out)), 2, "already exists", "--force")
    assert out.read_text() == "last week"
    proc = run_cli("recover", str(journal), "-o", str(out), "--force")
    assert proc.returncode == 0 and out.read_text().strip() == "one"


def test_usage_errors_are_one_line(rec):
    one_line(run_cli("transcribe", str(rec), "--format", "docx"), 2, "invalid choice: 'docx'", "--help")
    one_line(run_cli("bench", str(rec), "--encoder-padding", "nan"), 2, "padding must be between 0 and 30 s")
    one_line(run_cli("no-such-command"), 2, "invalid choice")


def test_listen_output_taken_during_the_session_points_to_the_journal(rec, tmp_path):
    import subprocess
    import sys

    from conftest import REPO

    out = tmp_path / "out.txt"
    env = {**__import__("os").environ, "LIVECAPTION_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "livecaption", "listen", "--replay", str(rec), "-o", str(out),
                             "--device", "cpu"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if line.startswith("listening on"):
            out.write_text("someone else's file")  # taken while the session runs
            break
    lines += proc.stderr.readlines()
    assert proc.wait(timeout=120) == 2, lines
    errors = [line for line in lines if line.startswith("livecaption: error:")]
    assert len(errors) == 1 and "already exists" in errors[0] and "livecaption recover" in errors[0], lines
    assert out.read_text() == "someone else's file"
    session = errors[0].split("livecaption recover ")[1].split()[0]
    recovered = run_cli("recover", session, env={"LIVECAPTION_DATA_DIR": str(tmp_path)})
    assert recovered.returncode == 0 and "three" in recovered.stdout.lower()


@pytest.mark.parametrize("variable, command, purpose", [
    ("XDG_DATA_HOME", ["listen", "--replay", "REC"], "session journals"),
    ("XDG_DATA_HOME", ["recover", "--list"], "session journals"),
    ("XDG_CACHE_HOME", ["transcribe", "REC"], "converted models"),
])
def test_platform_folders_below_a_file_are_refused_before_any_work(rec, tmp_path, monkeypatch, variable, command, purpose):
    """With no LIVECAPTION_* override, the platform's folders are used; XDG_* naming a file used to
    fail after the model had loaded, blaming LIVECAPTION_DATA_DIR, which was not even set."""
    import os

    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    env = {k: v for k, v in os.environ.items() if k not in ("LIVECAPTION_DATA_DIR", "LIVECAPTION_CACHE_DIR")}
    env[variable] = str(blocker)
    monkeypatch.setattr(os, "environ", env)  # run_cli merges os.environ: drop the test suite's overrides
    args = [str(rec) if a == "REC" else a for a in command]
    one_line(run_cli(*args, "--device", "cpu") if command[0] != "recover" else run_cli(*args), 2,
             f"cannot keep {purpose} there: {blocker} is a file")
    assert blocker.read_text() == "a file"
