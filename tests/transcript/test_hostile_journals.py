"""Issue #17: damaged and hostile session journals. Bad records are skipped and counted like torn
lines, the rest is exported in every format; a file that is not a journal is reported, never fatal."""

from __future__ import annotations

import json
import os
import threading

import pytest

from conftest import run_cli
from hostile import HEADER, digest, words_record, write_journal
from livecaption.transcript.journal import read_journal, scan_sessions

BAD_RECORDS = {
    "words as a string": {"type": "words", "words": "oops", "utterance_ended": True},
    "NaN time": '{"type": "words", "utterance_ended": true, "words": [{"text": " x", "start": NaN, "end": 1, "emitted": 1}]}',
    "string time": {"type": "words", "utterance_ended": True, "words": [{"text": " x", "start": "0", "end": 1, "emitted": 1}]},
    "missing key": {"type": "words", "words": [{"text": " x", "start": 0, "end": 1, "emitted": 1}]},
    "word missing its end": {"type": "words", "utterance_ended": True, "words": [{"text": " x", "start": 0, "emitted": 1}]},
    "time too large": {"type": "words", "utterance_ended": True, "words": [{"text": " x", "start": 1e308, "end": 1e308, "emitted": 1}]},
    "boolean time": {"type": "words", "utterance_ended": True, "words": [{"text": " x", "start": True, "end": 1, "emitted": 1}]},
    "gap without reason": {"type": "gap", "start": 1.0, "end": 2.0},
    "a JSON list": "[1, 2]",
    "a JSON number": "42",
    "no type": {"words": []},
    "torn": '{"type": "words", "wor',
}


@pytest.mark.parametrize("fmt", ["txt", "srt", "vtt", "json"])
@pytest.mark.parametrize("kind", sorted(BAD_RECORDS))
def test_a_bad_record_is_skipped_counted_and_the_rest_exported(tmp_path, kind, fmt):
    journal = write_journal(tmp_path, "s", [HEADER, words_record("one", "two"), BAD_RECORDS[kind],
                                            words_record("three", start=2.0)])
    before = digest(journal)
    out = tmp_path / f"out.{fmt}"
    proc = run_cli("recover", str(journal), "-o", str(out))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "1 damaged record(s) skipped, 3 words recovered" in proc.stderr
    text = out.read_text()
    assert all(word in text for word in ("one", "two", "three")) and " x" not in text.replace("0x", "")
    assert digest(journal) == before


def test_header_with_options_null_and_fields_of_the_wrong_type(tmp_path):
    header = {**HEADER, "options": None, "model": 5, "fallback": ["x"]}
    journal = write_journal(tmp_path, "s", [header, words_record("one")])
    session, transcript = read_journal(journal)
    assert session.header["options"] == {} and session.header["model"] == "?" and session.words == 1
    for fmt in ("srt", "vtt", "json"):
        proc = run_cli("recover", str(journal), "--format", fmt)
        assert proc.returncode == 0 and "one" in proc.stdout, proc.stderr


@pytest.mark.parametrize("first", ["[1, 2, 3]", '"header"', "null", '{"type": "words"}', "\x00\x01garbage"])
def test_a_first_line_that_is_not_a_header_is_one_clear_line(tmp_path, first):
    journal = write_journal(tmp_path, "s", [first, words_record("one")])
    before = digest(journal)
    proc = run_cli("recover", str(journal))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [f"livecaption: error: {journal}: not a livecaption journal "
                                        "(its first line is not a journal header)"]
    assert digest(journal) == before


def test_listing_reports_every_file_that_is_not_a_journal_and_lists_the_rest(tmp_path):
    sessions = tmp_path / "sessions"
    write_journal(sessions, "a-good", [HEADER, words_record("one")])
    write_journal(sessions, "b-list", ["[]"])
    write_journal(sessions, "c-damaged", [HEADER, BAD_RECORDS["words as a string"], words_record("two")])
    (sessions / "d-folder.jsonl").mkdir()
    (sessions / "e-empty.jsonl").write_text("")
    proc = run_cli("recover", "--list", env={"LIVECAPTION_DATA_DIR": str(tmp_path)})
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert [line.split("\t")[0] for line in proc.stdout.splitlines()] == ["a-good", "c-damaged"]
    assert "1 damaged records skipped" in proc.stdout
    notices = proc.stderr.splitlines()
    assert len(notices) == 3 and all(line.startswith("livecaption: notice: skipped ") for line in notices)


