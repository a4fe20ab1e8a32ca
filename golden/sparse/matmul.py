"""Reference sparse matmul: N:M integer weights x INT8 activations -> INT32, from the pairs.

``out[t, r] = sum over kept pairs (v, i) of row r in k-block kb of  v * x[t, kb*m + i]``

This is what a CSD chain computes: the sparse mux uses each 4-bit index to pick the activation that
meets the kept weight. Only kept pairs are touched (a gather by index), never the dense matrix.
Products of INT8 x INT8 are at most 2^14 in magnitude, so an INT32 accumulator is exact while
k <= 131071; the sum is formed in int64 and a result outside INT32 raises instead of wrapping.
"""
from __future__ import annotations

import numpy as np
import torch

from .nmsparse import NMSparse

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def _activations(x, k: int) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.integer):
        raise ValueError(f"x_int8: expected integer activations, got dtype {x.dtype}")
    if x.ndim != 2 or x.shape[1] != k:
        raise ValueError(f"x_int8: expected shape [T, {k}], got {tuple(x.shape)}")
    if x.size and (x.min() < -128 or x.max() > 127):
        raise ValueError("x_int8: values outside the INT8 range [-128, 127]")
    return x.astype(np.int64)


def matmul(sp: NMSparse, x_int8, method: str = "auto") -> np.ndarray:
    """``x_int8 [T, K] @ W.T`` for integer N:M weights ``W [N_out, K]``: int32 ``[T, N_out]``.

    Raw integer products only: per-row ``scales`` are not applied (requantization is a later step).
    ``method``: ``"gather"`` is the definition above (work ~ T x kept pairs); ``"scatter"`` places
    the pairs at their indices and uses a float64 BLAS product, exact because every partial sum is
    an integer below 2^53 (work ~ T x N_out x K, but far faster for many tokens); ``"auto"``
    gathers for T <= 4 (decode) and scatters otherwise. All three give identical results (tested).
    """
    if sp.bits is None:
        raise ValueError("sp: matmul needs integer weights (prune an integer tensor or call "
                         "NMSparse.quantize_int(bits) first)")
    if method not in ("auto", "gather", "scatter"):
        raise ValueError(f"method: expected auto, gather or scatter, got {method!r}")
    n_out, k = sp.shape
    x = _activations(x_int8, k)
    if method == "scatter" or (method == "auto" and x.shape[0] > 4):
        out = x.astype(np.float64) @ sp.dense_array.astype(np.float64).T
        out = out.astype(np.int64)
        return _to_int32(out, k)
    out = np.zeros((x.shape[0], n_out), dtype=np.int64)
    kb_base = (np.arange(k // sp.m, dtype=np.int64) * sp.m)[:, None]
    slot_mask = np.arange(sp.m)[None, :] < sp.block_n[:, :, None]       # [br, kb, m]
    for br in range(sp.block_n.shape[0]):
        used = slot_mask[br]                                             # same for all rows
        if not used.any():
            continue
        rows = slice(br * sp.block, (br + 1) * sp.block)
        cols = (kb_base + sp.indices[rows].astype(np.int64))[:, used]    # [block, pairs]
        vals = sp.values[rows][:, used].astype(np.int64)
        out[:, rows] = np.einsum("tbp,bp->tb", x[:, cols], vals)
    return _to_int32(out, k)


def _to_int32(out: np.ndarray, k: int) -> np.ndarray:
    if out.size and (out.min() < INT32_MIN or out.max() > INT32_MAX):
        raise ValueError(f"x_int8: a sum over k={k} overflows the INT32 accumulator")
    return out.astype(np.int32)
