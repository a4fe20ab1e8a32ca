"""N:M pruning: invariants, selection rule, ties, per-block N, density allocation, errors."""
import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from bitflight.golden import sparse

N_OPTIONS = (2, 4, 8, 16)


def reference_prune(w: np.ndarray, block_n: np.ndarray, m=16, block=16) -> np.ndarray:
    """Loop-by-loop reference: per row and k-block keep the N largest |w|, lower index on ties."""
    out = np.zeros_like(w)
    for r in range(w.shape[0]):
        for kb in range(w.shape[1] // m):
            n = int(block_n[r // block, kb])
            seg = [(-abs(float(w[r, kb * m + i])), i) for i in range(m)]
            for _, i in sorted(seg)[:n]:
                out[r, kb * m + i] = w[r, kb * m + i]
    return out


def rand_weight(rows, cols, seed=0):
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.standard_normal((rows, cols)).astype(np.float32))


@pytest.mark.parametrize("n", N_OPTIONS)
def test_fixed_n_invariants(n):
    w = rand_weight(64, 96, seed=n)
    sp = sparse.prune_nm(w, n=n)
    dense = sp.to_dense()
    assert dense.dtype == torch.float32 and dense.shape == w.shape
    blocks = (dense != 0).reshape(64, 6, 16)
    # exactly N non-zeros per 16 in each row of each block (no zeros in a Gaussian draw)
    assert torch.all(blocks.sum(-1) == n)
    assert np.array_equal(sp.kept_mask, (dense != 0).numpy())
    kept = torch.from_numpy(sp.kept_mask)
    assert torch.equal(dense[kept], w[kept])
    # kept weights are the largest magnitudes of their row segment
    mag = w.abs().reshape(64, 6, 16)
    km = kept.reshape(64, 6, 16)
    min_kept = torch.where(km, mag, torch.inf).amin(-1)
    max_dropped = torch.where(km, -torch.inf, mag).amax(-1)
    assert torch.all(min_kept >= max_dropped)
    assert np.all(sp.block_n == n) and sp.density == n / 16
    assert np.array_equal(dense.numpy(), reference_prune(w.numpy(), sp.block_n))


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_matches_loop_reference_with_many_ties(data):
    """Small-integer weights force ties; the selection must equal the loop reference exactly."""
    br, kb = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3))
    vals = data.draw(st.lists(st.integers(-3, 3), min_size=br * kb * 256, max_size=br * kb * 256))
    w = np.array(vals, dtype=np.float32).reshape(br * 16, kb * 16)
    block_n = np.array(data.draw(st.lists(st.sampled_from((0, 1, 2, 4, 8, 16)), min_size=br * kb,
                                          max_size=br * kb))).reshape(br, kb)
    sp = sparse.prune_nm(w, n=block_n)
    assert np.array_equal(sp.to_dense().numpy(), reference_prune(w, block_n))
    assert np.array_equal(sp.kept_mask.reshape(br * 16, kb, 16).sum(-1), np.repeat(block_n, 16, 0))


def test_ties_keep_lower_index():
    w = np.zeros((16, 16), dtype=np.float32)
    w[0] = [1, -1] * 8                    # all magnitudes equal
    w[1] = np.arange(16) % 3 - 1          # |w| in 1,0,1,1,0,1,...
    sp = sparse.prune_nm(w, n=4)
    assert sp.kept(0, 0)[1].tolist() == [0, 1, 2, 3]
    assert sp.kept(0, 0)[0].tolist() == [1, -1, 1, -1]
    assert sp.kept(1, 0)[1].tolist() == [0, 2, 3, 5]
    assert sp.kept(2, 0)[1].tolist() == [0, 1, 2, 3]        # an all-zero row keeps 4 zeros


