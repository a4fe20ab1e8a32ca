"""FlightLLM linear layers: per-token INT8 activations x INT weights, exact INT32 accumulation,
requantization to fp16 (docs/references.md#flightllm-3.5; docs/numerics.md, "INT linear (CSD)").

Dense weights are a golden.quant ``int_sym`` QuantizedWeight (integer levels L, one real scale per
row and group of G input channels); N:M sparse weights a golden.sparse NMSparse with INT values
and per-row scales (the CSD chain's gather by 4-bit index, ``golden.sparse.matmul``). The two
steps, each a golden function the ISA simulator and the RTL bench call:

    acc[t, n, g] = sum_{k in g} q[t, k] L[n, k]           :func:`accumulate` (exact INT32; a
                                                           result outside INT32 is an error)
    y[t, n] = h(tree_g(f(acc[t, n, g]) * w_scale[n, g]) * s_x[t])     :func:`requantize`

with one group ``h((f(acc) * w_scale) * s_x)`` (binary32 products, the tree of
``binary32.tree``). The bound against the float product is in :mod:`.int_matmul_bounds`.
"""
from __future__ import annotations

import numpy as np
import torch

from .act_int8 import quantize_per_token
from .binary32 import F32, f, h, quiet, tree
from .products import int_dot


def integer_levels(qw) -> np.ndarray:
    """int64 [N, K] integer weight levels of an int_sym QuantizedWeight (scale 1 per level)."""
    from .. import formats
    if qw.scheme != "int_sym":
        raise ValueError(f"weight: the INT engine needs scheme int_sym, got {qw.scheme}")
    fmt = formats.get(qw.formats[0])
    return np.rint(fmt.decode(qw.codes) * fmt.unit).astype(np.int64)


def accumulate(q8, levels, group: int) -> np.ndarray:
    """INT8 activations q8 [T, K] and integer weight levels [N, K] -> exact int64 [T, N, G]
    per group of ``group`` input channels; ValueError when a sum leaves INT32."""
    q8, levels = np.asarray(q8), np.asarray(levels)
    t, k = q8.shape
    n = levels.shape[0]
    if k % group:
        raise ValueError(f"accumulate: K={k} is not a whole number of groups of {group}")
    qg = q8.reshape(t, k // group, group).transpose(1, 0, 2)          # [G, T, g]
    lg = levels.reshape(n, k // group, group).transpose(1, 0, 2)      # [G, N, g]
    return int_dot(qg, lg).transpose(1, 2, 0)


def requantize(acc, x_scale, w_scale) -> np.ndarray:
    """acc [T, N, G] (exact INT32 values), binary32 x_scale [T] or [T, 1], binary32 w_scale
    [N, G] -> fp16 [T, N] = h(tree_g(f(acc) * w_scale) * s_x)."""
    acc = np.asarray(acc)
    sx = np.asarray(x_scale, dtype=F32).reshape(-1, 1)
    ws = np.asarray(w_scale, dtype=F32)
    with quiet():
        return h(tree(f(acc) * ws[None]) * sx)


def _np(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def int_linear(x: torch.Tensor, qw) -> torch.Tensor:
    """x [..., K] (rounded to fp16, then REQUANT) -> fp16 [..., N] for a dense int_sym
    QuantizedWeight ``qw``."""
    from .fp16 import to_fp16
    n, k = qw.shape
    lead = x.shape[:-1]
    q, sx = quantize_per_token(to_fp16(x).reshape(-1, k))
    acc = accumulate(_np(q), integer_levels(qw), qw.group_size)
    y = requantize(acc, _np(sx), np.asarray(qw.scales, dtype=F32))
    return torch.from_numpy(y).reshape(*lead, n)


def sparse_accumulate(spq, q8) -> np.ndarray:
    """N:M INT weights x INT8 activations q8 [T, K] -> int64 [T, N, 1] (one group: per-row
    scales), by ``golden.sparse.matmul`` (which raises on INT32 overflow)."""
    from .. import sparse
    return sparse.matmul(spq, np.asarray(q8)).astype(np.int64)[..., None]


def sparse_linear(x: torch.Tensor, spq) -> torch.Tensor:
    """x [..., K] (rounded to fp16, then REQUANT) -> fp16 [..., N] for an INT NMSparse with
    per-row scales."""
    from .fp16 import to_fp16
    n, k = spq.shape
    lead = x.shape[:-1]
    q, sx = quantize_per_token(to_fp16(x).reshape(-1, k))
    y = requantize(sparse_accumulate(spq, _np(q)), _np(sx),
                   np.asarray(spq.scales, dtype=F32)[:, None])
    return torch.from_numpy(y).reshape(*lead, n)
