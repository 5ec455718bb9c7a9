"""Where a ``--model`` value that is not an embedded model points, and which family it is.

Backend-neutral: a local transformers folder, or a Hugging Face id fetched through the hub cache
(safetensors files only: pickled weights are refused, never loaded). Each backend checks the
folder's contents against its own architecture afterwards.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from livecaption.errors import ModelError

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_HUB_FILES = ["*.json", "*.safetensors", "*.txt", "*.model"]
# transformers' model_type values and the backend that runs them.
FAMILIES = {"whisper": "whisper", "wav2vec2": "ctc", "hubert": "ctc"}


def cache_dir() -> Path:
    """Where converted models live: $LIVECAPTION_CACHE_DIR, else the platform's user cache."""
    override = os.environ.get("LIVECAPTION_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("livecaption"))


def is_hub_id(spec: str) -> bool:
    looks_like_path = spec.startswith((".", "/", "~")) or os.sep + os.sep in spec
    return not looks_like_path and bool(_HUB_ID.match(spec))


def fetch_from_hub(model_id: str, embedded: tuple[str, ...] = ()) -> Path:
    """The hub snapshot's folder (the only network access, and only for a hub id the user named)."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:  # pragma: no cover - transformers depends on it
        raise ModelError("huggingface_hub is not installed; cannot fetch hub models") from None
    try:
        return Path(snapshot_download(model_id, allow_patterns=_HUB_FILES))
    except Exception as exc:  # the hub raises many types; all mean "not available"
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        names = f"an embedded model ({', '.join(embedded)}), " if embedded else ""
        raise ModelError(
            f"model '{model_id}' is not {names}not a local folder, and could not be loaded from the "
            f"Hugging Face hub: {reason}"
        ) from None


def model_folder(spec: str, embedded: tuple[str, ...] = ()) -> tuple[Path, str]:
    """The folder a non-embedded ``spec`` names and its source ("folder" or "hub")."""
    folder = Path(spec).expanduser()
    if folder.is_dir():
        return folder.resolve(), "folder"
    if folder.exists():
        raise ModelError(f"model '{spec}' is a file; pass a transformers model folder or a model name")
    if not is_hub_id(spec):
        names = f"not an embedded model ({', '.join(embedded)}), " if embedded else ""
        raise ModelError(f"unknown model '{spec}': {names}no such folder, and not a valid Hugging Face model id")
    return fetch_from_hub(spec, embedded), "hub"


def refuse_unsafe_weights(folder: Path) -> None:
    """A transformers folder with safetensors weights, or a ModelError saying what it is instead."""
    if not (folder / "config.json").is_file():
        raise ModelError(f"model folder {folder} has no config.json; it is not a transformers model folder")
    if not any(folder.glob("*.safetensors")):
        try:
            pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
        except OSError:
            pickles = []
        if pickles:
            raise ModelError(
                f"model folder {folder} holds only pickled weights ({', '.join(pickles)}); "
                "livecaption loads safetensors only, for safety"
            )
        raise ModelError(f"model folder {folder} has no *.safetensors weights")


def read_json_object(path: Path, what: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0][:120] or type(exc).__name__
        raise ModelError(f"{what}: unreadable {path.name} ({reason})") from None
    if not isinstance(data, dict):
        raise ModelError(f"{what}: {path.name} is not a JSON object")
    return data


def family_of_folder(folder: Path) -> str:
    """``whisper`` or ``ctc`` from the folder's config.json, or a ModelError naming what it holds."""
    if not (folder / "config.json").is_file():
        raise ModelError(f"model folder {folder} has no config.json; it is not a transformers model folder")
    kind = read_json_object(folder / "config.json", f"model folder {folder}").get("model_type")
    kind = kind if isinstance(kind, str) else "unknown"
    if kind not in FAMILIES:
        raise ModelError(f"model folder {folder} holds a '{kind[:40]}' model; livecaption runs Whisper and "
                         "CTC (wav2vec2, HuBERT) models")
    return FAMILIES[kind]
