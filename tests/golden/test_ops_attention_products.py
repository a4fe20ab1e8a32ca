"""The attention score / value products: defined arithmetic per element, exact under any row
tiling, the INT8 products without any float64."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bitflight.golden import ops
from bitflight.golden.llm.float_numerics import causal_mask
from bitflight.golden.ops import binary32, products


def test_score_and_value_fp16_elementwise_against_written_out_tree():
    g = torch.Generator().manual_seed(5)
    q, k = (ops.to_fp16(torch.randn(3, 48, generator=g) * 3) for _ in range(2))
    p, v = ops.to_fp16(torch.rand(3, 5, generator=g)), ops.to_fp16(torch.randn(5, 48, generator=g))
    s = ops.score_fp16(q, k)
    o = ops.value_fp16(p, v)
    c = np.float32(1) / np.sqrt(np.float32(48))
    for i in range(3):
        for j in range(3):
            dot = binary32.tree(q[i].float().numpy() * k[j].float().numpy())
            assert s[i, j].item() == float(np.float16(np.float32(dot) * c))
        for col in range(48):
            acc = binary32.tree(p[i].float().numpy() * v[:, col].float().numpy())
            assert o[i, col].item() == float(np.float16(acc))


def test_int8_products_against_integer_arithmetic():
    g = np.random.default_rng(3)
    q8 = torch.from_numpy(g.integers(-127, 128, (2, 4, 64), dtype=np.int8))
    k8 = torch.from_numpy(g.integers(-127, 128, (2, 6, 64), dtype=np.int8))
    sq, sk = (torch.from_numpy(g.random((2, n, 1), dtype=np.float32) / 50) for n in (4, 6))
    got = ops.score_int8(q8, sq, k8, sk).numpy()
    for b in range(2):
        for i in range(4):
            for j in range(6):
                acc = int(sum(int(x) * int(y) for x, y in zip(q8[b, i], k8[b, j])))
                want = np.float16(((np.float32(acc) * sq[b, i, 0].numpy()) * sk[b, j, 0].numpy())
                                  * np.float32(0.125))
                assert got[b, i, j] == want
    p = ops.to_fp16(torch.rand(2, 3, 6))
    sv = torch.from_numpy(g.random((2, 6, 1), dtype=np.float32))
    v8 = torch.from_numpy(g.integers(-127, 128, (2, 6, 16), dtype=np.int8))
    out = ops.value_int8(p, v8, sv).numpy()
    u = p.float().numpy() * sv.numpy().transpose(0, 2, 1)
    p8, sp = ops.quantize_per_token(torch.from_numpy(u))
    acc = p8.numpy().astype(np.int64) @ v8.numpy().astype(np.int64)
    assert np.array_equal(out, (acc.astype(np.float32) * sp.numpy()).astype(np.float16))


def test_int_dot_overflow_is_an_error():
    a = np.full((1, 2**18), 127, np.int8)
    with pytest.raises(ValueError, match="overflows the INT32"):
        products.int_dot(a, a)
    assert products.int_dot(a[:, :1000], a[:, :1000])[0, 0] == 127 * 127 * 1000


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
    p = ops.softmax_fp16(s, causal_mask(tokens, tokens))
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
    q, k, v = _qkv(33, 9)
    if kind == "fp16":
        fn, k, v = ops.attention_fp16, k, v
    else:
        fn, k, v = ops.attention_int8, ops.kv_int8(k), ops.kv_int8(v)
    mask = causal_mask(33, 33)
    whole = fn(q, k, v, mask)
    parts = [fn(q[..., r:r + 16, :], k, v, mask[r:r + 16]) for r in range(0, 33, 16)]
    assert torch.equal(torch.cat(parts, dim=-2), whole)


def test_streaming_blocks_do_not_change_results(monkeypatch):
    q, k, _ = _qkv(20, 3)
    want = ops.score_fp16(q, k)
    monkeypatch.setattr(products, "BLOCK", 1)          # one output row per block
    assert torch.equal(ops.score_fp16(q, k), want)
