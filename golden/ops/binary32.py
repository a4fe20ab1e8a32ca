"""The elementary operations of docs/numerics.md on numpy arrays (binary32 / binary16).

numpy's float32 ``+ - * /`` and ``sqrt`` are IEEE-754 binary32 operations with round-to-nearest-
even, element by element and never fused (numpy has no implicit FMA), and the float32 -> float16
cast rounds to nearest even with overflow to inf and rounded (not flushed) subnormals. The helpers
here add what numpy leaves open: canonical NaNs, the fixed reduction tree, the totalOrder maximum,
and conversions. Everything accepts arrays of any shape and works along the last axis, so a row
computed alone equals the same row inside a batch.

=============  ===================================================================================
``h(a)``       binary32 -> binary16, RNE; NaN -> the canonical ``0x7E00``
``f(x)``       binary16 or int32 -> binary32 (exact for fp16; RNE for |int| > 2^24)
``canon(a)``   binary32 with every NaN replaced by the canonical ``0x7FC00000``
``tree(v)``    the fixed adder tree over the last axis (pad to 2^ceil(log2 n) with +0, adjacent
               pairs level by level); n = 0 gives +0
``amax(v)``    IEEE totalOrder maximum over the last axis (+0 > -0), NaN if any element is NaN
``rint(a)``    round to the nearest integer, ties to even (binary32 in, binary32 out)
=============  ===================================================================================
"""
from __future__ import annotations

import numpy as np

F32 = np.float32
NAN16 = np.uint16(0x7E00)
NAN32 = np.uint32(0x7FC00000)


def quiet():
    """numpy error state for IEEE arithmetic: overflow, 0/0, inf-inf are results, not warnings."""
    return np.errstate(all="ignore")


def f(x) -> np.ndarray:
    """fp16 (or int32) -> binary32. Integers beyond 2^24 round to nearest even (numpy's cast)."""
    x = np.asarray(x)
    if x.dtype not in (np.float16, np.float32, np.int8, np.int32, np.int64):
        raise TypeError(f"f: expected fp16, fp32 or an integer array, got {x.dtype}")
    if x.dtype == np.int64 and x.size and (x.max() > 2**31 - 1 or x.min() < -2**31):
        raise ValueError("f: an integer does not fit INT32")
    return x.astype(F32)


def canon(a: np.ndarray) -> np.ndarray:
    """binary32 with canonical NaNs."""
    a = np.asarray(a, dtype=F32)
    nan = np.isnan(a)
    if nan.any():
        a = a.copy()
        a.view(np.uint32)[nan] = NAN32
    return a


def h(a: np.ndarray) -> np.ndarray:
    """binary32 -> binary16 (RNE; |a| >= 65520 -> inf; subnormals rounded), canonical NaN."""
    with quiet():
        out = np.asarray(a, dtype=F32).astype(np.float16)
    nan = np.isnan(out)
    if nan.any():
        out.view(np.uint16)[nan] = NAN16
    return out


def rint(a: np.ndarray) -> np.ndarray:
    """Nearest integer, ties to even, as binary32 (NaN stays NaN)."""
    return np.rint(np.asarray(a, dtype=F32))


def tree(v: np.ndarray) -> np.ndarray:
    """Sum over the last axis by the fixed tree of docs/numerics.md (binary32)."""
    v = np.asarray(v, dtype=F32)
    n = v.shape[-1]
    if n == 0:
        return np.zeros(v.shape[:-1], F32)
    width = 1 << (n - 1).bit_length()
    if width != n:
        v = np.concatenate((v, np.zeros(v.shape[:-1] + (width - n,), F32)), axis=-1)
    with quiet():
        while v.shape[-1] > 1:
            v = v[..., 0::2] + v[..., 1::2]
    return v[..., 0]


class StreamingTree:
    """The same tree fed one term (an array of independent sums) at a time, as the hardware's
    streaming reducer does: one pending partial per level, combined as soon as its right sibling
    is complete. ``result()`` finishes the padded tree (a pending partial whose right sibling is
    all padding is added to +0). Bit-identical to :func:`tree` over the terms in feed order.
    ``add`` takes ownership of the term array and works in place (arrays from :meth:`buffer`
    are recycled); call it inside :func:`quiet` to silence IEEE overflow warnings."""

    def __init__(self) -> None:
        self.pending: dict[int, np.ndarray] = {}
        self.count = 0
        self.spare: list[np.ndarray] = []

    def buffer(self, shape) -> np.ndarray:
        """A binary32 array of ``shape`` to fill with the next term (recycled storage)."""
        return self.spare.pop() if self.spare else np.empty(shape, F32)

    def add(self, term: np.ndarray) -> None:
        level = 0
        while level in self.pending:
            left = self.pending.pop(level)
            np.add(left, term, out=term)          # IEEE addition commutes: left + right
            self.spare.append(left)
            level += 1
        self.pending[level] = term
        self.count += 1

    def result(self, shape=()) -> np.ndarray:
        if self.count == 0:
            return np.zeros(shape, F32)
        top = (self.count - 1).bit_length()          # levels of the padded tree
        carry = None
        zero = F32(0)
        with quiet():
            for level in range(top + 1):
                part = self.pending.get(level)
                if part is not None and carry is not None:
                    carry = part + carry
                elif part is not None:
                    carry = part if level == top else part + zero
                elif carry is not None and level < top:
                    carry = carry + zero
        return carry


def order_key(a: np.ndarray) -> np.ndarray:
    """int32 keys whose integer order is IEEE totalOrder on non-NaN binary32 values."""
    bits = np.asarray(a, dtype=F32).view(np.int32)
    return np.where(bits < 0, bits ^ np.int32(0x7FFFFFFF), bits)


def amax(v: np.ndarray) -> np.ndarray:
    """totalOrder maximum over the last axis (+0 > -0); NaN where any element is NaN. The last
    axis must not be empty."""
    v = np.asarray(v, dtype=F32)
    key = order_key(v).max(axis=-1)
    out = np.where(key < 0, key ^ np.int32(0x7FFFFFFF), key).astype(np.int32).view(F32)
    return np.where(np.isnan(v).any(axis=-1), F32(np.nan), out)
