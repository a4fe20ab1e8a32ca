"""The N:M sparse weight container: per-block N and, per row of each block, the kept pairs.

A weight ``[n_out, k]`` is tiled in blocks of ``block`` output rows x ``m`` input channels
(FlightLLM: 16 x 16). Block ``(br, kb)`` has one N (``block_n[br, kb]``); in every one of its rows
exactly N weights are kept, each as a value and its in-block index (0..m-1, 4 bits).

Storage is padded so that every operation stays vectorized: ``values`` and ``indices`` have shape
``[n_out, k // m, m]``; slot ``j`` of row ``r`` in k-block ``kb`` is a kept pair iff
``j < N(r // block, kb)``. Kept indices are strictly ascending; padding slots hold value 0 and
index 0 (a canonical form, so two equal matrices compare equal field by field).

Values are either float32 (for analysis) or integers held in an int8 array with ``bits`` 8
(range -128..127) or 4 (range -8..7, i.e. a 4-bit two's-complement field sign-extended). Integer
matrices may carry per-row ``scales`` (float32): real weight = value * scales[row].
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from . import packing
from .nm_params import INT_BITS, check_m, check_n, int_range


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class NMSparse:
    """N:M block-sparse weight matrix (see the module docstring for the storage convention)."""
    values: np.ndarray         # [n_out, k // m, m] float32 or int8
    indices: np.ndarray        # [n_out, k // m, m] uint8
    block_n: np.ndarray        # [n_out // block, k // m] uint8
    m: int = 16
    block: int = 16
    bits: int | None = None    # None: float32 values; 4 or 8: integer values
    scales: np.ndarray | None = None   # [n_out] float32, integer matrices only

    def __post_init__(self) -> None:
        check_m(self.m)
        if not isinstance(self.block, (int, np.integer)) or not 1 <= self.block <= 255:
            raise ValueError(f"block: must be an integer in 1..255, got {self.block!r}")
        values, indices = np.asarray(self.values), np.asarray(self.indices)
        block_n = np.asarray(self.block_n)
        if values.ndim != 3 or values.shape[2] != self.m or indices.shape != values.shape:
            raise ValueError(f"values/indices: expected equal shapes [n_out, k/m, {self.m}], got "
                             f"{values.shape} and {indices.shape}")
        n_out, kb, _ = values.shape
        if n_out % self.block or block_n.shape != (n_out // self.block, kb):
            raise ValueError(f"block_n: expected shape {(n_out // self.block, kb)} for "
                             f"{n_out} rows in blocks of {self.block}, got {block_n.shape}")
        for n in np.unique(block_n):
            check_n(int(n), self.m, "block_n")
        if self.bits is None:
            values = values.astype(np.float32)
            if self.scales is not None:
                raise ValueError("scales: only integer matrices (bits 4 or 8) carry scales")
        else:
            if self.bits not in INT_BITS:
                raise ValueError(f"bits: must be None, 4 or 8, got {self.bits!r}")
            if not np.issubdtype(values.dtype, np.integer):
                raise ValueError(f"values: bits={self.bits} needs integer values, "
                                 f"got {values.dtype}")
            lo, hi = int_range(self.bits)
            if values.size and (values.min() < lo or values.max() > hi):
                raise ValueError(f"values: outside the INT{self.bits} range [{lo}, {hi}]")
            values = values.astype(np.int8)
        slot_kept = self.slot_mask_for(block_n.astype(np.uint8))
        if np.any(indices >= self.m) or np.any(values[~slot_kept] != 0) or np.any(
                indices[~slot_kept] != 0):
            raise ValueError("indices: padding slots must hold value 0 and index 0, indices < m")
        if self.m > 1:
            inc = np.diff(indices.astype(np.int16), axis=2) > 0
            if np.any(~inc & slot_kept[:, :, 1:]):
                raise ValueError("indices: kept in-block indices must be strictly ascending "
                                 "per row")
        object.__setattr__(self, "values", _readonly(values))
        object.__setattr__(self, "indices", _readonly(indices.astype(np.uint8)))
        object.__setattr__(self, "block_n", _readonly(block_n.astype(np.uint8)))
        if self.scales is not None:
            scales = np.asarray(self.scales, dtype=np.float32)
            if scales.shape != (n_out,):
                raise ValueError(f"scales: expected shape ({n_out},), got {scales.shape}")
            object.__setattr__(self, "scales", _readonly(scales))

    # ---- shape and structure -------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """(n_out, k) of the dense matrix."""
        return self.values.shape[0], self.values.shape[1] * self.m

    @property
    def row_n(self) -> np.ndarray:
        """N of every (row, k-block): ``[n_out, k // m]``."""
        return np.repeat(self.block_n, self.block, axis=0)

    def slot_mask_for(self, block_n: np.ndarray) -> np.ndarray:
        """Boolean ``[n_out, k//m, m]``: which padded slots hold kept pairs."""
        row_n = np.repeat(block_n, self.block, axis=0)
        return np.arange(self.m, dtype=np.int16) < row_n[:, :, None]

    @property
    def slot_mask(self) -> np.ndarray:
        return self.slot_mask_for(self.block_n)

    @property
    def kept_mask(self) -> np.ndarray:
        """Boolean ``[n_out, k]``: True where a weight is kept (even if its value is zero)."""
        return self._scatter(np.ones(self.values.shape, dtype=bool))

    def _scatter(self, slot_values: np.ndarray) -> np.ndarray:
        """Dense ``[n_out, k]`` array with ``slot_values`` of the kept slots at their indices."""
        n_out, k = self.shape
        # Padding slots go to a spare column m so they can never overwrite a kept pair at index 0.
        target = np.where(self.slot_mask, self.indices, self.m)
        dense = np.zeros((n_out, k // self.m, self.m + 1), dtype=slot_values.dtype)
        np.put_along_axis(dense, target, np.where(self.slot_mask, slot_values, 0), axis=2)
        return dense[:, :, :self.m].reshape(n_out, k)

    @property
    def nnz(self) -> int:
        """Number of kept weights (stored pairs)."""
        return int(self.block_n.astype(np.int64).sum()) * self.block

    @property
    def density(self) -> float:
        n_out, k = self.shape
        return self.nnz / (n_out * k) if n_out * k else 1.0

    @property
    def dense_share(self) -> float:
        """Share of the kept weights that sit in dense (N = M) blocks (0 when nothing is kept)."""
        n = self.block_n.astype(np.int64)
        return float(n[n == self.m].sum() / n.sum()) if n.sum() else 0.0

    def kept(self, row: int, kblock: int) -> tuple[np.ndarray, np.ndarray]:
        """Kept (values, in-block indices) of one row of one k-block, indices ascending."""
        n_out, k = self.shape
        if not (0 <= row < n_out and 0 <= kblock < k // self.m):
            raise IndexError(f"kept: (row={row}, kblock={kblock}) outside {n_out} rows x "
                             f"{k // self.m} k-blocks")
        n = int(self.block_n[row // self.block, kblock])
        return self.values[row, kblock, :n].copy(), self.indices[row, kblock, :n].copy()

    def block_pairs(self, brow: int, kblock: int) -> tuple[np.ndarray, np.ndarray]:
        """All pairs of one block as ``[block, N]`` value and index arrays (row-major order)."""
        n = int(self.block_n[brow, kblock])
        rows = slice(brow * self.block, (brow + 1) * self.block)
        return self.values[rows, kblock, :n].copy(), self.indices[rows, kblock, :n].copy()

    # ---- conversions ---------------------------------------------------------------------------
    def to_dense(self) -> torch.Tensor:
        """Dense ``[n_out, k]`` tensor of the stored values (float32, or int8 for integer matrices).

        Integer matrices give their raw integer values, not ``value * scale``; see ``dequantize``.
        """
        return torch.from_numpy(self.dense_array.copy())

    @cached_property
    def dense_array(self) -> np.ndarray:
        """Read-only numpy ``[n_out, k]`` of the stored values, computed once (1 byte per weight
        for integer matrices); ``matmul`` uses it for many tokens."""
        dense = self._scatter(self.values)
        dense.setflags(write=False)
        return dense

    def dequantize(self) -> torch.Tensor:
        """Float32 dense weights: ``value * scales[row]`` (scale 1 if the matrix has none)."""
        dense = self.to_dense().to(torch.float32)
        if self.scales is not None:
            dense = dense * torch.from_numpy(self.scales.copy())[:, None]
        return dense

    def quantize_int(self, bits: int) -> "NMSparse":
        """Per-row symmetric integer quantization of the kept values (see ``intquant``)."""
        from .intquant import quantize_int
        return quantize_int(self, bits)

    def pack(self) -> bytes:
        """The FlightLLM-style packed byte stream (layout in docs/sparsity.md and ``packing``)."""
        return packing.pack(self)

    @classmethod
    def unpack(cls, data: bytes) -> "NMSparse":
        """Inverse of ``pack`` (exact)."""
        return cls(**packing.decode(data))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NMSparse):
            return NotImplemented
        same_scales = (self.scales is None and other.scales is None) or (
            self.scales is not None and other.scales is not None
            and np.array_equal(self.scales.view(np.uint32), other.scales.view(np.uint32)))
        return (self.m == other.m and self.block == other.block and self.bits == other.bits
                and same_scales and np.array_equal(self.block_n, other.block_n)
                and np.array_equal(self.indices, other.indices)
                and self.values.dtype == other.values.dtype
                and np.array_equal(self.values.view(np.uint8), other.values.view(np.uint8)))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        kind = "float32" if self.bits is None else f"int{self.bits}"
        counts = {int(n): int(c) for n, c in zip(*np.unique(self.block_n, return_counts=True))}
        return (f"NMSparse(shape={self.shape}, m={self.m}, block={self.block}, {kind}, "
                f"density={self.density:.4f}, blocks_by_n={counts})")


def unpack(data: bytes) -> NMSparse:
    """Parse bytes written by ``pack``; any inconsistency raises a one-line ValueError."""
    return NMSparse.unpack(data)
