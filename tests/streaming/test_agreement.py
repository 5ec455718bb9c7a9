"""LocalAgreement and the hallucination guards, on hand-made hypotheses with known answers."""

from __future__ import annotations

from livecaption.asr.types import Segment, Transcription
from livecaption.streaming.agreement import CommittedLog, LocalAgreement, TimedWord, best_cut
from livecaption.streaming.guards import drop_unlikely_repeats, rejection_reason, repeated_ngrams
from livecaption.asr.whisper.streaming import WhisperStreamingPolicy


def words(text: str, start: float = 0.0, step: float = 0.4) -> list[TimedWord]:
    return [TimedWord(" " + w, start + i * step, start + (i + 1) * step - 0.05, 0.9) for i, w in enumerate(text.split())]


def texts(ws) -> str:
    return "".join(w.text for w in ws).strip()


def test_a_word_is_committed_when_two_hypotheses_agree():
    la = LocalAgreement(CommittedLog())
    assert la.insert(words("and so my")) == []
    assert texts(la.tentative) == "and so my"
    assert texts(la.insert(words("and so my fellow"))) == "and so my"
    assert texts(la.tentative) == "fellow"
    assert texts(la.insert(words("and so my fellow americans"))) == "fellow"


def test_committed_words_are_never_retracted_when_the_model_changes_its_mind():
    log = CommittedLog()
    la = LocalAgreement(log)
    la.insert(words("ask not what"))
    la.insert(words("ask not what your"))
    assert texts(log.words) == "ask not what"
    la.insert(words("ask now what your country"))  # an earlier word revised: committed text stays
    la.insert(words("ask now what your country can"))
    assert texts(log.words) == "ask not what your country"


def test_words_a_decode_leaves_out_are_not_skipped():
    """'ask what you' committed; the next decode starts at 'you can ...' ('ask what' omitted)."""
    committed = words("ask what you", 9.0)
    hypothesis = words("you can do for your country", 9.8)
    cut = best_cut(committed, hypothesis)
    assert texts(hypothesis[cut:]) == "can do for your country"
    dropped_start = words("can do for your country", 10.2)
    assert best_cut(committed, dropped_start) == 0


def test_prompt_echo_is_not_committed_twice():
    log = CommittedLog()
    first = LocalAgreement(log)
    first.commit_all(words("and so my fellow americans ask not"))
    second = LocalAgreement(log)  # the next utterance; Whisper repeats its prompt first
    echo = words("my fellow americans ask not what your country", 6.0)
    second.insert(echo)
    assert texts(second.insert(echo)) == "what your country"


def test_edge_words_stay_tentative_until_more_audio_arrives():
    la = LocalAgreement(CommittedLog())
    hyp = words("and so my")  # "my" ends at 1.15 s
    la.insert(hyp, audio_end=1.2)
    assert texts(la.insert(hyp, audio_end=1.25)) == "and so"
    assert texts(la.tentative) == "my"


def test_commit_times_never_go_backwards():
    log = CommittedLog()
    LocalAgreement(log).commit_all(words("one two", 5.0))
    LocalAgreement(log).commit_all(words("three", 4.0))  # DTW put it too early
    assert [w.start for w in log.words] == sorted(w.start for w in log.words)
    assert log.words[-1].start >= log.words[-2].end


def _result(text: str, no_speech: float = 0.05, logprob: float = -0.2, ratio: float = 1.2) -> Transcription:
    seg = Segment(0.0, 1.0, text, scores={"avg_logprob": logprob, "no_speech_prob": no_speech, "compression_ratio": ratio})
    return Transcription(text, "en", (seg,), 1.0, "tiny.en", "cpu", "fp32")


def test_guards():
    options = WhisperStreamingPolicy()  # the generic guards, then Whisper's own
    assert rejection_reason(_result(" Ask not what your country can do."), options) is None
    assert rejection_reason(_result(" ."), options) == "empty"
    assert rejection_reason(_result(" Hello there.", no_speech=0.9, logprob=-1.5), options) == "no speech"
    assert rejection_reason(_result(" la la la la la la", ratio=3.1), options) == "loop (compression ratio)"
    assert rejection_reason(_result(" and we will go, we will go, we will go on"), options) == "loop (repeated words)"
    assert rejection_reason(_result(" [MUSIC]"), options) == "non-speech annotation"
    assert rejection_reason(_result(" Thank you for watching!", no_speech=0.3, logprob=-0.6), options) == "phantom phrase"
    # Said clearly and decoded with confidence, the same words are believed.
    assert rejection_reason(_result(" Thank you for watching!", no_speech=0.01, logprob=-0.1), options) is None
    # A sign-off inside a longer unsure hypothesis (seen after a restart mid-word) is one too, but
    # an everyday phrase in a sentence is speech, and a confident sign-off is believed.
    assert rejection_reason(_result(" We'll see you next time. It's", logprob=-0.7), options) == "phantom phrase"
    assert rejection_reason(_result(" Thank you very much for coming.", logprob=-0.7), options) is None
    assert rejection_reason(_result(" We'll see you next time, everyone.", logprob=-0.1), options) is None


def test_repeated_ngrams():
    assert repeated_ngrams("the the the the".split())
    assert repeated_ngrams("we will go we will go we will go".split())
    assert not repeated_ngrams("ask not what your country can do for you ask what you can do".split())


def test_an_unlikely_repeat_is_dropped_but_a_believed_one_kept():
    stutter = [TimedWord(" Three.", 1.8, 2.4, 0.32), TimedWord(" Three.", 2.4, 2.7, 0.001)]
    assert texts(drop_unlikely_repeats(stutter)) == "Three."
    said_twice = [TimedWord(" very", 1.0, 1.2, 0.8), TimedWord(" very", 1.2, 1.4, 0.7)]
    assert texts(drop_unlikely_repeats(said_twice)) == "very very"
