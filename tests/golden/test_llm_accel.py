"""Accelerator-numerics models on tiny random LLaMAs: wiring, policies, KV cache, closeness."""
import pytest
import torch

from bitflight.golden import sparse
from bitflight.golden.llm import LlamaConfig, LlamaModel
from bitflight.golden.llm.accel import AcceleratorNumerics, accelerator_model
from bitflight.golden.llm.weights import random_weights
from bitflight.golden.policy import load_policy

CFG = LlamaConfig(name="t", layers=2, hidden=64, heads=2, kv_heads=1, head_dim=32,
                  intermediate=128, vocab=128)


@pytest.fixture(scope="module")
def model():
    return LlamaModel(CFG, random_weights(CFG, seed=4))


@pytest.fixture(scope="module")
def w4(model):
    """bitmod-w4 numerics (bit-serial linears) and the same weights with dequant linears."""
    pol = load_policy("bitmod-w4")
    return (model.with_numerics(AcceleratorNumerics(pol, model, "bitserial")),
            model.with_numerics(AcceleratorNumerics(pol, model, "dequant")))


IDS = torch.randint(0, 128, (2, 10), generator=torch.Generator().manual_seed(0))


def policy_file(tmp_path, text):
    p = tmp_path / "p.yaml"
    p.write_text(text)
    return load_policy(p)


def rel_err(a, b):
    return float((a - b).abs().max() / b.abs().max())


def test_fp16_weights_on_bitmod_engine_track_float(model, tmp_path):
    """Only fp16 rounding differs from the float model: a wiring error would be O(1)."""
    pol = policy_file(tmp_path, "name: w16\nengine: bitmod\nactivations: fp16\nkv_cache: fp16\n"
                                "default: {scheme: fp16, bits: 16}\n")
    out = accelerator_model(model, pol)(IDS)
    assert out.dtype == torch.float32 and out.shape == (2, 10, 128)
    assert rel_err(out, model(IDS)) < 5e-3


def test_int8_weights_on_csd_engine_track_float(model, tmp_path):
    pol = policy_file(tmp_path, "name: w8\nengine: csd\nactivations: int8\nkv_cache: int8\n"
                                "default: {scheme: int_sym, bits: 8, group_size: null}\n")
    assert rel_err(accelerator_model(model, pol)(IDS), model(IDS)) < 5e-2


@pytest.mark.parametrize("name", ["bitmod-w4", "flightllm"])
def test_decode_with_kv_cache_equals_full_recomputation(model, w4, name):
    acc = w4[1] if name == "bitmod-w4" else accelerator_model(model, name)
    full = acc(IDS)
    logits, cache = acc.prefill(IDS[:, :6])
    steps = [logits] + [acc.decode(IDS[:, t], cache) for t in range(6, 10)]
    # every engine op is per token (per-token INT8, per-row fp16), so decoding is bit-identical
    assert torch.equal(torch.cat(steps, 1), full)


def test_policy_rules_reach_the_layers(model):
    nx = AcceleratorNumerics(load_policy("flightllm"), model)
    down = nx.weights["model.layers.1.mlp.down_proj"]
    assert isinstance(down, sparse.NMSparse) and down.bits == 4
    assert abs(down.density - 0.5) < 0.05
    q = nx.weights["model.layers.0.self_attn.q_proj"]
    assert q.scheme == "int_sym" and q.bits == 4 and q.group_size == CFG.hidden
    assert nx.weights["lm_head"].bits == 8


def test_bitmod_engine_bitserial_and_dequant_modes_agree_closely(w4):
    bs = w4[0](IDS[:1, :4])
    dq = w4[1](IDS[:1, :4])
    assert rel_err(bs, dq) < 2e-2


def test_w3_is_worse_than_w4(model, w4):
    ref = model(IDS)
    e4 = rel_err(w4[1](IDS), ref)
    e3 = rel_err(accelerator_model(model, "bitmod-w3", linear="dequant")(IDS), ref)
    assert e4 < e3


def test_bad_linear_mode(model):
    with pytest.raises(ValueError, match="linear: expected bitserial or dequant"):
        accelerator_model(model, "bitmod-w4", linear="fast")


def test_rope_uses_the_host_fp16_tables(model):
    """The accelerator model's RoPE rows are the rows compiler.target writes into HBM."""
    from types import SimpleNamespace

    import numpy as np

    from bitflight.compiler.target import rope_table
    nx = AcceleratorNumerics(load_policy("bitmod-w4"), model, "dequant")
    cos, sin = nx.rope_tables(torch.arange(3, 9), CFG)
    dims = SimpleNamespace(head_dim=CFG.head_dim, rope_theta=CFG.rope_theta, rope_scaling=None)
    host = np.frombuffer(rope_table(dims, 9), np.float16).reshape(9, CFG.head_dim)
    assert cos.dtype == torch.float16
    assert np.array_equal(torch.cat((cos, sin), 1).numpy(), host[3:9])


def test_attention_follows_the_kv_cache_type(model, tmp_path):
    """The attention MMs take the KV cache type (fp16 or INT8 products) on either engine, as the
    ISA's attention instructions do; an int8 cache stores codes and scales."""
    text = ("name: x\nengine: {e}\nactivations: {a}\nkv_cache: {kv}\n"
            "default: {{scheme: fp16, bits: 16}}\n")
    csd16 = policy_file(tmp_path, text.format(e="csd", a="int8", kv="fp16"))
    bm8 = policy_file(tmp_path, text.format(e="bitmod", a="fp16", kv="int8"))
    q, k, v = (torch.randn(1, 2, 5, 32, generator=torch.Generator().manual_seed(i))
               for i in range(3))
    from bitflight.golden import ops
    from bitflight.golden.llm.float_numerics import causal_mask
    mask = causal_mask(5, 5)
    nx16 = AcceleratorNumerics(csd16, model)
    assert torch.equal(nx16.attention(q, nx16.kv_store(k), nx16.kv_store(v), mask),
                       ops.attention_fp16(q, k, v, mask))
    nx8 = AcceleratorNumerics(bm8, model, "dequant")
    ks, vs = nx8.kv_store(k), nx8.kv_store(v)
    assert ks.shape[-1] == 33
    assert torch.equal(nx8.attention(q, ks, vs, mask), ops.attention_int8(q, ks, vs, mask))
