"""Engine linears: exact INT32 accumulation, N:M sparse via golden.sparse, bit-serial BitMoD,
each against an independent computation and within the derived bound of the float product."""
import numpy as np
import pytest
import torch

from bitflight.golden import formats, ops, quant, sparse
from bitflight.golden.ops import bitmod_linear, int_matmul as il
from bitflight.golden.ops.fp16 import bound as fp16_bound


def data(t, n, k, seed, wscale=0.05):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(t, k, generator=g) * 2
    x[0, 3] = 40.0                      # an outlier channel, as LLM activations have
    return x, torch.randn(n, k, generator=g) * wscale


@pytest.mark.parametrize("bits,group", [(4, 32), (8, 64), (4, 64)])
def test_int_linear_exact_integers_and_bound(bits, group):
    x, w = data(5, 48, 64, bits + group)
    qw = quant.quantize(w, "int_sym", bits, group_size=group)
    got = ops.int_linear(x, qw)
    # independent: numpy int64 per group, then the requantization formula in float64
    fmt = formats.get(qw.formats[0])
    levels = np.rint(fmt.decode(qw.codes) * fmt.unit).astype(np.int64)
    xs = np.abs(x.numpy()).max(1, keepdims=True).astype(np.float32) / np.float32(127)
    xq = np.clip(np.rint(x.numpy() / xs), -127, 127).astype(np.int64)
    acc = np.einsum("tgk,ngk->tng", xq.reshape(5, -1, group), levels.reshape(48, -1, group))
    want = ((acc * qw.scales[None].astype(np.float64)).sum(-1) * xs).astype(np.float16)
    assert np.array_equal(got.numpy(), want)
    wdq = qw.dequantize()
    err = (got.double() - x.double() @ wdq.double().T).abs()
    assert (err <= il.bound(x, wdq)).all()


def test_int_linear_rejects_other_schemes_and_overflow():
    x, w = data(2, 16, 32, 0)
    with pytest.raises(ValueError, match="needs scheme int_sym"):
        ops.int_linear(x, quant.quantize(w, "bitmod", 4, group_size=32))
    acc = torch.full((1, 1, 1), float(2 ** 31))
    with pytest.raises(ValueError, match="overflows the INT32"):
        il._check_acc(acc)


@pytest.mark.parametrize("kw", [{"n": 4}, {"density": 0.5}, {"n": 16}])
def test_sparse_linear_equals_dense_integer_product(kw):
    x, w = data(3, 32, 64, 7)
    spq = sparse.quantize_int(sparse.prune_nm(w, **kw), 4)
    got = ops.sparse_linear(x, spq)
    wdense = spq.to_dense().double()           # integer values at their positions
    q, sx = ops.quantize_per_token(x)
    acc = q.double() @ wdense.T
    want = (acc * torch.from_numpy(np.array(spq.scales)).double()[None] * sx.double()).half()
    assert torch.equal(got, want)
    wdq = spq.dequantize()
    err = (got.double() - x.double() @ wdq.double().T).abs()
    assert (err <= il.bound(x, wdq)).all()


@pytest.mark.parametrize("scheme,bits", [("bitmod", 4), ("bitmod", 3), ("int_sym", 8), ("fp", 4)])
def test_bitmod_linear_is_bitserial_and_within_its_bound(scheme, bits):
    from bitflight.golden import bitserial
    from bitflight.golden.bitserial.bound import error_bound
    x, w = data(3, 16, 64, 11)
    qw = quant.quantize(w, scheme, bits, group_size=32)
    got = ops.linear_bitmod(x, qw)
    assert got.dtype == torch.float16 and got.shape == (3, 16)
    assert torch.equal(got, bitserial.linear(x.half(), qw))
    exact = x.half().double() @ qw.dequantize().double().T
    assert ((got.double() - exact).abs().numpy() <= error_bound(x.half(), qw)).all()
    # the fast counterpart used for long runs is the exact product rounded once
    ref = bitmod_linear.reference(x, qw)
    assert torch.equal(ref, exact.half())


def test_bitmod_linear_fp16_weights():
    x, w = data(4, 8, 96, 13)
    w16 = w.half()
    got = ops.linear_bitmod(x, w16)
    ref = x.half().double() @ w16.double().T
    assert ((got.double() - ref).abs() <= fp16_bound(ref, 96)
            + 96 * 2.0 ** -24 * (x.half().double().abs() @ w16.double().abs().T)).all()
