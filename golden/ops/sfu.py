"""The SFU (MISC) operations of docs/numerics.md as row functions on raw numpy arrays.

This is the golden definition the ISA simulator executes and the RTL benches compare with, bit
for bit. Every function works along the last axis ("row") and is vectorised over any leading
axes; a row's result depends on nothing but that row (and its own parameters), so a row computed
alone equals the same row inside a batch or a tile. Inputs are fp16 (``np.float16``), widened
exactly; outputs are fp16 rounded once (``binary32.h``) unless stated; NaNs leave canonical.

==============================================  ===============================================
function                                        per row
==============================================  ===============================================
``add_rows(a, b)``                              ``h(a + b)``
``mul_rows(a, b)``                              ``h(a * b)``
``scale_rows(a, s_bits)``                       ``h(a * s)``, s the fp16 scalar with bits ``s_bits``
``copy_rows(a)``                                bit copy
``silu_rows(x)``                                ``h(silu(x))``
``swiglu_rows(g, u)``                           ``h(silu(g) * u)`` (silu not rounded to fp16)
``rope_rows(x, table, d)``                      per head of d: ``h(x c + rot(x) s)``
``rmsnorm_rows(x, gain, eps)``                  ``h(g (x r))``, ``r = 1 / sqrt(tree(x^2)/n + eps)``
``softmax_rows(x, visible)``                    ``h(E(x - max) / tree(E(x - max)))`` on visible
``requant_rows(x)``                             (int8 codes, binary32 scale per row)
==============================================  ===============================================

``silu(x) = x * σ``, ``σ = (x < 0 ? e : 1) / (1 + e)``, ``e = E(-|x|)`` (:mod:`.expo`).
Error bounds against float64 are in :mod:`.sfu_bounds`.
"""
from __future__ import annotations

import numpy as np

from .binary32 import F32, amax, f, h, quiet, tree
from .expo import exp_nonpos

QMAX = 127


