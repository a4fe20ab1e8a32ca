"""Dataflow patterns the front end recognises, one handler per ATen op: ``_op_<name>(node, args)``
gets the node and its operands' values (:mod:`.frontend_values`) and returns the node's value, or
None when the operands match no supported pattern (the lifter then stops with the node's name).

* weighted ops on a ``Param``: ``linear(x, W)`` (no bias), ``embedding(W, ids)``;
* RMSNorm: ``g * (x * rsqrt(mean(x**2, -1, keepdim) + eps))``;
* RoPE: ``x * cos + cat(-x[..., d/2:], x[..., :d/2]) * sin`` (cos/sin are ``Aux``);
* attention: ``scaled_dot_product_attention(q, k, v)`` or
  ``matmul(softmax(masked_fill(matmul(q, k^T) / c, ~causal, -inf)), v)``, with GQA expansion by
  ``repeat_interleave`` (golden) or ``expand`` + ``reshape`` (transformers' ``repeat_kv``, a layout
  op); both become ``kv_append`` x2, ``attn_score``, ``softmax``, ``attn_value``;
* ``silu``, and ``mul``/``add`` of two activations (``add`` is the residual).
"""
from __future__ import annotations

import math

from .ir import Op, rope_attrs
from .frontend_values import Act, Aux, Param, Part


def _is(value, pattern: str) -> bool:
    return isinstance(value, Part) and value.pattern == pattern


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


