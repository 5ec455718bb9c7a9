"""Live captions in the language spoken, per utterance: detection that does not flap, translation,
and the user's vocabulary, which primes the decoder but never shows up on its own.

The settling rules are tested with a scripted model (tests/fake_recognizer.py) that says which
language it heard and how sure it was; the real behaviour with the embedded base model on real
speech (an English-then-German reading, French and Chinese clips)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from conftest import clip_path
from fake_recognizer import ScriptedRecognizer
from livecaption.audio.decode import decode_audio
from livecaption.streaming.events import CaptionUpdate
from livecaption.streaming.options import StreamingOptions
from livecaption.transcript.export import render
from livecaption.transcript.journal import Journal, read_journal
from livecaption.transcript.live import LiveTranscript
from signals import silence
from test_streaming_fake import stream, voiced_words


class Polyglot(ScriptedRecognizer):
    """Detects, for a slice starting at a given second, the language and probability ``heard`` says."""

    def __init__(self, audio, script, heard):
        super().__init__(audio, script)
        self.heard = heard  # (slice start seconds, slice seconds) -> (language, probability)

    def languages(self):
        return ["en", "de", "fr"]

    def transcribe(self, audio, options):
        result = super().transcribe(audio, options)
        call = self.calls[-1]
        if options.language is not None:  # told: decoded in it, nothing detected
            return dataclasses.replace(result, language=options.language)
        language, probability = self.heard(call.start, call.end - call.start)
        return dataclasses.replace(result, language=language, language_probability=probability)


def _three_utterances() -> np.ndarray:
    jfk, three = decode_audio(clip_path("jfk.flac")), decode_audio(clip_path("one_two_three.wav"))
    return np.concatenate([silence(0.5), jfk, silence(1.5), three, silence(1.5), jfk[: 16000 * 3],
                           silence(1.5)]).astype(np.float32)


def _languages(updates) -> list[str | None]:
    transcript = LiveTranscript("m", "cpu", "fp32", None, {})
    for update in updates:
        transcript.add(update)
    return transcript.languages()


# _three_utterances: JFK (an 11 s utterance), "one", "two", "three" (three decoded as about a second
# of audio each, pre-roll and tail included), then
# the first 3 s of JFK again: five utterances, starting about 0.3, 12.8, 13.8, 14.8 and 17.0 s in.
def _heard(last: tuple[str, float], short: tuple[str, float] = ("de", 0.95)):
    def heard(start, seconds):
        if start < 12:
            return "en", 0.97
        return short if start < 16 else last
    return heard


@pytest.mark.parametrize("last, expected", [
    (("fr", 0.97), "fr"),  # sure: switches
    (("fr", 0.6), "fr"),  # fairly sure on 3 s of audio: clear enough
    (("fr", 0.4), "en"),  # unclear: the language spoken before it stays
])
def test_each_utterance_gets_its_language_and_unclear_ones_keep_the_one_before(last, expected):
    audio = _three_utterances()
    recognizer = Polyglot(audio, voiced_words(audio), _heard(last))
    _, updates = stream(recognizer, StreamingOptions(pause_commit_ms=0))
    # The three short ones sound German to the model, even surely so: about a second of audio is
    # too little to believe it, and they stay English with the utterance before them.
    assert _languages(updates) == ["en", "en", "en", "en", expected]
    # Once settled, an utterance's later decodes are told its language instead of detecting it again.
    jfk_decodes = [c for c in recognizer.calls if c.start < 12]
    assert jfk_decodes[-1].options.language == "en" and jfk_decodes[0].options.language is None


def test_an_unclear_final_decode_is_redone_in_the_language_spoken_before():
    audio = _three_utterances()
    recognizer = Polyglot(audio, voiced_words(audio), _heard(("fr", 0.4)))
    stream(recognizer, StreamingOptions(pause_commit_ms=0))
    last = [c for c in recognizer.calls if c.start > 16]
    assert last[-1].options.language == "en"  # the final answer was decoded in English


def test_a_pinned_language_is_never_detected():
    audio = _three_utterances()
    recognizer = Polyglot(audio, voiced_words(audio), lambda start, seconds: ("de", 0.99))
    _, updates = stream(recognizer, StreamingOptions(language="en"))
    assert all(c.options.language == "en" for c in recognizer.calls)
    assert set(_languages(updates)) == {"en"}


def test_languages_reach_the_journal_and_every_export(tmp_path):
    words = lambda start: tuple(  # noqa: E731
        __import__("livecaption.streaming.events", fromlist=["CommittedWord"]).CommittedWord(t, start + i, start + i + 0.5,
                                                                                            start + 2, 0.9)
        for i, t in enumerate((" Guten", " Tag")))
    journal = Journal({"model": "base", "options": {"language": None}}, folder=tmp_path)
    for update in (CaptionUpdate(words(0.0), "", 2.0, True, language="de"),
                   CaptionUpdate(words(5.0), "", 7.0, True, language="en"),
                   CaptionUpdate(words(9.0), "", 11.0, True, language="de")):
        journal.append(update)
    journal.close()
    session, transcript = read_journal(journal.path)
    data = json.loads(render(transcript.to_transcription(session.language), "json"))
    assert [seg["language"] for seg in data["segments"]] == ["de", "en", "de"]
    assert data["language"] == "de"  # the language most words were spoken in, never a default
    old = tmp_path / "old.jsonl"  # a journal from before languages were recorded reads as before
    old.write_text(journal.path.read_text().replace(', "language": "de"', "").replace(', "language": "en"', ""))
    session, transcript = read_journal(old)
    assert transcript.to_transcription(session.language).language == "und"


# -- the embedded base model on real speech ----------------------------------------------------------

def _padded(name: str, start: float = 0.0, end: float | None = None) -> np.ndarray:
    audio = decode_audio(clip_path(name))
    audio = audio[int(start * 16000): None if end is None else int(end * 16000)]
    return np.concatenate([silence(0.5), audio, silence(1.0)]).astype(np.float32)


def _stream_real(recognizer, audio, **options) -> LiveTranscript:
    from livecaption.streaming.clock import SimulatedClock
    from livecaption.streaming.replay import stream_file

    transcript = LiveTranscript("base", "cpu", "fp32", None, {})
    # A fixed decode time: which decodes happen must not depend on the test machine's load.
    stream_file(recognizer, audio, fast=True, options=StreamingOptions(**options),
                clock=SimulatedClock(decode_seconds=0.3),
                on_event=lambda e: transcript.add(e) if isinstance(e, CaptionUpdate) else None)
    return transcript


@pytest.mark.slow
def test_an_english_then_german_reading_is_captioned_in_each_language_as_it_switches(base_fp32):
    # 22-42 s of the MIT licence read in English, then in German: the switch is at about 30 s, i.e.
    # about 8.5 s into this excerpt (0.5 s of silence first).
    transcript = _stream_real(base_fp32, _padded("en_de_license.mp3", 22.0, 42.0))
    groups, languages = transcript.groups(), transcript.languages()
    assert set(languages) == {"en", "de"}, languages
    switch = languages.index("de")
    assert languages == ["en"] * switch + ["de"] * (len(languages) - switch)  # one switch, no flapping
    # Within one utterance of where it happens: the first German utterance starts at the switch, or
    # is the one that contains it.
    assert 7.0 <= groups[switch][0].start <= 10.5, [(g[0].start, lang) for g, lang in zip(groups, languages)]
    german = " ".join("".join(w.text for w in g) for g, lang in zip(groups, languages) if lang == "de").lower()
    assert "software" in german and any(word in german for word in ("der", "die", "und"))
    assert transcript.to_transcription().language in ("en", "de")


# Reference translations (ours): "Et c'est la dictée numéro 1." -> "And this is dictation number one.";
# "欢迎大家来体验达摩院推出的语音识别模型" -> "Welcome, everyone, to try the speech recognition model
# launched by DAMO Academy." Key words of each that a translation must carry (stems: "dictated" and
# "dictation" both carry the meaning):
TRANSLATIONS = {"fr_short.aiff": ("fr", {"dictat", "number"}), "zh_asr_example.wav": ("zh", {"welcome", "everyone"})}


@pytest.mark.parametrize("clip", sorted(TRANSLATIONS))
def test_live_translation_gives_english_and_records_the_spoken_language(base_fp32, clip):
    spoken, key_words = TRANSLATIONS[clip]
    transcript = _stream_real(base_fp32, _padded(clip), task="translate")
    text = " ".join(w.text for w in transcript.words()).lower()
    assert all(word in text for word in key_words), text
    assert all(ord(ch) < 128 for ch in text), text  # English, not the original script
    assert set(transcript.languages()) == {spoken}


def test_a_vocabulary_word_is_recognised_that_is_not_without_it(base_fp32):
    audio = _padded("zh_asr_example.wav")  # "... 达摩院推出的 ..." (DAMO Academy), a name
    plain = "".join(w.text for w in _stream_real(base_fp32, audio).words())
    primed = "".join(w.text for w in _stream_real(base_fp32, audio, vocabulary="达摩院").words())
    assert "达摩院" not in plain and "达摩院" in primed, (plain, primed)


def test_the_vocabulary_never_appears_on_silence_and_noise(tiny_fp32):
    from signals import pink_noise

    audio = np.concatenate([silence(10.0), pink_noise(10.0, rms=0.05), silence(5.0), pink_noise(5.0, rms=0.1)])
    vocabulary = "Kubernetes, Dana, OKR, PyTorch"
    transcript = _stream_real(tiny_fp32, audio.astype(np.float32), vocabulary=vocabulary)
    assert transcript.words() == [], " ".join(w.text for w in transcript.words())


def test_listen_refuses_translation_on_an_english_only_model_and_an_overlong_prompt():
    from conftest import run_cli

    done = run_cli("listen", "--model", "tiny.en", "--task", "translate", "--replay", str(clip_path("jfk.flac")))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "English-only" in done.stderr
    done = run_cli("listen", "--prompt", "word " * 100, "--replay", str(clip_path("jfk.flac")))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "at most 300" in done.stderr


def test_a_pause_early_in_an_utterance_does_not_fix_its_language():
    """At the default pause commits. "one", "two", "three" (English), then JFK, which the VAD hears
    as one utterance with a pause 8.1 s in. The model cannot tell its language from less than 9 s
    of it (p 0.45: French, unsure), and is sure it is French from more. The pause's decode reads
    less: it must not pin the utterance to the English spoken before it."""
    jfk, three = decode_audio(clip_path("jfk.flac")), decode_audio(clip_path("one_two_three.wav"))
    audio = np.concatenate([silence(0.5), three, silence(1.5), jfk, silence(1.5)]).astype(np.float32)

    def heard(start, seconds):
        if start < 4.0:
            return "en", 0.97
        return ("fr", 0.97) if seconds >= 9.0 else ("fr", 0.45)

    recognizer = Polyglot(audio, voiced_words(audio), heard)
    _, updates = stream(recognizer, StreamingOptions())
    languages = _languages(updates)
    assert languages[:3] == ["en"] * 3 and languages[3] == "fr", languages
    # The pause was committed (in the language spoken so far: its own decode could not tell) ...
    assert any(not u.utterance_ended and u.committed for u in updates if u.time > 4.0)


def test_when_the_redo_in_the_kept_language_is_not_believed_the_words_heard_first_stand():
    from fake_recognizer import SingleAttempt

    audio = _three_utterances()
    script = voiced_words(audio)

    class Stubborn(Polyglot):  # forced into English, the French utterance comes out as a phantom
        def transcribe(self, audio_slice, options):
            result = super().transcribe(audio_slice, options)
            if options.language == "en" and self.calls[-1].start > 16:
                return dataclasses.replace(result, text="Thank you.")
            return result

    recognizer = Stubborn(audio, script, _heard(("fr", 0.4)))
    recognizer.policy = SingleAttempt(reject={"Thank you.": "phantom phrase"})
    _, updates = stream(recognizer, StreamingOptions(pause_commit_ms=0))
    last = [w for w, start, _ in script if start > 16.5]
    assert [w.text.strip() for u in updates for w in u.committed][-len(last):] == last
    assert _languages(updates)[-1] == "fr"  # the words stand in the language they were heard in


def test_a_settings_change_mid_session_reaches_the_recovered_transcript(tmp_path, tiny_fp32):
    from livecaption.streaming.events import CommittedWord

    journal = Journal({"model": "tiny.en", "options": {"language": None, "streaming": {"task": "transcribe"}}},
                      folder=tmp_path)
    journal.append(CaptionUpdate((CommittedWord(" Hello", 0.0, 0.5, 1.0, 0.9),), "", 1.0, True))
    journal.append_settings({"language": None, "streaming": {"task": "translate", "vocabulary": "Dana"}})
    journal.close()
    session, transcript = read_journal(journal.path)
    data = json.loads(render(transcript.to_transcription(session.language), "json"))
    assert data["options"]["streaming"] == {"task": "translate", "vocabulary": "Dana"}
    # A session on auto from before languages were recorded: tiny.en only knows English.
    assert session.language == "en" and data["language"] == "en"


def test_a_vocabulary_costs_no_accuracy_on_speech_that_does_not_use_it(tiny_fp32):
    from livecaption.metrics import wer

    reference = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
    audio = _padded("jfk.flac")
    plain = " ".join(w.text for w in _stream_real(tiny_fp32, audio).words())
    primed = " ".join(w.text for w in _stream_real(tiny_fp32, audio, vocabulary="Kubernetes, Dana, OKR, PyTorch").words())
    assert wer(reference, primed) <= wer(reference, plain) + 1 / 22, (plain, primed)  # at most one word of 22


# Control characters, escape sequences, an RTL override, emoji; Whisper's own special tokens; the
# longest vocabulary allowed (two streams: each one costs seconds).
HOSTILE_VOCABULARIES = ["\x00\x1b[31m ‮evil‬ 🙂🙂 line\nbreak\ttab <|endoftext|> <|en|>", "a" * 300]


def test_hostile_vocabularies_are_refused_in_one_line_or_captioned_without_harm(tiny_fp32, capsys):
    """Whatever a user types into the vocabulary: one clear line, or captions as usual."""
    from hypothesis import given, settings, strategies as st

    from livecaption.cli import build_parser
    from livecaption.errors import UserError
    from livecaption.validation import validate

    @settings(max_examples=60, deadline=None)
    @given(st.text(max_size=400))
    def validated(text):
        args = build_parser().parse_args(["listen", f"--prompt={text}"])  # as a shell passes "-x" (--prompt=-x)
        try:
            validate(args)
        except UserError as exc:
            assert "\n" not in str(exc) and "at most 300" in str(exc)
            return
        assert args.prompt is None or (len(args.prompt) <= 300 and args.prompt == " ".join(args.prompt.split()))

    validated()
    audio = _padded("one_two_three.wav")
    for vocabulary in HOSTILE_VOCABULARIES:
        vocabulary = " ".join(vocabulary.split()) or None
        words = _stream_real(tiny_fp32, audio, vocabulary=vocabulary).words()
        text = "".join(w.text for w in words).lower()
        assert "one" in text or "1" in text, (vocabulary, text)
