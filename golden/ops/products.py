"""Matrix products with a defined arithmetic (docs/numerics.md, "Matrix products").

``tree_matmul(a, b)``: ``out[..., i, j] = tree_k(a[..., i, k] * b[..., j, k])`` in binary32, the
products rounded (exact for fp16 x fp16), the sum by the fixed tree of :mod:`.binary32` over k
in index order. Every output element depends only on its own row of ``a`` and row of ``b``, so
any row or column tiling gives the same bits. It is evaluated by the streaming reducer
(``binary32.StreamingTree``, one k at a time over a block of outputs, as the hardware's adder
tree plus streaming reducer does), which keeps memory small and gives the tree's exact bits.

``int_dot(a, b)``: the exact integer product (int64 numpy arithmetic, no float); a result that
does not fit INT32 is an error. The sum is exact in any order; two's-complement partial sums
that wrap on the way return to the same exact INT32 total, so only the total is checked.

``fp16_linear(x, w)``: the fp16-weight linear ``h(tree_k(x_k * w_k))`` (scheme fp16, both
engines).
"""
from __future__ import annotations

import numpy as np

from .binary32 import F32, StreamingTree, f, h, quiet

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
BLOCK = 1 << 17                   # output elements per streaming block (measured fastest)


def tree_matmul(a, b) -> np.ndarray:
    """binary32 a [..., M, K] and b [..., N, K] (leading axes broadcast) -> binary32
    [..., M, N], each element the fixed tree over k of the binary32 products."""
    a, b = np.asarray(a, dtype=F32), np.asarray(b, dtype=F32)
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"tree_matmul: reduction lengths differ ({a.shape[-1]} vs "
                         f"{b.shape[-1]})")
    lead = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    m, n, k = a.shape[-2], b.shape[-2], a.shape[-1]
    at = np.ascontiguousarray(np.moveaxis(np.broadcast_to(a, lead + a.shape[-2:]), -1, 0))
    bt = np.ascontiguousarray(np.moveaxis(np.broadcast_to(b, lead + b.shape[-2:]), -1, 0))
    out = np.empty(lead + (m, n), F32)
    per_row = max(1, int(np.prod(lead, dtype=np.int64)) * n)
    rows = max(1, BLOCK // per_row)
    with quiet():
        for r0 in range(0, m, rows):
            block = out[..., r0:r0 + rows, :]
            acc = StreamingTree()
            for kk in range(k):
                term = acc.buffer(block.shape)
                np.multiply(at[kk, ..., r0:r0 + rows, None], bt[kk, ..., None, :], out=term)
                acc.add(term)
            block[...] = acc.result(block.shape)
    return out


def int_dot(a, b) -> np.ndarray:
    """Integer a [..., M, K] and b [..., N, K] -> int64 [..., M, N], exact; ValueError when a
    result leaves INT32 (the accumulator never wraps)."""
    a, b = np.asarray(a), np.asarray(b)
    for x, what in ((a, "a"), (b, "b")):
        if not np.issubdtype(x.dtype, np.integer):
            raise TypeError(f"int_dot {what}: expected integers, got {x.dtype}")
    acc = np.matmul(a.astype(np.int64), np.swapaxes(b.astype(np.int64), -1, -2))
    if acc.size and (acc.max() > INT32_MAX or acc.min() < INT32_MIN):
        raise ValueError("a dot product overflows the INT32 accumulator")
    return acc


def fp16_linear(x, w) -> np.ndarray:
    """fp16 x [..., K] times fp16 weights w [N, K] -> fp16 [..., N] = h(tree_k(x_k * w_k))."""
    x, w = np.asarray(x), np.asarray(w)
    if x.dtype != np.float16 or w.dtype != np.float16:
        raise TypeError(f"fp16_linear: expected fp16 x and w, got {x.dtype} and {w.dtype}")
    lead = x.shape[:-1]
    out = tree_matmul(f(x.reshape(-1, x.shape[-1])), f(w))
    return h(out).reshape(lead + (w.shape[0],))
