"""Real voices for the speaker-label tests, cut from ../shared/speech (never copied into the repo)."""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

SPEECH_DIR = Path(os.environ.get("LIVECAPTION_SPEECH_DIR", Path(__file__).resolve().parents[2] / "shared" / "speech"))
RATE = 16_000

needs_encoder = pytest.mark.skipif(importlib.util.find_spec("resemblyzer") is None,
                                   reason="the voice encoder's weights ship in resemblyzer: "
                                          "pip install --no-deps 'resemblyzer>=0.1.4'")

# Stretches where exactly one known voice speaks, read off the reference RTTMs (and jfk.flac).
VOICES = {
    "jfk": [("jfk.flac", 0.3, 5.2), ("jfk.flac", 5.6, 10.8)],
    "sample90": [("diarization/sample.wav", 10.6, 14.45), ("diarization/sample.wav", 18.6, 21.45)],
    "sample91": [("diarization/sample.wav", 21.8, 24.8), ("diarization/sample.wav", 24.8, 27.8)],
    "ami069": [("diarization/trn03.flac", 2.0, 6.0), ("diarization/trn03.flac", 12.0, 16.0)],
}


@lru_cache(maxsize=None)
def decoded(name: str) -> np.ndarray:
    from livecaption.audio.decode import decode_audio

    return decode_audio(SPEECH_DIR / name)


def piece(voice: str, index: int) -> np.ndarray:
    name, start, end = VOICES[voice][index]
    return decoded(name)[int(start * RATE):int(end * RATE)]


def conversation(order: list[tuple[str, int]], pause: float = 0.6):
    """Pieces one after another with pauses: (audio, [(start, end)], [voice])."""
    parts, spans, truth, t = [], [], [], 0.0
    for voice, index in order:
        audio = piece(voice, index)
        parts += [audio, np.zeros(int(pause * RATE), np.float32)]
        spans.append((t, t + len(audio) / RATE))
        truth.append(voice)
        t += (len(audio) + int(pause * RATE)) / RATE
    return np.concatenate(parts), spans, truth


@lru_cache(maxsize=None)
def encoder():
    from livecaption.speakers.encoder import EncoderOptions, VoiceEncoder

    return VoiceEncoder(options=EncoderOptions(threads=1))


# Three voices the encoder tells apart, each utterance at least 2 s (test_speakers_labels.py says
# why sample.wav's other speaker is left out).
THREE_VOICES = [("jfk", 0), ("sample91", 0), ("ami069", 0), ("jfk", 1), ("ami069", 1), ("sample91", 1)]


def write_conversation(path: Path, order=THREE_VOICES, pause: float = 0.8) -> tuple[list, list]:
    """The conversation as a 16-bit WAV at ``path``; returns its (start, end) spans and voices."""
    import wave

    audio, spans, truth = conversation(order, pause)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(np.round(np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return spans, truth
