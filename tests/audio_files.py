"""Writers for test audio in any container, width, rate and channel count, made from real speech."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np


def write_wav(path: Path, samples: np.ndarray, rate: int, width: int = 2) -> Path:
    """``samples``: float in [-1, 1], shape (n,) or (n, channels); width in bytes (1, 2 or 4)."""
    frames = samples if samples.ndim == 2 else samples[:, None]
    if width == 1:  # 8-bit WAV is unsigned
        data = np.clip(frames * 127 + 128, 0, 255).astype(np.uint8)
    else:
        scale = {2: 32767, 4: 2**31 - 1}[width]
        data = np.clip(frames.astype(np.float64) * scale, -scale, scale).astype({2: "<i2", 4: "<i4"}[width])
    with wave.open(str(path), "wb") as out:
        out.setnchannels(frames.shape[1])
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(data.tobytes())
    return path


def write_with_av(path: Path, samples: np.ndarray, rate: int, codec: str, fmt: str | None = None) -> Path:
    """Encode mono float samples with an FFmpeg codec (ogg/opus, mp3, flac, ...)."""
    import av

    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples.astype(np.float32)[None, :], format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def resample_linear(samples: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Crude resampling, good enough to make a test file at another rate."""
    n = int(len(samples) * dst / src)
    return np.interp(np.linspace(0, len(samples) - 1, n), np.arange(len(samples)), samples).astype(np.float32)


def stereo_channel(path: Path, channel: int) -> np.ndarray:
    """One channel of a 16-bit WAV as float32 (two_speakers_stereo.wav: one speaker per channel)."""
    with wave.open(str(path)) as handle:
        channels = handle.getnchannels()
        frames = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
    return frames[channel::channels].astype(np.float32) / 32768
