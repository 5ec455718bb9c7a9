"""A loaded Whisper model: weights on the chosen device and precision, features, forward passes.

The weights are loaded from safetensors only (never pickles, never remote code) into the plain
torch layers of ``network``; the tokenizer is ``tokenizers``' own and the mel filters are computed
in ``features``: transformers is not imported to run a model (issue #15). Decoding strategy lives
in ``decoding``; this module only knows how to run the network.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from livecaption.asr.device import DeviceChoice, is_out_of_memory, quantize_int8, torch_dtype
from livecaption.asr.gpu_memory import CudaPeaks, release_memory
from livecaption.asr.whisper.features import mel_filters
from livecaption.asr.whisper.models import ResolvedModel, check_model_folder
from livecaption.asr.whisper.text import WhisperText
from livecaption.errors import ModelError

log = logging.getLogger("livecaption")

SAMPLE_RATE = 16_000
HOP_LENGTH = 160
N_FFT = 400
CHUNK_SECONDS = 30
N_SAMPLES = SAMPLE_RATE * CHUNK_SECONDS
N_FRAMES = N_SAMPLES // HOP_LENGTH  # 3000 mel frames per window
FRAMES_PER_SECOND = SAMPLE_RATE / HOP_LENGTH  # 100
TOKENS_PER_SECOND = 50  # one encoder position per two mel frames
INPUT_STRIDE = 2


@dataclass(frozen=True)
class SpecialTokens:
    eot: int
    sot: int
    sot_prev: int
    sot_lm: int | None
    no_speech: int | None
    no_timestamps: int
    transcribe: int | None
    translate: int | None
    languages: dict[str, int]  # code -> token id; empty for English-only models

    @property
    def timestamp_begin(self) -> int:
        return self.no_timestamps + 1


def _special_tokens(text: WhisperText, multilingual: bool) -> SpecialTokens:
    languages = {}
    # English-only checkpoints carry language tokens in their vocabulary but were never trained on them.
    added = text.added_tokens() if multilingual else {}
    for token, token_id in sorted(added.items(), key=lambda kv: kv[1]):
        code = token[2:-2] if token.startswith("<|") and token.endswith("|>") else ""
        if 2 <= len(code) <= 3 and code.isalpha() and code.islower():
            languages[code] = token_id
    required = {name: text.token_id(name) for name in ("<|endoftext|>", "<|startoftranscript|>", "<|startofprev|>", "<|notimestamps|>")}
    missing = [name for name, value in required.items() if value is None]
    if missing:
        raise ModelError(f"the model's tokenizer lacks Whisper's special tokens {', '.join(missing)}")
    return SpecialTokens(
        eot=required["<|endoftext|>"],
        sot=required["<|startoftranscript|>"],
        sot_prev=required["<|startofprev|>"],
        sot_lm=text.token_id("<|startoflm|>"),
        no_speech=text.token_id("<|nospeech|>") or text.token_id("<|nocaptions|>"),
        no_timestamps=required["<|notimestamps|>"],
        transcribe=text.token_id("<|transcribe|>"),
        translate=text.token_id("<|translate|>"),
        languages=languages,
    )


class WhisperRuntime(CudaPeaks):
    """Weights, tokenizer and mel filters of one Whisper model on one device/precision."""

    def __init__(self, resolved: ResolvedModel, choice: DeviceChoice):
        import torch

        self.config = check_model_folder(resolved.path)
        self.resolved = resolved
        self.tokenizer = WhisperText(resolved.path)
        self.multilingual = int(self.config["vocab_size"]) >= 51865
        self.tokens = _special_tokens(self.tokenizer, self.multilingual)
        self.generation = self._read_generation(resolved.path)
        self.n_mels = int(self.config["num_mel_bins"])
        self.mel_filters = torch.from_numpy(mel_filters(self.n_mels))
        self.choice = choice
        self._session_peak = 0  # CUDA: highest allocation of earlier decodes (begin_decode resets the counter)
        from livecaption.asr.whisper.lean_decoder import CrossAttentionMemo

        self._cross_memo = CrossAttentionMemo()  # keyed by model too: a reload never sees stale projections
        self.model = self._load(choice)

    @staticmethod
    def _read_generation(path: Path) -> dict:
        try:
            return json.loads((path / "generation_config.json").read_text())
        except (OSError, ValueError):
            return {}

    def _load_weights(self, choice: DeviceChoice):
        from livecaption.asr.whisper.lean_decoder import fuse_self_attention_projections
        from livecaption.asr.whisper.network import load_network

        model = load_network(self.resolved.path, self.config, torch_dtype(choice.precision))
        fuse_self_attention_projections(model)
        if choice.precision == "int8":
            model = quantize_int8(model)
        return model

    def _load(self, choice: DeviceChoice):
        import torch

        from livecaption.asr.whisper.lean_decoder import tie_fused_projections

        model = self._load_weights(choice)
        if not choice.is_cuda:
            return model
        try:
            if torch.cuda.is_available():  # this model's peaks start here, not at an earlier model's
                # Inside the try: the first call that touches a device creates its context, which
                # can itself fail for want of memory (as a RuntimeError).
                torch.cuda.reset_peak_memory_stats(torch.device(choice.device))
                self._session_peak = 0
            model = model.to(choice.device)
            tie_fused_projections(model)
            return model
        except RuntimeError as exc:  # torch.cuda.OutOfMemoryError is one
            if not is_out_of_memory(exc):
                raise
        # Out of the except block: its traceback held the frames of the failed move, and with them
        # the half-moved model, so nothing could be freed inside it.
        del model
        release_memory()
        self.choice = choice.fall_back_to_cpu("CUDA out of memory while loading the model")
        return self._load_weights(self.choice)

    def switch_to_fp32(self, reason: str) -> None:
        """Reload the weights in fp32 on the same device (a reduced precision proved unreliable)."""
        import dataclasses

        self.model = None  # free the reduced copy before loading the full one
        self._cross_memo.clear()
        if self.choice.is_cuda:
            release_memory()
        self.choice = dataclasses.replace(self.choice, precision="fp32", fallback=reason)
        log.warning("%s; continuing in fp32", reason)
        self.model = self._load(self.choice)

    def move_to_cpu(self, reason: str) -> None:
        """Leave the GPU for good (it ran out of memory mid-stream): same weights, on the CPU in fp32.

        Call it outside the ``except`` block that caught the error: that traceback's frames hold the
        failed decode's GPU tensors, which would stay allocated however often the cache is emptied.
        """
        from livecaption.asr.whisper.lean_decoder import tie_fused_projections

        self.choice = self.choice.fall_back_to_cpu(reason)
        self._cross_memo.clear()  # GPU memory, which is what ran out
        self.model = self.model.to("cpu", torch_dtype(self.choice.precision))
        tie_fused_projections(self.model)
        release_memory()

    # -- features -----------------------------------------------------------------------

    def log_mel(self, audio: np.ndarray, pad_samples: int = N_SAMPLES):
        """Whisper's log-mel spectrogram (n_mels, frames) of ``audio`` plus ``pad_samples`` of silence."""
        import torch

        samples = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
        if pad_samples:
            samples = torch.nn.functional.pad(samples, (0, pad_samples))
        window = torch.hann_window(N_FFT, device="cpu")  # features are made on the CPU, then moved
        stft = torch.stft(samples, N_FFT, HOP_LENGTH, window=window, return_complex=True)
        power = stft[..., :-1].abs() ** 2
        mel = self.mel_filters @ power
        log_spec = torch.clamp(mel, min=1e-10).log10()
        log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
        return (log_spec + 4.0) / 4.0

    # -- forward passes -----------------------------------------------------------------

    @property
    def device(self):
        return next(self.model.parameters()).device if self.choice.precision != "int8" else "cpu"

    @property
    def dtype(self):
        return torch_dtype(self.choice.precision)

    def encode(self, mel_window):
        """Encoder states (1, frames / 2, d) for one (n_mels, frames) window, frames <= 3000.

        Whisper was trained on 3000-frame windows only; a shorter one (the encoder's positional
        embeddings cut to match, as whisper.cpp's ``audio_ctx`` does) costs proportionally less,
        which is what makes frequent streaming re-decodes of a few seconds affordable. Same layers,
        same weights, no attention mask: with 3000 frames this is exactly transformers' encoder.
        """
        return self.encode_batch(mel_window.unsqueeze(0))

    def encode_batch(self, mel_windows):
        """Encoder states (batch, frames / 2, d) for (batch, n_mels, frames) windows."""
        import torch

        encoder = self.model.model.encoder
        frames = mel_windows.shape[-1]
        if frames > N_FRAMES or frames % INPUT_STRIDE:
            raise ValueError(f"encoder window must be an even number of frames up to {N_FRAMES}, not {frames}")
        with torch.inference_mode():
            mel = mel_windows.to(self.device, self.dtype)
            hidden = torch.nn.functional.gelu(encoder.conv1(mel))
            hidden = torch.nn.functional.gelu(encoder.conv2(hidden)).permute(0, 2, 1)
            hidden = hidden + encoder.embed_positions.weight[: hidden.shape[1]]
            for layer in encoder.layers:
                hidden = layer(hidden, None)
            return encoder.layer_norm(hidden)

    def new_cache(self):
        from livecaption.asr.whisper.lean_decoder import LeanDecoderCache

        return LeanDecoderCache()

    def decoder_logits(self, tokens, encoder_states, cache, cross_queries=None):
        """Float32 logits (batch, len, vocab) for ``tokens`` continuing what ``cache`` holds;
        ``cross_queries`` (a dict) collects each layer's cross-attention queries."""
        from livecaption.asr.whisper.lean_decoder import LeanDecoder

        # LeanDecoder.logits runs in inference mode itself.
        logits = LeanDecoder(self.model, self._cross_memo).logits(tokens.to(self.device), encoder_states, cache, cross_queries)
        return logits.float()

    def decode_text(self, token_ids) -> str:
        return self.tokenizer.decode([t for t in token_ids if t < self.tokens.eot])

    def encode_text(self, text: str) -> list[int]:
        return self.tokenizer.encode(text)
