"""Torch-facing SFU ops (golden.ops.fp16) and per-token INT8 activations: they are the row
functions, independent of torch's thread count and of the tensor shape, within their bounds."""
import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings, strategies as st

from bitflight.golden import ops
from bitflight.golden.llm.float_numerics import FloatNumerics
from bitflight.golden.ops import rope_table, sfu
from bitflight.golden.ops.sfu_bounds import requant_bound, rmsnorm_bound, rope_bound

F = FloatNumerics()


def fp16_input(shape, scale, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=g, dtype=torch.float64) * scale).half()


@pytest.mark.parametrize("scale", [1e-3, 1.0, 30.0])
def test_rmsnorm_within_bound_and_is_the_row_function(scale):
    x = fp16_input((4, 5, 96), scale, 0)
    gain = fp16_input((96,), 1.0, 1)
    got = ops.rmsnorm_fp16(x, gain, 1e-5)
    assert got.dtype == torch.float16
    ref, b = rmsnorm_bound(x.numpy(), gain.numpy(), 1e-5)
    assert (np.abs(got.double().numpy() - ref) <= b).all()
    assert np.array_equal(got.numpy(), sfu.rmsnorm_rows(x.numpy(), gain.numpy(), 1e-5))
    # the float reference model agrees to fp16 rounding (a wiring check, not the contract)
    assert torch.allclose(got.double(), F.rmsnorm(x.double(), gain.double(), 1e-5), rtol=2e-3,
                          atol=1e-6)


def test_softmax_mask_and_torch_reference():
    s = fp16_input((3, 7, 9), 4.0, 2)
    mask = torch.rand(7, 9, generator=torch.Generator().manual_seed(0)) > 0.3
    mask[:, 0] = True
    got = ops.softmax_fp16(s, mask)
    ref = torch.softmax(s.double().masked_fill(~mask, float("-inf")), -1)
    assert torch.allclose(got.double(), ref, rtol=2e-3, atol=3e-8)
    assert (got[..., ~mask] == 0).all()
    assert torch.equal(ops.softmax_fp16(s), ops.softmax_fp16(s, torch.ones(9, dtype=torch.bool)))


def test_rope_with_accelerator_tables():
    x = fp16_input((2, 4, 11, 32), 2.0, 5)
    table = torch.from_numpy(rope_table.table_rows(range(100, 111),
                                                   rope_table.default_inv_freq(32, 1e5)))
    got = ops.rope_fp16(x, table)
    ref, b = rope_bound(x.numpy(), table.numpy(), 32)
    assert (np.abs(got.double().numpy() - ref) <= b).all()


def test_to_fp16_rounds_once_even_from_double():
    one_ulp = 2.0 ** -10
    x = torch.tensor([1 + one_ulp / 2, 1 + 3 * one_ulp / 2], dtype=torch.float32)
    assert ops.to_fp16(x).tolist() == [1.0, 1 + 2 * one_ulp]
    # 1 + 2^-11 + 2^-30: above the midpoint, so 1 + 2^-10; through float32 (1 + 2^-11, a tie)
    # it would round to 1.0
    assert ops.to_fp16(torch.tensor([1 + 2.0 ** -11 + 2.0 ** -30], dtype=torch.float64)).item() \
        == 1 + one_ulp
    nan = torch.tensor([float("nan")]).view(torch.int32) | 0x1
    assert ops.to_fp16(nan.view(torch.float32)).view(torch.int16).item() == 0x7E00


def _all_ops(x, y, g, table, mask):
    return [ops.rmsnorm_fp16(x, g, 1e-5), ops.softmax_fp16(x, mask), ops.swiglu_fp16(x, y),
            ops.silu_fp16(x), ops.mul_fp16(x, y), ops.add_fp16(x, y), ops.rope_fp16(x, table),
            *ops.quantize_per_token(x), ops.score_fp16(x, y), ops.value_fp16(x, y.mT)]


def test_results_do_not_depend_on_torch_threads_or_batch():
    x, y = fp16_input((3, 8, 64), 3.0, 6), fp16_input((3, 8, 64), 3.0, 7)
    g, table = fp16_input((64,), 1.0, 8), fp16_input((8, 64), 1.0, 9)
    mask = torch.tril(torch.ones(8, 64, dtype=torch.bool), 30)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = _all_ops(x, y, g, table, mask)
        torch.set_num_threads(2)
        two = _all_ops(x, y, g, table, mask)
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(a, b) for a, b in zip(one, two))
    alone = _all_ops(x[1:2], y[1:2], g, table, mask)
    assert all(torch.equal(a, b[1:2]) for a, b in zip(alone, one))


@settings(max_examples=60)
@given(st.lists(st.floats(-1e4, 1e4, allow_nan=False, width=32), min_size=1, max_size=40))
def test_int8_per_token_bound(values):
    x = torch.tensor(values, dtype=torch.float32)[None]
    # the bound needs a normal scale (docs/numerics.md, REQUANT): absmax >= 127 * 2^-126
    assume(float(x.abs().max()) == 0 or float(x.abs().max()) >= 127 * 2.0 ** -126)
    q, s = ops.quantize_per_token(x)
    assert q.dtype == torch.int8 and int(q.abs().max()) <= 127
    err = (ops.dequantize_per_token(q, s).double() - x.double()).abs()
    assert (err.numpy() <= requant_bound(s.numpy())).all()
    if float(x.abs().max()) > 0:
        assert int(q.abs().max()) == 127           # absmax maps to the grid's end


def test_requant_of_a_row_whose_scale_underflows_is_defined():
    """a / 127 below the smallest binary32 subnormal: s = +0 and the codes are +-127
    (x / 0 = +-inf, clamped), as docs/numerics.md states."""
    tiny = np.float32(2.0 ** -149)
    q, s = ops.quantize_per_token(torch.tensor([[tiny, -tiny, 0.0]]))
    assert float(s) == 0.0 and q.tolist() == [[127, -127, 0]]