def test_kept_matches_dense_and_is_sorted():
    w = rand_weight(32, 48, seed=3)
    sp = sparse.prune_nm(w, density=0.4)
    dense = sp.to_dense().numpy()
    for row, kb in [(0, 0), (5, 2), (31, 1), (17, 2)]:
        vals, idx = sp.kept(row, kb)
        assert idx.dtype == np.uint8 and len(vals) == sp.block_n[row // 16, kb]
        assert np.all(np.diff(idx.astype(int)) > 0)
        assert np.array_equal(dense[row, kb * 16 + idx.astype(int)], vals)
        assert np.count_nonzero(dense[row, kb * 16:(kb + 1) * 16]) == len(vals)
    with pytest.raises(IndexError):
        sp.kept(32, 0)
    bv, bi = sp.block_pairs(1, 2)
    assert bv.shape == (16, sp.block_n[1, 2]) and np.array_equal(bi[3], sp.kept(19, 2)[1])


def test_integer_weights_int8_and_int4():
    rng = np.random.default_rng(1)
    w8 = rng.integers(-128, 128, (32, 32)).astype(np.int8)
    w8[0, :16] = -128
    sp = sparse.prune_nm(torch.from_numpy(w8), n=2)
    assert sp.bits == 8 and sp.to_dense().dtype == torch.int8
    assert np.array_equal(sp.to_dense().numpy(), reference_prune(w8, sp.block_n))
    assert sp.kept(0, 0)[0].tolist() == [-128, -128]
    w4 = rng.integers(-8, 8, (16, 32))
    sp4 = sparse.prune_nm(w4, n=8, bits=4)
    assert sp4.bits == 4
    assert np.array_equal(sp4.to_dense().numpy(), reference_prune(w4, sp4.block_n))
    with pytest.raises(ValueError, match="INT4 range"):
        sparse.prune_nm(w8, n=2, bits=4)


def test_per_block_n_array():
    w = rand_weight(32, 64)
    block_n = np.array([[2, 4, 8, 16], [16, 0, 1, 2]])
    sp = sparse.prune_nm(w, n=block_n)
    assert np.array_equal(sp.block_n, block_n)
    counts = (sp.to_dense() != 0).reshape(2, 16, 4, 16).sum(-1).numpy()
    assert np.array_equal(counts, np.repeat(block_n[:, None, :], 16, axis=1))
    assert sp.nnz == 16 * block_n.sum()


@pytest.mark.parametrize("target", [0.125, 0.2, 0.3, 0.5, 0.61, 0.7, 0.875, 1.0])
def test_density_target_met(target):
    rng = np.random.default_rng(7)
    # blocks of very different scales so the allocation is non-uniform
    w = rng.standard_normal((64, 128)) * np.kron(rng.uniform(0.01, 10, (4, 8)), np.ones((16, 16)))
    sp = sparse.prune_nm(w, density=target)
    total = 64 * 128
    assert sp.density >= target
    assert (sp.density - target) * total < 16 * (16 - 8)        # less than one (largest) step
    assert set(np.unique(sp.block_n)) <= set(N_OPTIONS)


def test_density_prefers_blocks_with_large_magnitudes():
    rng = np.random.default_rng(2)
    w = rng.standard_normal((16, 32)).astype(np.float32)
    w[:, :16] *= 100                      # block 0 loses far more per pruned weight
    sp = sparse.prune_nm(w, density=0.5)
    # hand-worked: start (2, 2) = 64 kept, need 256; block 0 steps first: 4 (96), 8 (160), 16 (288)
    assert sp.block_n.tolist() == [[16, 2]]
    assert sp.density == 288 / 512


def _retained(w, block_n):
    return float(np.abs(reference_prune(w, block_n)).sum())


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.125, 1.0))
def test_density_allocation_is_optimal_for_its_budget(seed, target):
    """Brute force over all 4^4 allocations of a 2x2-block matrix: none keeping at most as many
    weights retains more magnitude than the greedy allocation."""
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((32, 32)) * rng.uniform(0.1, 3, (32, 1))).astype(np.float32)
    block_n = sparse.allocate_block_n(w, target)
    budget = int(block_n.astype(int).sum())
    best = _retained(w, block_n)
    for combo in itertools.product(N_OPTIONS, repeat=4):
        if sum(combo) <= budget:
            assert _retained(w, np.array(combo).reshape(2, 2)) <= best * (1 + 1e-6)


def test_config_n_options_and_m():
    w = rand_weight(16, 32)
    sp = sparse.prune_nm(w, density=0.25, n_options=(0, 4, 16))
    assert set(np.unique(sp.block_n)) <= {0, 4, 16} and sp.density >= 0.25
    sp8 = sparse.prune_nm(w, n=2, m=8)
    assert sp8.shape == (16, 32) and sp8.block_n.shape == (1, 4)
    assert torch.all((sp8.to_dense() != 0).reshape(16, 4, 8).sum(-1) == 2)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=4, m=12), "m: must be a power of two"),
    (dict(n=4, m=32), "m: at most 16"),
    (dict(n=3), "n: N=3 is not 0 or a divisor"),
    (dict(n=32), "n: N=32"),
    (dict(), "n, density: give exactly one"),
    (dict(n=4, density=0.5), "n, density: give exactly one"),
    (dict(density=0.05), "density: 0.05 is outside"),
    (dict(density=1.5), "density: 1.5 is outside"),
    (dict(n=np.full((2, 2), 4)), r"n: a per-block array must be integer with shape \(2, 3\)"),
    (dict(n=np.array([[2, 4, 6], [2, 2, 2]])), "n: N=6"),
    (dict(n=4, block=0), "block: must be an integer"),
    (dict(n=4, bits=8), "bits: only for integer weights"),
    (dict(density=0.5, n_options=(3, 16)), "n_options: N=3"),
])
def test_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sparse.prune_nm(rand_weight(32, 48), **kwargs)


@pytest.mark.parametrize("shape, match", [
    ((32, 40), "weight: k=40 input channels is not a multiple of m=16"),
    ((24, 32), "weight: n_out=24 output rows is not a multiple of block=16"),
    ((16,), "weight: expected a 2-D"),
    ((0, 16), r"weight: empty matrix of shape \(0, 16\)"),
])
def test_shape_errors(shape, match):
    with pytest.raises(ValueError, match=match):
        sparse.prune_nm(torch.ones(shape), n=4)


