"""The GE2E voice encoder (Resemblyzer 0.1.4's model), re-implemented in torch without librosa.

What it computes, and why each step is what it is:
- input: 16 kHz mono float32; loudness raised (never lowered) to -30 dBFS and pauses longer than
  ~0.2 s cut out by webrtcvad, exactly as Resemblyzer's ``preprocess_wav`` does, because the
  network was trained on that and its input is a *power* mel spectrogram (not log), so level matters;
- a 40-channel Slaney mel filterbank over a 400-sample (25 ms) periodic Hann STFT, 160-sample
  (10 ms) hop, centred with zero padding: librosa's ``melspectrogram`` defaults, rebuilt here so
  the app does not need librosa/numba;
- the utterance is cut into partial utterances of 160 frames (1.6 s) at 1.3 per second; each goes
  through a 3-layer LSTM (256), the last hidden state through linear 256 + ReLU and L2
  normalisation; the utterance embedding is the L2-normalised mean of its partials.

Checked against Resemblyzer itself (docs/benchmarks.md, "Speaker labels (#12)"): cosine > 0.999
on real speech.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16_000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms
N_MELS = 40
PARTIAL_FRAMES = 160  # 1.6 s per partial utterance
PARTIAL_RATE = 1.3  # partials per second of (trimmed) speech, Resemblyzer's default
MIN_COVERAGE = 0.75  # a last partial is kept only if the audio fills this much of it
TARGET_DBFS = -30.0
_INT16_MAX = 2**15 - 1
# Resemblyzer's silence trimming: 30 ms webrtcvad frames (mode 3), smoothed over 8 frames,
# voiced regions dilated by 6 frames (pauses up to ~0.2 s survive).
_VAD_FRAME = SAMPLE_RATE * 30 // 1000
_VAD_SMOOTH = 8
_VAD_MAX_SILENCE = 6


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default, htk=False): linear to 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    mel = hz / f_sp
    return np.where(hz >= min_log_hz, min_log_mel + np.log(np.maximum(hz, 1e-10) / min_log_hz) / logstep, mel)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), f_sp * mel)


def mel_filterbank() -> np.ndarray:
    """(40, 201) triangular filters with Slaney area normalisation, as ``librosa.filters.mel``."""
    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    mel_points = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2))
    widths = np.diff(mel_points)
    ramps = mel_points[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_points[2:] - mel_points[:-2]))[:, None]
    return weights.astype(np.float32)


def normalize_volume(wav: np.ndarray) -> np.ndarray:
    """Raise quiet audio to -30 dBFS; louder audio is left alone (Resemblyzer: increase_only)."""
    rms = float(np.sqrt(np.mean((wav.astype(np.float64) * _INT16_MAX) ** 2))) if wav.size else 0.0
    if rms <= 0:
        return wav
    change = TARGET_DBFS - 20 * np.log10(rms / _INT16_MAX)
    return wav if change < 0 else (wav * 10 ** (change / 20)).astype(np.float32)


def trim_long_silences(wav: np.ndarray, vad=None) -> np.ndarray:
    """Cut pauses longer than ~0.2 s, keeping voiced 30 ms frames and their neighbours."""
    usable = len(wav) - len(wav) % _VAD_FRAME
    if usable == 0:
        return wav[:0]
    wav = wav[:usable]
    if vad is None:
        from livecaption.audio.vad import load_webrtcvad

        vad = load_webrtcvad(3)
    pcm = np.round(np.clip(wav, -1, 1) * _INT16_MAX).astype("<i2").tobytes()
    step = _VAD_FRAME * 2
    flags = np.array([vad.is_speech(pcm[i:i + step], SAMPLE_RATE) for i in range(0, len(pcm), step)], dtype=float)
    # Centred moving average, then rounding: a frame is voiced when most of its neighbourhood is.
    padded = np.concatenate([np.zeros((_VAD_SMOOTH - 1) // 2), flags, np.zeros(_VAD_SMOOTH // 2)])
    sums = np.cumsum(padded)
    sums[_VAD_SMOOTH:] = sums[_VAD_SMOOTH:] - sums[:-_VAD_SMOOTH]
    mask = np.round(sums[_VAD_SMOOTH - 1:] / _VAD_SMOOTH).astype(bool)
    # Dilation by a centred window of 7 frames (scipy's binary_dilation in Resemblyzer).
    width = _VAD_MAX_SILENCE + 1
    mask = np.convolve(mask.astype(float), np.ones(width), mode="same") > 0
    return wav[np.repeat(mask, _VAD_FRAME)]


def partial_slices(n_samples: int) -> list[slice]:
    """Which frames make up each partial utterance (Resemblyzer's compute_partial_slices)."""
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    frame_step = int(np.round((SAMPLE_RATE / PARTIAL_RATE) / HOP))
    steps = max(1, n_frames - PARTIAL_FRAMES + frame_step + 1)
    slices = [slice(i, i + PARTIAL_FRAMES) for i in range(0, steps, frame_step)]
    coverage = (n_samples - slices[-1].start * HOP) / (PARTIAL_FRAMES * HOP)
    if coverage < MIN_COVERAGE and len(slices) > 1:
        slices = slices[:-1]
    return slices


@dataclass(frozen=True)
class EncoderOptions:
    preprocess: bool = True  # volume normalisation + silence trimming, as the model was trained
    device: str = "cpu"
    # Intra-op threads while embedding (None: leave torch's setting). On a busy 2-core CPU, two
    # OpenMP threads made the LSTM 25x slower than one (4.3 s vs 0.16 s for 56 partials, measured
    # while another process used a core), so callers embedding beside Whisper should pass 1.
    threads: int | None = None


class VoiceEncoder:
    """Utterance audio → 256-dim unit-norm speaker embeddings. Thread-safe; one instance per process is enough."""

    def __init__(self, weights_path=None, options: EncoderOptions = EncoderOptions()):
        import torch

        from livecaption.speakers.weights import HIDDEN, N_MELS as W_MELS, load_weights

        assert W_MELS == N_MELS
        self.options = options
        self._torch = torch
        self.lstm = torch.nn.LSTM(N_MELS, HIDDEN, 3, batch_first=True)
        self.linear = torch.nn.Linear(HIDDEN, HIDDEN)
        state = load_weights(weights_path)
        self.lstm.load_state_dict({k[len("lstm."):]: v for k, v in state.items() if k.startswith("lstm.")})
        self.linear.load_state_dict({k[len("linear."):]: v for k, v in state.items() if k.startswith("linear.")})
        for module in (self.lstm, self.linear):
            module.to(options.device).eval().requires_grad_(False)
        self._mel = torch.from_numpy(mel_filterbank()).to(options.device)
        self._window = torch.hann_window(N_FFT, periodic=True, device=options.device)
        self._lock = threading.Lock()  # torch modules are not re-entrant across threads for the same state

    def mel(self, wav: np.ndarray):
        """(frames, 40) power mel spectrogram, librosa.feature.melspectrogram's defaults."""
        torch = self._torch
        spec = torch.stft(torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32)).to(self.options.device),
                          N_FFT, HOP, window=self._window, center=True, pad_mode="constant", return_complex=True)
        return (self._mel @ spec.abs().pow(2)).T

    def prepare(self, wav: np.ndarray) -> np.ndarray:
        wav = np.asarray(wav, dtype=np.float32)
        if self.options.preprocess:
            wav = trim_long_silences(normalize_volume(wav))
        return wav

    def _partials(self, wav: np.ndarray):
        """(n_partials, 160, 40) mel frames for one prepared utterance."""
        slices = partial_slices(len(wav))
        needed = slices[-1].stop * HOP
        if needed >= len(wav):
            wav = np.pad(wav, (0, needed - len(wav)))
        mel = self.mel(wav)
        return self._torch.stack([mel[s] for s in slices])

    def embed_partials(self, mels):
        """(batch, frames, 40) → (batch, 256) unit-norm embeddings."""
        torch = self._torch
        with self._lock, torch.inference_mode():
            previous = torch.get_num_threads()
            if self.options.threads:
                torch.set_num_threads(self.options.threads)
            try:
                _, (hidden, _) = self.lstm(mels)
            finally:
                if self.options.threads:
                    torch.set_num_threads(previous)
            raw = torch.relu(self.linear(hidden[-1]))
            return raw / raw.norm(dim=1, keepdim=True).clamp_min(1e-12)

    def embed_utterances(self, wavs: list[np.ndarray], max_batch: int = 64) -> np.ndarray:
        """One embedding per utterance, shape (len(wavs), 256); all partials go through in batches.

        An utterance that is empty after silence trimming gets a row of NaN: callers treat it as
        too short to judge.
        """
        torch = self._torch
        parts, owners = [], []
        for index, wav in enumerate(wavs):
            wav = self.prepare(wav)
            if len(wav) < HOP:  # nothing voiced
                continue
            mels = self._partials(wav)
            parts.append(mels)
            owners.extend([index] * len(mels))
        out = np.full((len(wavs), 256), np.nan, dtype=np.float32)
        if not parts:
            return out
        mels = torch.cat(parts)
        embeds = torch.cat([self.embed_partials(mels[i:i + max_batch]) for i in range(0, len(mels), max_batch)])
        owners_t = torch.tensor(owners, device=embeds.device)
        for index in sorted(set(owners)):
            mean = embeds[owners_t == index].mean(dim=0)
            out[index] = (mean / mean.norm().clamp_min(1e-12)).cpu().numpy()
        return out

    def embed(self, wav: np.ndarray) -> np.ndarray:
        return self.embed_utterances([wav])[0]


_shared: VoiceEncoder | None = None
_shared_lock = threading.Lock()


def shared_encoder() -> VoiceEncoder:
    """The process's encoder with the packaged weights, loaded (and converted) on first use.

    One torch thread: it embeds beside Whisper (live, or right after it in a file), and on a busy
    2-core CPU two threads made the LSTM 25x slower (see EncoderOptions.threads)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = VoiceEncoder(options=EncoderOptions(threads=1))
        return _shared
