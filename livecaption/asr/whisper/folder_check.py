"""What a model folder holds, checked before its weights are loaded.

A folder is the user's to make: a ``config.json`` that is a list, or lacks ``vocab_size``; an empty
or truncated ``model.safetensors``; a safetensors file that lacks some of the model's weights (a
loader that starts from random layers then prints gibberish); a preprocessor config asking for
features the runtime does not make. So the folder is read here first, cheaply (the configs and the
safetensors headers, never the tensors): the config must be a Whisper config with sane sizes,
every weight the model needs must be present with the shape the config implies, and each file must
be as long as its header says.
"""

from __future__ import annotations

import json
from pathlib import Path

from livecaption.asr.safetensors_header import FLOAT_DTYPES, read_safetensors_header, weight_files
from livecaption.errors import ModelError

# Whisper's defaults in transformers' WhisperConfig, for keys a config may leave out.
_DEFAULTS = {"d_model": 384, "encoder_layers": 4, "decoder_layers": 4, "encoder_attention_heads": 6,
             "decoder_attention_heads": 6, "encoder_ffn_dim": 1536, "decoder_ffn_dim": 1536,
             "max_source_positions": 1500, "max_target_positions": 448}
_LIMITS = {"vocab_size": (1000, 1_000_000), "num_mel_bins": (1, 512), "d_model": (8, 16384),
           "encoder_layers": (1, 256), "decoder_layers": (1, 256), "encoder_attention_heads": (1, 512),
           "decoder_attention_heads": (1, 512), "encoder_ffn_dim": (1, 262144), "decoder_ffn_dim": (1, 262144),
           "max_source_positions": (1500, 1500),  # 30 s windows of 3000 mel frames: what the runtime feeds
           "max_target_positions": (8, 65536)}


def read_config(folder: Path) -> dict:
    """``config.json`` as a checked dict of a Whisper model; ModelError saying what is wrong."""
    path = folder / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0][:120] or type(exc).__name__
        raise ModelError(f"model folder {folder}: unreadable config.json ({reason})") from None
    if not isinstance(config, dict):
        raise ModelError(f"model folder {folder}: config.json is not a JSON object")
    if config.get("model_type") != "whisper":
        kind = config.get("model_type")
        kind = kind if isinstance(kind, str) else "unknown"
        raise ModelError(f"model folder {folder} holds a '{kind[:40]}' model, not Whisper")
    for key in ("vocab_size", "num_mel_bins"):
        if key not in config:
            raise ModelError(f"model folder {folder}: config.json lacks '{key}'")
    for key, (low, high) in _LIMITS.items():
        value = config.get(key, _DEFAULTS.get(key))
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            expected = f"{low}" if low == high else f"an integer from {low} to {high}"
            shown = json.dumps(value, default=str)[:40]  # as written in the file: "" and true stay visible
            raise ModelError(f"model folder {folder}: config.json has {key} = {shown}; expected {expected}")
    for stack in ("encoder", "decoder"):
        if config_value(config, "d_model") % config_value(config, f"{stack}_attention_heads"):
            raise ModelError(f"model folder {folder}: config.json has d_model not divisible by "
                             f"{stack}_attention_heads")
    return config


# Files transformers reads beside the weights: each must be a JSON object when present, and the
# tokenizer must have its vocabulary model and added tokens (the language and task tokens).
_SIDE_FILES = ("tokenizer.json", "tokenizer_config.json", "preprocessor_config.json", "generation_config.json",
               "special_tokens_map.json", "added_tokens.json")


def check_side_files(folder: Path) -> None:
    for name in _SIDE_FILES:
        path = folder / name
        if not path.exists():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0][:120]
            raise ModelError(f"model folder {folder}: unreadable {name} ({reason})") from None
        if not isinstance(data, dict):
            raise ModelError(f"model folder {folder}: {name} is not a JSON object")
        if name == "tokenizer.json" and not (isinstance(data.get("model"), dict)
                                             and isinstance(data.get("added_tokens"), list)):
            raise ModelError(f"model folder {folder}: tokenizer.json lacks its vocabulary model or added tokens")


# The features the runtime makes (runtime.log_mel): a folder that asks for others is not one it can run.
_FEATURES = {"sampling_rate": 16_000, "hop_length": 160, "n_fft": 400, "chunk_length": 30}


