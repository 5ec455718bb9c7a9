"""Hallucination guards: hypotheses that look like Whisper talking to itself never get committed.

Audio the VAD calls non-speech is never decoded at all (see ``transcriber``). What is decoded is
still checked: a high no-speech probability with low confidence, a compression ratio typical of
loops, repeated n-grams, and the classic phantom phrases Whisper learnt from subtitle credits,
which are accepted only from a confident decode of clearly voiced audio.
"""

from __future__ import annotations

import re
from collections import Counter

from livecaption.asr.types import Transcription
from livecaption.metrics import normalize
from livecaption.streaming.options import StreamingOptions

PHANTOM_PHRASES = {
    "thank you for watching", "thanks for watching", "thank you", "thank you very much", "you",
    "bye", "bye bye", "please subscribe", "subscribe to my channel", "like and subscribe",
    "see you next time", "see you in the next video", "thank you for listening", "so", "okay",
    "subtitles by the amara org community", "transcribed by", "music", "applause", "silence",
}
# A confident decode is what it takes for one of the phrases above to be believed.
PHANTOM_MIN_LOGPROB = -0.35
PHANTOM_MAX_NO_SPEECH = 0.1
_BRACKETED = re.compile(r"^\s*[\[(♪*].*[\])♪*]\s*$")


def repeated_ngrams(words: list[str], n: int = 3, limit: int = 3) -> bool:
    """True when some n-gram occurs ``limit`` times, or one word repeats 4 times in a row."""
    for i in range(len(words) - 3):
        if len(set(words[i : i + 4])) == 1:
            return True
    grams = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    return any(count >= limit for count in grams.values())


def rejection_reason(result: Transcription, options: StreamingOptions) -> str | None:
    """Why this hypothesis must not be shown or committed, or None if it may be."""
    text = normalize(result.text)
    if not text:
        return "empty"
    segments = result.segments
    no_speech = max(seg.no_speech_prob for seg in segments)
    logprob = min(seg.avg_logprob for seg in segments)
    if no_speech > options.no_speech_threshold and logprob < options.log_prob_threshold:
        return "no speech"
    if max(seg.compression_ratio for seg in segments) > options.compression_ratio_threshold:
        return "loop (compression ratio)"
    if repeated_ngrams(text.split()):
        return "loop (repeated words)"
    if _BRACKETED.match(result.text):
        return "non-speech annotation"
    if text in PHANTOM_PHRASES and (logprob < PHANTOM_MIN_LOGPROB or no_speech > PHANTOM_MAX_NO_SPEECH):
        return "phantom phrase"
    return None


REPEAT_MAX_PROBABILITY = 0.1


def drop_unlikely_repeats(words: list) -> list:
    """Drop a word that repeats the word before it when the model itself barely believed it
    ('Three. Three.' with p=0.001 for the second): Whisper's stutter at the end of a window."""
    kept = []
    for word in words:
        if kept and normalize(word.text) == normalize(kept[-1].text) and word.probability < REPEAT_MAX_PROBABILITY:
            continue
        kept.append(word)
    return kept
