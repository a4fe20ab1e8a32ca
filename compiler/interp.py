"""Reference interpreter of the IR (float32), with a KV cache for prefill and decode.

It is the first verification rung for the compiler (design.md ladder, rung 3): the IR the front
end lifts must compute what the PyTorch model computes. Numerics follow Hugging Face's LLaMA op
for op (RMSNorm in float32, RoPE tables from :func:`golden.llm.float_numerics.rope_tables`,
softmax in float32); attention is computed as its three IR ops (score, softmax, value) rather than
a fused kernel.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ..golden.llm.float_numerics import rope_tables, rotate_half
from .ir import CompileError, Graph, Op


@dataclass
class KV:
    """Per (layer, "k"/"v") the cached rows [S, kv_heads * head_dim]."""
    rows: dict[tuple[int, str], torch.Tensor] = field(default_factory=dict)

    def length(self) -> int:
        return next(iter(self.rows.values())).shape[0] if self.rows else 0


def _heads(x: torch.Tensor, heads: int, head_dim: int) -> torch.Tensor:
    """[T, H*d] -> [H, T, d]"""
    return x.view(x.shape[0], heads, head_dim).transpose(0, 1)


def _merge(x: torch.Tensor) -> torch.Tensor:
    """[H, T, d] -> [T, H*d]"""
    return x.transpose(0, 1).reshape(x.shape[1], -1)


class Interpreter:
    """Runs a :class:`Graph` on float32 weights (dict: weight name -> tensor)."""

    def __init__(self, graph: Graph, weights: dict[str, torch.Tensor]) -> None:
        graph.validate()
        missing = [op.weight for op in graph.ops if op.weight and op.weight not in weights]
        if missing:
            raise CompileError(f"no tensor for weight '{missing[0]}'")
        self.graph, self.weights = graph, weights

    @torch.no_grad()
    def run(self, ids: torch.Tensor, cache: KV | None = None) -> torch.Tensor:
        """Logits [T, vocab] for token ids [T]; appends to ``cache`` (a fresh one if None)."""
        cache = cache if cache is not None else KV()
        start = cache.length()
        env: dict[str, torch.Tensor] = {self.graph.input: ids.reshape(-1).long()}
        for op in self.graph.ops:
            args = [env[name] for name in op.inputs]
            env[op.output] = getattr(self, f"_{op.kind}")(op, args, start, cache)
        return env[self.graph.output]

    def _w(self, op: Op) -> torch.Tensor:
        return self.weights[op.weight]

    def _embedding(self, op, args, start, cache):
        return F.embedding(args[0], self._w(op))

    def _linear(self, op, args, start, cache):
        return F.linear(args[0], self._w(op))

    def _rmsnorm(self, op, args, start, cache):
        x = args[0].float()
        var = x.pow(2).mean(-1, keepdim=True)
        return self._w(op) * (x * torch.rsqrt(var + op.attrs["eps"]))

    def _rope(self, op, args, start, cache):
        x = args[0]
        d = op.attrs["head_dim"]
        cos, sin = rope_tables(torch.arange(start, start + x.shape[0]), d, op.attrs["theta"],
                               op.attrs.get("scaling"))
        h = _heads(x, op.attrs["heads"], d)
        return _merge(h * cos + rotate_half(h) * sin)

    def _kv_append(self, op, args, start, cache):
        key = (op.attrs["layer"], op.attrs["which"])
        old = cache.rows.get(key)
        cache.rows[key] = args[0] if old is None else torch.cat((old, args[0]), 0)
        return cache.rows[key]

    def _expand_kv(self, op, t: torch.Tensor) -> torch.Tensor:
        a = op.attrs
        return _heads(t, a["kv_heads"], a["head_dim"]).repeat_interleave(
            a["heads"] // a["kv_heads"], dim=0)

    def _attn_score(self, op, args, start, cache):
        q = _heads(args[0], op.attrs["heads"], op.attrs["head_dim"])
        return torch.matmul(q, self._expand_kv(op, args[1]).transpose(-1, -2)) * op.attrs["scale"]

    def _softmax(self, op, args, start, cache):
        s = args[0]
        if op.attrs.get("causal", True):
            t, k = s.shape[-2], s.shape[-1]
            keep = torch.arange(k)[None, :] <= (torch.arange(t)[:, None] + k - t)
            s = s.masked_fill(~keep, float("-inf"))
        return torch.softmax(s.float(), dim=-1)

    def _attn_value(self, op, args, start, cache):
        return _merge(torch.matmul(args[0], self._expand_kv(op, args[1])))

    def _silu(self, op, args, start, cache):
        return F.silu(args[0])

    def _mul(self, op, args, start, cache):
        return args[0] * args[1]

    def _add(self, op, args, start, cache):
        return args[0] + args[1]


def hf_weights(model) -> dict[str, torch.Tensor]:
    """IR weight name -> float32 tensor from a transformers model's state dict."""
    out = {}
    for name, tensor in model.state_dict().items():
        if name.endswith(".weight"):
            out[name.removesuffix(".weight")] = tensor.detach().float()
    if "lm_head" not in out and "model.embed_tokens" in out:
        out["lm_head"] = out["model.embed_tokens"]
    return out
