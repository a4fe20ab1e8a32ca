"""The LLaMA-family IR built directly from dimensions, for models without weights: shape-only
configs (``configs/models/*.yaml``, golden.model_shapes, compiled with ``--no-weights``). Models
with weights go through ``torch.export`` (:mod:`.frontend`); tests check that this builder gives,
op by op, the graph the front end lifts from the golden LLM and from a transformers
LlamaForCausalLM.
"""
from __future__ import annotations

import math
from dataclasses import replace

from ..golden.llm.config import LlamaConfig
from .ir import CompileError, Graph, Op, rope_attrs


def dims_from_shape(shape) -> LlamaConfig:
    """The LLaMA dimensions of a golden.model_shapes.ModelShape (LLaMA architecture only)."""
    unsupported = [what for what, bad in (
        ("arch", shape.arch != "llama"), ("positional", shape.positional != "rope"),
        ("norm", shape.norm != "rmsnorm"), ("activation", shape.activation != "silu"),
        ("gated_mlp", not shape.gated_mlp), ("parallel_block", shape.parallel_block),
        ("attn_bias", shape.attn_bias), ("mlp_bias", shape.mlp_bias),
        ("rotary_fraction", shape.rotary_fraction != 1)) if bad]
    if unsupported:
        raise CompileError(f"model '{shape.name}': {unsupported[0]} is not supported by the "
                           "LLaMA lowering")
    return LlamaConfig.from_shape(shape)


def dims_from_golden(config: LlamaConfig) -> LlamaConfig:
    """The golden config with its constants as Python floats (GGUF stores them as float32), the
    form the IR's attributes and the compiled tables are computed from."""
    return config.replace(rope_theta=float(config.rope_theta), norm_eps=float(config.norm_eps))


def build(dims: LlamaConfig) -> Graph:
    """The decoder graph: embedding, layers (attention with KV cache, SwiGLU MLP), norm, head."""
    ops: list[Op] = []
    params: dict[str, tuple[int, ...]] = {}
    d, hd, q_dim, kv_dim = dims.hidden, dims.head_dim, dims.q_dim, dims.kv_dim

    def linear(x: str, weight: str, n: int, k: int, out: str) -> str:
        params[weight] = (n, k)
        ops.append(Op("linear", (x,), out, {"weight": weight, "out_features": n,
                                            "in_features": k}, out))
        return out

    def rmsnorm(x: str, weight: str, out: str) -> str:
        params[weight] = (d,)
        ops.append(Op("rmsnorm", (x,), out, {"weight": weight, "eps": dims.norm_eps}, out))
        return out

    params["model.embed_tokens"] = (dims.vocab, d)
    ops.append(Op("embedding", ("ids",), "x0", {"weight": "model.embed_tokens",
                                                "vocab": dims.vocab, "hidden": d}, "x0"))
    x = "x0"
    for i in range(dims.layers):
        p, L = f"model.layers.{i}", f"L{i}."
        first = len(ops)
        h = rmsnorm(x, f"{p}.input_layernorm", L + "attn_norm")
        q = linear(h, f"{p}.self_attn.q_proj", q_dim, d, L + "q")
        k = linear(h, f"{p}.self_attn.k_proj", kv_dim, d, L + "k")
        v = linear(h, f"{p}.self_attn.v_proj", kv_dim, d, L + "v")
        rope = {"head_dim": hd, **rope_attrs(dims)}
        ops.append(Op("rope", (q,), L + "q_rope", {"heads": dims.heads, **rope}, L + "q_rope"))
        ops.append(Op("rope", (k,), L + "k_rope", {"heads": dims.kv_heads, **rope},
                      L + "k_rope"))
        heads = {"heads": dims.heads, "kv_heads": dims.kv_heads, "head_dim": hd}
        ops += [Op("kv_append", (L + "k_rope",), L + "kcache", {"layer": i, "which": "k"},
                   L + "kcache"),
                Op("kv_append", (v,), L + "vcache", {"layer": i, "which": "v"}, L + "vcache"),
                Op("attn_score", (L + "q_rope", L + "kcache"), L + "score",
                   {**heads, "scale": 1.0 / math.sqrt(hd)}, L + "score"),
                Op("softmax", (L + "score",), L + "probs", {"causal": True}, L + "probs"),
                Op("attn_value", (L + "probs", L + "vcache"), L + "attn", heads, L + "attn")]
        o = linear(L + "attn", f"{p}.self_attn.o_proj", d, q_dim, L + "o")
        ops.append(Op("add", (x, o), L + "x_attn", {"residual": True}, L + "x_attn"))
        h = rmsnorm(L + "x_attn", f"{p}.post_attention_layernorm", L + "mlp_norm")
        g = linear(h, f"{p}.mlp.gate_proj", dims.intermediate, d, L + "gate")
        ops.append(Op("silu", (g,), L + "act", {}, L + "act"))
        u = linear(h, f"{p}.mlp.up_proj", dims.intermediate, d, L + "up")
        ops.append(Op("mul", (L + "act", u), L + "swiglu", {}, L + "swiglu"))
        dn = linear(L + "swiglu", f"{p}.mlp.down_proj", d, dims.intermediate, L + "down")
        ops.append(Op("add", (L + "x_attn", dn), L + "x_out", {"residual": True}, L + "x_out"))
        x = L + "x_out"
        ops[first:] = [replace(op, layer=i) for op in ops[first:]]
    h = rmsnorm(x, "model.norm", "final_norm")
    linear(h, "lm_head", dims.vocab, d, "logits")
    graph = Graph(dims, ops, params, "ids", "logits")
    graph.validate()
    return graph
