"""LLaMA-3 RoPE scaling: the frequency rule, the float golden model against transformers, and the
compiled RoPE table."""
import json
import math

import pytest
import torch
from hypothesis import given, strategies as st

from bitflight.golden.llm import LlamaConfig, LlamaModel, load_model
from bitflight.golden.llm.float_numerics import rope_tables
from bitflight.golden.llm.rope_scaling import Llama3RopeScaling, inverse_frequencies
from bitflight.golden.llm.weights import random_weights

# original_max 64 with head_dim 16, theta 1e4: wavelengths 6.3 (kept), 19.9 and 62.8 (smoothed),
# 199 and beyond (divided by the factor), so every branch of the rule is exercised.
SCALING = Llama3RopeScaling(factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                            original_max_position=64)
TINY = LlamaConfig(name="tiny-llama3", layers=2, hidden=64, heads=4, kv_heads=2, head_dim=16,
                   intermediate=96, vocab=128, max_position=512, rope_theta=10000.0,
                   norm_eps=1e-5, tied_embeddings=False, rope_scaling=SCALING)


def hf_llama3(cfg, weights):
    from transformers import LlamaConfig as HFConfig, LlamaForCausalLM
    s = cfg.rope_scaling
    hc = HFConfig(vocab_size=cfg.vocab, hidden_size=cfg.hidden, intermediate_size=cfg.intermediate,
                  num_hidden_layers=cfg.layers, num_attention_heads=cfg.heads,
                  num_key_value_heads=cfg.kv_heads, head_dim=cfg.head_dim,
                  rms_norm_eps=cfg.norm_eps, max_position_embeddings=cfg.max_position,
                  tie_word_embeddings=False,
                  rope_parameters={"rope_type": "llama3", "rope_theta": cfg.rope_theta,
                                   "factor": s.factor, "low_freq_factor": s.low_freq_factor,
                                   "high_freq_factor": s.high_freq_factor,
                                   "original_max_position_embeddings": s.original_max_position})
    m = LlamaForCausalLM(hc).eval()
    missing, unexpected = m.load_state_dict(weights, strict=False)
    assert not unexpected and all("rotary" in k for k in missing)
    return m


def test_rule_on_hand_worked_frequencies():
    s = Llama3RopeScaling(8.0, 1.0, 4.0, 8192)
    high = 2 * math.pi / 1000          # wavelength 1000 < 8192 / 4: kept
    low = 2 * math.pi / 10000          # wavelength 10000 > 8192 / 1: divided by 8
    mid = 2 * math.pi / 4096           # smooth = (8192/4096 - 1) / (4 - 1) = 1/3
    assert s.scale(high) == high and s.scale(low) == low / 8
    assert s.scale(mid) == pytest.approx(mid * (2 / 3 / 8 + 1 / 3), rel=1e-15)   # 5/12 of mid


@given(theta=st.floats(100, 1e6), half=st.integers(1, 64), factor=st.floats(1, 64),
       low=st.floats(0.25, 4), ratio=st.floats(1.01, 16), orig=st.integers(16, 1 << 17))
def test_scaled_frequencies_lie_between_divided_and_unchanged(theta, half, factor, low, ratio,
                                                              orig):
    s = Llama3RopeScaling(factor, low, low * ratio, orig)
    for base, scaled in zip(inverse_frequencies(2 * half, theta),
                            inverse_frequencies(2 * half, theta, s)):
        assert base / factor * (1 - 1e-12) <= scaled <= base * (1 + 1e-12)


def test_frequencies_match_transformers_to_float32_rounding():
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
    hf = hf_llama3(TINY, random_weights(TINY)).config
    ref, _ = ROPE_INIT_FUNCTIONS["llama3"](hf, None)
    ours = torch.tensor(inverse_frequencies(16, 1e4, SCALING), dtype=torch.float32)
    # transformers rounds each of ~6 float32 steps, ours once (measured: within 1 ulp)
    assert torch.allclose(ours, ref, rtol=2 * 2.0 ** -23, atol=0)
    assert not torch.allclose(ours, torch.tensor(inverse_frequencies(16, 1e4)), rtol=1e-3)


def test_golden_matches_transformers_llama3_model():
    w = random_weights(TINY, seed=4)
    ids = torch.randint(0, TINY.vocab, (1, 150), generator=torch.Generator().manual_seed(3))
    ours = LlamaModel(TINY, w)(ids)
    with torch.no_grad():
        ref = hf_llama3(TINY, w)(ids).logits
    # float32 round-off as in test_llm_model (|logits| < ~1, two layers), here over 150 positions
    assert torch.allclose(ours, ref, atol=2e-5, rtol=1e-5), (ours - ref).abs().max()
    unscaled = LlamaModel(TINY.replace(rope_scaling=None), w)(ids)
    assert (unscaled - ref).abs().max() > 1e-3        # the scaling matters on these positions


def test_kv_cache_decode_with_scaling_equals_full_recomputation():
    model = LlamaModel(TINY, random_weights(TINY, seed=6))
    ids = torch.randint(0, TINY.vocab, (1, 90), generator=torch.Generator().manual_seed(5))
    logits, cache = model.prefill(ids[:, :70])
    steps = [logits] + [model.decode(ids[:, t], cache) for t in range(70, 90)]
    assert torch.allclose(torch.cat(steps, dim=1), model(ids), atol=1e-5, rtol=1e-5)


def test_hf_folder_with_llama3_scaling_loads_and_matches(tmp_path):
    w = random_weights(TINY, seed=8)
    hf_llama3(TINY, w).save_pretrained(str(tmp_path))
    ours = load_model(str(tmp_path))
    assert ours.config.rope_scaling == SCALING and ours.config.rope_theta == 1e4
    ids = torch.arange(100)[None] % TINY.vocab
    assert torch.allclose(ours(ids), LlamaModel(TINY, w)(ids), atol=1e-6)


def test_legacy_rope_scaling_field_is_read(tmp_path):
    hf_llama3(TINY, random_weights(TINY)).save_pretrained(str(tmp_path))
    c = json.loads((tmp_path / "config.json").read_text())
    params = c.pop("rope_parameters")
    c["rope_theta"] = params.pop("rope_theta")
    c["rope_scaling"] = params                     # how Llama-3.1's own config.json spells it
    (tmp_path / "config.json").write_text(json.dumps(c))
    assert load_model(str(tmp_path)).config.rope_scaling == SCALING


def test_compiled_rope_table_carries_the_scaling():
    import numpy as np

    from bitflight.compiler.llama_ir import dims_from_golden
    from bitflight.compiler.target import rope_table
    dims = dims_from_golden(TINY)
    table = np.frombuffer(rope_table(dims, 128), dtype=np.float16).reshape(128, 16)
    cos, sin = rope_tables(torch.arange(128), 16, 1e4, SCALING)
    # host tables are float64 math rounded once to fp16; the float32 tables differ by < 1 ulp
    ref = torch.cat((cos[:, :8], sin[:, :8]), 1).double().numpy()
    assert np.abs(table.astype(np.float64) - ref).max() <= 2.0 ** -11 + 2.0 ** -16
    plain = np.frombuffer(rope_table(dims.replace(rope_scaling=None), 128), dtype=np.float16)
    assert not np.array_equal(table.reshape(-1), plain)


def test_rope_scaling_validation():
    with pytest.raises(ValueError, match="factor must be >= 1"):
        Llama3RopeScaling(0.5, 1.0, 4.0, 64)
    with pytest.raises(ValueError, match="low_freq_factor < high_freq_factor"):
        Llama3RopeScaling(8.0, 4.0, 4.0, 64)
