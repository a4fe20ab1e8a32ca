"""Derived error bounds of the SFU row functions (:mod:`.sfu`) and the exp unit (:mod:`.expo`)
against exact arithmetic on the same fp16 inputs. Reference helpers only: they compute in float64
(numpy) and are never executed by an engine.

Notation: u = 2^-24 (binary32 unit roundoff), γ_L = (1 + u)^L - 1 for L roundings, fp16 output
rounding |h(z) - z| <= 2^-11 |z| + 2^-25 (half an ulp in the normal range, half the subnormal
step below it). A binary32 result that lands in the binary32 subnormal range would add an
absolute 2^-150; the ops below never get there (their intermediates stay >= 2^-48).

* exp unit: |E(t) - e^t| <= e^t ε_E(t) + A, ε_E(t) = 2^-24 (3.2 + 1.3 |t|) (1 + 2^-20) and
  A = 2^-124.99 only where E flushes (derivation in :mod:`.expo`).
* ADD / MUL / SCALE: one binary32 op (u) then h: |err| <= (u + 2^-11 (1 + u)) |r| + 2^-25.
* ROPE: two products and a sum (γ_3 of |x c| + |rot s|), then h.
* SILU: e = e^{-|x|} (1 + η), |η| <= ε_E(|x|); for x >= 0, σ = 1 / (1 + w) changes by the
  factor (1 + w(1 + η)) / (1 + w) in [1 - |η|/2, 1 + |η|/2] (w <= 1); for x < 0 the numerator
  adds (1 + η). Two roundings in σ, one in x σ:
  ρ = (1 + |η|) / (1 - |η|/2) (1 + u)^3 / (1 - u) - 1, then h. SWIGLU multiplies by u once more (one more rounding) before h. Beyond the flush (|x| >
  86.6) σ is 0 or 1 exactly, off by at most A, an absolute error A |x| (A |x u| for SWIGLU).
* RMSNORM: the squares are exact and non-negative, so tree(q) = Q (1 + θ), |θ| <= γ_L
  (L = ceil(log2 n) levels); the division and the eps add are two more roundings of non-negative
  terms: v' = v (1 + ν), |ν| <= (1 + γ_L)(1 + u)^2 - 1. sqrt and 1/x: r = r_exact (1 + ν)^(-1/2)
  (1 + u)^2; x r and g (x r): two more. ρ = (1 + u)^4 / sqrt(1 - ν) - 1, then h.
* SOFTMAX (visible columns, d_i = x_i - max <= 0): t_i = fl(d_i) = d_i (1 + δ), so e_i =
  e^{d_i} (1 + η_i), |η_i| <= e^{u |d_i|} (1 + ε_E(t_i)) - 1 (+ A where flushed). The maximum
  element gives E(0) = 1 exactly, so S = Σ e^{d_i} >= 1. tree(e) over L levels of non-negative
  terms: S' = S (1 + σ'), |σ'| <= σ = Σ_i p_i |η_i| (1 + γ_L) + γ_L + n A. r = 1/S' (1 + u),
  p' = e r (1 + u): ρ_i = (1 + |η_i|) (1 + u)^2 / (1 - σ) - 1 (+ A / S absolute), then h.
* REQUANT: |x - q s| <= s (1/2 + 2^-15) (:mod:`.act_int8`).
"""
from __future__ import annotations

import numpy as np

U = 2.0 ** -24
EPS16 = 2.0 ** -11
SUB16 = 2.0 ** -25
FLUSH_ABS = 2.0 ** -124.99


def gamma(levels) -> np.ndarray:
    return (1 + U) ** np.asarray(levels, dtype=np.float64) - 1


def fp16_rounding(z) -> np.ndarray:
    """Bound of |h(z) - z| for a value of magnitude ``|z|``."""
    return EPS16 * np.abs(z) + SUB16


def exp_relative(t) -> np.ndarray:
    """ε_E(t): |E(t) - e^t| <= ε_E(t) e^t (+ FLUSH_ABS where E flushes)."""
    return U * (3.2 + 1.3 * np.abs(np.asarray(t, dtype=np.float64))) * (1 + 2.0 ** -20)


def _x64(x) -> np.ndarray:
    return np.asarray(x).astype(np.float64)


def elementwise_bound(ref) -> np.ndarray:
    """ADD / MUL / SCALE: one rounded binary32 op then h."""
    ref = np.abs(ref)
    return U * ref + fp16_rounding(ref * (1 + U))


