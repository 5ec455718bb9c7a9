"""A safetensors file's header, read and checked without reading its tensors (shared by every
backend's folder check): safetensors itself says only "incomplete metadata" for a truncated file,
and loads a file with bytes its header does not account for."""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path

import numpy as np

from livecaption.errors import ModelError

MAX_HEADER = 100 * 2**20  # safetensors' own limit
FLOAT_DTYPES = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8}
ALL_DTYPES = {**FLOAT_DTYPES, "I8": 1, "U8": 1, "I16": 2, "I32": 4, "I64": 8, "BOOL": 1}


def read_safetensors_header(path: Path, dtypes: dict[str, int] = FLOAT_DTYPES, what: str = "model weights",
                            redo: str = "convert or download the model again") -> dict[str, tuple[str, tuple[int, ...]]]:
    """name -> (dtype, shape) from the file's header; ModelError if the file is not a whole safetensors file
    whose tensors all have one of ``dtypes`` (what ``what`` are made of)."""
    _, tensors = _read_layout(path, dtypes, what, redo)
    return {name: (dtype, shape) for name, (dtype, shape, _) in tensors.items()}


def read_float_tensors(path: Path, dtype) -> dict:
    """name -> torch tensor in ``dtype``, read one tensor at a time with plain reads.

    safetensors' own loader maps the whole file, and its pages then count in the process's memory
    beside the converted copy (a float16 file loaded as float32: 1.5x the model at the peak). Here
    only the tensor being converted is held twice."""
    import torch

    kinds = {"F16": torch.float16, "BF16": torch.bfloat16, "F32": torch.float32, "F64": torch.float64}
    data_start, layout = _read_layout(path, FLOAT_DTYPES, "model weights", "convert or download the model again")
    tensors = {}
    with open(path, "rb") as handle:
        for name, (kind, shape, begin) in layout.items():
            raw = np.empty(math.prod(shape) * FLOAT_DTYPES[kind], dtype=np.uint8)
            handle.seek(data_start + begin)
            if handle.readinto(raw) != raw.size:
                raise ModelError(f"{path}: truncated while reading tensor '{name[:80]}'")
            tensors[name] = torch.from_numpy(raw).view(kinds[kind]).reshape(shape).to(dtype)
    return tensors


def _read_layout(path: Path, dtypes: dict[str, int], what: str, redo: str) -> tuple[int, dict]:
    """(offset of the tensor data, name -> (dtype, shape, offset in the data)), checked."""
    try:
        size = os.stat(path).st_size
        with open(path, "rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise ModelError(f"{path}: {'empty' if not prefix else 'truncated'}, not a safetensors file")
            length = struct.unpack("<Q", prefix)[0]
            if not 2 <= length <= min(MAX_HEADER, size - 8):
                raise ModelError(f"{path}: not a safetensors file (header length {length} does not fit a "
                                 f"{size}-byte file; damaged or truncated?)")
            header = json.loads(handle.read(length).decode("utf-8"))
    except ModelError:
        raise
    except IsADirectoryError:
        raise ModelError(f"{path}: is a directory, not a safetensors file") from None
    except OSError as exc:
        raise ModelError(f"{path}: cannot read ({exc.strerror})") from None
    except (ValueError, RecursionError):
        raise ModelError(f"{path}: not a safetensors file (its header is not valid JSON; damaged?)") from None
    if not isinstance(header, dict):
        raise ModelError(f"{path}: not a safetensors file (its header is not a JSON object)")
    tensors, end = {}, 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, stop) = info["dtype"], tuple(int(x) for x in info["shape"]), info["data_offsets"]
            itemsize = dtypes[dtype]
            count = 1
            for dim in shape:
                count *= dim
            valid = isinstance(begin, int) and isinstance(stop, int) and 0 <= begin <= stop and stop - begin == count * itemsize
        except KeyError:
            raise ModelError(f"{path}: tensor '{str(name)[:80]}' has no dtype ({', '.join(dtypes)}), shape and "
                             f"offsets; not {what}") from None
        except (TypeError, ValueError):
            valid = False
        if not valid:
            raise ModelError(f"{path}: tensor '{str(name)[:80]}' has inconsistent offsets; the file is damaged")
        tensors[name] = (dtype, shape, begin)
        end = max(end, stop)
    if 8 + length + end > size:
        raise ModelError(f"{path}: truncated ({size} bytes, its header needs {8 + length + end}); "
                         f"delete it and {redo}")
    if 8 + length + end < size:  # safetensors refuses bytes its header does not account for
        raise ModelError(f"{path}: damaged ({size - 8 - length - end} bytes after the last tensor)")
    return 8 + length, tensors


def weight_files(folder: Path) -> list[Path]:
    """The safetensors files transformers will load from ``folder``: the shards its index names
    (never a path outside the folder), else model.safetensors; a ModelError naming what is there."""
    index = folder / "model.safetensors.index.json"
    if index.exists():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
            names = sorted({str(name) for name in weight_map.values()})
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            raise ModelError(f"model folder {folder}: unreadable model.safetensors.index.json") from None
        if not names:
            raise ModelError(f"model folder {folder}: model.safetensors.index.json has no weight_map")
        if any(Path(name).name != name for name in names):
            raise ModelError(f"model folder {folder}: model.safetensors.index.json names files outside the folder")
        return [folder / name for name in names]
    if (folder / "model.safetensors").exists():
        return [folder / "model.safetensors"]
    others = sorted(p.name for p in folder.glob("*.safetensors"))
    raise ModelError(f"model folder {folder} has no model.safetensors (transformers loads only that name"
                     + (f"; found {', '.join(others[:3])})" if others else ")"))
