"""The GE2E voice encoder's weights: found in Resemblyzer's wheel, checked, kept as safetensors.

Resemblyzer 0.1.4 is the one package found on PyPI that carries a speaker-embedding model with
its weights (``resemblyzer/pretrained.pt``, 17 MB). Importing resemblyzer pulls librosa, scipy
and numba, so it is never imported: ``importlib.util.find_spec`` names the folder without running
the package. The ``.pt`` file is a pickle; it is read once with ``torch.load(weights_only=True)``
(which refuses arbitrary objects), checked to be exactly the encoder's tensors, and written to
``<cache>/speakers/ge2e-resemblyzer-0.1.4.safetensors``. Every later load reads only that file.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path

from livecaption.errors import ModelError

log = logging.getLogger("livecaption")

PACKAGE = "resemblyzer"
WEIGHTS_NAME = "ge2e-resemblyzer-0.1.4.safetensors"

# Every tensor the encoder needs, with its shape: 3-layer LSTM (40 mel channels in, 256 hidden;
# PyTorch stacks the 4 gates, hence 1024 rows) and the 256 → 256 projection.
HIDDEN = 256
N_MELS = 40
EXPECTED_SHAPES: dict[str, tuple[int, ...]] = {"linear.weight": (HIDDEN, HIDDEN), "linear.bias": (HIDDEN,)}
for _layer in range(3):
    EXPECTED_SHAPES[f"lstm.weight_ih_l{_layer}"] = (4 * HIDDEN, N_MELS if _layer == 0 else HIDDEN)
    EXPECTED_SHAPES[f"lstm.weight_hh_l{_layer}"] = (4 * HIDDEN, HIDDEN)
    EXPECTED_SHAPES[f"lstm.bias_ih_l{_layer}"] = (4 * HIDDEN,)
    EXPECTED_SHAPES[f"lstm.bias_hh_l{_layer}"] = (4 * HIDDEN,)
# GE2E's training-only similarity scale and bias: present in the checkpoint, unused at inference.
_TRAINING_ONLY = {"similarity_weight", "similarity_bias"}


def cache_dir() -> Path:
    """$LIVECAPTION_CACHE_DIR, else the platform's user cache: the same rule as the Whisper models.

    Kept here rather than imported from the ASR package so the speaker engine does not depend on
    a backend's module layout.
    """
    override = os.environ.get("LIVECAPTION_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("livecaption"))


def converted_weights_path() -> Path:
    return cache_dir() / "speakers" / WEIGHTS_NAME


def find_pretrained() -> Path:
    """Resemblyzer's ``pretrained.pt``, located without importing the package."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("speaker labels need the voice encoder shipped in resemblyzer: "
                         "pip install 'livecaption[speakers]' (or: pip install --no-deps resemblyzer)")
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "pretrained.pt"
        if candidate.is_file():
            return candidate
    raise ModelError(f"resemblyzer is installed but has no pretrained.pt in "
                     f"{', '.join(spec.submodule_search_locations)}: reinstall it")


def check_state_dict(state: object, source: Path) -> dict:
    """The encoder's tensors from a loaded file, or a one-line ModelError saying what is wrong."""
    import torch

    if not isinstance(state, dict):
        raise ModelError(f"{source}: not a voice-encoder checkpoint (a {type(state).__name__}, not a dict)")
    model_state = state.get("model_state", state)  # the .pt nests it; a safetensors file is flat
    if not isinstance(model_state, dict):
        raise ModelError(f"{source}: not a voice-encoder checkpoint (model_state is not a dict)")
    unexpected = sorted(set(model_state) - set(EXPECTED_SHAPES) - _TRAINING_ONLY)
    missing = sorted(set(EXPECTED_SHAPES) - set(model_state))
    if unexpected or missing:
        what = "; ".join(filter(None, [missing and f"missing {', '.join(missing[:3])}",
                                       unexpected and f"unexpected {', '.join(map(str, unexpected[:3]))}"]))
        raise ModelError(f"{source}: not the GE2E voice encoder ({what})")
    tensors = {}
    for name, shape in EXPECTED_SHAPES.items():
        value = model_state[name]
        if not isinstance(value, torch.Tensor) or value.dtype != torch.float32 or tuple(value.shape) != shape:
            got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise ModelError(f"{source}: {name} should be float32 {shape}, found {got}")
        if not torch.isfinite(value).all():
            raise ModelError(f"{source}: {name} holds NaN or infinite values")
        tensors[name] = value.contiguous()
    return tensors


def read_pretrained(source: Path) -> dict:
    """The checked tensors of a ``.pt`` checkpoint, unpickled with ``weights_only`` (no arbitrary objects)."""
    import pickle

    import torch

    try:
        state = torch.load(source, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{source}: refused to load the voice encoder ({first[:200]})") from None
    return check_state_dict(state, source)


def convert_pretrained(source: Path, target: Path) -> None:
    """Read the pickle once and write the checked tensors as safetensors."""
    from safetensors.torch import save_file

    tensors = read_pretrained(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    # Written aside and renamed, so a crash mid-write never leaves a file that looks converted.
    save_file(tensors, str(partial), metadata={"source": "resemblyzer 0.1.4 pretrained.pt"})
    os.replace(partial, target)
    log.info("converted the voice encoder %s -> %s", source, target)


def load_weights(path: str | Path | None = None) -> dict:
    """The checked encoder tensors.

    ``path``: a ``.safetensors`` file, a ``.pt`` checkpoint (read with ``weights_only``), or None: the cached conversion, made from resemblyzer's ``pretrained.pt`` on first use.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if path is None:
        target = converted_weights_path()
        if not target.is_file():
            convert_pretrained(find_pretrained(), target)
        path = target
    path = Path(path)
    if path.suffix != ".safetensors":
        # An explicit checkpoint (a fine-tuned encoder, say) is checked and used, not cached:
        # the cache holds only the conversion of the packaged weights.
        return read_pretrained(path)
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"{path}: not a readable safetensors file ({str(exc)[:200]}); "
                         f"delete it to convert the voice encoder again") from None
    return check_state_dict(state, path)
