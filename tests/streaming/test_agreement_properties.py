"""LocalAgreement under generated hypotheses: empty, shorter, reordered, repeated, revised.

A live decode can return anything: nothing at all after a pause, fewer words than last time, the
same words twice, words in another order. Whatever arrives, in whatever order the engine calls
``insert``, ``commit_all`` (pause or end) and ``start_window`` (cut), the agreement must not
crash, must never retract or reorder committed words, must keep committed times monotonic, and
must commit only words some hypothesis actually contained.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from livecaption.metrics import normalize
from livecaption.streaming.agreement import CommittedLog, LocalAgreement, TimedWord, best_cut

VOCABULARY = ["and", "so", "my", "fellow", "americans", "ask", "not", "what", "your", "country", "can", "do",
              "for", "you", "you,", "Ask", "."]


@st.composite
def hypotheses(draw, max_words: int = 12) -> list[TimedWord]:
    """A decode's words: from the vocabulary (punctuation-only tokens included), times that may
    overlap or run backwards (DTW edges wobble), possibly empty."""
    count = draw(st.integers(0, max_words))
    words, time = [], draw(st.floats(0, 5))
    for _ in range(count):
        time += draw(st.floats(-0.3, 0.8))
        length = draw(st.floats(0, 0.6))
        words.append(TimedWord(" " + draw(st.sampled_from(VOCABULARY)), max(0.0, time), max(0.0, time) + length,
                               draw(st.floats(0, 1))))
    return words


def mutated(previous: list[TimedWord], draw) -> list[TimedWord]:
    """A follow-up hypothesis built from the last one the way real decodes differ."""
    how = draw(st.sampled_from(["same", "shorter", "longer", "reordered", "repeated", "revised", "empty"]))
    if how == "empty" or not previous:
        return [] if how == "empty" else draw(hypotheses())
    if how == "shorter":
        return previous[: draw(st.integers(0, len(previous)))]
    if how == "longer":
        return previous + draw(hypotheses(max_words=4))
    if how == "reordered":
        return draw(st.permutations(previous))
    if how == "repeated":
        return previous + previous
    if how == "revised":
        index = draw(st.integers(0, len(previous) - 1))
        word = previous[index]
        return previous[:index] + [TimedWord(" " + draw(st.sampled_from(VOCABULARY)), word.start, word.end, 0.5)] \
            + previous[index + 1:]
    return list(previous)


ACTIONS = st.sampled_from(["insert", "insert", "insert", "commit_all", "commit_cut", "start_window", "discard"])


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_any_sequence_of_hypotheses_keeps_the_committed_log_append_only(data):
    log = CommittedLog()
    agreement = LocalAgreement(log)
    seen_keys: set[str] = set()
    last = data.draw(hypotheses())
    committed_before: list[TimedWord] = []
    for _ in range(data.draw(st.integers(1, 25))):
        hypothesis = mutated(last, data.draw) if data.draw(st.booleans()) else data.draw(hypotheses())
        seen_keys |= {normalize(w.text) for w in hypothesis}
        action = data.draw(ACTIONS)
        audio_end = data.draw(st.floats(0, 30))
        if action == "insert":
            newly = agreement.insert(hypothesis, audio_end)
        elif action == "commit_all":
            newly = agreement.commit_all(hypothesis)
        elif action == "commit_cut":
            newly = agreement.commit_all(hypothesis, audio_end=audio_end)
        elif action == "start_window":
            agreement.start_window()
            newly = []
        else:
            agreement.discard_tentative()
            newly = []
        last = hypothesis

        assert log.words[: len(committed_before)] == committed_before, "committed words were changed"
        assert log.words[len(committed_before):] == newly, "what was returned is not what was committed"
        for earlier, later in zip(log.words, log.words[1:]):
            assert later.start >= earlier.end, "committed times went backwards"
        for word in log.words:
            assert word.end >= word.start
            assert normalize(word.text) in seen_keys and normalize(word.text), "committed a word nobody said"
        for word in agreement.tentative:
            assert normalize(word.text), "punctuation alone became a word"
        committed_before = list(log.words)


@settings(max_examples=300, deadline=None)
@given(hypotheses(), hypotheses())
def test_best_cut_is_within_the_hypothesis_for_any_pair(committed, hypothesis):
    cut = best_cut(committed, hypothesis)
    assert 0 <= cut <= len(hypothesis)


def test_an_empty_hypothesis_after_committed_words_commits_nothing_and_does_not_crash():
    # The crash users met: a pause commit whose decode came back empty while the window already
    # had committed words (best_cut read hypothesis[-1] of an empty list).
    log = CommittedLog()
    agreement = LocalAgreement(log)
    said = [TimedWord(" ask", 0.0, 0.3, 0.9), TimedWord(" not", 0.35, 0.6, 0.9)]
    agreement.insert(said)
    agreement.insert(said)
    assert [w.text for w in log.words] == [" ask", " not"]
    assert agreement.commit_all([]) == []
    assert agreement.insert([]) == []
    assert best_cut(log.words, []) == 0
    assert [w.text for w in log.words] == [" ask", " not"]
