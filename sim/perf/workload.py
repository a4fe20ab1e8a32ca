"""Per-layer workload of one forward pass, extracted from a shape-only model config.

A pass is a list of :class:`MatMul` (every linear including ``lm_head``, and the two attention
products) and :class:`VectorOp` (softmax, norms, activation, RoPE, residual adds). Decoder blocks
are identical, so each op appears once with ``count = layers``; per-layer results multiply.

Conventions (docs/perf.md states them next to every result):

* A matmul multiplies ``tokens x cin`` activations by a ``cin x cout`` stationary operand, ``batch``
  independent times. For linears the stationary operand is the weight; for attention it is the
  K or V cache (``operand = "kv"``).
* Attention with grouped-query heads (``attention="exact"``): per KV head, the ``group`` query heads
  sharing it are stacked as rows, so the cache is read once per KV head:
  QK^T is ``batch = kv_heads, tokens = group * q_tokens, cin = head_dim, cout = kv_len``, and
  score.V is ``cin = kv_len, cout = head_dim``. Prefill attends the full ``tokens x tokens`` square
  (no causal skipping), as the BitMoD and LLM-Viewer models do.
* ``attention="bitmod-hpca"`` reproduces the shapes of the BitMoD artifact at the paper's commit
  (docs/references.md#bitmod-3.3): QK^T as a ``[ctx, hidden]`` operand against ``heads * ctx`` rows,
  score.V as a
  ``[heads * ctx, ctx]`` operand against ``ctx`` rows (prefill); in decode QK^T is a ``[1, hidden]``
  operand against ``heads`` rows and score.V a ``[heads, ctx]`` operand against one row, and the
  bytes read as input are the ``ctx x kv_dim`` cache in every case. These
  charge more MACs than the real attention (QK^T ``heads`` times over in prefill); they exist only
  to reproduce the published cycle counts.
* A decode step generating one token attends ``kv_len`` cached positions, the new one included.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ...base.errors import UsageError
from ...golden.model_shapes import ModelShape

Attention = Literal["exact", "bitmod-hpca"]
ATTENTION_CONVENTIONS: tuple[str, ...] = ("exact", "bitmod-hpca")


@dataclass(frozen=True)
class MatMul:
    """``batch`` products of ``tokens x cin`` activations with a ``cin x cout`` operand."""
    name: str
    kind: Literal["linear", "attn_qk", "attn_sv"]
    tokens: int
    cin: int
    cout: int
    batch: int = 1
    count: int = 1                 # identical copies (decoder blocks)
    bias: bool = False
    out_is_kv: bool = False        # the output is appended to the KV cache (k_proj, v_proj)
    input_override: int | None = None  # activations read when not tokens x cin (bitmod-hpca)

    @property
    def operand(self) -> str:
        return "weight" if self.kind == "linear" else "kv"

    @property
    def macs(self) -> int:
        """MACs of one copy."""
        return self.batch * self.tokens * self.cin * self.cout

    @property
    def operand_elements(self) -> int:
        return self.batch * self.cin * self.cout

    @property
    def input_elements(self) -> int:
        if self.input_override is not None:
            return self.input_override
        return self.batch * self.tokens * self.cin

    @property
    def output_elements(self) -> int:
        return self.batch * self.tokens * self.cout


@dataclass(frozen=True)
class VectorOp:
    """Element-wise or reduction work for the SFU: ``elements`` per copy, read ``passes`` times."""
    name: str
    kind: Literal["softmax", "norm", "act", "rope", "eltwise"]
    elements: int
    count: int = 1
    passes: int = 1


@dataclass(frozen=True)
class Pass:
    """One forward pass: a prefill of ``tokens`` tokens or one decode step at ``kv_len``."""
    stage: Literal["prefill", "decode"]
    tokens: int
    kv_len: int
    matmuls: tuple[MatMul, ...]
    vector_ops: tuple[VectorOp, ...] = field(default=())

    @property
    def macs(self) -> int:
        return sum(m.macs * m.count for m in self.matmuls)


def _linears(shape: ModelShape, tokens: int) -> list[MatMul]:
    ops = [MatMul(l.name, "linear", tokens, l.in_features, l.out_features, count=shape.layers,
                  bias=l.bias, out_is_kv=l.name in ("k_proj", "v_proj"))
           for l in shape.decoder_linears()]
    head = shape.lm_head()
    ops.append(MatMul("lm_head", "linear", tokens, head.in_features, head.out_features,
                      bias=head.bias))
    return ops


def _attention(shape: ModelShape, q_tokens: int, kv_len: int, convention: Attention,
               stage: str) -> list[MatMul]:
    n = shape.layers
    if convention == "exact":
        rows = shape.gqa_group * q_tokens
        return [MatMul("attn_qk", "attn_qk", rows, shape.head_dim, kv_len, shape.kv_heads, n),
                MatMul("attn_sv", "attn_sv", rows, kv_len, shape.head_dim, shape.kv_heads, n)]
    if convention == "bitmod-hpca":
        h, heads, cache = shape.hidden, shape.heads, kv_len * shape.kv_dim
        if stage == "prefill":
            return [MatMul("attn_qk", "attn_qk", heads * kv_len, h, kv_len, count=n,
                           input_override=cache),
                    MatMul("attn_sv", "attn_sv", kv_len, kv_len, heads * kv_len, count=n,
                           input_override=cache)]
        return [MatMul("attn_qk", "attn_qk", heads, h, 1, count=n, input_override=cache),
                MatMul("attn_sv", "attn_sv", 1, kv_len, heads, count=n, input_override=cache)]
    raise UsageError(f"unknown attention convention '{convention}' "
                     f"(known: {', '.join(ATTENTION_CONVENTIONS)})")


def _vector_ops(shape: ModelShape, q_tokens: int, kv_len: int) -> list[VectorOp]:
    n, t = shape.layers, q_tokens
    ops = [VectorOp("softmax", "softmax", shape.heads * t * kv_len, n, passes=2),
           VectorOp("norm", "norm", shape.norms_per_layer() * t * shape.hidden, n, passes=2),
           VectorOp("act", "act", t * shape.intermediate * (2 if shape.gated_mlp else 1), n),
           VectorOp("residual", "eltwise", 2 * t * shape.hidden, n)]
    if shape.positional == "rope":
        rotated = (shape.heads + shape.kv_heads) * shape.rotary_dim
        ops.append(VectorOp("rope", "rope", t * rotated, n))
    if shape.final_norm:
        ops.append(VectorOp("final_norm", "norm", t * shape.hidden, 1, passes=2))
    return ops


def _check(name: str, value: int) -> None:
    if not isinstance(value, int) or value < 1:
        raise UsageError(f"{name} must be a positive integer, got {value!r}")


def prefill(shape: ModelShape, tokens: int, attention: Attention = "exact",
            vector_ops: bool = True) -> Pass:
    """The prompt pass over ``tokens`` tokens (every token attends every token)."""
    _check("prompt length", tokens)
    mm = _linears(shape, tokens)
    mm[-1:-1] = _attention(shape, tokens, tokens, attention, "prefill")
    vec = _vector_ops(shape, tokens, tokens) if vector_ops else []
    return Pass("prefill", tokens, tokens, tuple(mm), tuple(vec))


def decode_step(shape: ModelShape, kv_len: int, attention: Attention = "exact",
                vector_ops: bool = True) -> Pass:
    """One generated token attending ``kv_len`` cached positions (itself included)."""
    _check("KV length", kv_len)
    mm = _linears(shape, 1)
    mm[-1:-1] = _attention(shape, 1, kv_len, attention, "decode")
    vec = _vector_ops(shape, 1, kv_len) if vector_ops else []
    return Pass("decode", 1, kv_len, tuple(mm), tuple(vec))
