"""Whisper's mel filter bank, computed here instead of by transformers' feature extractor.

Slaney-style mel scale and area normalisation, 0-8 kHz, as OpenAI's Whisper and transformers'
``WhisperFeatureExtractor`` build it (librosa's ``filters.mel`` defaults); tests/asr/test_network.py
holds it to transformers' own filters.
"""

from __future__ import annotations

import numpy as np

_MIN_LOG_HERTZ = 1000.0  # below it the Slaney scale is linear, above it logarithmic
_MIN_LOG_MEL = 15.0
_LOGSTEP = 27.0 / np.log(6.4)


def _hertz_to_mel(hertz: np.ndarray) -> np.ndarray:
    mels = 3.0 * hertz / 200.0
    log_region = hertz >= _MIN_LOG_HERTZ
    mels[log_region] = _MIN_LOG_MEL + np.log(hertz[log_region] / _MIN_LOG_HERTZ) * _LOGSTEP
    return mels


def _mel_to_hertz(mels: np.ndarray) -> np.ndarray:
    hertz = 200.0 * mels / 3.0
    log_region = mels >= _MIN_LOG_MEL
    hertz[log_region] = _MIN_LOG_HERTZ * np.exp((mels[log_region] - _MIN_LOG_MEL) / _LOGSTEP)
    return hertz


def mel_filters(n_mels: int, n_fft: int = 400, sample_rate: int = 16_000) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) float32 weights mapping a power spectrum to mel bands."""
    bins = n_fft // 2 + 1
    edges = _mel_to_hertz(np.linspace(*_hertz_to_mel(np.array([0.0, 8000.0])), n_mels + 2))
    fft_freqs = np.linspace(0, sample_rate // 2, bins)
    slopes = edges[None, :] - fft_freqs[:, None]
    widths = np.diff(edges)
    rising, falling = -slopes[:, :-2] / widths[:-1], slopes[:, 2:] / widths[1:]
    filters = np.maximum(0.0, np.minimum(rising, falling))
    filters *= (2.0 / (edges[2:] - edges[:-2]))[None, :]  # equal area per band
    return np.ascontiguousarray(filters.T, dtype=np.float32)
