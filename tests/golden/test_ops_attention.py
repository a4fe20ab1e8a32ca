"""Attention in fp16 and INT8, and the int8 KV cache, against float64 within derived bounds."""
import numpy as np
import pytest
import torch

from bitflight.golden import ops
from bitflight.golden.llm.float_numerics import FloatNumerics, causal_mask
from bitflight.golden.ops.attention_bounds import attention_fp16_bound, attention_int8_bound
from bitflight.golden.ops.sfu_bounds import requant_bound


def qkv(s, t, scale, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(2, 3, s, 16, generator=g) * scale, torch.randn(2, 3, t, 16, generator=g)
            * scale, torch.randn(2, 3, t, 16, generator=g))


@pytest.mark.parametrize("s,t,scale", [(7, 9, 0.5), (1, 12, 2.0), (5, 5, 3.0), (4, 40, 8.0)])
def test_attention_fp16_within_bound(s, t, scale):
    q, k, v = qkv(s, t, scale, s * t)
    mask = causal_mask(s, t)
    got = ops.attention_fp16(q, k, v, mask)
    ref, b = attention_fp16_bound(q, k, v, mask)
    assert got.dtype == torch.float16
    assert ((got.double() - ref).abs() <= b).all()
    if scale <= 3:     # the bound is tight enough to matter: well below the outputs' spread
        assert float(b.max()) < 0.05 * float(ref.abs().max())


@pytest.mark.parametrize("s,t,scale", [(7, 9, 0.5), (1, 12, 1.0), (5, 5, 2.0)])
def test_attention_int8_within_bound(s, t, scale):
    q, k, v = qkv(s, t, scale, 100 + s * t)
    mask = causal_mask(s, t)
    got = ops.attention_int8(q, ops.kv_int8(k), ops.kv_int8(v), mask)
    ref, b = attention_int8_bound(q, k, v, mask)
    assert ((got.double() - ref).abs() <= b).all()
    if scale <= 1:      # larger scores make e^{2E} (softmax sensitivity) dominate the bound
        assert float(b.max()) < 0.5 * float(ref.abs().max())


def test_attention_float_reference_is_transformers_style_sdpa():
    q, k, v = qkv(4, 6, 1.0, 1)
    mask = causal_mask(4, 6)
    want = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert torch.allclose(FloatNumerics().attention(q, k, v, mask), want, atol=1e-6)


def test_kv_int8_stores_codes_and_scales():
    k = qkv(1, 10, 1.0, 3)[1]
    stored = ops.kv_int8(k)
    assert stored.shape == (2, 3, 10, 17) and stored.dtype == torch.float32
    codes, scales = ops.kv_unpack(stored)
    q, s = ops.quantize_per_token(ops.to_fp16(k))
    assert torch.equal(codes, q) and torch.equal(scales, s)
    values = ops.kv_values(stored)
    assert torch.equal(values, q.float() * s)
    assert ((values.double() - k.half().double()).abs().numpy()
            <= requant_bound(s.numpy())).all()


def test_score_scale_is_binary32_one_over_sqrt():
    assert ops.score_scale(64) == np.float32(0.125)
    for d in (48, 80, 96, 128, 7):
        assert ops.score_scale(d) == np.float32(1) / np.sqrt(np.float32(d))
        assert abs(float(ops.score_scale(d)) * d ** 0.5 - 1) < 2 ** -22
