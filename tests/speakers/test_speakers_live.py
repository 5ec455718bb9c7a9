"""Live speaker labels: the tracker beside the pipeline, its events, the journal round trip, the bench.

Real voices (tests/speakers_audio.py) go through the tracker exactly as the pipeline feeds it:
16 kHz blocks through ``audio`` and caption events through ``event``; labels come back as
``SpeakerLabels`` events from the tracker's own thread.
"""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from livecaption.speakers.live import LiveSpeakerTracker
from livecaption.streaming.events import CaptionUpdate, CommittedWord, SpeakerLabels
from livecaption.transcript.export import render
from livecaption.transcript.journal import Journal, read_journal
from livecaption.transcript.live import LiveTranscript
from tests.speakers_audio import THREE_VOICES, conversation, encoder, needs_encoder, piece, write_conversation

BLOCK = 1600  # 0.1 s


def words_for(span, text: str, emitted: float) -> tuple[CommittedWord, ...]:
    start, end = span
    parts = text.split()
    step = (end - start) / len(parts)
    return tuple(CommittedWord(f" {p}", start + k * step, start + (k + 1) * step, emitted, 0.9)
                 for k, p in enumerate(parts))


def play(tracker, order, texts, journal=None, transcript=None, pause: float = 0.8):
    """Feed a conversation as the pipeline would: audio blocks, then each utterance's words at its end."""
    audio, spans, truth = conversation(order, pause)
    pending = list(zip(spans, texts))
    for i in range(0, len(audio), BLOCK):
        tracker.audio(i / 16000, audio[i:i + BLOCK])
        now = (i + BLOCK) / 16000
        while pending and pending[0][0][1] + 0.5 <= now:  # the utterance's end heard, plus the hangover
            span, text = pending.pop(0)
            update = CaptionUpdate(words_for(span, text, now), "", now, utterance_ended=True)
            if journal is not None:
                journal.append(update)
            if transcript is not None:
                transcript.add(update)
            tracker.event(update)
    return spans, truth


TEXTS = ["And so my fellow Americans", "Well there isn't that much", "But I'm not having crashes",
         "Ask what you can do", "Why the time syncing up", "You know they all call me"]


@needs_encoder
def test_labels_follow_the_captions_and_reach_the_journal(tmp_path):
    journal = Journal({"model": "tiny.en", "device": "cpu", "precision": "fp32", "fallback": None, "options": {}},
                      folder=tmp_path)
    transcript = LiveTranscript("tiny.en", "cpu", "fp32", None, {})
    events: list[SpeakerLabels] = []
    caption_thread = threading.current_thread()

    def on_labels(event):
        assert threading.current_thread() is not caption_thread  # off the caption path
        journal.append_speakers(event)
        transcript.set_speakers(event.utterances)
        events.append(event)

    tracker = LiveSpeakerTracker(on_labels, encoder=encoder())
    spans, truth = play(tracker, THREE_VOICES, TEXTS, journal, transcript)
    assert tracker.wait()
    labels = tracker.labels()
    assert len(labels) == len(truth) and None not in labels
    assert len(set(zip(labels, truth))) == len(set(truth)) == len(set(labels)), list(zip(truth, labels))
    assert labels[0] == "Speaker 1" and tracker.embed_seconds > 0
    # Every utterance is labelled from its first word; a stretch of one speaker never spans two
    # utterances (while the session is young, labels may split an utterance and later rejoin it).
    entries = [u for event in events for u in event.utterances]
    assert {round(s, 3) for s, _ in spans} <= {round(u.start, 3) for u in entries}
    assert all(any(s - 1e-6 <= u.start <= u.end <= e + 1e-6 for s, e in spans) for u in entries)

    # Rename one voice: the event relabels every line of it, and the journal keeps it.
    tracker.rename("Speaker 2", "Dana")
    assert tracker.wait()
    renamed = events[-1]
    assert {u.speaker for u in renamed.utterances} == {"Dana"} and len(renamed.utterances) == truth.count("sample91")
    # At save: the whole session re-clustered; names stay with their voices.
    assert tracker.relabel_all()
    assert events[-1].relabelled_all and tracker.labels().count("Dana") == truth.count("sample91")
    tracker.close()
    journal.close()

    session, recovered = read_journal(journal.path)
    assert session.skipped == 0 and session.finished
    txt = render(recovered.to_transcription(), "txt")
    assert txt == render(transcript.to_transcription(), "txt")
    paragraphs = txt.strip().split("\n\n")
    assert [p.split("] ")[1].split(":")[0] for p in paragraphs] == tracker.labels()
    assert "Dana: Well there isn't that much" in txt
    data = json.loads(render(recovered.to_transcription(), "json"))
    assert data["options"]["speakers"] == "auto" and data["segments"][1]["speaker"] == "Dana"


