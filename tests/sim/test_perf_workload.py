"""Workload extraction from model shapes: MACs and operand sizes against hand formulas."""
import pytest

from bitflight.golden.model_shapes import load_shape
from bitflight.sim.perf.workload import decode_step, prefill


def _linear_weights(shape):
    return shape.layers * sum(l.weights for l in shape.decoder_linears()) + shape.lm_head().weights


@pytest.mark.parametrize("name", ["llama2-7b", "llama3-8b", "opt-1.3b", "phi-2", "smollm2-135m"])
def test_prefill_macs_hand_formula(name):
    s = load_shape(name)
    t = 37
    attention = 2 * s.layers * s.heads * t * t * s.head_dim      # QK^T and score.V, full square
    assert prefill(s, t).macs == t * _linear_weights(s) + attention


def test_linear_weights_match_parameter_count():
    """Independent check: all linear weights = parameters - embedding - norms (LLaMA, untied)."""
    s = load_shape("llama2-7b")
    norms = (2 * s.layers + 1) * s.hidden
    assert _linear_weights(s) == s.parameter_count() - s.vocab * s.hidden - norms


def test_gqa_attention_reads_each_kv_head_once():
    s = load_shape("llama3-8b")                 # 32 query heads, 8 KV heads
    ops = {op.name: op for op in decode_step(s, 300).matmuls}
    qk, sv = ops["attn_qk"], ops["attn_sv"]
    assert qk.operand_elements == s.kv_heads * 300 * s.head_dim == sv.operand_elements
    assert qk.macs == s.heads * 300 * s.head_dim == sv.macs
    assert qk.input_elements == s.heads * s.head_dim   # one query row per head
    assert qk.output_elements == s.heads * 300


def test_decode_step_has_one_token_and_lm_head_last():
    s = load_shape("opt-6.7b")
    p = decode_step(s, 64)
    assert p.stage == "decode" and p.tokens == 1 and p.kv_len == 64
    assert all(op.tokens == 1 for op in p.matmuls if op.kind == "linear")
    assert p.matmuls[-1].name == "lm_head" and p.matmuls[-1].count == 1
    assert {op.name for op in p.matmuls if op.out_is_kv} == {"k_proj", "v_proj"}


def test_bitmod_hpca_convention_overcounts_qk_by_heads():
    """The artifact's prefill QK^T charges every head against the full hidden width."""
    s, t = load_shape("llama2-7b"), 256
    exact = {op.name: op for op in prefill(s, t).matmuls}
    hpca = {op.name: op for op in prefill(s, t, "bitmod-hpca").matmuls}
    assert hpca["attn_qk"].macs == s.heads * exact["attn_qk"].macs
    assert hpca["attn_qk"].input_elements == t * s.kv_dim
    assert hpca["q_proj"] == exact["q_proj"]


def test_vector_ops():
    s = load_shape("smollm2-135m")
    vec = {v.name: v for v in prefill(s, 10).vector_ops}
    assert vec["softmax"].elements == s.heads * 100 and vec["softmax"].passes == 2
    assert vec["act"].elements == 10 * s.intermediate * 2          # SiLU and the gate product
    assert vec["rope"].elements == 10 * (s.heads + s.kv_heads) * s.head_dim
    assert "rope" not in {v.name for v in prefill(load_shape("opt-1.3b"), 4).vector_ops}
    assert prefill(s, 4, vector_ops=False).vector_ops == ()


@pytest.mark.parametrize("call, match", [
    (lambda s: prefill(s, 0), "prompt length must be a positive integer"),
    (lambda s: decode_step(s, -3), "KV length must be a positive integer"),
    (lambda s: prefill(s, 4, "flash"), "unknown attention convention 'flash'"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call(load_shape("smollm2-135m"))
