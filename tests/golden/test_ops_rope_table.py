"""The host-side RoPE tables (golden.ops.rope_table): float64 math rounded once to fp16."""
import math
from fractions import Fraction

import numpy as np
import pytest

from bitflight.golden.ops import rope_table


def nearest_fp16(x: float) -> float:
    """Round a float64 to fp16 by exact comparison with the neighbours (independent of numpy's
    cast): the candidates are fp16 values around it, ties to the even significand."""
    c = float(np.float16(x))
    cands = sorted({c, float(np.nextafter(np.float16(c), np.float16(np.inf))),
                    float(np.nextafter(np.float16(c), np.float16(-np.inf)))})
    dist = [abs(Fraction(v) - Fraction(x)) for v in cands]
    best = min(dist)
    ties = [v for v, d in zip(cands, dist) if d == best]
    return min(ties, key=lambda v: int(np.float16(v).view(np.uint16)) & 1)


def test_inverse_frequencies_and_layout():
    inv = rope_table.default_inv_freq(8, 10000.0)
    assert inv == [1.0, 10000.0 ** -0.25, 10000.0 ** -0.5, 10000.0 ** -0.75]
    rows = rope_table.table_rows([0, 3], inv)
    assert rows.dtype == np.float16 and rows.shape == (2, 8)
    assert rows[0].tolist() == [1.0] * 4 + [0.0] * 4
    for j, w in enumerate(inv):
        assert rows[1, j] == nearest_fp16(math.cos(3 * w))
        assert rows[1, 4 + j] == nearest_fp16(math.sin(3 * w))
    with pytest.raises(ValueError, match="even"):
        rope_table.default_inv_freq(7, 1e4)


def test_rounded_once_from_float64_over_many_positions():
    inv = rope_table.default_inv_freq(64, 100000.0)
    rows = rope_table.table_rows(range(0, 4096, 37), inv)
    want = [[nearest_fp16(math.cos(p * w)) for w in inv] + [nearest_fp16(math.sin(p * w))
                                                           for w in inv]
            for p in range(0, 4096, 37)]
    assert rows.astype(np.float64).tolist() == want


def test_inverse_frequencies_are_an_argument():
    """A scaled frequency list (e.g. LLaMA-3 rope_scaling) is used as given."""
    rows = rope_table.table_rows([5], [0.5, 0.125])
    assert rows[0].astype(np.float64).tolist() == [nearest_fp16(math.cos(2.5)),
                                                   nearest_fp16(math.cos(0.625)),
                                                   nearest_fp16(math.sin(2.5)),
                                                   nearest_fp16(math.sin(0.625))]
