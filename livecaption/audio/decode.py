"""Decode any common audio file into 16 kHz mono float32 samples.

PyAV (FFmpeg's libraries, shipped in its wheel) reads every container the app accepts (wav,
flac, mp3, ogg, aiff, m4a, ...), any sample width and channel count, and resamples with
libswresample. Channels are averaged to mono by the resampler.
"""

from __future__ import annotations

import io
import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from livecaption.errors import AudioError

log = logging.getLogger("livecaption")

SAMPLE_RATE = 16_000
# What transcribing one second of audio holds in memory at its peak: the decoded samples (float32,
# up to three copies while decoding) and the whole recording's spectrogram (complex STFT, power,
# mel). Measured at ~0.45 MB/s; rounded up.
BYTES_PER_AUDIO_SECOND = 512 * 1024


# A pipe (``<(cat a.wav)``, a FIFO) cannot be measured or read twice, so it is read into memory
# once, up to this much; a longer stream should be saved to a file first.
MAX_PIPE_BYTES = 2 * 2**30


@dataclass(frozen=True)
class AudioInput:
    """An audio file checked without decoding; ``data`` holds what a pipe delivered."""

    path: Path
    data: bytes | None = None

    def __str__(self) -> str:
        return str(self.path)


def _open_container(source: AudioInput):
    import av

    target = io.BytesIO(source.data) if source.data is not None else str(source.path)
    try:
        return av.open(target, metadata_errors="ignore")
    except MemoryError:
        raise
    except Exception as exc:  # PyAV raises many types (FFmpegError, ValueError, UnicodeDecodeError, ...)
        raise AudioError(f"{source.path}: not a readable audio file ({_short(exc)})") from None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"^\[Errno -?\d+\] ", "", text)[:160]  # FFmpeg's error numbers mean nothing to a user


def check_audio_path(path: str | Path) -> AudioInput:
    """The checks that need no decoding: exists, is a readable regular file or a pipe, not empty.

    A pipe is read here, once, so that what it delivered can be decoded later.
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise AudioError(f"{path}: no such file") from None
    except OSError as exc:
        raise AudioError(f"{path}: cannot read ({exc.strerror})") from None
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise AudioError(f"{path}: is a directory, not an audio file")
    if stat.S_ISFIFO(mode):
        return AudioInput(path, _read_pipe(path))
    if not stat.S_ISREG(mode):
        kind = "a character device" if stat.S_ISCHR(mode) else "a block device" if stat.S_ISBLK(mode) else "a socket"
        raise AudioError(f"{path}: is {kind}, not an audio file; save the audio to a file first")
    if info.st_size == 0:
        raise AudioError(f"{path}: file is empty")
    if not os.access(path, os.R_OK):
        raise AudioError(f"{path}: cannot read (permission denied)")
    return AudioInput(path)


def _read_pipe(path: Path) -> bytes:
    try:
        with open(path, "rb") as pipe:
            data = pipe.read(MAX_PIPE_BYTES + 1)
    except OSError as exc:
        raise AudioError(f"{path}: cannot read from the pipe ({exc.strerror})") from None
    if not data:
        raise AudioError(f"{path}: is a pipe that delivered no data (was it already read, or did the "
                         "command feeding it fail?)")
    if len(data) > MAX_PIPE_BYTES:
        raise AudioError(f"{path}: is a pipe delivering more than {MAX_PIPE_BYTES // 2**30} GB; save the audio "
                         "to a file and transcribe that")
    return data


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


def decode_audio(source: str | Path | AudioInput, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Samples of ``source`` as float32 in [-1, 1], mono, at ``sample_rate``.

    Raises AudioError with a one-line reason for a missing, empty, corrupt or non-audio file.
    """
    import av

    if not isinstance(source, AudioInput):
        source = check_audio_path(source)
    path = source.path
    container = _open_container(source)
    chunks: list[np.ndarray] = []
    with container:
        if not container.streams.audio:
            raise AudioError(f"{path}: contains no audio stream")
        stream = container.streams.audio[0]
        _check_memory(path, container, stream)
        try:
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
            for frame in container.decode(stream):
                frame.pts = None  # let the resampler keep its own clock across frames
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except MemoryError:
            raise
        except Exception as exc:  # FFmpegError, ValueError, OverflowError... from a damaged stream
            if not chunks:
                raise AudioError(f"{path}: audio data is corrupt ({_short(exc)})") from None
            # A truncated tail: keep what decoded cleanly rather than lose the whole file.
    if not chunks:
        raise AudioError(f"{path}: contains no decodable audio samples")
    audio = np.concatenate(chunks).astype(np.float32, copy=False)
    del chunks
    if audio.size == 0:
        raise AudioError(f"{path}: contains no audio samples")
    audio = _finite(path, audio)
    return np.clip(audio, -1.0, 1.0, out=audio)  # in place: a long file is not held twice


def _finite(path: Path, audio: np.ndarray) -> np.ndarray:
    """NaN and infinite samples (a float WAV can hold them) would poison the model's output: they
    become silence, with a warning; a file with no finite sample at all is refused."""
    bad = ~np.isfinite(audio)
    count = int(np.count_nonzero(bad))
    if not count:
        return audio
    if count == audio.size:
        raise AudioError(f"{path}: every sample is NaN or infinite; this is not usable audio")
    audio[bad] = 0.0
    log.warning("%s: %d of %d samples (after resampling) were NaN or infinite; they are treated as silence",
                path, count, audio.size)
    return audio