def _fp16(x, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype != np.float16:
        raise TypeError(f"{what}: expected an fp16 array, got {x.dtype}")
    return x


def add_rows(a, b) -> np.ndarray:
    """ADD: fp16 [..., C] + fp16 [..., C] -> fp16."""
    with quiet():
        return h(f(_fp16(a, "ADD a")) + f(_fp16(b, "ADD b")))


def mul_rows(a, b) -> np.ndarray:
    """MUL: fp16 [..., C] * fp16 [..., C] -> fp16."""
    with quiet():
        return h(f(_fp16(a, "MUL a")) * f(_fp16(b, "MUL b")))


def scale_rows(a, s_bits: int) -> np.ndarray:
    """SCALE: fp16 [..., C] times the fp16 scalar whose bit pattern is ``s_bits`` (the MISC
    ``imm`` field) -> fp16."""
    s = np.array([s_bits], dtype=np.uint16).view(np.float16)
    with quiet():
        return h(f(_fp16(a, "SCALE a")) * f(s)[0])


def copy_rows(a) -> np.ndarray:
    """COPY: the same elements (any type), bit for bit."""
    return np.array(a, copy=True)


def silu32(x32: np.ndarray) -> np.ndarray:
    """silu in binary32 from binary32 ``x32`` (not rounded to fp16): the SILU/SWIGLU core."""
    with quiet():
        e = exp_nonpos(-np.abs(x32))
        sigma = np.where(x32 < 0, e, F32(1)) / (F32(1) + e)
        return x32 * sigma


def silu_rows(x) -> np.ndarray:
    """SILU: fp16 [..., C] -> fp16."""
    return h(silu32(f(_fp16(x, "SILU x"))))


def swiglu_rows(g, u) -> np.ndarray:
    """SWIGLU: silu(gate) * up, fp16 [..., C] each -> fp16, rounded once."""
    with quiet():
        return h(silu32(f(_fp16(g, "SWIGLU gate"))) * f(_fp16(u, "SWIGLU up")))


def rope_rows(x, table, d: int) -> np.ndarray:
    """ROPE: x fp16 [..., C] (C a multiple of the head size ``d``), table fp16 [..., d] = the
    row's d/2 cosines then its d/2 sines (one table row per x row; leading axes broadcast).
    Per head: ``h(x_i c_i + rot_i s_i)``, ``rot_i = -x_{i+d/2}`` (i < d/2) else ``x_{i-d/2}``,
    with ``c_i, s_i`` the table entries of frequency ``i mod d/2``."""
    x, table = _fp16(x, "ROPE x"), _fp16(table, "ROPE table")
    if d <= 0 or d % 2 or x.shape[-1] % d or table.shape[-1] != d:
        raise ValueError(f"ROPE: head size {d} must be even and divide the row ({x.shape[-1]}) "
                         f"and equal the table row ({table.shape[-1]})")
    half = d // 2
    x32 = f(x).reshape(x.shape[:-1] + (x.shape[-1] // d, d))
    t32 = f(table)[..., None, :]
    c = np.concatenate((t32[..., :half], t32[..., :half]), axis=-1)
    s = np.concatenate((t32[..., half:], t32[..., half:]), axis=-1)
    rot = np.concatenate((-x32[..., half:], x32[..., :half]), axis=-1)
    with quiet():
        return h(x32 * c + rot * s).reshape(x.shape)


def rmsnorm_rows(x, gain, eps) -> np.ndarray:
    """RMSNORM: x fp16 [..., C], gain fp16 [C], eps binary32 (a Python float is rounded to
    binary32 first) -> fp16. ``q = x * x`` (exact); ``v = tree(q) / f(C) + eps``;
    ``r = 1 / sqrt(v)``; ``h(g * (x * r))``."""
    x32 = f(_fp16(x, "RMSNORM x"))
    g32 = f(_fp16(gain, "RMSNORM gain"))
    n = F32(x32.shape[-1])
    with quiet():
        v = tree(x32 * x32) / n + F32(eps)
        r = F32(1) / np.sqrt(v)
        return h(g32 * (x32 * r[..., None]))


def softmax_rows(x, visible) -> np.ndarray:
    """SOFTMAX: x fp16 [..., C], ``visible`` bool broadcastable to x -> fp16. Visible columns:
    ``m = max`` (totalOrder), ``e = E(x - m)``; masked columns ``e = +0``; ``r = 1 / tree(e)``
    over the whole row; ``h(e * r)``, masked -> +0. A row with no visible column is all +0."""
    x32 = f(_fp16(x, "SOFTMAX x"))
    vis = np.broadcast_to(np.asarray(visible, dtype=bool), x32.shape)
    any_vis = vis.any(axis=-1)
    with quiet():
        m = amax(np.where(vis, x32, F32(-np.inf))) if x32.shape[-1] else x32[..., 0:0]
        t = np.where(vis, x32 - m[..., None], F32(0))
        e = np.where(vis, exp_nonpos(t), F32(0))          # t <= 0: m is the maximum
        r = F32(1) / tree(e)
        p = e * r[..., None]
    p = np.where(vis & any_vis[..., None], p, F32(0))
    return h(p)


def requant_rows(x) -> tuple[np.ndarray, np.ndarray]:
    """REQUANT: x fp16 or binary32 [..., C] -> (int8 codes [..., C], binary32 scale [...]).
    ``a = max|x|``; ``s = (a == 0 ? 1 : a / 127)``; ``q = clamp(rint(x / s), -127, 127)``, a NaN
    quotient -> 0. A NaN in the row gives the scale NaN (and codes 0 where x / s is NaN)."""
    x = np.asarray(x)
    if x.dtype not in (np.float16, np.float32):
        raise TypeError(f"REQUANT x: expected fp16 or fp32, got {x.dtype}")
    x32 = f(x)
    with quiet():
        a = amax(np.abs(x32)) if x32.shape[-1] else np.zeros(x32.shape[:-1], F32)
        s = np.where(a == 0, F32(1), a / F32(QMAX))
        q = x32 / s[..., None]
        codes = np.where(np.isnan(q), F32(0), np.clip(np.rint(q), -QMAX, QMAX))
    return codes.astype(np.int8), s.astype(F32)
