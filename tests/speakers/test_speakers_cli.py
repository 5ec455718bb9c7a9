"""``transcribe --speakers``: real voices one after another, labelled in JSON, TXT, SRT and VTT.

The recording is three real voices (jfk, a sample.wav speaker, an AMI speaker), six utterances of
3-5 s with pauses, built from ../shared/speech into a temporary WAV (tests/speakers_audio.py).
"""

from __future__ import annotations

import json
import re

import pytest

from conftest import run_cli
from livecaption.asr.types import Segment, Transcription, Word
from livecaption.cli import main
from livecaption.transcript.export import render
from tests.speakers_audio import conversation, encoder, needs_encoder, write_conversation


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("speakers") / "three-voices.wav"
    spans, truth = write_conversation(path)
    return path, spans, truth


@pytest.fixture
def in_process(monkeypatch, tiny_fp32, capsys):
    """The transcribe command run in this process on the session's tiny.en (no second model load)."""
    import livecaption.commands.transcribe as command

    monkeypatch.setattr(command, "load_recognizer_for", lambda args: tiny_fp32)

    def run(*args: str) -> str:
        assert main(["transcribe", *args]) == 0
        return capsys.readouterr().out

    return run


def piece_speakers(segments: list[dict], spans) -> list[str | None]:
    """Per utterance of the recording: the label holding most of its words' time."""
    out = []
    for start, end in spans:
        time: dict = {}
        for seg in segments:
            for w in seg["words"]:
                if start <= (w["start"] + w["end"]) / 2 <= end:
                    time[seg["speaker"]] = time.get(seg["speaker"], 0.0) + w["end"] - w["start"] + 1e-3
        out.append(max(time, key=time.get) if time else None)
    return out


