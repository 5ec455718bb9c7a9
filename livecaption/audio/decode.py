"""Decode any common audio file into 16 kHz mono float32 samples.

PyAV (FFmpeg's libraries, shipped in its wheel) reads every container the app accepts (wav,
flac, mp3, ogg, aiff, m4a, ...), any sample width and channel count, and resamples with
libswresample. Channels are averaged to mono by the resampler.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from livecaption.errors import AudioError

SAMPLE_RATE = 16_000
# What transcribing one second of audio holds in memory at its peak: the decoded samples (float32,
# up to three copies while decoding) and the whole recording's spectrogram (complex STFT, power,
# mel). Measured at ~0.45 MB/s; rounded up.
BYTES_PER_AUDIO_SECOND = 512 * 1024


def _open_container(path: Path):
    import av

    try:
        return av.open(str(path), metadata_errors="ignore")
    except (av.error.InvalidDataError, av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise AudioError(f"{path}: not a readable audio file ({_short(exc)})") from None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def check_audio_path(path: Path) -> None:
    """The checks that need no decoding: exists, is a file, is not empty."""
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: file is empty")


def _declared_seconds(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000  # av.time_base
    return None


def _check_memory(path: Path, container, stream) -> None:
    """Refuse, before decoding, a recording too long to transcribe in the memory there is."""
    from livecaption.sysinfo import available_memory_bytes

    seconds, available = _declared_seconds(container, stream), available_memory_bytes()
    if seconds is None or available is None:
        return
    needed = seconds * BYTES_PER_AUDIO_SECOND
    if needed > available:
        raise AudioError(
            f"{path}: {seconds / 3600:.1f} h of audio needs about {needed / 2**30:.0f} GB of memory to transcribe, "
            f"but {available / 2**30:.1f} GB is available; split it into shorter parts "
            f"(e.g. ffmpeg -i FILE -f segment -segment_time 3600 part%03d.flac) and transcribe those"
        )


def decode_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Samples of ``path`` as float32 in [-1, 1], mono, at ``sample_rate``.

    Raises AudioError with a one-line reason for a missing, empty, corrupt or non-audio file.
    """
    import av

    path = Path(path)
    check_audio_path(path)
    container = _open_container(path)
    with container:
        if not container.streams.audio:
            raise AudioError(f"{path}: contains no audio stream")
        stream = container.streams.audio[0]
        _check_memory(path, container, stream)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        chunks: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                frame.pts = None  # let the resampler keep its own clock across frames
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except (av.error.FFmpegError, ValueError) as exc:
            if not chunks:
                raise AudioError(f"{path}: audio data is corrupt ({_short(exc)})") from None
            # A truncated tail: keep what decoded cleanly rather than lose the whole file.
    if not chunks:
        raise AudioError(f"{path}: contains no decodable audio samples")
    audio = np.concatenate(chunks).astype(np.float32, copy=False)
    del chunks
    if audio.size == 0:
        raise AudioError(f"{path}: contains no audio samples")
    return np.clip(audio, -1.0, 1.0, out=audio)  # in place: a long file is not held twice
