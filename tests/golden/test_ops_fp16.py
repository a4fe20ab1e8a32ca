"""fp16 SFU ops and per-token INT8 activations against float64 within their derived bounds."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from bitflight.golden import ops
from bitflight.golden.llm.float_numerics import FloatNumerics, rope_tables
from bitflight.golden.ops import act_int8
from bitflight.golden.ops.fp16 import bound

F = FloatNumerics()


def fp16_input(shape, scale, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=g, dtype=torch.float64) * scale).half()


@pytest.mark.parametrize("scale", [1e-3, 1.0, 30.0])
def test_rmsnorm(scale):
    x = fp16_input((4, 5, 96), scale, 0)
    gain = fp16_input((96,), 1.0, 1)
    got = ops.rmsnorm_fp16(x, gain, 1e-5)
    ref = F.rmsnorm(x.double(), gain.double(), 1e-5)
    assert got.dtype == torch.float16
    assert ((got.double() - ref).abs() <= bound(ref, 96 + 4)).all()


def test_softmax_with_mask():
    s = fp16_input((3, 7, 9), 4.0, 2).float()
    mask = torch.rand(7, 9, generator=torch.Generator().manual_seed(0)) > 0.3
    mask[:, 0] = True
    s = s.masked_fill(~mask, float("-inf"))
    got = ops.softmax_fp16(s)
    ref = torch.softmax(s.double(), -1)
    assert ((got.double() - ref).abs() <= bound(ref, 9 + 4)).all()
    assert (got[..., ~mask] == 0).all()


def test_swiglu_and_add():
    g, u = fp16_input((64, 33), 3.0, 3), fp16_input((64, 33), 3.0, 4)
    ref = F.swiglu(g.double(), u.double())
    assert ((ops.swiglu_fp16(g, u).double() - ref).abs() <= bound(ref, 1)).all()
    ref = g.double() + u.double()
    assert ((ops.add_fp16(g, u).double() - ref).abs() <= bound(ref, 1)).all()


def test_rope_with_fp16_tables():
    x = fp16_input((2, 4, 11, 32), 2.0, 5)
    cos, sin = rope_tables(torch.arange(100, 111), 32, 1e5)
    ref = F.rope(x.double(), cos.double(), sin.double())
    rot = torch.cat((-x[..., 16:], x[..., :16]), -1).double()
    b = bound(ref, 1) + 2.0 ** -11 * (x.double().abs() + rot.abs())
    assert ((ops.rope_fp16(x, cos, sin).double() - ref).abs() <= b).all()


def test_rounding_is_nearest_even():
    one_ulp = 2.0 ** -10
    x = torch.tensor([1 + one_ulp / 2, 1 + 3 * one_ulp / 2], dtype=torch.float32)
    assert ops.to_fp16(x).tolist() == [1.0, 1 + 2 * one_ulp]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e4, 1e4, allow_nan=False, width=32), min_size=1, max_size=40))
def test_int8_per_token_bound(values):
    x = torch.tensor(values, dtype=torch.float32)[None]
    q, s = ops.quantize_per_token(x)
    assert q.dtype == torch.int8 and int(q.abs().max()) <= 127
    err = (ops.dequantize_per_token(q, s) - x).abs()
    assert (err <= act_int8.error_bound(s)).all()
    if float(x.abs().max()) > 0:
        assert int(q.abs().max()) == 127           # absmax maps to the grid's end


def test_int8_hand_case():
    q, s = ops.quantize_per_token(torch.tensor([[127.0, -63.5, 0.25, 0.0], [0.0, 0, 0, 0]]))
    assert s[:, 0].tolist() == [1.0, 1.0]
    assert q.tolist() == [[127, -64, 0, 0], [0, 0, 0, 0]]    # -63.5 -> -64 (half to even)
    assert math.isclose(float(act_int8.error_bound(s)[0]), 0.5 + 2 ** -15)
    assert np.isfinite(s.numpy()).all()
