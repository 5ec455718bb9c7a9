"""Convert a CTranslate2 Whisper bundle into a transformers ``WhisperForConditionalGeneration`` folder.

The CTranslate2 encoder/decoder arrays map one-to-one onto transformers' parameters, except
that CTranslate2 fuses attention projections: self-attention stores q|k|v in one matrix and
cross-attention stores k|v in one. They are split here; Whisper's key projection has no bias,
so the (zero) key bias slice is dropped.

The folder is written into a temporary directory beside the target and renamed into place
only when complete, so an interrupted conversion never leaves a half-written model behind.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from livecaption.asr.whisper.ct2_format import Ct2Model, dequantized, read_ct2_model
from livecaption.errors import ModelError

log = logging.getLogger("livecaption")

# Written into every converted folder; a folder without it (or with another version) is redone.
MARKER_FILE = "livecaption-conversion.json"
CONVERTER_VERSION = 1

ProgressCallback = Callable[[int, int, str], None]  # (done, total, what)


def _split(array: np.ndarray, parts: int) -> list[np.ndarray]:
    return list(np.split(array, parts, axis=0))


def _attention(ct2: Ct2Model, src: str, dst: str, fused_qkv: bool) -> dict[str, np.ndarray]:
    """Map one attention block; ``fused_qkv`` for self-attention, else cross-attention."""
    out: dict[str, np.ndarray] = {}
    if fused_qkv:
        q_w, k_w, v_w = _split(dequantized(ct2, f"{src}/linear_0"), 3)
        q_b, _k_b, v_b = _split(ct2.get(f"{src}/linear_0/bias"), 3)
        out_proj = f"{src}/linear_1"
    else:
        q_w, q_b = dequantized(ct2, f"{src}/linear_0"), ct2.get(f"{src}/linear_0/bias")
        k_w, v_w = _split(dequantized(ct2, f"{src}/linear_1"), 2)
        _k_b, v_b = _split(ct2.get(f"{src}/linear_1/bias"), 2)
        out_proj = f"{src}/linear_2"
    out[f"{dst}.q_proj.weight"], out[f"{dst}.q_proj.bias"] = q_w, q_b
    out[f"{dst}.k_proj.weight"] = k_w
    out[f"{dst}.v_proj.weight"], out[f"{dst}.v_proj.bias"] = v_w, v_b
    out[f"{dst}.out_proj.weight"] = dequantized(ct2, out_proj)
    out[f"{dst}.out_proj.bias"] = ct2.get(f"{out_proj}/bias")
    return out


def _layer_norm(ct2: Ct2Model, src: str, dst: str) -> dict[str, np.ndarray]:
    return {f"{dst}.weight": ct2.get(f"{src}/gamma"), f"{dst}.bias": ct2.get(f"{src}/beta")}


def _ffn(ct2: Ct2Model, src: str, dst: str) -> dict[str, np.ndarray]:
    return {
        f"{dst}.fc1.weight": dequantized(ct2, f"{src}/linear_0"),
        f"{dst}.fc1.bias": ct2.get(f"{src}/linear_0/bias"),
        f"{dst}.fc2.weight": dequantized(ct2, f"{src}/linear_1"),
        f"{dst}.fc2.bias": ct2.get(f"{src}/linear_1/bias"),
        **_layer_norm(ct2, f"{src}/layer_norm", f"{dst}.final_layer_norm"),
    }


def _count_layers(ct2: Ct2Model, stack: str) -> int:
    count = 0
    while ct2.has(f"{stack}/layer_{count}/ffn/linear_0/weight"):
        count += 1
    if count == 0:
        raise ModelError(f"CTranslate2 model has no {stack} layers; is it a Whisper model?")
    return count


def map_state_dict(ct2: Ct2Model, progress: ProgressCallback | None = None) -> dict[str, np.ndarray]:
    """Every transformers parameter name mapped to its array from the CTranslate2 model."""
    if ct2.spec_name != "WhisperSpec":
        raise ModelError(f"expected a CTranslate2 WhisperSpec model, found '{ct2.spec_name}'")
    enc_layers, dec_layers = _count_layers(ct2, "encoder"), _count_layers(ct2, "decoder")
    total, done = enc_layers + dec_layers + 2, 0
    state: dict[str, np.ndarray] = {}

    def step(what: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total, what)

    enc = "model.encoder"
    for conv in ("conv1", "conv2"):
        state[f"{enc}.{conv}.weight"] = ct2.get(f"encoder/{conv}/weight")
        state[f"{enc}.{conv}.bias"] = ct2.get(f"encoder/{conv}/bias")
    state[f"{enc}.embed_positions.weight"] = ct2.get("encoder/position_encodings/encodings")
    state.update(_layer_norm(ct2, "encoder/layer_norm", f"{enc}.layer_norm"))
    step("encoder stem")
    for i in range(enc_layers):
        src, dst = f"encoder/layer_{i}", f"{enc}.layers.{i}"
        state.update(_attention(ct2, f"{src}/self_attention", f"{dst}.self_attn", fused_qkv=True))
        state.update(_layer_norm(ct2, f"{src}/self_attention/layer_norm", f"{dst}.self_attn_layer_norm"))
        state.update(_ffn(ct2, f"{src}/ffn", dst))
        step(f"encoder layer {i}")

    dec = "model.decoder"
    state[f"{dec}.embed_tokens.weight"] = ct2.get("decoder/embeddings/weight")
    state[f"{dec}.embed_positions.weight"] = ct2.get("decoder/position_encodings/encodings")
    state.update(_layer_norm(ct2, "decoder/layer_norm", f"{dec}.layer_norm"))
    step("decoder stem")
    for i in range(dec_layers):
        src, dst = f"decoder/layer_{i}", f"{dec}.layers.{i}"
        state.update(_attention(ct2, f"{src}/self_attention", f"{dst}.self_attn", fused_qkv=True))
        state.update(_layer_norm(ct2, f"{src}/self_attention/layer_norm", f"{dst}.self_attn_layer_norm"))
        state.update(_attention(ct2, f"{src}/attention", f"{dst}.encoder_attn", fused_qkv=False))
        state.update(_layer_norm(ct2, f"{src}/attention/layer_norm", f"{dst}.encoder_attn_layer_norm"))
        state.update(_ffn(ct2, f"{src}/ffn", dst))
        step(f"decoder layer {i}")
    return state


def _special_ids(tokenizer_json: dict) -> dict[str, int]:
    return {t["content"]: t["id"] for t in tokenizer_json.get("added_tokens", [])}


def _whisper_config(ct2: Ct2Model, special: dict[str, int]) -> dict:
    d_model = ct2.get("encoder/conv1/weight").shape[0]
    vocab = ct2.get("decoder/embeddings/weight").shape[0]
    eot = special["<|endoftext|>"]
    return {
        "architectures": ["WhisperForConditionalGeneration"],
        "model_type": "whisper",
        "activation_function": "gelu",
        "d_model": int(d_model),
        "num_mel_bins": int(ct2.get("encoder/conv1/weight").shape[1]),
        "encoder_layers": _count_layers(ct2, "encoder"),
        "decoder_layers": _count_layers(ct2, "decoder"),
        "encoder_attention_heads": ct2.scalar("encoder/num_heads"),
        "decoder_attention_heads": ct2.scalar("decoder/num_heads"),
        "encoder_ffn_dim": int(ct2.get("encoder/layer_0/ffn/linear_0/weight").shape[0]),
        "decoder_ffn_dim": int(ct2.get("decoder/layer_0/ffn/linear_0/weight").shape[0]),
        "max_source_positions": int(ct2.get("encoder/position_encodings/encodings").shape[0]),
        "max_target_positions": int(ct2.get("decoder/position_encodings/encodings").shape[0]),
        "vocab_size": int(vocab),
        "bos_token_id": eot,
        "eos_token_id": eot,
        "pad_token_id": eot,
        "decoder_start_token_id": special["<|startoftranscript|>"],
        "scale_embedding": False,
        "tie_word_embeddings": True,
        "use_cache": True,
        "torch_dtype": "float16",
    }


def _generation_config(bundle_config: dict, special: dict[str, int], multilingual: bool) -> dict:
    languages = {tok: i for tok, i in special.items() if _is_language_token(tok)}
    config = {
        "alignment_heads": [list(pair) for pair in bundle_config.get("alignment_heads", [])],
        "suppress_tokens": list(bundle_config.get("suppress_ids", [])),
        "begin_suppress_tokens": list(bundle_config.get("suppress_ids_begin", [])),
        "decoder_start_token_id": special["<|startoftranscript|>"],
        "bos_token_id": special["<|endoftext|>"],
        "eos_token_id": special["<|endoftext|>"],
        "pad_token_id": special["<|endoftext|>"],
        "no_timestamps_token_id": special["<|notimestamps|>"],
        "prev_sot_token_id": special["<|startofprev|>"],
        "is_multilingual": multilingual,
        "max_initial_timestamp_index": 50,
        "max_length": 448,
        "return_timestamps": False,
        "task_to_id": {"transcribe": special["<|transcribe|>"], "translate": special["<|translate|>"]},
    }
    if multilingual:
        config["lang_to_id"] = languages
    return config


def _is_language_token(token: str) -> bool:
    inner = token[2:-2] if token.startswith("<|") and token.endswith("|>") else ""
    return 2 <= len(inner) <= 3 and inner.isalpha() and inner.islower()


def _write_tokenizer(bundle_dir: Path, out: Path, special: dict[str, int], multilingual: bool) -> None:
    shutil.copyfile(bundle_dir / "tokenizer.json", out / "tokenizer.json")
    specials = [tok for tok, _ in sorted(special.items(), key=lambda kv: kv[1])]
    tokenizer_config = {
        "tokenizer_class": "WhisperTokenizer",
        "bos_token": "<|endoftext|>",
        "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
        "additional_special_tokens": [t for t in specials if t != "<|endoftext|>"],
        "model_max_length": 1024,
        "errors": "replace",
        "add_prefix_space": False,
        "language": None if multilingual else "english",
        "task": None if multilingual else "transcribe",
        "predict_timestamps": False,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2))


def _write_feature_extractor(out: Path, num_mel_bins: int) -> None:
    """What transformers' ``WhisperFeatureExtractor(feature_size=...).save_pretrained`` writes, without
    importing transformers (3 s of a first start): other tools read the folder as theirs."""
    features = {
        "chunk_length": 30, "dither": 0.0, "feature_extractor_type": "WhisperFeatureExtractor",
        "feature_size": num_mel_bins, "hop_length": 160, "n_fft": 400, "n_samples": 480000, "nb_max_frames": 3000,
        "padding_side": "right", "padding_value": 0.0, "return_attention_mask": False, "sampling_rate": 16000,
    }
    (out / "preprocessor_config.json").write_text(json.dumps(features, indent=2) + "\n")


def convert_ct2_bundle(
    bundle_dir: Path,
    parts: Sequence[Path],
    target: Path,
    source_label: str,
    progress: ProgressCallback | None = None,
) -> Path:
    """Convert the bundle into ``target`` atomically; returns ``target``."""
    from safetensors.numpy import save_file

    bundle_dir = Path(bundle_dir)
    for needed in ("config.json", "tokenizer.json"):
        if not (bundle_dir / needed).is_file():
            raise ModelError(f"model bundle {bundle_dir} is missing {needed}")
    bundle_config = json.loads((bundle_dir / "config.json").read_text())
    tokenizer_json = json.loads((bundle_dir / "tokenizer.json").read_text(encoding="utf-8"))
    special = _special_ids(tokenizer_json)

    ct2 = read_ct2_model(parts)
    # Writing the folder is one more step after the mapping, so "done" means the model is usable.
    steps = {"total": 0}

    def mapping_progress(done: int, total: int, what: str) -> None:
        steps["total"] = total + 1
        if progress:
            progress(done, total + 1, what)

    state = map_state_dict(ct2, mapping_progress)
    config = _whisper_config(ct2, special)
    multilingual = config["vocab_size"] >= 51865

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        # Keep the bundle's precision (float16); the loader casts to the chosen one.
        save_file(
            {k: np.ascontiguousarray(v.astype(np.float16)) for k, v in state.items()},
            str(staging / "model.safetensors"),
            metadata={"format": "pt"},
        )
        (staging / "config.json").write_text(json.dumps(config, indent=2))
        generation = _generation_config(bundle_config, special, multilingual)
        (staging / "generation_config.json").write_text(json.dumps(generation, indent=2))
        _write_tokenizer(bundle_dir, staging, special, multilingual)
        _write_feature_extractor(staging, config["num_mel_bins"])
        marker = {"converter_version": CONVERTER_VERSION, "source": source_label}
        (staging / MARKER_FILE).write_text(json.dumps(marker, indent=2))
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if progress:
        progress(steps["total"], steps["total"], "written")
    log.info("converted %s into %s", source_label, target)
    return target


def is_converted(target: Path) -> bool:
    """True when ``target`` holds a complete conversion made by this converter version."""
    try:
        marker = json.loads((target / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return False
    return marker.get("converter_version") == CONVERTER_VERSION and (target / "model.safetensors").is_file()
