"""Helpers for the hostile-input tests: float WAVs (which may hold NaN), journals, digests."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import numpy as np

from livecaption.asr.whisper.folder_check import expected_shapes


def write_float_wav(path: Path, samples: np.ndarray, rate: int = 16_000) -> Path:
    """A mono IEEE-float WAV (format 3), written by hand: ``wave`` cannot, and NaN must survive."""
    data = np.asarray(samples, dtype="<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


HEADER = {"type": "header", "version": 1, "session": "s", "started": "2026-01-01T00:00:00+00:00",
          "model": "tiny.en", "device": "cpu", "precision": "fp32", "fallback": None,
          "options": {"language": "en"}}


def words_record(*texts: str, start: float = 0.0, ended: bool = True) -> dict:
    return {"type": "words", "utterance_ended": ended,
            "words": [{"text": " " + t, "start": start + i * 0.5, "end": start + i * 0.5 + 0.4,
                       "emitted": start + i * 0.5 + 1.0, "p": 0.9} for i, t in enumerate(texts)]}


def write_journal(folder: Path, name: str, lines: list) -> Path:
    """A journal of ``lines``: dicts are written as JSON, strings as they are (torn or hostile lines)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.jsonl"
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


SMALL_CONFIG = {"model_type": "whisper", "vocab_size": 1000, "num_mel_bins": 80, "d_model": 8,
                "encoder_layers": 1, "decoder_layers": 1, "encoder_attention_heads": 2, "decoder_attention_heads": 2,
                "encoder_ffn_dim": 16, "decoder_ffn_dim": 16, "max_source_positions": 1500, "max_target_positions": 448}


def small_model(folder: Path, config: dict = SMALL_CONFIG, drop: tuple[str, ...] = (), reshape: dict | None = None) -> Path:
    """A whole (tiny, all-zero) Whisper folder as far as the guard can tell: config and safetensors."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    tensors = {f"model.{name}": np.zeros((reshape or {}).get(name, shape), np.float16)
               for name, shape in expected_shapes(config).items() if name not in drop}
    save_file(tensors, str(folder / "model.safetensors"))
    return folder
