"""Decoding: every clip container in ../shared/speech, generated widths/rates/channels, and bad files."""

from __future__ import annotations

import numpy as np
import pytest

from audio_files import resample_linear, write_wav, write_with_av
from conftest import CLIPS, clip_path
from livecaption.audio.decode import SAMPLE_RATE, decode_audio
from livecaption.errors import AudioError


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_every_shared_clip_decodes_to_16k_mono_of_the_right_length(name):
    audio = decode_audio(clip_path(name))
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) / SAMPLE_RATE == pytest.approx(CLIPS[name]["seconds"], abs=0.05)
    assert 0.05 < np.abs(audio).max() <= 1.0


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


@pytest.mark.parametrize("rate, width, channels", [
    (8000, 2, 1), (96000, 2, 1), (44100, 1, 1), (48000, 4, 1), (16000, 2, 2), (22050, 2, 6),
])
def test_wav_of_any_rate_width_and_channel_count(tmp_path, jfk_audio, rate, width, channels):
    speech = resample_linear(jfk_audio[: SAMPLE_RATE * 3], SAMPLE_RATE, rate)
    frames = np.repeat(speech[:, None], channels, axis=1)
    path = write_wav(tmp_path / f"speech_{rate}_{width}_{channels}.wav", frames, rate, width)
    audio = decode_audio(path)
    assert len(audio) / SAMPLE_RATE == pytest.approx(3.0, abs=0.02)
    # Same speech comes back (8 kHz loses the top band, 8-bit adds noise: still clearly the same).
    assert _correlation(audio, jfk_audio[: SAMPLE_RATE * 3]) > (0.8 if rate == 8000 or width == 1 else 0.9)


@pytest.mark.parametrize("suffix, codec, fmt", [("ogg", "libopus", "ogg"), ("mp3", "libmp3lame", "mp3"), ("flac", "flac", "flac")])
def test_compressed_containers(tmp_path, jfk_audio, suffix, codec, fmt):
    rate = 48000 if codec == "libopus" else 44100
    speech = resample_linear(jfk_audio[: SAMPLE_RATE * 3], SAMPLE_RATE, rate)
    audio = decode_audio(write_with_av(tmp_path / f"speech.{suffix}", speech, rate, codec, fmt))
    assert len(audio) / SAMPLE_RATE == pytest.approx(3.0, abs=0.1)
    assert np.abs(audio).max() > 0.1


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        decode_audio(tmp_path / "nope.wav")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioError, match="file is empty"):
        decode_audio(path)


def test_directory(tmp_path):
    with pytest.raises(AudioError, match="is a directory"):
        decode_audio(tmp_path)


def test_non_audio_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("meeting notes, not audio\n" * 50)
    with pytest.raises(AudioError, match="not a readable audio file|no audio stream"):
        decode_audio(path)


def test_random_bytes_named_wav(tmp_path):
    path = tmp_path / "corrupt.wav"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    with pytest.raises(AudioError):
        decode_audio(path)


def test_truncated_flac_keeps_what_decodes(tmp_path):
    data = clip_path("jfk.flac").read_bytes()
    path = tmp_path / "cut.flac"
    path.write_bytes(data[: len(data) // 2])
    audio = decode_audio(path)
    assert 3.0 < len(audio) / SAMPLE_RATE < 8.0


def _sparse_wav(path, hours: float, rate: int = 8000) -> None:
    """A genuine 8-bit mono WAV of ``hours`` length, stored sparse so it costs no disk or time."""
    import struct

    frames = int(hours * 3600 * rate)
    with open(path, "wb") as handle:
        handle.write(b"RIFF" + struct.pack("<I", 36 + frames) + b"WAVEfmt "
                     + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate, 1, 8) + b"data" + struct.pack("<I", frames))
        handle.truncate(44 + frames)


def test_a_recording_too_long_for_memory_is_refused_before_decoding(tmp_path):
    from conftest import run_cli

    huge = tmp_path / "140-hours.wav"
    _sparse_wav(huge, hours=140)  # ~245 GB to transcribe: more than any test machine has
    with pytest.raises(AudioError, match=r"140.0 h of audio needs about \d+ GB of memory.*split it"):
        decode_audio(huge)
    out = tmp_path / "out.txt"
    proc = run_cli("transcribe", str(huge), "-o", str(out), timeout=120)
    assert proc.returncode == 2 and "split it into shorter parts" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()
