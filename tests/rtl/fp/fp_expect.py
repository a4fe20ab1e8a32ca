"""The golden side of the Verilator bench: the operands fp_bench_top generated for vectors
0..N-1 (numpy replica of fp_stimulus) and the signatures their golden results must fold to."""
from __future__ import annotations

import numpy as np

import fp_cases as cases
import fp_bench_top as top
from fp_stimulus import np_stream

U32 = np.uint32


def prefix_signatures(y: np.ndarray) -> np.ndarray:
    """``h_k`` after folding y[0..k-1] with ``h = rotl(h, 1) ^ y`` (h_0 = 0), for k = 1..len(y):
    rotl is linear over xor, so h_k = rotl(xor_{i<k} rotl(y_i, -1-i), k)."""
    y = np.asarray(y).astype(np.uint64) & 0xFFFFFFFF
    i = np.arange(len(y), dtype=np.uint64)
    pre = np.bitwise_xor.accumulate(_rotl(y, (-1 - i.astype(np.int64)) % 32))
    return _rotl(pre, (i + 1) % 32).astype(np.uint32)


def _rotl(x: np.ndarray, s) -> np.ndarray:
    s = np.asarray(s, np.uint64)
    return ((x << s) | (x >> ((np.uint64(32) - s) % np.uint64(32)) * (s != 0))) & 0xFFFFFFFF


def operands(seed: int, count: int) -> dict:
    n = np.arange(count, dtype=U32)
    return {st: np_stream(st, seed, n) for st in top.STREAMS}


def results(seed: int, count: int, latency: dict[str, int]) -> dict[str, np.ndarray]:
    """The golden result stream of every signature for ``count`` vectors."""
    op = operands(seed, count)
    n = np.arange(count, dtype=np.int64)
    rint_y, rint_nan = cases.rint(op[top.RINT_A])
    ints = op[top.INT_A].view(np.int32) >> (op[top.INT_C] & U32(31)).astype(np.int32)
    div = cases.div(op[top.DIV_A], op[top.DIV_B])
    sqrt = cases.sqrt(op[top.SQRT_A])
    return {
        "add": cases.add(op[top.ADD_A], op[top.ADD_B]),
        "mul": cases.mul(op[top.MUL_A], op[top.MUL_B]),
        "max": cases.vmax(op[top.ADD_A], op[top.ADD_B]),
        "f16": cases.f16_to_f32(n & 0xFFFF),
        "h": cases.f32_to_f16(op[top.F16_A]),
        "i2f": cases.i32_to_f32(ints),
        "rint": rint_y & 0xFFFFFFFF,
        "rintnan": rint_nan,
        "div": div[::latency["div"]],
        "divfast": div[n % latency["divfast"] < top.FAST_COPIES],
        "sqrt": sqrt[::latency["sqrt"]],
        "sqrtfast": sqrt[n % latency["sqrtfast"] < top.FAST_COPIES],
    }