def test_a_fifo_in_the_sessions_folder_does_not_hang_the_listing(tmp_path):
    sessions = tmp_path / "sessions"
    write_journal(sessions, "a-good", [HEADER, words_record("one")])
    os.mkfifo(sessions / "b-fifo.jsonl")
    found = {}
    thread = threading.Thread(target=lambda: found.update(result=scan_sessions(sessions)), daemon=True)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive(), "reading a FIFO named like a journal blocked"
    listed, problems = found["result"]
    assert [s.name for s in listed] == ["a-good"] and "not a regular file" in problems[0]


def test_a_torn_line_then_the_recovery_marker_still_counts_as_finished(tmp_path):
    journal = write_journal(tmp_path, "s", [HEADER, words_record("one"), '{"type": "wo', {"type": "end", "recovered": True}])
    session, _ = read_journal(journal)
    assert session.finished and session.skipped == 1 and session.words == 1


def test_recover_json_keeps_the_header_options(tmp_path):
    journal = write_journal(tmp_path, "s", [{**HEADER, "options": {"language": "de"}}, words_record("eins")])
    proc = run_cli("recover", str(journal), "--format", "json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["language"] == "de"


def test_a_failed_session_discards_only_an_empty_journal(tmp_path):
    from livecaption.streaming.events import CaptionUpdate, CommittedWord
    from livecaption.transcript.journal import Journal

    empty = Journal({"model": "tiny.en"}, folder=tmp_path)
    assert empty.discard_if_empty() and not empty.path.exists()
    used = Journal({"model": "tiny.en"}, folder=tmp_path)
    used.append(CaptionUpdate(committed=(CommittedWord(" one", 0.0, 0.4, 1.0, 0.9),), tentative="", time=1.0,
                              utterance_ended=True))
    assert not used.discard_if_empty()
    session, _ = read_journal(used.path)
    assert session.words == 1 and not session.finished  # offered for recovery


def test_a_meeting_journal_recovers_who_said_what_and_survives_hostile_inputs_and_names(tmp_path):
    # Issue #11: words and gaps carry their input, a "sources" record names the inputs. Hostile
    # values never lose a word: a bad input is no input, a bad names record is skipped and counted.
    others = {**words_record("hello", "there", ended=False), "source": "system"}
    mine = {**words_record("hi", start=0.2), "source": "microphone"}
    others_end = {**words_record("all", start=1.0), "source": "system"}
    odd = [{**words_record("odd", start=3.0), "source": bad} for bad in (5, "x" * 1000, None, ["system"])]
    names = {"type": "sources", "names": {"microphone": "You", "system": "Others"}}
    rename = {"type": "sources", "names": {"system": "Dana", "microphone": 7, "\u202e": ""}}
    bad_names = [{"type": "sources", "names": ["You"]}, {"type": "sources", "names": {}}]
    gap = {"type": "gap", "start": 5.0, "end": 6.0, "reason": "input lost", "source": "system"}
    journal = write_journal(tmp_path, "s", [HEADER, names, others, mine, others_end, *odd, rename, *bad_names, gap])
    before = digest(journal)
    session, transcript = read_journal(journal)
    assert session.skipped == 2 and session.words == 8
    result = transcript.to_transcription()
    said = [(seg.speaker, seg.text.strip()) for seg in result.segments]
    assert said[:2] == [("Dana", "hello there all"), ("You", "hi")], said
    assert [text for who, text in said[2:6]] == ["odd"] * 4 and all(who is None for who, _ in said[2:6])
    assert said[-1] == (None, "[not captioned 5.0-6.0 s on the system audio: input lost]")
    for fmt, mark in (("txt", "] Dana: hello there all"), ("srt", "Dana: hello there all"),
                      ("vtt", "<v Dana>hello there all"), ("json", '"source": "system"')):
        proc = run_cli("recover", str(journal), "--format", fmt)
        assert proc.returncode == 0 and mark in proc.stdout, (fmt, proc.stdout, proc.stderr)
    assert digest(journal) == before
