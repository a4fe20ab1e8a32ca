"""``QuantizedWeight``: codes, per-group datatype ids and scales of one quantized matrix.

Element (n, k) with group g = k // G is worth
``formats.get(formats_[dtype_ids[n, g]]).decode(codes[n, k]) * scales[n, g]``
(int_asym: ``(codes[n, k] - zero_points[n, g]) * scales[n, g]``). The packed binary layout is in
``packing.py`` and docs/formats.md.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

from .. import formats as fmts
from . import packing
from .schemes import SCHEMES


@dataclass(eq=False)
class QuantizedWeight:
    scheme: str
    bits: int
    shape: tuple[int, int]
    group_size: int
    codes: np.ndarray                    # uint16 [N, K]
    formats: tuple[str, ...]
    dtype_ids: np.ndarray                # uint8 [N, ng]
    scales: np.ndarray                   # float32 [N, ng], real units
    scale_mode: str                      # "fp16", "int" or "e8m0" (mx)
    int_scales: np.ndarray | None = None  # uint8 [N, ng] ("int")
    row_scales: np.ndarray | None = None  # float16 [N] ("int")
    zero_points: np.ndarray | None = None  # uint8 [N, ng] (int_asym)

    @property
    def num_groups(self) -> int:
        """Groups per row, ceil(K / G) (the last one zero padded when G does not divide K)."""
        return -(-self.shape[1] // self.group_size)

    @property
    def unit(self) -> float:
        """Real value of one integer-scaled step of this scheme's formats (0.5 for fp4 grids)."""
        return SCHEMES[self.scheme].unit(self.bits)

    @property
    def unit_scales(self) -> np.ndarray:
        """float32 [N, ng]: the scale per integer-scaled level (what the PE multiplies by)."""
        return (self.scales.astype(np.float64) * self.unit).astype(np.float32)

    def level_table(self) -> np.ndarray:
        """float64 [len(formats), 2**bits]: real value per (datatype id, code), NaN if unused."""
        if self.scheme == "int_asym":
            return np.arange(1 << self.bits, dtype=np.float64)[None, :]
        table = np.full((len(self.formats), 1 << self.bits), np.nan)
        for i, name in enumerate(self.formats):
            f = fmts.get(name)
            table[i, f.codes] = f.decode(f.codes)
        return table

    def dequantize(self) -> torch.Tensor:
        """float32 [N, K]: level x scale (exact for every <=4-bit grid; float32-rounded above)."""
        n, k = self.shape
        g = np.arange(k) // self.group_size
        ids = self.dtype_ids[:, g].astype(np.int64)
        vals = self.level_table()[ids, self.codes.astype(np.int64)]
        if self.zero_points is not None:
            vals = vals - self.zero_points[:, g].astype(np.float64)
        out = vals * self.scales[:, g].astype(np.float64)
        return torch.from_numpy(out.astype(np.float32))

    def zero_code(self) -> np.ndarray:
        """uint16 [N, ng]: the code of the value 0 per group (used to pad the last group)."""
        if self.zero_points is not None:
            return self.zero_points.astype(np.uint16)
        zero = np.array([fmts.get(f).encode(0.0) for f in self.formats], dtype=np.uint16)
        return zero[self.dtype_ids]

    @property
    def id_bits(self) -> int:
        return (len(self.formats) - 1).bit_length()

    @property
    def bits_per_weight(self) -> float:
        """Stored bits per real weight, metadata included: 8 x (packed size - 64-byte header)
        / (N x K). Byte alignment and the padding of a partial last group are counted."""
        n, k = self.shape
        _, total = packing.layout(n, self.num_groups, self.group_size, self.bits, self.id_bits,
                                  self.scale_mode, self.zero_points is not None)
        return 8 * (total - packing.HEADER_SIZE) / (n * k)

    def pack(self) -> bytes:
        """The packed layout of ``packing.py`` / docs/formats.md."""
        from .packed_io import pack
        return pack(self)

    @classmethod
    def unpack(cls, data: bytes) -> "QuantizedWeight":
        """Exact inverse of :meth:`pack` (ValueError on malformed or corrupted data)."""
        from .packed_io import unpack
        return unpack(data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QuantizedWeight):
            return NotImplemented
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if a is None or b is None or a.dtype != b.dtype or not np.array_equal(a, b):
                    return False
            elif isinstance(a, (tuple, list)):
                if tuple(a) != tuple(b):
                    return False
            elif a != b:
                return False
        return True