def check_features(folder: Path, config: dict) -> None:
    """Refuse a ``preprocessor_config.json`` that asks for features other than Whisper's log-mel
    frames (the runtime computes them itself, with ``num_mel_bins`` bands)."""
    path = folder / "preprocessor_config.json"
    if not path.exists():
        return
    features = json.loads(path.read_text(encoding="utf-8"))  # check_side_files has read it as an object
    wanted = {**_FEATURES, "feature_size": config["num_mel_bins"]}
    for key, value in wanted.items():
        if key in features and features[key] != value:
            shown = json.dumps(features[key], default=str)[:40]
            raise ModelError(f"model folder {folder}: preprocessor_config.json has {key} = {shown}; "
                             f"Whisper's features need {value}")


def config_value(config: dict, key: str) -> int:
    """``key`` of a checked config, or Whisper's default for it."""
    return config.get(key, _DEFAULTS.get(key))


def expected_shapes(config: dict) -> dict[str, tuple[int, ...]]:
    """Every tensor ``WhisperForConditionalGeneration`` needs, named without the ``model.`` prefix."""
    d, mels = config_value(config, "d_model"), config_value(config, "num_mel_bins")
    shapes: dict[str, tuple[int, ...]] = {
        "encoder.conv1.weight": (d, mels, 3), "encoder.conv1.bias": (d,),
        "encoder.conv2.weight": (d, d, 3), "encoder.conv2.bias": (d,),
        "encoder.embed_positions.weight": (config_value(config, "max_source_positions"), d),
        "encoder.layer_norm.weight": (d,), "encoder.layer_norm.bias": (d,),
        "decoder.embed_tokens.weight": (config_value(config, "vocab_size"), d),
        "decoder.embed_positions.weight": (config_value(config, "max_target_positions"), d),
        "decoder.layer_norm.weight": (d,), "decoder.layer_norm.bias": (d,),
    }

    def attention(prefix: str) -> None:
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            shapes[f"{prefix}.{proj}.weight"] = (d, d)
            if proj != "k_proj":  # Whisper's key projection has no bias
                shapes[f"{prefix}.{proj}.bias"] = (d,)
        shapes[f"{prefix}_layer_norm.weight"] = shapes[f"{prefix}_layer_norm.bias"] = (d,)

    for stack in ("encoder", "decoder"):
        ffn = config_value(config, f"{stack}_ffn_dim")
        for i in range(config_value(config, f"{stack}_layers")):
            layer = f"{stack}.layers.{i}"
            attention(f"{layer}.self_attn")
            if stack == "decoder":
                attention(f"{layer}.encoder_attn")
            shapes.update({f"{layer}.fc1.weight": (ffn, d), f"{layer}.fc1.bias": (ffn,),
                           f"{layer}.fc2.weight": (d, ffn), f"{layer}.fc2.bias": (d,),
                           f"{layer}.final_layer_norm.weight": (d,), f"{layer}.final_layer_norm.bias": (d,)})
    return shapes


def check_weights(folder: Path, config: dict) -> None:
    """Refuse a folder whose safetensors lack weights the model needs, or hold them in another shape."""
    found: dict[str, tuple[int, ...]] = {}
    for path in weight_files(folder):
        for name, (_, shape) in read_safetensors_header(path, FLOAT_DTYPES, "Whisper weights").items():
            found[name[len("model."):] if name.startswith("model.") else name] = shape
    expected = expected_shapes(config)
    if config.get("tie_word_embeddings") is False:
        expected["proj_out.weight"] = (config_value(config, "vocab_size"), config_value(config, "d_model"))
    missing = [name for name in expected if name not in found]
    if missing:
        raise ModelError(f"model folder {folder}: the weights lack {len(missing)} of the {len(expected)} tensors "
                         f"this Whisper config needs (e.g. {', '.join(missing[:3])}); refusing to run layers "
                         "with random weights")
    for name, shape in expected.items():
        if found[name] != shape:
            raise ModelError(f"model folder {folder}: tensor {name} has shape {list(found[name])}, but config.json "
                             f"implies {list(shape)}; the weights and config.json do not belong together")
