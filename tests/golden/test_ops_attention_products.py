"""The attention score / value products: defined summation order, exact under any row tiling."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from bitflight.golden import ops
from bitflight.golden.llm.float_numerics import causal_mask


def tree_reference(values) -> np.float32:
    """The adder tree written out with numpy float32 scalars: pad to a power of two with +0,
    add adjacent pairs level by level."""
    level = [np.float32(v) for v in values] or [np.float32(0)]
    while len(level) & (len(level) - 1):
        level.append(np.float32(0))
    while len(level) > 1:
        level = [np.float32(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def test_sum_fp32_adds_adjacent_pairs_first():
    # (2^-24 + 2^-24) + (1 + 0) = 1 + 2^-23; a sequential right-to-left sum or the interleaved
    # halving (2^-24 + 1) + (2^-24 + 0) would both give 1.0
    x = torch.tensor([2.0 ** -24, 2.0 ** -24, 1.0, 0.0])
    assert float(ops.sum_fp32(x)) == 1 + 2.0 ** -23
    assert float(ops.sum_fp32(torch.zeros(0))) == 0.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e4, 1e4, width=32), min_size=1, max_size=70))
def test_sum_fp32_is_the_tree(values):
    got = ops.sum_fp32(torch.tensor(values, dtype=torch.float32))
    assert got.item() == float(tree_reference(values))


def test_score_and_value_fp16_elementwise_against_written_out_tree():
    g = torch.Generator().manual_seed(5)
    q, k = (ops.to_fp16(torch.randn(3, 16, generator=g) * 3) for _ in range(2))
    p, v = ops.to_fp16(torch.rand(3, 5, generator=g)), ops.to_fp16(torch.randn(5, 16, generator=g))
    s = ops.score_fp16(q, k)
    o = ops.value_fp16(p, v)
    for i in range(3):
        for j in range(3):
            dot = tree_reference([np.float32(a) * np.float32(b)
                                  for a, b in zip(q[i].float().numpy(), k[j].float().numpy())])
            want = np.float16(np.float32(dot) / np.float32(math.sqrt(16)))
            assert s[i, j].item() == float(want)
        for c in range(16):
            acc = tree_reference([np.float32(a) * np.float32(b) for a, b in
                                  zip(p[i].float().numpy(), v[:, c].float().numpy())])
            assert o[i, c].item() == float(np.float16(acc))


def _qkv(s, seed):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(1, 3, s, 32, generator=g) * 2 for _ in range(3))


def _tiled(fn, a, tile, *rest):
    return torch.cat([fn(a[..., r:r + tile, :], *rest) for r in range(0, a.shape[-2], tile)],
                     dim=-2)


@pytest.mark.parametrize("tokens,tile", [(7, 4), (33, 16), (23, 8), (5, 1)])
def test_products_do_not_depend_on_row_tiles(tokens, tile):
    q, k, v = _qkv(tokens, tokens)
    s = ops.score_fp16(q, k)
    assert torch.equal(_tiled(ops.score_fp16, q, tile, k), s)
    p = ops.softmax_fp16(s.float().masked_fill(~causal_mask(tokens, tokens), float("-inf")))
    assert torch.equal(_tiled(ops.value_fp16, p, tile, v), ops.value_fp16(p, v))
    q8, sq = ops.quantize_per_token(q)
    k8, sk = ops.quantize_per_token(k)
    v8, sv = ops.quantize_per_token(v)
    s8 = ops.score_int8(q8, sq, k8, sk)
    tiles = torch.cat([ops.score_int8(q8[..., r:r + tile, :], sq[..., r:r + tile, :], k8, sk)
                       for r in range(0, tokens, tile)], dim=-2)
    assert torch.equal(tiles, s8)
    assert torch.equal(_tiled(ops.value_int8, p, tile, v8, sv), ops.value_int8(p, v8, sv))


@pytest.mark.parametrize("kind", ["fp16", "int8"])
def test_attention_of_row_tiles_equals_whole(kind):
    """Whole attention of 33 tokens vs its rows computed in tiles of 16 (causal mask rows)."""
    fn = ops.attention_fp16 if kind == "fp16" else ops.attention_int8
    q, k, v = _qkv(33, 9)
    mask = causal_mask(33, 33)
    whole = fn(q, k, v, mask)
    parts = [fn(q[..., r:r + 16, :], k, v, mask[r:r + 16]) for r in range(0, 33, 16)]
    assert torch.equal(torch.cat(parts, dim=-2), whole)


def test_large_products_are_chunked_without_changing_results(monkeypatch):
    from bitflight.golden.ops import attention
    q, k, _ = _qkv(20, 3)
    want = ops.score_fp16(q, k)
    monkeypatch.setattr(attention, "_CHUNK", 1)          # one row per chunk
    assert torch.equal(ops.score_fp16(q, k), want)
