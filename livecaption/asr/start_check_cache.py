"""The precision start check's verdict, remembered (issue #15).

A reduced precision (fp16, bf16, int8) is checked against fp32 on a real clip when a model loads
(``precision_monitor``): that loads a second, fp32 copy of the model and decodes the clip twice,
seconds on every start. The verdict only changes when something it depends on changes, so it is
kept per model weights, precision, device and library versions, in the cache folder; any of
them changing (a new model file, another GPU, a torch upgrade) means a new check. The run-time
watch (NaN/inf, loops) goes on every decode regardless.

A cache file that cannot be read or written costs a check, never a start.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

log = logging.getLogger("livecaption")

CHECK_VERSION = 1  # bump when the check itself changes: old verdicts no longer count
MAX_ENTRIES = 64


def verdicts_path() -> Path:
    """$LIVECAPTION_START_CHECKS (the test suite gives each test its own), else the cache folder's."""
    override = os.environ.get("LIVECAPTION_START_CHECKS")
    if override:
        return Path(override)
    from livecaption.asr.locate import cache_dir

    return cache_dir() / "start-checks.json"


def library_versions() -> dict[str, str]:
    out = {}
    for name in ("torch", "transformers", "livecaption"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "?"
    return out


def _device_name(device: str) -> str:
    if not device.startswith("cuda"):
        return device
    import torch

    return f"{device} {torch.cuda.get_device_name(torch.device(device))}"


def verdict_key(folder: Path, precision: str, device: str) -> str:
    """What the verdict depends on: the weights (by name, size and time), precision, device, versions."""
    weights = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in Path(folder).glob("*.safetensors"))
    parts = {"folder": str(Path(folder).resolve()), "weights": weights, "precision": precision,
             "device": _device_name(device), "versions": library_versions(), "check": CHECK_VERSION}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _load() -> dict:
    try:
        data = json.loads(verdicts_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def cached_verdict(key: str) -> tuple[bool, str | None]:
    """(known, why the precision failed or None when it passed)."""
    entry = _load().get(key)
    if isinstance(entry, dict) and (entry.get("reason") is None or isinstance(entry.get("reason"), str)):
        return True, entry.get("reason")
    return False, None


def remember_verdict(key: str, reason: str | None) -> None:
    entries = _load()
    entries.pop(key, None)
    entries[key] = {"reason": reason}
    entries = dict(list(entries.items())[-MAX_ENTRIES:])  # the newest; stale keys never match again
    path, tmp = verdicts_path(), None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".start-checks-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(entries, handle)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only cache: the next start checks again
        log.info("start check verdict not saved (%s)", exc)
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def checked_once(folder: Path, precision: str, device: str, run_check, fall_back) -> str | None:
    """``run_check()`` (the start check, which falls back itself when it fails) once per verdict key;
    afterwards the remembered verdict, applied with ``fall_back(reason)`` when it was a failure."""
    key = verdict_key(folder, precision, device)
    known, reason = cached_verdict(key)
    if known:
        log.info("precision start check: %s (remembered)", reason or "passed")
        if reason is not None:
            fall_back(f"{reason} (remembered)")
        return reason
    reason = run_check()
    remember_verdict(key, reason)
    return reason