def rope_bound(x, table, d: int):
    """(exact float64 ROPE with the fp16 table values, bound)."""
    x, t = _x64(x), _x64(table)
    xs = x.reshape(x.shape[:-1] + (x.shape[-1] // d, d))
    half = d // 2
    c = np.concatenate((t[..., :half], t[..., :half]), -1)[..., None, :]
    s = np.concatenate((t[..., half:], t[..., half:]), -1)[..., None, :]
    rot = np.concatenate((-xs[..., half:], xs[..., :half]), -1)
    ref = xs * c + rot * s
    mag = np.abs(xs * c) + np.abs(rot * s)
    err = gamma(2) * mag
    return ref.reshape(x.shape), (err + fp16_rounding(np.abs(ref) + err)).reshape(x.shape)


def _silu_core(x):
    """(exact silu, relative bound of the binary32 silu, flush absolute term)."""
    eta = exp_relative(x)
    rho = (1 + eta) / (1 - eta / 2) * (1 + U) ** 3 / (1 - U) - 1
    flushed = np.abs(x) * np.log2(np.e) > 125 * (1 - 2.0 ** -20)
    with np.errstate(over="ignore"):
        exact = x / (1 + np.exp(-x))
    return exact, rho, np.where(flushed, FLUSH_ABS * np.abs(x), 0.0)


def silu_bound(x):
    """(exact float64 silu of the fp16 values, bound of ``sfu.silu_rows``)."""
    ref, rho, flush = _silu_core(_x64(x))
    err = rho * np.abs(ref) + flush
    return ref, err + fp16_rounding(np.abs(ref) + err)


def swiglu_bound(g, up):
    """(exact float64 silu(g) * up, bound of ``sfu.swiglu_rows``)."""
    ref_s, rho, flush = _silu_core(_x64(g))
    u64 = _x64(up)
    ref = ref_s * u64
    err = ((1 + rho) * (1 + U) - 1) * np.abs(ref) + flush * np.abs(u64) * (1 + U)
    return ref, err + fp16_rounding(np.abs(ref) + err)


def rmsnorm_bound(x, gain, eps):
    """(exact float64 RMSNorm with eps rounded to binary32, bound of ``sfu.rmsnorm_rows``)."""
    x, g = _x64(x), _x64(gain)
    n = x.shape[-1]
    eps32 = float(np.float32(eps))
    ref = g * x / np.sqrt((x * x).sum(-1, keepdims=True) / n + eps32)
    levels = max(n - 1, 0).bit_length()
    nu = (1 + gamma(levels)) * (1 + U) ** 2 - 1
    rho = (1 + U) ** 4 / np.sqrt(1 - nu) - 1
    err = rho * np.abs(ref)
    return ref, err + fp16_rounding(np.abs(ref) + err)


def softmax_relative(d, visible):
    """(exact p, relative bound ρ_i before the fp16 rounding, absolute flush term) for the
    float64 differences ``d = x - max`` (<= 0) of the visible columns (see the module doc)."""
    vis = np.broadcast_to(np.asarray(visible, bool), d.shape)
    d = np.where(vis, d, -np.inf)
    w = np.exp(d)
    s = w.sum(-1, keepdims=True)
    p = np.where(vis, w / np.where(s > 0, s, 1), 0.0)
    dd = np.where(vis, np.abs(d), 0.0)
    eta = np.exp(U * dd) * (1 + exp_relative(dd * (1 + U))) - 1
    n = vis.shape[-1]
    levels = max(n - 1, 0).bit_length()
    sigma = (p * eta).sum(-1, keepdims=True) * (1 + gamma(levels)) + gamma(levels) \
        + n * FLUSH_ABS
    rho = (1 + eta) * (1 + U) ** 2 / (1 - sigma) - 1
    return p, np.where(vis, rho, 0.0), np.where(vis, 2 * FLUSH_ABS, 0.0)


def softmax_bound(x, visible):
    """(exact float64 softmax over the visible columns of the fp16 rows x, bound of
    ``sfu.softmax_rows``); rows without a visible column are exact (+0)."""
    x = _x64(x)
    vis = np.broadcast_to(np.asarray(visible, bool), x.shape)
    m = np.where(vis, x, -np.inf).max(-1, keepdims=True)
    p, rho, flush = softmax_relative(np.where(vis, x - np.where(np.isfinite(m), m, 0), 0), vis)
    err = rho * p + flush
    return p, np.where(vis, err + fp16_rounding(p + err), 0.0)


def requant_bound(scale) -> np.ndarray:
    """|x - q s| <= s (1/2 + 2^-15) for REQUANT's scale s (act_int8)."""
    return np.asarray(scale, dtype=np.float64) * (0.5 + 2.0 ** -15)
