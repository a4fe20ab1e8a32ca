"""Reference sparse matmul (gather by index) vs dense integer matmul; INT value quantization."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from bitflight.golden import sparse

METHODS = ("gather", "scatter", "auto")


def dense_ref(sp: sparse.NMSparse, x: np.ndarray) -> np.ndarray:
    """Independent expectation: float64 torch matmul of the dense pruned weights (exact < 2^53)."""
    w = sp.to_dense().to(torch.float64)
    return (torch.from_numpy(x.astype(np.float64)) @ w.T).numpy().astype(np.int64)


@pytest.mark.parametrize("bits", (4, 8))
@pytest.mark.parametrize("n", (2, 4, 8, 16))
def test_every_n_and_width(n, bits):
    rng = np.random.default_rng(n * 10 + bits)
    lo, hi = (-8, 8) if bits == 4 else (-128, 128)
    w = rng.integers(lo, hi, (48, 64))
    sp = sparse.prune_nm(w, n=n, bits=bits)
    x = rng.integers(-128, 128, (5, 64)).astype(np.int8)
    for method in METHODS:
        out = sparse.matmul(sp, x, method=method)
        assert out.dtype == np.int32 and out.shape == (5, 48)
        assert np.array_equal(out, dense_ref(sp, x))


def test_extremes_minus128_squared():
    w = np.full((16, 1024), -128, dtype=np.int8)
    x = np.full((3, 1024), -128, dtype=np.int8)
    for method in METHODS:
        for n in (2, 16):
            out = sparse.matmul(sparse.prune_nm(w, n=n), x, method=method)
            assert np.all(out == 16384 * n * 64)   # 64 k-blocks, n products of +2^14 each
        x[1] = 127
        out = sparse.matmul(sparse.prune_nm(w, n=16), x, method=method)
        assert np.all(out[1] == -128 * 127 * 1024) and np.all(out[0] == 16384 * 1024)
        x[1] = -128


def test_int32_limit():
    k = 131072                                      # 2^14 * 2^17 = 2^31: one past INT32_MAX
    w = np.full((16, k), -128, dtype=np.int8)
    sp = sparse.prune_nm(w, n=16)
    x = np.full((1, k), -128, dtype=np.int8)
    for method in ("gather", "scatter"):
        with pytest.raises(ValueError, match="overflows the INT32 accumulator"):
            sparse.matmul(sp, x, method=method)
    x[0, 0] = 127                                   # now 2^31 - 16384 - 16256: fits
    for method in ("gather", "scatter"):
        assert sparse.matmul(sp, x, method=method)[0, 0] == 2**31 - 16384 - 16256


def test_all_zero_and_skipped_blocks():
    rng = np.random.default_rng(3)
    w = rng.integers(-128, 128, (32, 48)).astype(np.int8)
    w[:16, 16:32] = 0                               # an all-zero block still keeps N zero pairs
    block_n = np.array([[4, 2, 0], [0, 0, 0]])      # a fully skipped block row too
    sp = sparse.prune_nm(w, n=block_n)
    x = rng.integers(-128, 128, (4, 48)).astype(np.int8)
    for method in METHODS:
        out = sparse.matmul(sp, x, method=method)
        assert np.array_equal(out, dense_ref(sp, x)) and np.all(out[:, 16:] == 0)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_block_n_matches_dense(data):
    br, kb = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 4))
    t = data.draw(st.integers(1, 9))
    bits = data.draw(st.sampled_from((4, 8)))
    block_n = np.array(data.draw(st.lists(st.sampled_from((0, 1, 2, 4, 8, 16)), min_size=br * kb,
                                          max_size=br * kb))).reshape(br, kb)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    lo, hi = (-8, 8) if bits == 4 else (-128, 128)
    sp = sparse.prune_nm(rng.integers(lo, hi, (16 * br, 16 * kb)), n=block_n, bits=bits)
    x = rng.integers(-128, 128, (t, 16 * kb)).astype(np.int8)
    for method in METHODS:
        assert np.array_equal(sparse.matmul(sp, torch.from_numpy(x), method=method),
                              dense_ref(sp, x))
    # the unpacked stream computes the same thing
    assert np.array_equal(sparse.matmul(sparse.NMSparse.unpack(sp.pack()), x), dense_ref(sp, x))


def test_matmul_errors():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((16, 32)).astype(np.float32)
    sp = sparse.prune_nm(w, n=4)
    x = np.zeros((2, 32), dtype=np.int8)
    with pytest.raises(ValueError, match="sp: matmul needs integer weights"):
        sparse.matmul(sp, x)
    spi = sp.quantize_int(8)
    with pytest.raises(ValueError, match=r"x_int8: expected shape \[T, 32\]"):
        sparse.matmul(spi, np.zeros((2, 16), dtype=np.int8))
    with pytest.raises(ValueError, match="x_int8: expected integer"):
        sparse.matmul(spi, np.zeros((2, 32), dtype=np.float32))
    with pytest.raises(ValueError, match="x_int8: values outside the INT8 range"):
        sparse.matmul(spi, np.full((2, 32), 128, dtype=np.int16))
    with pytest.raises(ValueError, match="method: expected auto, gather or scatter"):
        sparse.matmul(spi, x, method="dense")


@pytest.mark.parametrize("bits", (4, 8))
def test_quantize_int_grid_and_error_bound(bits):
    rng = np.random.default_rng(bits)
    w = (rng.standard_normal((32, 64)) * rng.uniform(0.01, 5, (32, 1))).astype(np.float32)
    w[5] = 0                                         # an all-zero row gets the clamp, 1e-5
    sp = sparse.prune_nm(w, density=0.4)
    q = sparse.quantize_int(sp, bits)
    qmax = 2 ** (bits - 1) - 1
    assert q.bits == bits and np.array_equal(q.indices, sp.indices)
    assert np.array_equal(q.block_n, sp.block_n)
    vals = q.values.astype(int)
    assert vals.min() >= -qmax and vals.max() <= qmax
    rows = np.arange(32) != 5
    assert np.all(np.abs(vals).reshape(32, -1).max(1)[rows] == qmax)
    assert np.all(vals[5] == 0)
    # quant_int (docs/references.md#bitmod-1.5): the scale is an fp16 division of the fp16 absmax,
    # clamped
    absmax16 = np.abs(sp.values.astype(np.float16)).reshape(32, -1).max(1)
    expected_scale = np.maximum(absmax16 / np.float16(qmax), np.float16(1e-5)).astype(np.float16)
    assert np.array_equal(q.scales, expected_scale.astype(np.float32))
    v = sp.to_dense().double()
    s = torch.from_numpy(q.scales.astype(np.float64))[:, None]
    bound = s / 2 + 2.0 ** -10 * v.abs() + 2.0 ** -25 * (1 + s)      # see intquant docstring
    assert torch.all((q.dequantize().double() - v).abs() <= bound)
    # dequantize is value * scale exactly
    scales = torch.from_numpy(q.scales.copy())[:, None]
    assert torch.equal(q.dequantize(), q.to_dense().float() * scales)


@pytest.mark.parametrize("bits", (4, 8))
def test_quantize_int_dense_block_equals_dense_int_sym_per_row(bits):
    """N = M keeps every weight: the sparse path must give the dense engine's integers."""
    from bitflight.golden import quant
    rng = np.random.default_rng(10 + bits)
    w = (rng.standard_normal((32, 48)) * 0.02).astype(np.float32)
    q = sparse.prune_nm(w, n=16).quantize_int(bits)
    qw = quant.quantize(torch.from_numpy(w), "int_sym", bits, group_size=48)
    assert np.array_equal(q.scales, qw.scales[:, 0])
    assert torch.equal(q.dequantize(), qw.dequantize())


def test_quantize_int_errors():
    sp = sparse.prune_nm(np.ones((16, 16), dtype=np.float32), n=2)
    with pytest.raises(ValueError, match="bits: must be 4 or 8"):
        sp.quantize_int(3)
    with pytest.raises(ValueError, match="sp: already holds INT8"):
        sp.quantize_int(8).quantize_int(8)
