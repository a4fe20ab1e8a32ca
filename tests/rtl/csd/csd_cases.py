"""Shared bench cases for the CSD chain: weights, activations and the golden expectation.

Used by the amaranth.sim tests and by the cocotb modules (which import it from this folder), so
both simulators see exactly the same vectors. The expectation is golden.sparse.matmul (plus bias),
never the schedule under test.
"""
from __future__ import annotations

import numpy as np
import torch

from bitflight.base import config
from bitflight.golden import sparse
from bitflight.rtl.csd.geometry import ChainGeometry

N_OPTIONS = (2, 4, 8, 16)


def config_for(name: str = "tiny", packed: bool | None = None):
    cfg = config.load(name)
    if packed is not None and packed != cfg.csd.pack_two_macs:
        cfg = cfg.model_copy(update={"csd": cfg.csd.model_copy(update={"pack_two_macs": packed})})
    return cfg


def geometry(name: str = "tiny", packed: bool | None = None) -> ChainGeometry:
    return ChainGeometry.from_config(config_for(name, packed))


def make_case(seed: int, *, n="mixed", bits: int = 8, tokens: int = 3, k: int = 64,
              n_out: int = 32, edge: str | None = None):
    """(NMSparse integer weights, INT8 activations [tokens, k], INT32 bias [n_out]).

    ``n``: an N for every block, or "mixed" (random N per block, some blocks N = 0 skipped).
    ``edge``: None (uniform random), "min" (all -128 x -128: the largest products), "neg"
    (INT8 max weight x -128: the most negative products), "zero" (random, but whole blocks hold
    zero weights and some tokens are all zero).
    """
    rng = np.random.default_rng(seed)
    lo, hi = (-128, 127) if bits == 8 else (-8, 7)
    w = rng.integers(lo, hi + 1, (n_out, k))
    x = rng.integers(-128, 128, (tokens, k))
    if edge == "min":
        w[:], x[:] = lo, -128
    elif edge == "neg":
        w[:], x[:] = hi, -128
    elif edge == "zero":
        w[:16, :32] = 0
        x[0] = 0
    elif edge is not None:
        raise ValueError(f"edge: unknown case {edge!r}")
    if isinstance(n, str) and n == "mixed":
        n = rng.choice(np.array((0,) + N_OPTIONS), size=(n_out // 16, k // 16))
    sp = sparse.prune_nm(torch.tensor(w, dtype=torch.int8), n=n, bits=bits)
    bias = rng.integers(-(1 << 20), 1 << 20, n_out)
    return sp, x, bias


def expected(sp, x, bias) -> np.ndarray:
    return (sparse.matmul(sp, x).astype(np.int64) + bias[None, :]).astype(np.int32)