class Patterns:
    """Lifter mixin; uses ``self.dims``, ``self.params``, ``self._emit``, ``self._fail``."""

    # -- weighted ops -------------------------------------------------------------------------
    def _op_embedding(self, node, args):
        table, ids = args[0], args[1]
        if not (isinstance(table, Param) and isinstance(ids, Act)):
            return None
        return self._emit("embedding", (ids.value,), node, **self._weight_attrs("embedding",
                                                                                  table.name))

    def _op_linear(self, node, args):
        x, w = args[0], args[1]
        if len(node.args) > 2 and node.args[2] is not None:
            raise self._fail(node, "linear with a bias is not supported")
        if not (isinstance(x, Act) and isinstance(w, Param)):
            return None
        return self._emit("linear", (x.value,), node, **self._weight_attrs("linear", w.name))

    # -- RMSNorm ------------------------------------------------------------------------------
    def _op_pow(self, node, args):
        x = args[0]
        return Part("sq", x.value) if isinstance(x, Act) and node.args[1] == 2 else None

    def _op_mean(self, node, args):
        dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
        keep = node.args[2] if len(node.args) > 2 else node.kwargs.get("keepdim", False)
        rank = len(node.args[0].meta["val"].shape)
        if _is(args[0], "sq") and keep and list(dims or ()) in ([-1], [rank - 1]):
            return Part("mean", args[0].value)
        return None

    def _op_rsqrt(self, node, args):
        return Part("rstd", args[0].value, args[0].data) if _is(args[0], "ms_eps") else None

    # -- RoPE ---------------------------------------------------------------------------------
    def _op_slice(self, node, args):
        x = args[0]
        if not isinstance(x, Act):
            return None
        dim, start = node.args[1], node.args[2]
        end = node.args[3] if len(node.args) > 3 else None
        half = self.dims.head_dim // 2
        if dim not in (3, -1):
            return None
        if start == 0 and end == half:
            return Part("slice_lo", x.value)
        if start == half and (end is None or end >= self.dims.head_dim):
            return Part("slice_hi", x.value)
        return None

    def _op_neg(self, node, args):
        return Part("neg_hi", args[0].value) if _is(args[0], "slice_hi") else None

    def _op_cat(self, node, args):
        parts = args[0]
        if (len(parts) == 2 and _is(parts[0], "neg_hi") and _is(parts[1], "slice_lo")
                and parts[0].value == parts[1].value):
            return Part("rot_half", parts[0].value)
        return None

    # -- element-wise ops (shared by several patterns) ----------------------------------------
    def _op_mul(self, node, args):
        a, b = args[0], args[1]
        if isinstance(a, Act) and isinstance(b, Act):
            return self._emit("mul", (a.value, b.value), node)
        for x, other in ((a, b), (b, a)):
            if isinstance(other, Aux) and isinstance(x, Act):
                return Part("x_cos", x.value)
            if isinstance(other, Aux) and _is(x, "rot_half"):
                return Part("rot_sin", x.value)
            if isinstance(other, Act) and _is(x, "rstd") and x.value == other.value:
                return Part("normed", x.value, x.data)
            if isinstance(other, Param) and _is(x, "normed"):
                return self._emit("rmsnorm", (x.value,), node,
                                  **self._weight_attrs("rmsnorm", other.name), eps=float(x.data))
        return None

    def _op_add(self, node, args):
        a, b = args[0], args[1]
        if isinstance(a, Act) and isinstance(b, Act):
            return self._emit("add", (a.value, b.value), node, residual=True)
        if (isinstance(a, Part) and isinstance(b, Part) and {a.pattern, b.pattern} ==
                {"x_cos", "rot_sin"} and a.value == b.value):
            heads = self._heads_of(node)
            return self._emit("rope", (a.value,), node, heads=heads,
                              head_dim=self.dims.head_dim, **rope_attrs(self.dims))
        if _is(a, "mean") and _number(node.args[1]) and not node.kwargs.get("alpha"):
            return Part("ms_eps", a.value, float(node.args[1]))
        return None

    def _op_silu(self, node, args):
        return self._emit("silu", (args[0].value,), node) if isinstance(args[0], Act) else None

    # -- attention ----------------------------------------------------------------------------
    def _heads_of(self, node) -> int:
        val = node.meta.get("val")
        shape = tuple(getattr(val, "shape", ()))
        if len(shape) != 4 or shape[-1] != self.dims.head_dim:
            raise self._fail(node, f"expected a [batch, heads, tokens, {self.dims.head_dim}] "
                                   f"tensor, traced shape {shape}")
        return int(shape[1])

    def _op_repeat_interleave(self, node, args):
        x, repeats = args[0], node.args[1] if len(node.args) > 1 else None
        dim = node.args[2] if len(node.args) > 2 else node.kwargs.get("dim")
        if isinstance(x, Act) and repeats == self.dims.gqa_group and dim == 1:
            return x                     # GQA expansion: kv_heads -> heads, in attn_* attrs
        return None

    def _op_matmul(self, node, args):
        a, b = args[0], args[1]
        if isinstance(a, Act) and isinstance(b, Act):
            self._heads_of(node.args[0])
            k_shape = tuple(node.args[1].meta["val"].shape)
            if len(k_shape) != 4 or k_shape[2] != self.dims.head_dim:
                raise self._fail(node, f"expected keys as [batch, heads, {self.dims.head_dim}, "
                                       f"keys], traced shape {k_shape}")
            return Part("score", a.value, b.value)
        if _is(a, "probs") and isinstance(b, Act):
            self._heads_of(node.args[1])
            q, (k, scale) = a.value, a.data
            return self._attention(node, q, k, b.value, scale)
        return None

    def _op_div(self, node, args):
        if _is(args[0], "score") and _number(node.args[1]):
            return Part("scaled", args[0].value, (args[0].data, 1.0 / node.args[1]))
        return None

    def _op_masked_fill(self, node, args):
        if _is(args[0], "scaled") and isinstance(args[1], Aux) and node.args[2] == -math.inf:
            return Part("masked", args[0].value, args[0].data)
        return None

    def _op_softmax(self, node, args):
        if _is(args[0], "masked") and node.args[1] in (-1, 3):
            return Part("probs", args[0].value, args[0].data)
        return None

    def _op_scaled_dot_product_attention(self, node, args):
        q, k, v = args[:3]
        if not all(isinstance(t, Act) for t in (q, k, v)):
            return None
        for arg in node.args[:3]:
            self._heads_of(arg)
        if len(node.args) > 3 and isinstance(args[3], (Act, Part)):
            raise self._fail(node, "attention mask depends on activations")
        scale = node.kwargs.get("scale") or 1.0 / math.sqrt(self.dims.head_dim)
        return self._attention(node, q.value, k.value, v.value, float(scale))

    def _attention(self, node, q: str, k: str, v: str, scale: float) -> Act:
        """Causal attention of layer ``self.layers_seen`` (layers run in order)."""
        layer, base = self.layers_seen, node.name
        self.layers_seen += 1
        kc = Op("kv_append", (k,), f"{base}_kcache", {"layer": layer, "which": "k"}, base)
        vc = Op("kv_append", (v,), f"{base}_vcache", {"layer": layer, "which": "v"}, base)
        hd = {"heads": self.dims.heads, "kv_heads": self.dims.kv_heads,
              "head_dim": self.dims.head_dim}
        self.ops += [kc, vc,
                     Op("attn_score", (q, kc.output), f"{base}_score", {**hd, "scale": scale},
                        base),
                     Op("softmax", (f"{base}_score",), f"{base}_probs", {"causal": True}, base),
                     Op("attn_value", (f"{base}_probs", vc.output), base, hd, base)]
        return Act(base)
