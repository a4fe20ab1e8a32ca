"""Attention in fp16 and INT8, and the int8 KV cache, against float64 within derived bounds."""
import pytest
import torch

from bitflight.golden import ops
from bitflight.golden.llm.float_numerics import FloatNumerics, causal_mask
from bitflight.golden.ops.attention_bounds import attention_fp16_bound, attention_int8_bound


def qkv(s, t, scale, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(2, 3, s, 16, generator=g) * scale, torch.randn(2, 3, t, 16, generator=g)
            * scale, torch.randn(2, 3, t, 16, generator=g))


@pytest.mark.parametrize("s,t,scale", [(7, 9, 0.5), (1, 12, 2.0), (5, 5, 3.0)])
def test_attention_fp16_within_bound(s, t, scale):
    q, k, v = qkv(s, t, scale, s * t)
    mask = causal_mask(s, t)
    got = ops.attention_fp16(q, k, v, mask)
    ref, b = attention_fp16_bound(q, k, v, mask)
    assert got.dtype == torch.float16
    assert ((got.double() - ref).abs() <= b).all()
    # the bound is tight enough to matter: well below the spread of the outputs
    assert float(b.max()) < 0.05 * float(ref.abs().max())


@pytest.mark.parametrize("s,t,scale", [(7, 9, 0.5), (1, 12, 1.0), (5, 5, 2.0)])
def test_attention_int8_within_bound(s, t, scale):
    q, k, v = qkv(s, t, scale, 100 + s * t)
    mask = causal_mask(s, t)
    got = ops.attention_int8(q, k, v, mask)
    ref, b = attention_int8_bound(q, k, v, mask)
    assert ((got.double() - ref).abs() <= b).all()
    if scale <= 1:      # larger scores make e^{2E} (softmax sensitivity) dominate the bound
        assert float(b.max()) < 0.5 * float(ref.abs().max())


def test_attention_float_reference_is_transformers_style_sdpa():
    q, k, v = qkv(4, 6, 1.0, 1)
    mask = causal_mask(4, 6)
    want = torch.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=mask)
    assert torch.allclose(FloatNumerics().attention(q, k, v, mask), want, atol=1e-6)


def test_kv_int8_holds_int8_grid_values():
    k = qkv(1, 10, 1.0, 3)[1]
    stored = ops.kv_int8(k)
    q, s = ops.quantize_per_token(k)
    assert torch.equal(stored, q.float() * s)
    q2, s2 = ops.quantize_per_token(stored)     # re-quantizing the cache gives the same codes
    assert torch.equal(q2, q)
    assert ((stored - k).abs() <= s * (0.5 + 2 ** -15)).all()