@needs_encoder
def test_a_short_utterance_waits_for_its_neighbours():
    events = []
    tracker = LiveSpeakerTracker(events.append, encoder=encoder())
    order = [("jfk", 0), ("jfk", 1), ("ami069", 0)]
    audio, spans, _ = conversation(order, 2.0)
    # A 0.6 s utterance between the two jfk ones, 0.7 s from each (more than the 0.5 s that joins
    # words into one speech run): unlabelled until the second jfk one agrees.
    short = (spans[0][1] + 0.7, spans[0][1] + 1.3)
    feed = [(spans[0], "ask not"), (short, "yes"), (spans[1], "what your country"), (spans[2], "but I'm not")]
    for i in range(0, len(audio), BLOCK):
        tracker.audio(i / 16000, audio[i:i + BLOCK])
    for k, (span, text) in enumerate(feed):
        tracker.event(CaptionUpdate(words_for(span, text, span[1]), "", span[1], utterance_ended=True))
        tracker.wait()
        if k == 1:
            assert tracker.labels() == ["Speaker 1", None]  # not judged on its own voice, not guessed
    assert tracker.labels() == ["Speaker 1", "Speaker 1", "Speaker 1", "Speaker 2"]
    relabelled = [u for event in events for u in event.utterances if u.start == pytest.approx(short[0])]
    assert [u.speaker for u in relabelled] == ["Speaker 1"]  # sent once, when the neighbours agreed
    tracker.close()


@needs_encoder
def test_a_voice_changing_inside_one_utterance_gets_both_speakers():
    # Two voices back to back with no pause: the VAD hears one utterance, so one label per
    # utterance would be wrong for half of it; the words are labelled by the windows over them.
    pieces = [piece("jfk", 0), piece("ami069", 0), piece("jfk", 1)]
    audio = np.concatenate(pieces)
    bounds = np.cumsum([0] + [len(p) / 16000 for p in pieces])
    step = 0.3  # a word every 0.3 s, as the recognizer would commit them
    times = [(t, t + step * 0.8) for t in np.arange(bounds[0], bounds[-1] - step, step)]
    words = tuple(CommittedWord(" w", a, b, bounds[-1], 0.9) for a, b in times)
    events: list[SpeakerLabels] = []
    tracker = LiveSpeakerTracker(events.append, encoder=encoder())
    for i in range(0, len(audio), BLOCK):
        tracker.audio(i / 16000, audio[i:i + BLOCK])
    tracker.event(CaptionUpdate(words, "", bounds[-1], utterance_ended=True))
    assert tracker.wait()
    labels = tracker.word_labels()
    by_piece = []
    for k in range(3):  # each piece's words away from the changes, which a 1.5 s window straddles
        inside = [lab for (a, b), lab in zip(times, labels) if bounds[k] + 1.0 <= (a + b) / 2 <= bounds[k + 1] - 1.0]
        assert len(set(inside)) == 1, (k, inside)
        by_piece.append(inside[0])
    assert by_piece[0] == by_piece[2] != by_piece[1] and None not in by_piece, by_piece
    # The event splits the one utterance into its stretches of one speaker, the first from its start.
    stretches = events[-1].utterances
    assert len(stretches) >= 3 and stretches[0].start == pytest.approx(times[0][0])
    assert [u.speaker for u in stretches][:1] == [by_piece[0]] and by_piece[1] in {u.speaker for u in stretches}
    assert tracker.labels() == [by_piece[0]]  # the utterance as a whole: who said most of it
    tracker.close()


