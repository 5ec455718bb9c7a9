"""Speech recognizers: one factory, one protocol (``types.Recognizer``), a package per backend.

``load_recognizer`` is the only place that names a backend. Everything outside ``asr`` holds a
``Recognizer`` and asks it what it needs (device choice, languages, memory, a streaming policy);
nothing reaches into a backend's internals. Importing this package stays cheap (no torch, no
transformers): the backend is imported when a model is loaded.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Callable

from livecaption.asr.gpu_memory import release_memory
from livecaption.errors import ModelError, UserError

if TYPE_CHECKING:
    from livecaption.asr.types import Recognizer

__all__ = ["declared_languages", "describe_model", "embedded_models", "load_recognizer", "model_family",
           "release_memory"]

log = logging.getLogger("livecaption")

# family -> (module, class); each class takes (model, device, precision, progress, verify_precision).
_BACKENDS = {
    "whisper": ("livecaption.asr.whisper.recognizer", "WhisperRecognizer"),
    "ctc": ("livecaption.asr.ctc.recognizer", "CtcRecognizer"),
}
# family -> module with ``describe(spec) -> dict``: the files checked, the weights not loaded.
_DESCRIBERS = {"whisper": "livecaption.asr.whisper.models", "ctc": "livecaption.asr.ctc.files"}


def embedded_models() -> dict:
    """The models that ship with livecaption (all Whisper today), by name."""
    from livecaption.asr.whisper.models import EMBEDDED_MODELS

    return EMBEDDED_MODELS


def model_family(spec: str) -> str:
    """Which backend runs ``spec``: an embedded name, a local folder, or a hub id (whose config is
    fetched: the only network access, and only for a hub id the user named)."""
    from livecaption.asr.locate import family_of_folder, model_folder

    if spec in embedded_models():
        return "whisper"
    folder, _ = model_folder(spec, tuple(embedded_models()))
    return family_of_folder(folder)


def declared_languages(spec: str) -> frozenset[str] | None:
    """The languages a model knows from its metadata alone (no loading, no network): an empty set
    for an English-only Whisper, None when that cannot be told cheaply (a hub id, a broken folder, a
    CTC model whose config names no language)."""
    from pathlib import Path

    from livecaption.asr.locate import family_of_folder
    from livecaption.asr.whisper.models import declared_languages as whisper_languages

    folder = Path(spec).expanduser()
    if spec not in embedded_models() and folder.is_dir():
        try:
            family = family_of_folder(folder)
        except ModelError:
            return None
        if family == "ctc":
            from livecaption.asr.ctc.files import folder_languages

            return folder_languages(spec)
    return whisper_languages(spec)


def describe_model(spec: str) -> dict[str, str]:
    """What a model is (family, source, folder, languages), checked as loading would check it."""
    return importlib.import_module(_DESCRIBERS[model_family(spec)]).describe(spec)


def load_recognizer(
    model: str,
    device: str = "auto",
    precision: str = "auto",
    progress: Callable | None = None,
    verify_precision: bool = True,
) -> Recognizer:
    """The recognizer for ``model`` on ``device`` in ``precision``.

    A folder or hub model that its library cannot read is the user's bad input, whatever exception
    the library chose for it: a ModelError. Our own embedded model failing to load is our fault:
    that exception goes up as it is, for the last resort to report.
    """
    module_name, class_name = _BACKENDS[model_family(model)]
    backend = getattr(importlib.import_module(module_name), class_name)
    try:
        recognizer = backend(model, device, precision, progress=progress, verify_precision=verify_precision)
    except (UserError, KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:
        if model in embedded_models():
            raise
        text = " ".join(str(exc).split())[:160]
        raise ModelError(f"model '{model}' cannot be loaded ({type(exc).__name__}: {text})") from exc
    log.info("model %s (%s) on %s", model, recognizer.family, recognizer.describe_device())
    return recognizer

