"""The SFU row functions (golden.ops.sfu) against float64 within their derived bounds
(golden.ops.sfu_bounds), hand-worked cases, and the NaN / inf / signed-zero / subnormal policy."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from bitflight.golden.ops import causal, sfu, sfu_bounds as sb

H = np.float16
NAN16 = 0x7E00


def rows(shape, scale, seed):
    g = np.random.default_rng(seed)
    return (g.standard_normal(shape) * scale).astype(H)


def bits(a):
    return np.asarray(a).view(np.uint16 if np.asarray(a).dtype == H else np.uint32)


def within(got, ref_bound):
    """|got - ref| <= bound, where an exact result beyond the fp16 range may (or, clearly beyond
    it, must) be the infinity of its sign: h overflows to inf as IEEE does."""
    ref, bound = ref_bound
    g = got.astype(np.float64)
    with np.errstate(all="ignore"):
        ok = np.abs(g - ref) <= bound
        overflow = np.isinf(g) & (np.sign(g) == np.sign(ref)) & (np.abs(ref) + bound >= 65504)
    return np.all(ok | overflow)


finite16 = st.floats(-60000, 60000, width=16)
fp16_rows = arrays(H, st.tuples(st.integers(1, 3), st.integers(1, 70)), elements=finite16)


@pytest.mark.parametrize("scale", [1e-3, 1.0, 30.0, 3000.0])
def test_elementwise_ops_within_bounds(scale):
    a, b = rows((4, 65), scale, 0), rows((4, 65), scale, 1)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    with np.errstate(all="ignore"):
        assert within(sfu.add_rows(a, b), (a64 + b64, sb.elementwise_bound(a64 + b64)))
        assert within(sfu.mul_rows(a, b), (a64 * b64, sb.elementwise_bound(a64 * b64)))
    s = H(0.3)
    assert within(sfu.scale_rows(a, int(bits(s))), (a64 * float(s),
                                                    sb.elementwise_bound(a64 * float(s))))
    assert within(sfu.silu_rows(a), sb.silu_bound(a))
    assert within(sfu.swiglu_rows(a, b), sb.swiglu_bound(a, b))


@settings(max_examples=80)
@given(fp16_rows, st.integers(0, 2**16 - 1), st.sampled_from([2, 4, 8]))
def test_hypothesis_add_mul_scale_rope(x, seed, d):
    y = rows(x.shape, 100.0, seed)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    s = rows((1,), 2.0, seed + 1)[0]
    with np.errstate(all="ignore"):
        assert within(sfu.add_rows(x, y), (x64 + y64, sb.elementwise_bound(x64 + y64)))
        assert within(sfu.mul_rows(x, y), (x64 * y64, sb.elementwise_bound(x64 * y64)))
        ref = x64 * float(s)
        assert within(sfu.scale_rows(x, int(bits(s))), (ref, sb.elementwise_bound(ref)))
        xr = x[..., :x.shape[-1] // d * d]
        if xr.shape[-1]:
            table = rows(x.shape[:-1] + (d,), 1.0, seed + 2)
            assert within(sfu.rope_rows(xr, table, d), sb.rope_bound(xr, table, d))


@settings(max_examples=80)
@given(fp16_rows, st.integers(0, 2**16 - 1))
def test_hypothesis_silu_swiglu_rmsnorm(x, seed):
    g = rows(x.shape[-1:], 1.0, seed)
    with np.errstate(all="ignore"):
        assert within(sfu.silu_rows(x), sb.silu_bound(x))
        assert within(sfu.swiglu_rows(x, x[::-1]), sb.swiglu_bound(x, x[::-1]))
        if np.isfinite((x.astype(np.float64) ** 2).sum(-1)).all():
            assert within(sfu.rmsnorm_rows(x, g, 1e-5), sb.rmsnorm_bound(x, g, 1e-5))


@settings(max_examples=80)
@given(arrays(H, st.tuples(st.integers(1, 3), st.integers(1, 70)),
              elements=st.floats(-200, 200, width=16)), st.integers(0, 70))
def test_hypothesis_softmax_within_bound(x, valid):
    vis = np.arange(x.shape[-1]) < valid
    assert within(sfu.softmax_rows(x, vis), sb.softmax_bound(x, vis))


def test_softmax_large_score_ranges_and_tables():
    x = rows((6, 300), 25.0, 3)
    vis = causal.visible(6, 300, 100, 150, 40, 0)
    got = sfu.softmax_rows(x, vis)
    assert within(got, sb.softmax_bound(x, vis))
    assert (got[~vis] == 0).all() and not np.signbit(got[~vis]).any()


@pytest.mark.parametrize("n", [1, 2, 4, 64, 1024])
def test_softmax_of_equal_values_is_exactly_one_over_n(n):
    x = np.full((2, n + 5), H(-3.25))
    vis = np.arange(n + 5) < n
    got = sfu.softmax_rows(x, vis)
    assert (got[:, :n] == H(1.0 / n)).all() and (got[:, n:] == 0).all()


def test_softmax_masks_policy_and_specials():
    x = np.array([[1, 2, np.inf, 0], [-np.inf, 0, 1, 2], [5, 5, 5, 5], [np.nan, 0, 0, 0]], H)
    vis = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 0, 0], [1, 1, 0, 0]], bool)
    got = sfu.softmax_rows(x, vis)
    assert got[0, 2] == 0 and np.isfinite(got[0]).all()       # a masked +inf never enters
    assert bits(got[1, :1]).tolist() == [0]                   # visible -inf: E(-inf) = +0
    assert bits(got[2]).tolist() == [0] * 4                   # no visible column: all +0
    assert bits(got[3, :2]).tolist() == [NAN16] * 2           # a visible NaN: canonical NaN
    inf_row = sfu.softmax_rows(np.array([[np.inf, 1]], H), True)
    assert bits(inf_row).tolist() == [[NAN16, NAN16]]         # inf - inf = NaN, as IEEE


def test_softmax_over_valid_prefix_equals_whole_buffer_row():
    """Non-negative terms: the tree over the valid prefix or over the padded row is the same."""
    x = rows((3, 64), 4.0, 5)
    for valid in (1, 7, 33, 64):
        vis = np.arange(64) < valid
        whole = sfu.softmax_rows(x, vis)
        prefix = sfu.softmax_rows(x[:, :valid], True)
        assert np.array_equal(bits(whole[:, :valid]), bits(prefix))


def test_row_alone_equals_row_in_batch():
    x, y = rows((7, 96), 3.0, 6), rows((7, 96), 3.0, 7)
    g = rows((96,), 1.0, 8)
    table = rows((7, 32), 1.0, 9)
    vis = causal.visible(7, 96, 10, 60, 0, 0)
    batch = [sfu.softmax_rows(x, vis), sfu.rmsnorm_rows(x, g, 1e-6), sfu.swiglu_rows(x, y),
             sfu.rope_rows(x, table, 32), sfu.requant_rows(x)[0], sfu.requant_rows(x)[1]]
    for r in range(7):
        alone = [sfu.softmax_rows(x[r], vis[r]), sfu.rmsnorm_rows(x[r], g, 1e-6),
                 sfu.swiglu_rows(x[r], y[r]), sfu.rope_rows(x[r], table[r], 32),
                 sfu.requant_rows(x[r])[0], sfu.requant_rows(x[r])[1]]
        for a, b in zip(alone, batch):
            assert np.array_equal(a, b[r])


def test_rmsnorm_hand_cases():
    g = rows((64,), 1.0, 10)
    assert np.array_equal(sfu.rmsnorm_rows(np.full((1, 64), H(2)), g, 0.0)[0], g)
    y = sfu.rmsnorm_rows(np.full((2, 48), H(-3)), np.ones(48, H), 0.0)
    assert (y == -1).all()          # -3 * fl(1/3) = -1.0000000298 rounds to -1 in fp16
    assert within(sfu.rmsnorm_rows(np.full((1, 96), H(0.01)), g[:1].repeat(96), 1e-5),
                  sb.rmsnorm_bound(np.full((1, 96), H(0.01)), g[:1].repeat(96), 1e-5))


def test_rope_hand_cases_and_bound():
    x = rows((3, 4 * 16), 2.0, 11)
    ident = np.concatenate((np.ones((3, 8), H), np.zeros((3, 8), H)), 1)
    assert np.array_equal(bits(sfu.rope_rows(x, ident, 16)), bits(x))
    quarter = np.concatenate((np.zeros((3, 8), H), np.ones((3, 8), H)), 1)
    heads = x.reshape(3, 4, 16)
    rot = np.concatenate((-heads[..., 8:], heads[..., :8]), -1).reshape(3, 64)
    assert np.array_equal(sfu.rope_rows(x, quarter, 16), rot)
    table = rows((3, 16), 1.0, 12)
    assert within(sfu.rope_rows(x, table, 16), sb.rope_bound(x, table, 16))
    with pytest.raises(ValueError, match="head size"):
        sfu.rope_rows(x, table, 12)


def test_requant_hand_cases():
    x = np.array([[127, -63.5, 62.5, 0.25, -0.0], [0, -0.0, 0, 0, 0], [1, np.nan, 2, 0, 0],
                  [np.inf, 3, -np.inf, 0, 0]], H)
    q, s = sfu.requant_rows(x)
    assert q.dtype == np.int8 and s.dtype == np.float32
    assert q[0].tolist() == [127, -64, 62, 0, 0] and s[0] == 1      # absmax 127: codes = rint
    assert q[1].tolist() == [0] * 5 and s[1] == 1                   # all zero: scale 1
    assert q[2].tolist() == [0] * 5 and np.isnan(s[2])              # NaN propagates to s
    assert s[3] == np.inf and q[3].tolist() == [0] * 5              # inf/inf -> NaN -> 0
    assert bits(s[2:3]).tolist() == [0x7FC00000]
    # binary32 rows: an absmax whose a / 127 underflows gives the scale +0 and codes +-127
    q, s = sfu.requant_rows(np.array([[2.0 ** -149, -(2.0 ** -149)]], np.float32))
    assert s[0] == 0 and q[0].tolist() == [127, -127]


@settings(max_examples=80)
@given(arrays(np.float32, st.tuples(st.integers(1, 3), st.integers(1, 40)),
              elements=st.floats(-1e6, 1e6, width=32)))
def test_requant_bound_and_grid(x):
    """The bound needs a normal scale (absmax >= 127 * 2^-126, docs/numerics.md); fp16 inputs
    (absmax >= 2^-24) and the folded V products (>= 2^-47) always have one."""
    x = np.where(np.abs(x).max(-1, keepdims=True) < 2.0 ** -110, 0, x).astype(np.float32)
    q, s = sfu.requant_rows(x)
    err = np.abs(q.astype(np.float64) * s[:, None] - x)
    assert (err <= sb.requant_bound(s)[:, None]).all()
    assert (np.abs(q) <= 127).all()
    assert all(np.abs(q[r]).max() == 127 for r in range(len(x)) if np.abs(x[r]).max() > 0)


def test_silu_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 2.0 ** -24, -(2.0 ** -24), -20, 12], H)
    got = sfu.silu_rows(x)
    assert bits(got[:5]).tolist() == [0, 0x8000, 0x7C00, NAN16, NAN16]   # -inf * 0 = NaN
    assert got[5] == 0 and bits(got[6:7]).tolist() == [0x8000]          # 2^-25 ties to even
    assert got[7] == -(2.0 ** -24) and got[8] == H(12 / (1 + np.exp(-12.0)))


def test_scale_mul_add_copy_specials():
    a = np.array([1.5, -0.0, np.inf, 65504, 2.0 ** -24], H)
    assert sfu.scale_rows(a, 0x3800).tolist() == [0.75, -0.0, np.inf, 32752, 0.0]
    assert bits(sfu.scale_rows(np.array([0.0], H), 0x7C00)).tolist() == [NAN16]
    assert sfu.add_rows(a[3:4], a[3:4])[0] == np.inf                     # overflow to inf
    assert bits(sfu.add_rows(np.array([-0.0], H), np.array([0.0], H))).tolist() == [0]
    assert bits(sfu.mul_rows(np.array([np.inf], H), np.array([0.0], H))).tolist() == [NAN16]
    raw = np.array([0x7E01, 0xFC00], np.uint16).view(H)
    assert bits(sfu.copy_rows(raw)).tolist() == [0x7E01, 0xFC00]      # COPY keeps payloads
    with pytest.raises(TypeError, match="fp16"):
        sfu.add_rows(np.ones(3, np.float32), np.ones(3, np.float32))


def test_causal_visibility_hand_case():
    # pos0 = 3 cached tokens, 2 new ones; rows alternate the two tokens (period 2)
    vis = causal.visible(rows=4, cols=8, pos0=3, ntok=2, pos=0, period=2)
    want = np.array([[c <= 3 for c in range(8)], [c <= 4 for c in range(8)]] * 2)
    assert np.array_equal(vis, want)
    assert np.array_equal(causal.visible(3, 5, 0, 3, 0, 0),
                          np.tril(np.ones((3, 5), bool)) & (np.arange(5) < 3))
