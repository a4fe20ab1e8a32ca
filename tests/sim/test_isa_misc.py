"""MISC instructions on the ISA simulator: each is the golden row function (golden.ops.sfu) bit
for bit, row tiles of the causal SOFTMAX equal golden's whole tensor, and wrong element types are
errors naming the instruction."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bitflight.base import config
from bitflight.compiler import isa
from bitflight.compiler.isa import Buf, DType, MiscOp
from bitflight.golden import ops
from bitflight.golden.llm.float_numerics import causal_mask
from bitflight.golden.ops import sfu
from bitflight.sim.isa.execute import execute
from bitflight.sim.isa.machine import Machine, SimError

ROWS, COLS = 6, 40
SPECIALS = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 2.0 ** -24, 65504, -3.5], np.float16)


def operand(seed, scale=3.0):
    g = np.random.default_rng(seed)
    a = (g.standard_normal((ROWS, COLS)) * scale).astype(np.float16)
    a[0, :len(SPECIALS)] = SPECIALS
    return a


def put(m, buf, line, a):
    data = np.ascontiguousarray(a).tobytes()
    m.buf_slice(buf, line, len(data), "test")[:] = data


def get(m, buf, line, dtype, shape):
    n = int(np.prod(shape)) * np.dtype(dtype).itemsize
    return np.frombuffer(m.buf_slice(buf, line, n, "test"), dtype).reshape(shape).copy()


def run_misc(op, a, b=None, b_buf=Buf.ACT, dt_out=DType.FP16, m=None, **fields):
    m = m or Machine(config.load("tiny"), {})
    put(m, Buf.ACT, 0, a)
    if b is not None:
        put(m, b_buf, 100, b)
    instr = isa.make("MISC", op=op, dt_in=DType.FP16, dt_out=dt_out, a_buf=Buf.ACT, a_addr=0,
                     b_buf=b_buf, b_addr=100, o_buf=Buf.OUT, o_addr=0, rows=a.shape[0],
                     cols=a.shape[1], **fields)
    execute(m, instr, 7)
    return m


def bits(a):
    return a.view(np.uint16)


@pytest.mark.parametrize("op,fn", [(MiscOp.ADD, sfu.add_rows), (MiscOp.MUL, sfu.mul_rows),
                                   (MiscOp.SWIGLU, sfu.swiglu_rows)])
def test_binary_ops_are_the_row_functions(op, fn):
    a, b = operand(1), operand(2)
    m = run_misc(op, a, b)
    assert np.array_equal(bits(get(m, Buf.OUT, 0, np.float16, a.shape)), bits(fn(a, b)))
    assert m.counters.sfu_elements[op.name] == ROWS * COLS


def test_silu_scale_copy():
    a = operand(3)
    m = run_misc(MiscOp.SILU, a)
    assert np.array_equal(bits(get(m, Buf.OUT, 0, np.float16, a.shape)), bits(sfu.silu_rows(a)))
    half = int(np.float16(-0.5).view(np.uint16))
    m = run_misc(MiscOp.SCALE, a, imm=half)
    got = get(m, Buf.OUT, 0, np.float16, a.shape)
    assert np.array_equal(bits(got), bits(sfu.scale_rows(a, half)))
    finite = np.isfinite(a)
    assert np.array_equal(got[finite], (a[finite].astype(np.float64) * -0.5).astype(np.float16))
    m = run_misc(MiscOp.COPY, a)
    assert np.array_equal(bits(get(m, Buf.OUT, 0, np.float16, a.shape)), bits(a))


def test_rmsnorm_rope_requant():
    a = operand(4)
    a[0] = 1.0                                   # keep row 0 finite for RMSNORM
    gain = operand(5, 1.0)[0]
    eps = np.float32(1e-5)
    params = np.frombuffer(gain.tobytes() + eps.tobytes(), np.uint8)    # gain, then epsilon
    m = run_misc(MiscOp.RMSNORM, a, params, b_buf=Buf.BIAS)
    assert np.array_equal(bits(get(m, Buf.OUT, 0, np.float16, a.shape)),
                          bits(sfu.rmsnorm_rows(a, gain, eps)))
    table = operand(6, 1.0)[:, :8]
    m = run_misc(MiscOp.ROPE, a, table, b_buf=Buf.BIAS, imm=8)
    assert np.array_equal(bits(get(m, Buf.OUT, 0, np.float16, a.shape)),
                          bits(sfu.rope_rows(a, table, 8)))
    m = run_misc(MiscOp.REQUANT, a, dt_out=DType.INT8, b_buf=Buf.BIAS)
    q, s = sfu.requant_rows(a)
    assert np.array_equal(get(m, Buf.OUT, 0, np.int8, a.shape), q)
    assert np.array_equal(get(m, Buf.BIAS, 100, np.float32, (ROWS,)).view(np.uint32),
                          s.view(np.uint32))


def test_softmax_row_tiles_equal_golden_whole_tensor():
    """Prefill of 11 tokens after 5 cached ones (pos0 = 5): score rows of two heads in tiles of 4
    rows (period = the tile's rows of one head) against golden's whole [heads, 11, 16]."""
    pos0, ntok, heads, cols = 5, 11, 2, 16
    g = np.random.default_rng(7)
    scores = (g.standard_normal((heads, ntok, cols)) * 4).astype(np.float16)
    whole = ops.softmax_fp16(torch.from_numpy(scores[..., :pos0 + ntok]),
                             causal_mask(ntok, pos0 + ntok)).numpy()
    m = Machine(config.load("tiny"), {})
    m.pos0, m.ntok = pos0, ntok
    for h in range(heads):
        for r0 in range(0, ntok, 4):
            tile = scores[h, r0:r0 + 4]
            run_misc(MiscOp.SOFTMAX, tile, m=m, pos=r0, imm=0)
            got = get(m, Buf.OUT, 0, np.float16, tile.shape)
            assert np.array_equal(bits(got[:, :pos0 + ntok]), bits(whole[h, r0:r0 + 4]))
            assert not got[:, pos0 + ntok:].any()


def test_softmax_period_repeats_rows_per_head():
    """Decode: the query rows of the heads sharing one KV head are one token (period 1)."""
    m = Machine(config.load("tiny"), {})
    m.pos0, m.ntok = 9, 1
    a = operand(8)[:3, :16]
    run_misc(MiscOp.SOFTMAX, a, m=m, pos=0, imm=1)
    got = get(m, Buf.OUT, 0, np.float16, a.shape)
    assert np.array_equal(bits(got), bits(sfu.softmax_rows(a, np.arange(16) < 10)))


def test_wrong_element_types_are_errors():
    a = operand(9)
    with pytest.raises(SimError, match="#7 MISC: MISC SILU takes FP16 -> FP16, got FP16 -> INT8"):
        run_misc(MiscOp.SILU, a, dt_out=DType.INT8)
    with pytest.raises(SimError, match="COPY moves bits"):
        run_misc(MiscOp.COPY, a, dt_out=DType.FP32)
