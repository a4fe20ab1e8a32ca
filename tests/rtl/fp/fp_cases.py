"""Operand vectors and golden expectations shared by the fp unit tests (amaranth.sim and
Verilator): edge values of binary32/binary16, seeded random patterns, and the golden result of
every unit computed with golden/ops/binary32.py (numpy float32 is IEEE RNE)."""
from __future__ import annotations

import numpy as np

from bitflight.golden.ops import binary32 as b32

U32 = np.uint32

# binary32 edge values: signed zeros, smallest/largest subnormals, smallest normal, 1, the
# largest fp16 and fp16 rounding boundaries, the largest finite, inf, NaNs (quiet, signalling)
EDGE32 = np.array([
    0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF, 0x00800000,
    0x80800000, 0x00800001, 0x3F800000, 0xBF800000, 0x3F800001, 0x3F7FFFFF, 0x40000000,
    0x3F000000, 0xBF000000, 0x3FC00000, 0x40200000, 0x477FE000, 0xC77FE000, 0x477FEFFF,
    0x477FF000, 0x477FF001, 0x33800000, 0x33000000, 0x33000001, 0x387FC000, 0x38800000,
    0x4EFFFFFF, 0x4F000000, 0xCF000000, 0xCF000001, 0x4B000000, 0x4B7FFFFF, 0x3EFFFFFF,
    0x7F7FFFFF, 0xFF7FFFFF, 0x7F000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000,
    0x7F800001, 0x7FBFFFFF,
], dtype=U32)

# binary16 edge values: zeros, subnormals, smallest normal, 1, max, inf, NaNs
EDGE16 = np.array([0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0200, 0x0400, 0x3C00, 0xBC00,
                   0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x7E00, 0x7C01, 0xFE01, 0x3555], dtype=np.uint16)

EDGE_INT = np.array([0, 1, -1, 2**24, 2**24 + 1, -(2**24 + 1), 2**24 + 3, 2**25 + 2, 2**31 - 1,
                     -2**31, -2**31 + 1, 2**31 - 64, 2**31 - 65, 0x7FFFFFC0, 12345678],
                    dtype=np.int32)


def random32(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mixed binary32 operands: raw bit patterns, values around 1, and a narrow exponent band
    (so that additions cancel and round), plus subnormals."""
    kind = rng.integers(0, 4, n)
    raw = rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(U32)
    near = (rng.integers(-8, 8, n) + 127).astype(U32) << 23
    near |= rng.integers(0, 1 << 23, n).astype(U32) | (rng.integers(0, 2, n).astype(U32) << 31)
    sub = rng.integers(0, 1 << 24, n).astype(U32) | (rng.integers(0, 2, n).astype(U32) << 31)
    sub &= U32(0x807FFFFF) | (rng.integers(0, 2, n).astype(U32) << 23)
    return np.select([kind == 0, kind == 1, kind == 2], [raw, near, sub], raw).astype(U32)


def pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cross product of two edge lists as two aligned operand arrays."""
    return np.repeat(a, len(b)), np.tile(b, len(a))


def bits(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, np.float32).view(U32)


def add(a, b):
    with b32.quiet():
        return bits(b32.canon(a.view(np.float32) + b.view(np.float32)))


def mul(a, b):
    with b32.quiet():
        return bits(b32.canon(a.view(np.float32) * b.view(np.float32)))


def vmax(a, b):
    return bits(b32.canon(b32.amax(np.stack([a.view(np.float32), b.view(np.float32)], -1))))


def f16_to_f32(x):
    return bits(b32.canon(b32.f(np.asarray(x, np.uint16).view(np.float16))))


def f32_to_f16(a):
    return b32.h(a.view(np.float32)).view(np.uint16)


def i32_to_f32(x):
    return bits(b32.f(np.asarray(x, np.int32)))


def rint(a):
    """(y, nan) of F32Rint: golden rint saturated to int32; a NaN gives y = 0 and nan = 1."""
    with b32.quiet():
        r = b32.rint(a.view(np.float32)).astype(np.float64)
    nan = np.isnan(r)
    y = np.clip(np.where(nan, 0, r), -2.0**31, 2.0**31 - 1).astype(np.int64)
    return y, nan.astype(np.int64)


def div(a, b):
    with b32.quiet():
        return bits(b32.canon(a.view(np.float32) / b.view(np.float32)))


def sqrt(a):
    with b32.quiet():
        return bits(b32.canon(np.sqrt(a.view(np.float32))))