def test_non_finite_and_bad_dtype():
    w = torch.ones(16, 16)
    w[3, 3] = torch.nan
    with pytest.raises(ValueError, match="weight: contains NaN"):
        sparse.prune_nm(w, n=4)
    with pytest.raises(ValueError, match="weight: expected a float or integer"):
        sparse.prune_nm(np.ones((16, 16), dtype=bool), n=4)


def test_half_precision_input_and_container_is_frozen():
    w = rand_weight(16, 32).to(torch.bfloat16)
    sp = sparse.prune_nm(w, n=8)
    assert torch.equal(sp.to_dense(), reference_tensor(w.float(), sp.block_n))
    with pytest.raises(ValueError):
        sp.values[0, 0, 0] = 1.0
    with pytest.raises(AttributeError):
        sp.m = 8


def reference_tensor(w: torch.Tensor, block_n):
    return torch.from_numpy(reference_prune(w.numpy(), block_n))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.sampled_from([(2, 4, 8, 16), (0, 4, 16), (1, 2),
                                                               (8, 16), (0, 16)]),
       st.floats(0, 1), st.integers(0, 2**32 - 1))
def test_density_invariants(br, kb, options, frac, seed):
    lo, hi = options[0] / 16, options[-1] / 16
    target = lo + frac * (hi - lo)
    w = np.random.default_rng(seed).standard_normal((16 * br, 16 * kb)).astype(np.float32)
    sp = sparse.prune_nm(w, density=target, n_options=options)
    steps = np.diff(options) * 16
    assert sp.density >= target - 1e-12
    assert (sp.density - target) * w.size < steps.max()
    assert set(np.unique(sp.block_n)) <= set(options)
    assert np.array_equal(sp.to_dense().numpy(), reference_prune(w, sp.block_n))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.sampled_from(N_OPTIONS), block=st.sampled_from([2, 4, 16]))
def test_row_pairs_share_the_mask_that_keeps_the_most_pair_magnitude(seed, n, block):
    """Rows 2i and 2i+1 keep the same positions: per block, the n of largest |a| + |b| with the
    lower index first on ties (integer weights make ties common), checked by a loop over the
    positions; the values are each row's own weights at those positions."""
    rng = np.random.default_rng(seed)
    w = rng.integers(-3, 4, size=(block * 2, 32)).astype(np.float32)
    sp = sparse.prune_nm(w, n=n, block=block, row_pairs=True)
    dense = sp.to_dense().numpy()
    for r in range(0, w.shape[0], 2):
        for kb in range(2):
            seg = [(-abs(float(w[r, kb * 16 + i])) - abs(float(w[r + 1, kb * 16 + i])), i)
                   for i in range(16)]
            keep = sorted(i for _, i in sorted(seg)[:n])
            for row in (r, r + 1):
                want = np.zeros(16, np.float32)
                want[keep] = w[row, kb * 16 + np.array(keep)]
                np.testing.assert_array_equal(dense[row, kb * 16:(kb + 1) * 16], want)
                assert list(sp.indices[row, kb, :n]) == keep


def test_row_pairs_keep_the_best_shared_mask_by_exhaustion():
    """For one pair and one block at N = 2, no other shared mask keeps more |a| + |b|."""
    rng = np.random.default_rng(1)
    w = rng.standard_normal((2, 16)).astype(np.float32)
    kept = np.abs(sparse.prune_nm(w, n=2, block=2, row_pairs=True).to_dense().numpy()).sum()
    best = max(np.abs(w[:, list(c)]).sum() for c in itertools.combinations(range(16), 2))
    assert kept == pytest.approx(best, rel=1e-6)
    assert kept < np.abs(sparse.prune_nm(w, n=2, block=2).to_dense().numpy()).sum()


def test_row_pairs_need_n_and_an_even_block():
    w = np.ones((3, 16), np.float32)
    with pytest.raises(ValueError, match="row_pairs: block must be even"):
        sparse.prune_nm(w, n=2, block=1, row_pairs=True)
    with pytest.raises(ValueError, match="row_pairs: give n"):
        sparse.prune_nm(np.ones((16, 16), np.float32), density=0.5, row_pairs=True)


def test_dense_share_counts_kept_weights_of_n16_blocks():
    """Blocks N = [[16, 4], [0, 8]] keep 16 x (16 + 4 + 0 + 8) weights, 16 x 16 of them in the
    dense block: 16 / 28."""
    w = torch.randint(-100, 100, (32, 32), generator=torch.Generator().manual_seed(3))
    sp = sparse.prune_nm(w.to(torch.int8), n=np.array([[16, 4], [0, 8]]), bits=8)
    assert sp.dense_share == 16 / 28
    assert sparse.prune_nm(w.to(torch.int8), n=np.array([[0, 0], [0, 0]]), bits=8).dense_share == 0
