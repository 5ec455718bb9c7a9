"""Generated non-speech signals for hallucination tests."""

from __future__ import annotations

import numpy as np


def pink_noise(seconds: float, rms: float = 0.05, seed: int = 7, rate: int = 16_000) -> np.ndarray:
    """1/f noise: white noise shaped in the frequency domain, scaled to ``rms``."""
    n = int(seconds * rate)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / rate)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0
    noise = np.fft.irfft(spectrum, n)
    return (noise / np.sqrt(np.mean(noise**2)) * rms).astype(np.float32)


def silence(seconds: float, rate: int = 16_000) -> np.ndarray:
    return np.zeros(int(seconds * rate), dtype=np.float32)
