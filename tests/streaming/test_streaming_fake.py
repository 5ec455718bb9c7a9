"""The streaming transcriber driven by a scripted recognizer (tests/fake_recognizer.py): pause
commits, cuts, the retry ladder and the guards, in milliseconds and without a model.

The audio is real speech (for the VAD); the "model" knows which words lie where and answers with
exactly the words inside each slice it is given, so any word lost, doubled or bent is the
streaming core's doing.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import clip_path
from fake_recognizer import SAMPLE_RATE, ScriptedRecognizer, SingleAttempt
from livecaption.audio.decode import decode_audio
from livecaption.audio.vad import VadGate, load_webrtcvad
from livecaption.streaming.clock import SimulatedClock
from livecaption.streaming.events import CaptionUpdate
from livecaption.streaming.options import StreamingOptions, VadOptions
from livecaption.streaming.transcriber import StreamingTranscriber
from signals import silence

FRAME = 480  # 30 ms
BLOCK = 1600  # 100 ms of audio per push, as capture delivers it


def voiced_words(audio: np.ndarray, word_s: float = 0.3) -> list[tuple[str, float, float]]:
    """A script for ``audio``: its voiced stretches (webrtcvad, 30 ms frames) cut into words of about
    ``word_s``, named w0, w1, ... in order."""
    vad = load_webrtcvad(3)
    voiced = [vad.is_speech((np.clip(audio[i:i + FRAME], -1, 1) * 32767).astype("<i2").tobytes(), SAMPLE_RATE)
              for i in range(0, len(audio) - FRAME + 1, FRAME)]
    words, run_start = [], None
    for index, is_voiced in enumerate(voiced + [False]):
        if is_voiced and run_start is None:
            run_start = index
        elif not is_voiced and run_start is not None:
            start, end = run_start * FRAME / SAMPLE_RATE, index * FRAME / SAMPLE_RATE
            pieces = max(1, round((end - start) / word_s))
            for k in range(pieces):
                words.append((f"w{len(words)}", start + k * (end - start) / pieces,
                              start + (k + 1) * (end - start) / pieces))
            run_start = None
    return words


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    jfk, three = decode_audio(clip_path("jfk.flac")), decode_audio(clip_path("one_two_three.wav"))
    return np.concatenate([silence(1.0), jfk, silence(1.5), three, silence(1.5)]).astype(np.float32)


def stream(recognizer: ScriptedRecognizer, options: StreamingOptions = StreamingOptions(),
           decode_seconds: float = 0.05) -> tuple[StreamingTranscriber, list[CaptionUpdate]]:
    """Push the recognizer's recording through a transcriber at real-time pace on a simulated clock
    where each decode takes ``decode_seconds``."""
    clock = SimulatedClock(decode_seconds=decode_seconds)
    core = StreamingTranscriber(recognizer, options, VadGate(VadOptions()), clock)
    updates = []
    audio = recognizer.audio
    for start in range(0, len(audio), BLOCK):
        clock.advance_to((start + BLOCK) / SAMPLE_RATE)
        core.insert_audio(start, audio[start:start + BLOCK])
        updates += [u for u in core.process_iter() if isinstance(u, CaptionUpdate)]
    updates += [u for u in core.finish() if isinstance(u, CaptionUpdate)]
    return core, updates


def committed(updates) -> list[str]:
    return [w.text.strip() for u in updates for w in u.committed]


def test_a_perfect_model_streams_every_word_once_in_order(speech):
    script = voiced_words(speech)
    core, updates = stream(ScriptedRecognizer(speech, script))
    assert committed(updates) == [w for w, _, _ in script]
    times = [w.start for u in updates for w in u.committed]
    assert times == sorted(times)


@pytest.mark.parametrize("decode_seconds", [0.05, 0.3, 0.8])
def test_the_text_does_not_depend_on_how_fast_decodes_are(speech, decode_seconds):
    script = voiced_words(speech)
    _, updates = stream(ScriptedRecognizer(speech, script), decode_seconds=decode_seconds)
    assert committed(updates) == [w for w, _, _ in script]


def test_words_before_a_pause_are_committed_before_the_utterance_ends(speech):
    script = voiced_words(speech)
    core, updates = stream(ScriptedRecognizer(speech, script), StreamingOptions(pause_commit_ms=150))
    ends = [u.time for u in updates if u.utterance_ended]
    early = [w for u in updates if not u.utterance_ended for w in u.committed]
    assert early, "no word was committed at a pause"
    assert all(any(w.emitted < end for end in ends) for w in early)
    off, off_updates = stream(ScriptedRecognizer(speech, script), StreamingOptions(pause_commit_ms=0))
    assert committed(off_updates) == committed(updates)  # the same words, only sooner


def test_a_long_utterance_is_cut_without_losing_or_doubling_a_word(speech):
    script = voiced_words(speech)
    options = StreamingOptions(max_utterance_s=2.0, pause_commit_ms=0)
    core, updates = stream(ScriptedRecognizer(speech, script), options)
    assert core.cuts > 0
    assert committed(updates) == [w for w, _, _ in script]
    # Every decode reads at most the limit (plus one step of audio that arrived meanwhile).
    recognizer_calls = core.recognizer.calls
    assert max(c.end - c.start for c in recognizer_calls) <= 2.0 + options.max_step_s


def test_later_decodes_are_primed_with_what_was_committed_before_their_window(speech):
    script = voiced_words(speech)
    recognizer = ScriptedRecognizer(speech, script)
    stream(recognizer)
    prompted = [c for c in recognizer.calls if c.options.prompt]
    assert prompted, "no decode was given the committed text"
    for call in prompted:
        before = [w for w, _, e in script if e <= call.start + 0.05]
        assert call.options.prompt.split()[-1] == before[-1]  # ends with the last word before the window


class Ladder:
    """A backend policy with three attempts for a final decode; loops are worth a retry."""

    def attempts(self, audio_seconds, request, final):
        import dataclasses

        if not final:
            return [request]
        return [request, dataclasses.replace(request, beam_size=2), dataclasses.replace(request, beam_size=3)]

    def retry(self, reason, attempt):
        return reason.startswith("loop")

    def rejection_reason(self, result):
        return None


def test_a_rejected_final_decode_walks_the_backends_ladder_until_one_is_believed():
    three = decode_audio(clip_path("one_two_three.wav"))
    audio = np.concatenate([silence(0.5), three, silence(1.5)]).astype(np.float32)
    script = voiced_words(audio)

    def answer(call):  # the first attempt of every decode loops; the second is fine
        return "la la la la la" if call.options.beam_size == 1 else None

    recognizer = ScriptedRecognizer(audio, script, policy=Ladder(), answer=answer)
    core, updates = stream(recognizer, StreamingOptions(pause_commit_ms=0))
    assert committed(updates) == [w for w, _, _ in script]
    assert [c.options.beam_size for c in recognizer.calls][-2:] == [1, 2]  # the ladder stopped when believed
    assert core.rejections.get("loop (repeated words)", 0) >= 1


def test_a_reason_the_backend_does_not_retry_ends_the_ladder_and_commits_nothing():
    three = decode_audio(clip_path("one_two_three.wav"))
    audio = np.concatenate([silence(0.5), three, silence(1.5)]).astype(np.float32)
    policy = SingleAttempt(reject={"Thank you.": "phantom phrase"})
    recognizer = ScriptedRecognizer(audio, voiced_words(audio), policy=policy, answer=lambda call: "Thank you.")
    core, updates = stream(recognizer)
    assert committed(updates) == []
    assert core.rejections.get("phantom phrase", 0) >= 1


def test_silence_is_never_handed_to_the_model():
    recognizer = ScriptedRecognizer(silence(10.0), [])
    _, updates = stream(recognizer)
    assert recognizer.calls == [] and committed(updates) == []


class ContextSensitive(ScriptedRecognizer):
    """Answers like the perfect model, except that words in the first second of a slice are heard
    differently (upper case) when the slice ends in an odd 0.4 s stretch of the recording."""

    def transcribe(self, audio, options):
        result = super().transcribe(audio, options)
        call = self.calls[-1]
        if int(call.end / 0.4) % 2 == 0:
            return result
        import dataclasses

        bent = tuple(dataclasses.replace(w, text=w.text.upper()) if w.start < 1.0 else w
                     for seg in result.segments for w in seg.words)
        if not bent:
            return result
        segment = dataclasses.replace(result.segments[0], words=bent, text="".join(w.text for w in bent))
        return dataclasses.replace(result, segments=(segment,), text=segment.text.strip())


@pytest.mark.parametrize("commit", ["pauses", "agreement"])
def test_with_commits_at_pauses_the_text_is_the_same_at_every_decode_speed(speech, commit):
    script = voiced_words(speech)
    texts = {seconds: " ".join(committed(stream(ContextSensitive(speech, script),
                                                StreamingOptions(commit=commit), decode_seconds=seconds)[1]))
             for seconds in (0.05, 0.3, 0.8)}
    if commit == "pauses":
        assert len(set(texts.values())) == 1, texts
    else:  # the control: the same model makes agreement commits depend on when decodes happen
        assert len(set(texts.values())) > 1, texts


def test_with_commits_at_pauses_cuts_fall_where_the_audio_says_at_every_decode_speed(speech):
    script = voiced_words(speech)
    options = StreamingOptions(commit="pauses", max_utterance_s=3.0)
    runs = {seconds: stream(ContextSensitive(speech, script), options, decode_seconds=seconds)
            for seconds in (0.05, 0.3, 0.8, 1.5)}
    texts = {seconds: " ".join(committed(updates)) for seconds, (_, updates) in runs.items()}
    assert len(set(texts.values())) == 1, texts
    assert all(core.cuts > 0 for core, _ in runs.values())
    # The slow worker's decodes read no more than the fast one's: the cut decodes exactly the window.
    longest = {seconds: max(c.end - c.start for c in core.recognizer.calls) for seconds, (core, _) in runs.items()}
    assert longest[1.5] <= longest[0.05] + 0.05, longest
