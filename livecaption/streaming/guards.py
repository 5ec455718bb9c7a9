"""Hallucination guards: hypotheses that look like a model talking to itself never get committed.

Audio the VAD calls non-speech is never decoded at all (see ``transcriber``). What is decoded is
still checked here for what any model can do wrong (nothing said, repeated n-grams, a bracketed
annotation); each backend adds its own checks (Whisper: no-speech probability, compression ratio,
phantom phrases; see ``livecaption.asr.whisper.streaming``).
"""

from __future__ import annotations

import re
from collections import Counter

from livecaption.asr.types import StreamingPolicy, Transcription
from livecaption.metrics import normalize

_BRACKETED = re.compile(r"^\s*[\[(♪*].*[\])♪*]\s*$")


def repeated_ngrams(words: list[str], n: int = 3, limit: int = 3) -> bool:
    """True when some n-gram occurs ``limit`` times, or one word repeats 4 times in a row."""
    for i in range(len(words) - 3):
        if len(set(words[i : i + 4])) == 1:
            return True
    grams = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    return any(count >= limit for count in grams.values())


def rejection_reason(result: Transcription, policy: StreamingPolicy) -> str | None:
    """Why this hypothesis must not be shown or committed, or None if it may be: the backend's own
    guards (``Recognizer.streaming_policy``) first, then what any model can get wrong."""
    text = normalize(result.text)
    if not text:
        return "empty"
    backend_reason = policy.rejection_reason(result)
    if backend_reason is not None:
        return backend_reason
    if repeated_ngrams(text.split()):
        return "loop (repeated words)"
    if _BRACKETED.match(result.text):
        return "non-speech annotation"
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
