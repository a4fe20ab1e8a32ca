"""Reading GGUF files (llama.cpp's container) with the ``gguf`` package.

:func:`read_gguf` opens a file (memory-mapped), checks it and returns a :class:`GGUFFile` with the
metadata as plain Python values and lazily dequantized tensors. Supported tensor types are the
ones the gguf package dequantizes and the project has tested: F32, F16, BF16, Q4_0, Q4_1, Q5_0,
Q5_1, Q8_0 and the k-quants Q2_K..Q6_K. Every problem (missing file, bad magic, truncated data,
unsupported tensor type) is a ``ValueError`` whose one-line message starts with the file name.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ...base.errors import ModelError

SUPPORTED_TYPES = ("F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0",
                   "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K")


def _field_value(fld):
    """A reader field as a Python value (strings decoded, arrays as lists, scalars unwrapped)."""
    return fld.contents()


@dataclass
class GGUFTensorInfo:
    name: str
    type_name: str
    shape: tuple[int, ...]          # numpy order (rows first), as the data is laid out
    n_bytes: int


@dataclass
class GGUFFile:
    """An opened GGUF file: ``metadata`` (key -> value) and ``tensors`` (name -> info)."""
    path: Path
    metadata: dict
    tensors: dict[str, GGUFTensorInfo]
    _reader: object = field(repr=False, default=None)

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", ""))

    def tensor(self, name: str) -> np.ndarray:
        """The named tensor dequantized to float32, shaped [rows, cols] like ``nn.Linear.weight``."""
        from gguf import quants
        info = self.tensors.get(name)
        if info is None:
            raise ModelError(f"{self.path}: tensor '{name}' not found")
        t = self._reader.tensors[self._index[name]]
        if info.type_name not in SUPPORTED_TYPES:
            raise ModelError(f"{self.path}: tensor '{name}' has unsupported type {info.type_name} "
                             f"(supported: {', '.join(SUPPORTED_TYPES)})")
        out = quants.dequantize(t.data, t.tensor_type)
        return np.array(out, dtype=np.float32, copy=True).reshape(info.shape)

    def __post_init__(self):
        self._index = {t.name: i for i, t in enumerate(self._reader.tensors)} if self._reader else {}


def read_gguf(path: str | os.PathLike) -> GGUFFile:
    """Open and validate a GGUF file; see the module docstring for the errors it raises."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: GGUF file not found")
    size = path.stat().st_size
    try:
        from gguf import GGUFReader
        reader = GGUFReader(str(path))
    except (ValueError, IndexError, KeyError, OverflowError, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(f"{path}: corrupt or truncated GGUF file ({reason})") from None
    tensors = {}
    for t in reader.tensors:
        if t.data_offset + int(t.n_bytes) > size:
            raise ModelError(f"{path}: truncated GGUF file (tensor '{t.name}' ends at byte "
                             f"{t.data_offset + int(t.n_bytes)}, file has {size})")
        # GGUF lists dimensions fastest-first; numpy order reverses them.
        shape = tuple(int(d) for d in reversed(list(t.shape)))
        tensors[t.name] = GGUFTensorInfo(t.name, t.tensor_type.name, shape, int(t.n_bytes))
    metadata = {}
    for key, fld in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        try:
            metadata[key] = _field_value(fld)
        except (ValueError, IndexError, UnicodeDecodeError) as exc:
            raise ModelError(f"{path}: corrupt GGUF metadata field '{key}' ({exc})") from None
    return GGUFFile(path=path, metadata=metadata, tensors=tensors, _reader=reader)
