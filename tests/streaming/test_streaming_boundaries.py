"""Text across the boundaries the streaming engine makes (pause commits, utterance ends, cuts):
casing follows the committed punctuation, and nothing is said twice."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import CLIPS, clip_path
from livecaption.audio.decode import decode_audio
from livecaption.metrics import normalize, wer
from livecaption.streaming.agreement import CommittedLog, TimedWord
from livecaption.streaming.clock import SimulatedClock
from livecaption.streaming.options import StreamingOptions
from livecaption.streaming.pipeline import StreamingPipeline
from livecaption.audio.sources import FileReplaySource
from signals import silence


def word(text: str, start: float) -> TimedWord:
    return TimedWord(text, start, start + 0.3, 0.9)


@pytest.mark.parametrize("before, after, expected", [
    (" Americans.", " ask", " Ask"),     # a decode put a period at a pause, the next went on in lower case
    (" you?", " what", " What"),
    (" stop!", " and", " And"),
    (" Americans,", " ask", " ask"),     # inside a sentence: unchanged
    (" so...", " and", " and"),          # trailing off is not a sentence end
    (" you.", " 3.", " 3."),             # nothing to capitalise
    (" you.", " Ask", " Ask"),
    (" U.S.", " army", " army"),         # abbreviations end in a period without ending a sentence
    (" e.g.", " this", " this"),
    (" Mr.", " smith", " smith"),
])
def test_casing_of_a_new_word_follows_the_committed_punctuation(before, after, expected):
    log = CommittedLog()
    log.append([word(before, 0.0)])
    assert [w.text for w in log.append([word(after, 0.5)])] == [expected]
    assert [w.text for w in log.words] == [before, expected]


def test_a_sentence_end_inside_one_commit_capitalises_the_next_word_too():
    log = CommittedLog()
    committed = log.append([word(" for", 0.0), word(" you.", 0.4), word(" ask", 0.8), word(" what", 1.2)])
    assert "".join(w.text for w in committed) == " for you. Ask what"


def stream(recognizer, audio, decode_seconds: float) -> str:
    pipeline = StreamingPipeline(recognizer, FileReplaySource(audio, realtime=False),
                                 StreamingOptions(language="en"),
                                 clock=SimulatedClock(decode_seconds=decode_seconds))
    pipeline.start()
    pipeline.wait()
    assert pipeline.error is None
    return pipeline.transcript_text


SENTENCE_END_THEN_LOWER = re.compile(r"(?<!\.\.)[.?!]\s+[a-z]")
REPEATED_WORD = re.compile(r"\b(\w{3,})\W+\1\b", re.IGNORECASE)


@pytest.mark.parametrize("decode_seconds", [0.3, 0.8])
def test_live_text_keeps_sentence_case_and_says_nothing_twice_across_boundaries(tiny_fp32, decode_seconds):
    # jfk has pauses inside its sentences ("Americans, [pause] ask not"): pause commits and
    # utterance ends fall mid-sentence, where the errors users saw were ("Americans. asked not").
    audio = np.concatenate([silence(1.0), decode_audio(clip_path("jfk.flac")), silence(1.0),
                            decode_audio(clip_path("one_two_three.wav")), silence(1.5)])
    text = stream(tiny_fp32, audio, decode_seconds)
    assert not SENTENCE_END_THEN_LOWER.search(text), text
    assert not REPEATED_WORD.search(text), text  # a word a decode re-read is committed once
    # Nor a fragment said again after a pause ("And so my fellow Americans… and so my fellow
    # Americans, ask not"): no four words repeat here, as none do in the reference.
    words = normalize(text).split()
    grams = [tuple(words[i:i + 4]) for i in range(len(words) - 3)]
    assert len(grams) == len(set(grams)), text
    reference = CLIPS["jfk.flac"]["reference"] + " " + CLIPS["one_two_three.wav"]["reference"]
    assert wer(reference, text) <= 0.10, text
