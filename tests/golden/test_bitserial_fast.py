"""golden.bitserial.linear (row-blocked fast path) == the scalar reference at a SmolLM2 shape.

Real golden.quant weights (every engine scheme, both scale modes) at K = 576 (SmolLM2's hidden
width, 9 groups of 64), rows split over several blocks with a ragged last block, the term tables
reused from the cache on a second call; and the group-accumulator overflow path, which the fast
path skips only where overflow is provably impossible.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bitflight.golden import bitserial as bs
from bitflight.golden import quant
from bitflight.golden.bitserial import vector
from bitserial_cases import SCHEMES, make_qw
from test_bitserial_quant import ENGINE_SCHEMES


def _smollm2_acts(gen: torch.Generator, t: int, k: int) -> torch.Tensor:
    """Hidden-state-like fp16 rows: mostly O(1), a few large outlier channels, some zeros."""
    x = torch.randn(t, k, generator=gen)
    x[:, ::97] *= 300.0
    x[:, 5::61] = 0.0
    return x.half()


@pytest.mark.parametrize("scheme,bits", ENGINE_SCHEMES)
@pytest.mark.parametrize("mode", ["int", "fp16"])
def test_fast_linear_equals_scalar_at_smollm2_width(scheme, bits, mode, monkeypatch):
    gen = torch.Generator().manual_seed(bits * 131 + len(scheme) + len(mode))
    w = torch.randn(37, 576, generator=gen) * 0.02
    qw = quant.quantize(w, scheme, bits, group_size=64, scale_mode=mode)
    x = _smollm2_acts(gen, 3, 576)
    ref = bs.linear_scalar(x, qw).view(torch.int16)
    ew = bs.engine_weight(qw)
    whole = bs.linear(x, ew)                                   # one block, builds the cache
    # 3 tokens x 144 chunks x 2-4 slots per row: blocks of 6 (3/4-bit), 4 (int6), 3 (int8) rows
    monkeypatch.setattr(vector, "_BLOCK_ELEMS", 1800 * x.shape[0])
    blocked = bs.linear(x, ew)                                 # several blocks, cached tables
    assert torch.equal(whole.view(torch.int16), ref)
    assert torch.equal(blocked.view(torch.int16), ref)
    assert torch.equal(bs.linear(x[1:2].contiguous(), ew).view(torch.int16), ref[1:2])


def test_group_accumulator_overflow_path_is_exact():
    """int8 groups of 1024 at 65504 and the largest codes: the 24-bit group accumulator
    overflows (exponent beyond the largest lane exponent 30 + 7), and vector == scalar."""
    rng = np.random.default_rng(3)
    qw = make_qw(rng, 2, 1024, 1024, SCHEMES["int8"])
    qw.codes[:] = 0x7F                      # 127 = 128 - 1: terms +2^7 (slot 3) and -2^0
    qw.codes[1, ::3] = 0x81                 # -127
    x = torch.full((2, 1024), 65504.0, dtype=torch.float16)
    x[1, ::5] = -0.5
    ew = bs.engine_weight(qw)
    acts = ew.pad_acts(bs.scalar._act_bits(x))
    _, exp, _ = bs.group_sum(acts[0], ew.codes[0], ew.tables[0])
    assert exp > 37
    # compared before the fp16 rounding, which would hide a lost accumulator LSB
    out, out_exp = vector.dot_accumulators(x, ew)
    for t in range(2):
        for row in range(2):
            o, y, _ = bs.dot_accumulator(acts[t], ew, row)
            assert (int(out[t, row]), int(out_exp[t, row])) == (o, y)
