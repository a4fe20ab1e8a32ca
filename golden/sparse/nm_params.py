"""The N:M parameters and their checks, shared by the container, the packed layout and pruning:
M a power of two up to 16 (the in-block index is 4 bits), N 0 (block skipped) or a divisor of M,
integer values of 4 or 8 bits."""
from __future__ import annotations

import numpy as np

INDEX_BITS = 4
MAX_M = 1 << INDEX_BITS
INT_BITS = (4, 8)


def int_range(bits: int) -> tuple[int, int]:
    """Inclusive range of a ``bits``-bit two's-complement integer."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def check_m(m: int) -> None:
    if not isinstance(m, (int, np.integer)) or m < 1 or m & (m - 1):
        raise ValueError(f"m: must be a power of two, got {m!r}")
    if m > MAX_M:
        raise ValueError(f"m: at most {MAX_M} (the in-block index is {INDEX_BITS} bits), got {m}")


def check_n(n: int, m: int, what: str = "n") -> None:
    """N must be 0 (block skipped) or a divisor of M (hence a power of two)."""
    if not isinstance(n, (int, np.integer)) or n < 0 or n > m or (n and m % n):
        raise ValueError(f"{what}: N={n!r} is not 0 or a divisor of M={m}")
