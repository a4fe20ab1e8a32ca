"""Engine linears: exact INT32 accumulation + binary32 requantization, N:M sparse via
golden.sparse, bit-serial BitMoD, the fp16-weight tree product; each against an independent
computation and within the derived bound of the float product."""
import numpy as np
import pytest
import torch

from bitflight.golden import formats, ops, quant, sparse
from bitflight.golden.ops import binary32, bitmod_linear, int_matmul as il
from bitflight.golden.ops.int_matmul_bounds import bound as int_bound
from bitflight.golden.ops.sfu_bounds import EPS16, SUB16, U


def data(t, n, k, seed, wscale=0.05):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(t, k, generator=g) * 2
    x[0, 3] = 40.0                      # an outlier channel, as LLM activations have
    return x, torch.randn(n, k, generator=g) * wscale


def requantize_scalar(acc_groups, w_scales, sx):
    """docs/numerics.md written out with numpy float32 scalars for one output element."""
    terms = [np.float32(np.float32(a) * np.float32(s)) for a, s in zip(acc_groups, w_scales)]
    return np.float16(np.float32(binary32.tree(np.array(terms, np.float32)) * np.float32(sx)))


@pytest.mark.parametrize("bits,group", [(4, 32), (8, 64), (4, 64)])
def test_int_linear_exact_integers_and_bound(bits, group):
    x, w = data(5, 12, 64, bits + group)
    qw = quant.quantize(w, "int_sym", bits, group_size=group)
    got = ops.int_linear(x, qw)
    # independent: Python integers per group, then the requantization written out per element
    fmt = formats.get(qw.formats[0])
    levels = np.rint(fmt.decode(qw.codes) * fmt.unit).astype(np.int64)
    x16 = x.half().float().numpy()
    xs = np.abs(x16).max(1).astype(np.float32) / np.float32(127)
    xq = np.clip(np.rint(x16 / xs[:, None]), -127, 127).astype(np.int64)
    for t in range(5):
        for n in range(12):
            acc = [int(sum(int(a) * int(b) for a, b in zip(xq[t, g:g + group],
                                                           levels[n, g:g + group])))
                   for g in range(0, 64, group)]
            assert got[t, n].numpy() == requantize_scalar(acc, qw.scales[n], xs[t])
    wdq = qw.dequantize()
    err = (got.double() - x.double() @ wdq.double().T).abs()
    assert (err <= int_bound(x, wdq, 64 // group)).all()


def test_accumulate_and_requantize_are_the_pieces_of_int_linear():
    x, w = data(3, 8, 64, 1)
    qw = quant.quantize(w, "int_sym", 4, group_size=32)
    q, sx = ops.quantize_per_token(ops.to_fp16(x))
    acc = ops.accumulate(q.numpy(), il.integer_levels(qw), 32)
    assert acc.dtype == np.int64 and acc.shape == (3, 8, 2)
    y = ops.requantize(acc, sx.numpy(), qw.scales)
    assert np.array_equal(y, ops.int_linear(x, qw).numpy())


def test_int_linear_rejects_other_schemes_and_overflow():
    x, w = data(2, 16, 32, 0)
    with pytest.raises(ValueError, match="needs scheme int_sym"):
        ops.int_linear(x, quant.quantize(w, "bitmod", 4, group_size=32))
    big = np.full((1, 2**18), 127, np.int8)
    with pytest.raises(ValueError, match="overflows the INT32"):
        ops.accumulate(big, np.full((1, big.shape[1]), 127, np.int64), big.shape[1])


@pytest.mark.parametrize("kw", [{"n": 4}, {"density": 0.5}, {"n": 16}])
def test_sparse_linear_equals_dense_integer_product(kw):
    x, w = data(3, 32, 64, 7)
    spq = sparse.quantize_int(sparse.prune_nm(w, **kw), 4)
    got = ops.sparse_linear(x, spq)
    wdense = spq.to_dense().numpy().astype(np.int64)        # integer values at their positions
    q, sx = ops.quantize_per_token(ops.to_fp16(x))
    acc = q.numpy().astype(np.int64) @ wdense.T
    scales = np.array(spq.scales, np.float32)
    want = ((acc.astype(np.float32) * scales[None]) * sx.numpy()).astype(np.float16)
    assert np.array_equal(got.numpy(), want)
    wdq = spq.dequantize()
    err = (got.double() - x.double() @ wdq.double().T).abs()
    assert (err <= int_bound(x, wdq)).all()


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


def test_fp16_weight_linear_is_the_tree_product():
    x, w = data(4, 8, 96, 13)
    w16 = w.half()
    got = ops.linear_bitmod(x, w16)
    x16 = x.half()
    for t in range(4):
        for n in range(8):
            acc = binary32.tree(x16[t].float().numpy() * w16[n].float().numpy())
            assert got[t, n].item() == float(np.float16(acc))
    ref = x16.double() @ w16.double().T
    mag = x16.double().abs() @ w16.double().abs().T
    assert ((got.double() - ref).abs() <= 7 * U * mag + EPS16 * (ref.abs() + 7 * U * mag)
            + SUB16).all()           # ceil(log2 96) = 7 roundings along any path of the tree
    assert torch.equal(ops.linear_bitmod(x[1:2], w16), got[1:2])
