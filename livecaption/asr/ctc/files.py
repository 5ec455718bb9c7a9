"""What a CTC model folder (wav2vec2 or HuBERT fine-tuned for CTC) holds, checked before loading.

transformers trusts a folder: a pretraining-only checkpoint (no ``lm_head``) loads *successfully*
with a randomly initialised output layer and prints gibberish; a truncated safetensors file fails
deep inside it with a message naming none of the user's files. So the cheap parts are read here
first (config.json, the safetensors headers, vocab.json, never the tensors), and every problem is
one line naming the file. Pickled weights are refused outright (``refuse_unsafe_weights``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from livecaption.asr.locate import model_folder, read_json_object, refuse_unsafe_weights
from livecaption.asr.safetensors_header import ALL_DTYPES, read_safetensors_header, weight_files
from livecaption.errors import ModelError

KINDS = ("wav2vec2", "hubert")
# Sizes a real checkpoint stays well within; a value outside is a damaged or hostile config that
# would otherwise allocate absurd amounts of memory before failing.
_LIMITS = {"hidden_size": (8, 16384), "num_hidden_layers": (1, 256), "num_attention_heads": (1, 512),
           "intermediate_size": (1, 262144), "vocab_size": (2, 200_000)}
_MAX_CONV_LAYERS = 16
# Keys the few configs that declare a language use (they are not transformers' own).
_LANGUAGE_KEYS = ("language", "languages", "lang")


@dataclass(frozen=True)
class CtcFolder:
    """A checked CTC folder: where it is, what it is, and what the recognizer needs from config.json."""

    spec: str
    path: Path
    source: str  # "folder" or "hub"
    kind: str  # "wav2vec2" or "hubert"
    config: dict
    languages: tuple[str, ...]  # declared by the config; empty when it does not say

    @property
    def conv_strides(self) -> tuple[int, ...]:
        return tuple(self.config.get("conv_stride", (5, 2, 2, 2, 2, 2, 2)))

    @property
    def conv_kernels(self) -> tuple[int, ...]:
        return tuple(self.config.get("conv_kernel", (10, 3, 3, 3, 3, 2, 2)))


def _int_in(config: dict, key: str, low: int, high: int, folder: Path, default=None) -> int:
    value = config.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        shown = json.dumps(value, default=str)[:40]
        raise ModelError(f"model folder {folder}: config.json has {key} = {shown}; expected an integer from "
                         f"{low} to {high}")
    return value


def read_config(folder: Path) -> dict:
    """config.json of a wav2vec2/HuBERT CTC model with sane sizes, or a ModelError saying what is wrong."""
    config = read_json_object(folder / "config.json", f"model folder {folder}")
    kind = config.get("model_type")
    if kind not in KINDS:
        kind = kind if isinstance(kind, str) else "unknown"
        raise ModelError(f"model folder {folder} holds a '{kind[:40]}' model, not a wav2vec2 or HuBERT CTC model")
    # transformers' defaults for the keys a config may leave out (Wav2Vec2Config/HubertConfig agree).
    defaults = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072}
    sizes = {key: _int_in(config, key, low, high, folder, defaults.get(key)) for key, (low, high) in _LIMITS.items()}
    if sizes["hidden_size"] % sizes["num_attention_heads"]:
        raise ModelError(f"model folder {folder}: config.json has hidden_size not divisible by num_attention_heads")
    convs = [config.get(key, None) for key in ("conv_dim", "conv_stride", "conv_kernel")]
    if any(value is not None for value in convs):
        if not all(isinstance(v, list) and 1 <= len(v) <= _MAX_CONV_LAYERS for v in convs) or \
                len({len(v) for v in convs}) != 1 or \
                not all(isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= 4096 for v in convs for x in v):
            raise ModelError(f"model folder {folder}: config.json's conv_dim, conv_stride and conv_kernel must be "
                             f"lists of the same length (1 to {_MAX_CONV_LAYERS}) of positive integers")
    return config


def declared_languages(config: dict) -> tuple[str, ...]:
    """Language codes the config declares (rare: transformers has no such key), else ()."""
    for key in _LANGUAGE_KEYS:
        value = config.get(key)
        values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        codes = tuple(v.strip().lower() for v in values if isinstance(v, str) and 2 <= len(v.strip()) <= 3
                      and v.strip().isalpha())
        if codes:
            return codes
    return ()


def folder_languages(spec: str) -> frozenset[str] | None:
    """What a CTC folder declares about its language, from config.json alone (for checks made before
    loading): the codes it names, or None when it names none or ``spec`` is not a local folder. None,
    not an empty set: a CTC model of unnamed language is not English-only, it is unknown."""
    folder = Path(spec).expanduser()
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(config, dict):
        return None
    return frozenset(declared_languages(config)) or None


def check_weights(folder: Path, config: dict) -> None:
    """Refuse weights without a CTC head of the config's size, or lacking transformer layers: both
    would load with random values in their place."""
    shapes: dict[str, tuple[int, ...]] = {}
    for path in weight_files(folder):
        shapes.update({name: shape for name, (_, shape) in read_safetensors_header(
            path, ALL_DTYPES, "model weights", "download the model again").items()})
    kind = config["model_type"]
    hidden = config.get("hidden_size", 768)
    if config.get("add_adapter"):  # the adapter projects to output_hidden_size before the head
        hidden = config.get("output_hidden_size") or hidden
    head = shapes.get("lm_head.weight")
    if head is None:
        raise ModelError(f"model folder {folder}: the weights have no CTC head (lm_head.weight); this is a "
                         "pretraining checkpoint, not one fine-tuned for speech recognition")
    if head != (config["vocab_size"], hidden):
        raise ModelError(f"model folder {folder}: lm_head.weight has shape {list(head)}, but config.json implies "
                         f"{[config['vocab_size'], hidden]}; the weights and config.json do not belong together")
    prefixes = (f"{kind}.encoder.layers.", "encoder.layers.")  # with or without the base-model prefix
    layers = {name.split(".")[3 if name.startswith(kind) else 2] for name in shapes if name.startswith(prefixes)}
    missing = [i for i in range(config.get("num_hidden_layers", 12)) if str(i) not in layers]
    if missing:
        raise ModelError(f"model folder {folder}: the weights lack encoder layer(s) {missing[:5]} of the "
                         f"{config.get('num_hidden_layers', 12)} config.json declares; refusing to run layers with "
                         "random weights")


def read_vocab(folder: Path, config: dict) -> dict[str, int]:
    """vocab.json (token -> id) of the CTC tokenizer, checked against the model's output size."""
    path = folder / "vocab.json"
    if not path.is_file():
        raise ModelError(f"model folder {folder} has no vocab.json; a CTC model needs its character vocabulary")
    vocab = read_json_object(path, f"model folder {folder}")
    if vocab and all(isinstance(v, dict) for v in vocab.values()):
        raise ModelError(f"model folder {folder}: vocab.json holds one vocabulary per language (MMS adapters); "
                         "livecaption runs single-vocabulary CTC models")
    if not vocab or not all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                            for k, v in vocab.items()):
        raise ModelError(f"model folder {folder}: vocab.json must map tokens to integer ids")
    top = max(vocab.values())
    if min(vocab.values()) < 0 or top >= config["vocab_size"]:
        raise ModelError(f"model folder {folder}: vocab.json has id {top}, outside the model's "
                         f"{config['vocab_size']} outputs (vocab_size in config.json)")
    return vocab


# Read by transformers beside the weights: each must be a JSON object when present.
_SIDE_FILES = ("preprocessor_config.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json")


def check_side_files(folder: Path) -> None:
    for name in _SIDE_FILES:
        if (folder / name).exists():
            read_json_object(folder / name, f"model folder {folder}")


def check_folder(spec: str) -> CtcFolder:
    """Locate ``spec`` (a folder, or a hub id fetched as safetensors) and check it as loading needs."""
    path, source = model_folder(spec)
    refuse_unsafe_weights(path)
    config = read_config(path)
    check_weights(path, config)
    read_vocab(path, config)
    check_side_files(path)
    return CtcFolder(spec, path, source, config["model_type"], config, declared_languages(config))


def describe(spec: str) -> dict[str, str]:
    """What ``livecaption models SPEC`` prints: the folder checked as loading checks it, not loaded."""
    folder = check_folder(spec)
    return {
        "model": spec,
        "family": f"ctc ({folder.kind})",
        "source": folder.source,
        "folder": str(folder.path),
        "languages": ", ".join(folder.languages) or "unknown",
        "translation": "no",
    }
