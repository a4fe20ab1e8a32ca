"""Weight tiles and activations for the CSD MM/MV engine benches, made by golden's own packers
(golden.quant int_sym for dense tiles, golden.sparse for N:M tiles), and the expected INT32 sums
by golden's accumulate functions on the tile as sim.isa unpacks it."""
from __future__ import annotations

import numpy as np
import torch

from bitflight.compiler.isa import DType, Engine
from bitflight.compiler.passes.packing import unpack_tile
from bitflight.golden.ops import int_matmul
from bitflight.golden.quant.api import quantize
from bitflight.golden.sparse import NMSparse

BLOCK = 16
N_CHOICES = (0, 1, 2, 4, 8, 16)          # golden.sparse: N is 0 or a divisor of M = 16


def dense_tile(rng, n: int, k: int, bits: int, edge: str | None = None) -> bytes:
    """A packed int_sym tile with one fp16 scale per row. ``edge``: "extreme" (every code at
    the format's ends), "zero" (some all-zero rows)."""
    w = rng.standard_normal((n, k)).astype(np.float32) * rng.uniform(0.01, 3.0, (n, 1))
    if edge == "extreme":
        w = np.sign(rng.standard_normal((n, k))).astype(np.float32) * 2.0
    elif edge == "zero":
        w[rng.random(n) < 0.5] = 0
    return quantize(torch.from_numpy(w), "int_sym", bits, group_size=k).pack()


def sparse_tile(rng, n: int, k: int, bits: int, block_n=None, extreme: bool = False) -> bytes:
    """A packed N:M tile (m = block = 16) with per-row float32 scales; ``block_n`` [n/16, k/16]
    (default: a random legal N, 0 or a divisor of 16, per block)."""
    br, kb = n // BLOCK, k // BLOCK
    block_n = (rng.choice(N_CHOICES, (br, kb)) if block_n is None
               else np.broadcast_to(np.asarray(block_n), (br, kb))).astype(np.uint8)
    lo, hi = (-8, 7) if bits == 4 else (-128, 127)
    values = np.zeros((n, kb, BLOCK), np.int8)
    indices = np.zeros((n, kb, BLOCK), np.uint8)
    for r in range(n):
        for b in range(kb):
            cnt = int(block_n[r // BLOCK, b])
            indices[r, b, :cnt] = np.sort(rng.choice(BLOCK, cnt, replace=False))
            vals = rng.choice([lo, hi], cnt) if extreme else rng.integers(lo, hi + 1, cnt)
            values[r, b, :cnt] = vals
    scales = (rng.uniform(0.5, 2.0, n) * 2.0 ** rng.integers(-12, 2, n)).astype(np.float32)
    return NMSparse(values, indices, block_n, 16, BLOCK, bits, scales).pack()


def activations(rng, rows: int, k: int, extreme: bool = False) -> np.ndarray:
    if extreme:
        return rng.choice(np.array([-128, 127, 0], np.int8), (rows, k))
    return rng.integers(-128, 128, (rows, k), dtype=np.int16).astype(np.int8)


def expected_sums(tile: bytes, sparse: bool, n: int, k: int, q8: np.ndarray) -> np.ndarray:
    """int64 [rows, n]: golden's exact sums of the unpacked tile (sim.isa's path)."""
    engine = Engine.SPARSE if sparse else Engine.DENSE
    w = unpack_tile(tile, engine, DType.INT8, n, k)
    if sparse:
        return int_matmul.sparse_accumulate(w, q8)[..., 0]
    acc = int_matmul.accumulate(q8, int_matmul.integer_levels(w), w.group_size)
    assert acc.shape[2] == 1
    return acc[..., 0]


def lines(data: bytes) -> bytes:
    """``data`` padded to whole 16-byte lines."""
    return data + bytes(-len(data) % 16)
