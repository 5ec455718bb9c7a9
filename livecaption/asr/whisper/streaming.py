"""How Whisper decodes inside the streaming core: its retry ladder and its hallucination guards.

A partial decode is greedy and cheap (a short encoder window): a bad one is simply replaced by the
next. The final decode of an utterance is its last chance: if the short window's hypothesis is
rejected it is redone on Whisper's full window, and a loop is retried greedily without the prompt
(which often induced it), then hotter. Token budgets follow the audio length so a loop cannot run
to 224 tokens.

The guards: a high no-speech probability with low confidence, a compression ratio typical of
loops, and the classic phantom phrases Whisper learnt from subtitle credits, which are accepted
only from a confident decode of clearly voiced audio.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from livecaption.asr.types import TranscribeOptions, Transcription
from livecaption.asr.whisper.settings import WhisperTuning
from livecaption.metrics import normalize

FINAL_TEMPERATURES = (0.2, 0.4, 0.6)
BASE_TOKENS, TOKENS_PER_AUDIO_SECOND = 16, 12  # fast speech is ~5 tokens/s, timestamps included

PHANTOM_PHRASES = {
    "thank you for watching", "thanks for watching", "thank you", "thank you very much", "you",
    "bye", "bye bye", "please subscribe", "subscribe to my channel", "like and subscribe",
    "see you next time", "see you in the next video", "thank you for listening", "so", "okay",
    "subtitles by the amara org community", "transcribed by", "music", "applause", "silence",
    "you re welcome", "you're welcome",  # what it says on noise after a prompt (tests/streaming/test_live_languages.py)
}
# Video sign-offs Whisper learnt from subtitles: inside a longer unsure hypothesis too ("we'll see
# you next time. it's" after a stream restarted mid-word), they are its training data talking, not
# the meeting. Everyday phrases ("thank you") are not here: in a longer sentence they are speech.
SIGN_OFF_PHRASES = (
    "thank you for watching", "thanks for watching", "please subscribe", "subscribe to my channel",
    "like and subscribe", "see you next time", "see you in the next video", "amara org",
)
# A confident decode is what it takes for one of the phrases above to be believed.
PHANTOM_MIN_LOGPROB = -0.35
PHANTOM_MAX_NO_SPEECH = 0.1


@dataclass(frozen=True)
class WhisperStreamingPolicy:
    # Partial decodes encode the utterance plus this much padding instead of a full 30 s window
    # (None: the full window always). Measured in docs/benchmarks.md.
    encoder_padding_s: float | None = None
    no_speech_threshold: float = 0.6
    log_prob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4
    # The user's vocabulary prompt: on silence or noise Whisper tends to say its prompt back.
    vocabulary: str | None = None

    def attempts(self, audio_seconds: float, request: TranscribeOptions, final: bool) -> list[TranscribeOptions]:
        short_tuning = WhisperTuning(
            temperatures=(0.0,),
            condition_on_previous_text=False,
            compression_ratio_threshold=None,
            log_prob_threshold=None,
            no_speech_threshold=None,
            max_new_tokens=int(BASE_TOKENS + TOKENS_PER_AUDIO_SECOND * audio_seconds),
            encoder_padding_s=self.encoder_padding_s,
        )
        short = dataclasses.replace(request, tuning=short_tuning)
        attempts = [short]
        if not final:
            return attempts
        full_window = dataclasses.replace(short_tuning, encoder_padding_s=None)
        greedy = dataclasses.replace(short, tuning=full_window)
        if self.encoder_padding_s is not None:
            attempts.append(greedy)
        if request.prompt:
            attempts.append(dataclasses.replace(greedy, prompt=None))
        attempts.append(dataclasses.replace(greedy, prompt=None, tuning=dataclasses.replace(
            full_window, temperatures=FINAL_TEMPERATURES,
            compression_ratio_threshold=self.compression_ratio_threshold,
            log_prob_threshold=self.log_prob_threshold,
        )))
        return attempts

    def retry(self, reason: str, attempt: TranscribeOptions) -> bool:
        # A loop or an echo may be the prompt's (or the temperature's) doing; anything rejected from
        # a short encoder window may be the window's: all are worth the next attempt. Silence is not.
        return (reason.startswith("loop") or reason == "prompt echo"
                or attempt.tuning.encoder_padding_s is not None)

    def rejection_reason(self, result: Transcription) -> str | None:
        segments = result.segments
        no_speech = max(seg.scores.get("no_speech_prob", 0.0) for seg in segments)
        logprob = min(seg.scores.get("avg_logprob", 0.0) for seg in segments)
        if no_speech > self.no_speech_threshold and logprob < self.log_prob_threshold:
            return "no speech"
        if max(seg.scores.get("compression_ratio", 0.0) for seg in segments) > self.compression_ratio_threshold:
            return "loop (compression ratio)"
        unsure = logprob < PHANTOM_MIN_LOGPROB or no_speech > PHANTOM_MAX_NO_SPEECH
        said = normalize(result.text)
        if unsure and (said in PHANTOM_PHRASES or any(phrase in said for phrase in SIGN_OFF_PHRASES)):
            return "phantom phrase"
        if self.vocabulary and unsure and _only_words_of(result.text, self.vocabulary):
            return "prompt echo"
        return None


def _only_words_of(text: str, vocabulary: str) -> bool:
    """Whether every word of ``text`` is one of the vocabulary's (what a prompt echo looks like)."""
    said, known = normalize(text).split(), set(normalize(vocabulary).split())
    return bool(said) and all(word in known for word in said)