@needs_encoder
def test_json_every_utterance_of_two_seconds_gets_the_right_speaker(recording):
    path, spans, truth = recording
    done = run_cli("transcribe", str(path), "--speakers", "auto", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["options"]["speakers"] == "auto"
    assert all("speaker" in seg for seg in data["segments"])
    labels = piece_speakers(data["segments"], spans)
    assert all(end - start >= 2.0 for start, end in spans)
    # One label per voice, one voice per label, none missing: numbering by first appearance.
    assert None not in labels and len(set(zip(labels, truth))) == len(set(truth)) == len(set(labels)), \
        list(zip(truth, labels))
    assert labels[0] == "Speaker 1" and labels[1] == "Speaker 2"
    # A segment never holds two speakers: each is one speaker's words.
    for seg in data["segments"]:
        assert seg["text"].strip()


@pytest.mark.slow
@needs_encoder
def test_txt_srt_vtt_show_the_speaker(recording, in_process):
    path, spans, truth = recording
    txt = in_process(str(path), "--speakers", "auto")
    paragraphs = txt.strip().split("\n\n")
    assert all(re.match(r"^\[\d\d:\d\d:\d\d\] Speaker \d: \S", p) for p in paragraphs), txt
    assert paragraphs[0].startswith("[00:00:00] Speaker 1: ") and "Americans" in paragraphs[0]
    assert len({re.match(r"^\[[^]]*\] (Speaker \d):", p)[1] for p in paragraphs}) == 3  # three voices named
    srt = in_process(str(path), "--speakers", "auto", "--format", "srt")
    cues = [block.splitlines()[2] for block in srt.strip().split("\n\n")]
    assert all(re.match(r"^Speaker \d: ", cue) for cue in cues), srt
    vtt = in_process(str(path), "--speakers", "3", "--format", "vtt")
    assert vtt.startswith("WEBVTT\n\n")
    voices = re.findall(r"^<v (Speaker \d)>", vtt, re.M)
    assert len(voices) == vtt.count(" --> ") and set(voices) == {"Speaker 1", "Speaker 2", "Speaker 3"}, vtt


def test_without_speakers_nothing_changes():
    seg = Segment(0.0, 1.5, " Ask not.", (Word(0.0, 0.5, " Ask", 0.9), Word(0.5, 1.5, " not.", 0.9)))
    plain = Transcription("Ask not.", "en", (seg,), 1.5, "tiny.en", "cpu", "fp32")
    assert render(plain, "txt") == "Ask not.\n"
    assert render(plain, "srt") == "1\n00:00:00,000 --> 00:00:01,500\nAsk not.\n"
    assert render(plain, "vtt") == "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nAsk not.\n"
    assert "speaker" not in json.loads(render(plain, "json"))["segments"][0]


@needs_encoder
def test_too_short_to_judge_shows_no_label_in_every_format():
    # jfk twice, then 0.5 s of another voice, then an AMI speaker twice: the short one's
    # neighbours disagree, so it is left unlabelled rather than guessed.
    audio, spans, _ = conversation([("jfk", 0), ("jfk", 1), ("sample91", 0), ("ami069", 0), ("ami069", 1)],
                                   pause=1.0)
    spans[2] = (spans[2][0], spans[2][0] + 0.5)
    texts = [" Ask not.", " What your country.", " Well.", " But I'm not.", " Having crashes."]
    segments = tuple(Segment(start, end, text, (Word(start, end, text, 0.9),))
                     for (start, end), text in zip(spans, texts))
    result = Transcription("".join(texts).strip(), "en", segments, len(audio) / 16000, "tiny.en", "cpu", "fp32")
    from livecaption.speakers.transcripts import label_transcription

    labelled = label_transcription(audio, result, "auto", encoder=encoder())
    assert [seg.speaker for seg in labelled.segments] == ["Speaker 1", "Speaker 1", None, "Speaker 2", "Speaker 2"]
    assert json.loads(render(labelled, "json"))["segments"][2]["speaker"] is None
    paragraphs = render(labelled, "txt").split("\n\n")
    assert paragraphs[0] == "[00:00:00] Speaker 1: Ask not. What your country."
    assert re.fullmatch(r"\[00:00:\d\d\] Well\.", paragraphs[1]), paragraphs
    assert "\nWell.\n" in render(labelled, "srt") and "\nWell.\n" in render(labelled, "vtt")


@needs_encoder
def test_a_segment_is_split_where_the_speaker_changes():
    audio, spans, _ = conversation([("jfk", 0), ("ami069", 0)], pause=0.3)
    words = (Word(spans[0][0], spans[0][1], " jfk", 0.9), Word(spans[1][0], spans[1][1], " ami", 0.9))
    result = Transcription("jfk ami", "en", (Segment(0.0, spans[1][1], " jfk ami", words, {"avg_logprob": -0.1}),),
                           len(audio) / 16000, "tiny.en", "cpu", "fp32")
    from livecaption.speakers.transcripts import label_transcription

    labelled = label_transcription(audio, result, 2, encoder=encoder())
    assert [(s.text, s.speaker) for s in labelled.segments] == [(" jfk", "Speaker 1"), (" ami", "Speaker 2")]
    assert labelled.segments[0].start == 0.0 and labelled.segments[1].end == spans[1][1]
    assert labelled.segments[1].scores == {"avg_logprob": -0.1}


@pytest.mark.parametrize("value, message", [
    ("0", "--speakers must be auto or a number of speakers from 1 to 10, not '0'"),
    ("11", "--speakers must be auto or a number of speakers from 1 to 10, not '11'"),
    ("two", "--speakers must be auto or a number of speakers from 1 to 10, not 'two'"),
])
def test_bad_speakers_is_one_line_before_any_model(recording, capsys, value, message):
    path, _, _ = recording
    assert main(["transcribe", str(path), "--speakers", value]) == 2
    assert capsys.readouterr().err == f"livecaption: error: {message}\n"


def test_missing_extra_names_the_install(recording, capsys, monkeypatch):
    import livecaption.speakers as speakers

    monkeypatch.setattr(speakers, "available", lambda: False)
    path, _, _ = recording
    assert main(["transcribe", str(path), "--speakers", "auto"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'livecaption[speakers]'" in err