def test_journal_speakers_records_are_checked_and_old_journals_read(tmp_path):
    journal = Journal({"model": "m", "device": "cpu", "precision": "fp32", "fallback": None, "options": {}},
                      folder=tmp_path)
    journal.append(CaptionUpdate(words_for((1.0, 3.0), "hello there", 3.0), "", 3.0, utterance_ended=True))
    journal.close()
    old = read_journal(journal.path)[1].to_transcription()  # a journal from before speaker labels
    assert not old.labelled and "speaker" not in json.loads(render(old, "json"))["segments"][0]
    lines = journal.path.read_text().splitlines()
    bad = [{"type": "speakers", "utterances": "x"}, {"type": "speakers", "utterances": [[1.0, "a", "S"]]},
           {"type": "speakers", "utterances": [[1.0, 3.0, 7]]}]
    good = {"type": "speakers", "utterances": [[1.0, 3.0, "Speaker 1"]]}
    journal.path.write_text("\n".join(lines[:-1] + [json.dumps(b) for b in bad] + [json.dumps(good), lines[-1]]) + "\n")
    session, transcript = read_journal(journal.path)
    assert session.skipped == 3
    assert render(transcript.to_transcription(), "txt") == "[00:00:01] Speaker 1: hello there\n"


@pytest.mark.slow
@needs_encoder
def test_bench_events_carry_the_live_speaker(tmp_path, tiny_fp32, monkeypatch, capsys):
    import livecaption.commands.bench_stream as bench_stream
    from livecaption.cli import main

    import livecaption.streaming.replay as replay
    from livecaption.streaming.clock import SimulatedClock

    monkeypatch.setattr(bench_stream, "load_recognizer", lambda *args, **kwargs: tiny_fp32)
    # A fixed decode cost: which decodes happen (and so the words the labels follow) must not depend
    # on how loaded the test machine is (a loaded CI split jfk in two speakers once).
    monkeypatch.setattr(replay, "SimulatedClock", lambda: SimulatedClock(decode_seconds=0.3))
    path = tmp_path / "two.wav"
    spans, truth = write_conversation(path, [("jfk", 0), ("ami069", 0), ("jfk", 1)], pause=1.0)
    events = tmp_path / "events.jsonl"
    assert main(["bench", str(path), "--fast", "--speakers", "auto", "--events", str(events), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["speaker_labels"]
    assert report["embed_seconds_per_speech_second"] > 0 and report["error"] is None
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert lines and all("speaker" in line for line in lines)
    by_piece = []
    for start, end in spans:
        inside = [line["speaker"] for line in lines if start <= (line["start"] + line["end"]) / 2 <= end]
        by_piece.append(max(set(inside), key=inside.count))
    assert by_piece[0] == by_piece[2] != by_piece[1] and None not in by_piece, by_piece


def test_bench_speakers_is_refused_where_it_means_nothing(capsys, tmp_path):
    from livecaption.cli import main

    path = tmp_path / "x.wav"
    write_conversation(path, [("jfk", 0)])
    assert main(["bench", str(path), "--offline", "--speakers", "auto"]) == 2
    assert "--speakers goes with the streaming bench" in capsys.readouterr().err
    assert main(["bench", str(path), "--speakers", "3"]) == 2
    assert capsys.readouterr().err == "livecaption: error: bench --speakers takes auto (live labels find the " \
                                      "speakers), not '3'\n"
