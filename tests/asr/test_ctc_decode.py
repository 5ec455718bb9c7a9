"""Greedy CTC decoding and word times from frames, on hand-built frame labels with known answers.

No model: milliseconds. The frame grid is wav2vec2-base's, 20 ms.
"""

from __future__ import annotations

import numpy as np
import pytest

from livecaption.asr.ctc.decode import Vocabulary, build_segments, frames_to_words, greedy_frames
from livecaption.asr.ctc.streaming import CtcStreamingPolicy
from livecaption.asr.types import Segment, TranscribeOptions, Transcription, Word

TOKENS = ("<pad>", "<s>", "</s>", "<unk>", "|", "A", "B", "C", "L", "O", "H", "E", "中", "文")
VOCAB = Vocabulary(TOKENS, blank=0, delimiter=4, silent=frozenset({1, 2, 3}), lowercase=True)
ID = {t: i for i, t in enumerate(TOKENS)}
STRIDE = 0.02


def labels(spec: str) -> np.ndarray:
    """Frame labels from a compact spec: '-' blank, '|' delimiter, '?' unk, other characters themselves."""
    names = {"-": "<pad>", "?": "<unk>"}
    return np.array([ID[names.get(c, c)] for c in spec])


def test_word_is_the_run_of_characters_between_delimiters_with_frame_times():
    ids = labels("--HH-E-LL-L-OO--|--CC-A-B----")
    probs = np.linspace(0.5, 0.9, len(ids))
    words = frames_to_words(ids, probs, VOCAB)
    assert [w.text for w in words] == ["hello", "cab"]
    hello, cab = words
    # First frame of its first character to the last frame of its last character.
    assert (hello.start, hello.end) == (2, 13)
    assert (cab.start, cab.end) == (19, 24)
    # Probability: the mean over the frames that emitted its characters (blanks inside it excluded).
    hello_frames = [2, 3, 5, 7, 8, 10, 12, 13]
    assert hello.probability == pytest.approx(float(np.mean(probs[hello_frames])))
    assert all(w.spaced for w in words)


def test_a_doubled_letter_needs_a_blank_between_its_runs():
    assert [w.text for w in frames_to_words(labels("LLLL"), np.ones(4), VOCAB)] == ["l"]
    assert [w.text for w in frames_to_words(labels("L-L"), np.ones(3), VOCAB)] == ["ll"]


def test_a_long_pause_ends_a_word_even_without_a_delimiter():
    ids = labels("AB" + "-" * 10 + "C")
    assert [w.text for w in frames_to_words(ids, np.ones(len(ids)), VOCAB)] == ["abc"]
    assert [w.text for w in frames_to_words(ids, np.ones(len(ids)), VOCAB, pause_frames=5)] == ["ab", "c"]


def test_specials_emit_nothing_and_nothing_in_gives_no_words():
    assert [w.text for w in frames_to_words(labels("A?B"), np.ones(3), VOCAB)] == ["ab"]
    assert frames_to_words(labels("---|--|-"), np.ones(8), VOCAB) == []
    assert frames_to_words(np.zeros(0, dtype=np.int64), np.zeros(0), VOCAB) == []


def test_characters_of_unspaced_scripts_are_words_without_spaces():
    ids = labels("-中中-文-")
    words = frames_to_words(ids, np.array([1, 0.8, 0.6, 1, 0.5, 1]), VOCAB)
    assert [(w.text, w.start, w.end, w.spaced) for w in words] == [("中", 1, 2, False), ("文", 4, 4, False)]
    assert words[0].probability == pytest.approx(0.7)
    segments = build_segments(words, np.zeros(6), STRIDE, duration=1.0)
    assert segments[0].text == "中文"


def test_segments_split_at_long_pauses_with_times_in_seconds():
    # "ab" at frames 0-3, a 0.4 s pause (delimiter and 19 blanks), "c" at 24-25, a 0.6 s pause
    # (30 blanks, no delimiter: the pause itself ends the word), "e" at 56-57.
    spec = "AA-B" + "|" + "-" * 19 + "CC" + "-" * 30 + "EE"
    ids = labels(spec)
    logprobs = np.full(len(ids), -0.1)
    logprobs[56:58] = -2.0
    words = frames_to_words(ids, np.ones(len(ids)), VOCAB, pause_frames=25)
    segments = build_segments(words, logprobs, STRIDE, duration=10.0)
    assert [s.text for s in segments] == [" ab c", " e"]
    first, second = segments
    assert [(w.start, w.end) for w in first.words] == [(0.0, 0.08), (0.48, 0.52)]
    assert (first.start, first.end) == (0.0, 0.52)
    assert (second.start, second.end) == (1.12, 1.16)
    assert first.scores["avg_logprob"] == pytest.approx(-0.1)
    assert second.scores["avg_logprob"] == pytest.approx(-2.0)


def test_word_times_never_pass_the_end_of_the_audio():
    ids = labels("-AB")
    words = frames_to_words(ids, np.ones(3), VOCAB)
    (segment,) = build_segments(words, np.zeros(3), STRIDE, duration=0.05)
    (word,) = segment.words
    assert 0.0 <= word.start <= word.end <= 0.05


def test_greedy_frames_take_the_best_token_and_flag_non_finite_logits():
    import torch

    logits = torch.tensor([[0.0, 5.0, 0.0], [9.0, 0.0, 0.0]], dtype=torch.bfloat16)
    ids, probs, logprobs, non_finite = greedy_frames(logits)
    assert ids.tolist() == [1, 0] and not non_finite
    assert np.allclose(np.log(probs), logprobs) and (probs > 0.98).all()
    _, _, _, non_finite = greedy_frames(torch.tensor([[0.0, float("nan")]]))
    assert non_finite


def _result(*probabilities: float) -> Transcription:
    words = tuple(Word(i * 0.5, i * 0.5 + 0.4, f" w{i}", p) for i, p in enumerate(probabilities))
    return Transcription("x", "und", (Segment(0.0, 2.0, "x", words),), 2.0, "m", "cpu", "fp32")


def test_streaming_policy_is_one_attempt_without_retries_and_drops_only_unbelieved_hypotheses():
    policy = CtcStreamingPolicy()
    request = TranscribeOptions(prompt="earlier words", beam_size=1)
    assert policy.attempts(3.0, request, final=True) == [request]
    assert policy.attempts(3.0, request, final=False) == [request]
    assert not policy.retry("low confidence", request)
    assert policy.rejection_reason(_result(0.9, 0.7)) is None
    assert policy.rejection_reason(_result(0.05, 0.1)) == "low confidence"
