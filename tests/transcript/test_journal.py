"""The session journal: fsync'd before the UI sees a caption, 0600, and recoverable after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from conftest import REPO, clip_path, run_cli
from livecaption.metrics import normalize
from livecaption.streaming.events import CaptionUpdate, CommittedWord
from livecaption.transcript.journal import Journal, list_sessions, read_journal


def _update(*texts: str, ended: bool = False) -> CaptionUpdate:
    words = tuple(CommittedWord(" " + t, i * 0.5, i * 0.5 + 0.4, 1.0 + i, 0.9) for i, t in enumerate(texts))
    return CaptionUpdate(committed=words, tentative="", time=1.0, utterance_ended=ended)


def test_journal_is_private_has_a_header_and_reads_back(tmp_path):
    journal = Journal({"model": "tiny.en", "device": "cpu", "precision": "fp32", "options": {"vad": {"hangover_ms": 500}}},
                      folder=tmp_path)
    journal.append(_update("ask", "not"))
    journal.append(_update("what", ended=True))
    assert oct(journal.path.stat().st_mode & 0o777) == "0o600"
    header = json.loads(journal.path.read_text().splitlines()[0])
    assert header["type"] == "header" and header["options"]["vad"]["hangover_ms"] == 500
    session, transcript = read_journal(journal.path)
    assert not session.finished and session.words == 3
    assert transcript.to_transcription().text == "ask not what"
    journal.close()
    assert read_journal(journal.path)[0].finished


def test_a_torn_last_line_is_tolerated(tmp_path):
    journal = Journal({"model": "tiny.en"}, folder=tmp_path)
    journal.append(_update("one", "two", ended=True))
    with open(journal.path, "a") as handle:
        handle.write('{"type": "words", "words": [{"text": " thr')  # the crash happened mid-write
    session, transcript = read_journal(journal.path)
    assert transcript.to_transcription().text == "one two" and not session.finished
    assert [s.name for s in list_sessions(tmp_path)] == [journal.session]


def test_killed_listen_session_is_recovered_with_every_committed_caption(tmp_path):
    env = {**os.environ, "LIVECAPTION_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "livecaption", "listen", "--replay", str(clip_path("jfk.flac"))],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    # Wait for the first committed line on stdout (printed at an utterance's end), then kill -9.
    printed = proc.stdout.readline()
    assert printed.strip(), "listen printed no caption before the timeout"
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    listing = run_cli("recover", "--list", env={"LIVECAPTION_DATA_DIR": str(tmp_path)})
    assert listing.returncode == 0 and "UNFINISHED" in listing.stdout
    session = listing.stdout.split("\t")[0]
    out = tmp_path / "recovered.txt"
    proc = run_cli("recover", session, "-o", str(out), env={"LIVECAPTION_DATA_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    recovered = normalize(out.read_text()).split()
    shown = normalize(printed).split()
    # Every word shown before the kill is in the recovered transcript, in the same order.
    remaining = iter(recovered)
    assert shown and all(word in remaining for word in shown), (printed, recovered)
    assert "fellow" in recovered, recovered


def test_recover_errors_are_one_line(tmp_path):
    proc = run_cli("recover", "no-such-session", env={"LIVECAPTION_DATA_DIR": str(tmp_path)})
    assert proc.returncode == 2 and proc.stderr.startswith("livecaption: error: no session 'no-such-session'")


def test_a_torn_line_followed_by_the_recovery_marker_is_still_readable(tmp_path):
    from livecaption.transcript.journal import mark_recovered

    journal = Journal({"model": "tiny.en"}, folder=tmp_path)
    journal.append(_update("one", "two", ended=True))
    with open(journal.path, "a") as handle:
        handle.write('{"type": "wor')
    mark_recovered(journal.path)
    session, transcript = read_journal(journal.path)
    assert session.finished and transcript.to_transcription().text == "one two"
