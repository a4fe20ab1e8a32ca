"""The SFU's exp unit ``E(t)`` for ``t <= 0`` (docs/numerics.md, "exp"), in binary32 operations.

    y = t * LOG2E;  NaN -> NaN;  y < -125 -> +0 (flush)
    k = rint(y);  f = y - k  (exact, |f| <= 1/2)
    j = rint(f * 64);  r = f - j/64  (exact, |r| <= 1/128)
    p = 1 + r*(C1 + r*(C2 + r*C3))          (innermost first, every op rounded)
    e = T[j] * p;  result e * 2^k            (exponent add, exact: always a normal number)

``T[j]`` (j = -32..32) is the binary32 value nearest 2^(j/64) and ``C1, C2, C3`` those nearest
ln 2, (ln 2)^2/2, (ln 2)^3/6. The table is generated here from exact rational arithmetic (a
candidate c is below 2^(j/64) iff c^64 < 2^j, compared as Python integers) and the constants
from correctly rounded 60-digit decimal logarithms; both are then rounded to binary32 by exact
comparison with the midpoints, and the result is checked against :data:`CHECKSUM` at import.
The RTL elaborates its ROM from :data:`TABLE_BITS` and its constants from :data:`CONSTANT_BITS`.

Error bound (``sfu_bounds.exp_relative``, tested with hypothesis against float64 ``exp``), for
-125 <= y: with L = LOG2E = log2(e) (1 + λ), |λ| <= 1.34e-8, the product rounding gives
y = t log2(e) (1 + λ)(1 + δ), |δ| <= 2^-24, so the exponent is off by |Δy| <= |t| (1.93e-8 +
1.4427 * 2^-24) = 1.052e-7 |t|, a relative error of ln 2 * |Δy| <= 1.23 * 2^-24 |t| in 2^y.
k, f, j, r are exact. The polynomial: truncation (r ln 2)^4/24 <= 2^-34.6, coefficient errors
(|r| C_i 2^-24) and inner roundings below 2^-31, the final ``1 +`` rounding 2^-24: |p - 2^r|
<= 1.1 * 2^-24 with p >= 0.994, so <= 1.11 * 2^-24 relative. T[j]: 2^-24 relative, e = T p:
2^-24. In all |E(t) / e^t - 1| <= 2^-24 (3.2 + 1.3 |t|) (1 + 2^-20); below the flush threshold
(y < -125, t < -86.64) E = +0 and e^t < 2^-124.99, an absolute error.
"""
from __future__ import annotations

import hashlib
from decimal import Decimal, getcontext
from fractions import Fraction

import numpy as np

from .binary32 import F32, NAN32, quiet

LOG2E = np.uint32(0x3FB8AA3B).view(F32)
FLUSH_Y = F32(-125)
CHECKSUM = "136f565f3363872a"          # sha256 of TABLE_BITS then CONSTANT_BITS (little-endian)


def _value(bits: int) -> Fraction:
    return Fraction(np.uint32(bits).view(F32).item())


def _nearest_f32(below, guess: float) -> F32:
    """The binary32 value nearest a positive real x given only the exact predicate
    ``below(c) == (c < x)`` for rationals c (x must not be a midpoint: irrational or exact).
    ``guess`` (any approximation) only sets where the exact search starts."""
    lo = hi = int(np.float32(guess).view(np.uint32))   # positive binary32 order as integers
    step = 1
    while lo > 0 and not below(_value(lo)):
        lo, step = max(lo - step, 0), 2 * step
    step = 1
    while below(_value(hi)):
        hi, step = hi + step, 2 * step
    while hi - lo > 1:              # invariant: value(lo) < x <= value(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if below(_value(mid)) else (lo, mid)
    return np.uint32(hi if below((_value(lo) + _value(hi)) / 2) else lo).view(F32)


def _table() -> np.ndarray:
    out = []
    for j in range(-32, 33):
        two_j = Fraction(2) ** j
        out.append(_nearest_f32(lambda c, t=two_j: c ** 64 < t, 2.0 ** (j / 64)))
    return np.array(out, dtype=F32)


def _constants() -> np.ndarray:
    getcontext().prec = 60
    ln2 = Decimal(2).ln()                      # correctly rounded to 60 digits
    values = (ln2, ln2 ** 2 / 2, ln2 ** 3 / 6)
    out = []
    for v in values:
        x = Fraction(v)
        c = _nearest_f32(lambda c, x=x: c < x, float(x))
        # the 60-digit value must not be within its own error of a binary32 midpoint
        ulp = Fraction(np.spacing(c).item())
        assert abs(abs(x - Fraction(c.item())) - ulp / 2) > x * Fraction(1, 10 ** 50)
        out.append(c)
    return np.array(out, dtype=F32)


TABLE = _table()                                 # TABLE[j + 32] = T[j]
C1, C2, C3 = _constants()
TABLE_BITS = TABLE.view(np.uint32)
CONSTANT_BITS = np.array([C1, C2, C3, LOG2E], dtype=F32).view(np.uint32)


def checksum() -> str:
    data = TABLE_BITS.astype("<u4").tobytes() + CONSTANT_BITS.astype("<u4").tobytes()
    return hashlib.sha256(data).hexdigest()[:16]


if checksum() != CHECKSUM:
    raise RuntimeError(f"golden.ops.expo: the exp table checksum {checksum()} is not the stored "
                       f"{CHECKSUM}; the generator changed (docs/numerics.md)")


def exp_nonpos(t) -> np.ndarray:
    """E(t) elementwise: binary32 array ``t`` (every element <= 0 or NaN) -> binary32, NaN
    canonical. Raises ValueError for a positive argument (the unit's domain is t <= 0)."""
    t = np.asarray(t, dtype=F32)
    if (t > 0).any():
        raise ValueError("E(t): the exp unit takes t <= 0 only")
    with quiet():
        y = t * LOG2E
        nan = np.isnan(y)
        flush = y < FLUSH_Y
        y = np.where(nan | flush, F32(0), y)
        k = np.rint(y)
        fr = y - k
        j = np.rint(fr * F32(64))
        r = fr - j / F32(64)
        p = F32(1) + r * (C1 + r * (C2 + r * C3))
        e = TABLE[j.astype(np.int32) + 32] * p
        out = np.ldexp(e, k.astype(np.int32)).astype(F32)
    out = np.where(flush, F32(0), out)
    if nan.any():
        out.view(np.uint32)[nan] = NAN32
    return out
