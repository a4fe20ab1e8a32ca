"""The simulator's INT linear is golden's accumulate + requantize, and an INT32 overflow is an
error naming the instruction (never a wrap)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bitflight.base import config
from bitflight.compiler import isa
from bitflight.compiler.isa import Buf, DType, Engine
from bitflight.golden import ops, quant
from bitflight.sim.isa import execute as ex
from bitflight.sim.isa.machine import Machine, SimError


def _instr(m_rows):
    return isa.make("MM", engine=Engine.DENSE, a_dt=DType.INT8, b_dt=DType.INT8, o_dt=DType.FP16,
                    m=m_rows, n=1, k=8, s_addr=2)


def _run(q8, w, sx):
    m = Machine(config.load("tiny"), {})
    m.buf_slice(Buf.BIAS, 2, 4 * len(sx), "scales")[:] = np.asarray(sx, np.float32).tobytes()
    return ex._int_linear(m, _instr(len(sx)), torch.from_numpy(q8), w, "#3 MM")


def test_int_linear_is_golden_accumulate_and_requantize():
    g = torch.Generator().manual_seed(0)
    w = quant.quantize(torch.randn(5, 64, generator=g), "int_sym", 4, group_size=32)
    q8 = np.random.default_rng(1).integers(-127, 128, (3, 64), dtype=np.int8)
    sx = np.array([0.01, 0.5, 3.0], np.float32)
    from bitflight.golden.ops.int_matmul import integer_levels
    want = ops.requantize(ops.accumulate(q8, integer_levels(w), 32), sx, w.scales)
    assert np.array_equal(_run(q8, w, sx).numpy(), want)


def test_int32_overflow_is_an_error_naming_the_instruction():
    k = 140_000                                   # 127 * 127 * k > 2^31
    w = quant.quantize(torch.ones(1, k), "int_sym", 8, group_size=k)
    with pytest.raises(SimError, match="#3 MM: a dot product overflows the INT32 accumulator"):
        _run(np.full((1, k), 127, np.int8), w, [1.0])
