"""Front end: ``torch.export`` a causal LM and lift the ATen graph into the LLM IR (:mod:`.ir`).

Lifting works on the exported graph's dataflow, with two aids:

* **Leaf modules** (from each node's ``nn_module_stack``): every node executed inside an
  ``nn.Embedding``, ``nn.Linear``, ``*RMSNorm`` or SiLU activation module collapses into one IR op
  whose inputs are the module's activation inputs and whose weight is the module's parameter.
* **Value classes** for the remaining nodes: ``Act`` (depends on the token ids through the
  network), ``Aux`` (depends only on constants and buffers: positions, RoPE tables, masks),
  ``Param``, and ``Part`` (an intermediate of a recognised pattern, only legal inside it).
  Layout ops (view, transpose, expand, ...) pass an ``Act`` through unchanged: IR activations are
  ``[T, features]`` and the attention ops carry the head layout, which is checked against the
  traced shapes at ``scaled_dot_product_attention``. RoPE is recognised as
  ``x * cos + cat(-x[..., d/2:], x[..., :d/2]) * sin``.

Any op that touches an activation and is not recognised stops compilation with the node's name
and target (:class:`~.ir.CompileError`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .ir import CompileError, Graph, ModelDims, Op

_LAYOUT = {"view", "reshape", "_unsafe_view", "transpose", "unsqueeze", "expand", "contiguous",
           "clone", "alias", "to", "_to_copy", "permute", "squeeze", "dropout", "detach"}
_IGNORED = {"_assert_tensor_metadata", "_assert_scalar", "sym_constrain_range_for_size"}


@dataclass(frozen=True)
class Act:
    value: str                 # IR value name


@dataclass(frozen=True)
class Aux:
    pass


@dataclass(frozen=True)
class Param:
    name: str                  # parameter path without the trailing ".weight"


@dataclass(frozen=True)
class Part:
    pattern: str               # "slice_lo", "slice_hi", "neg_hi", "rot_half", "x_cos", "rot_sin"
    value: str


def _leaf_kind(module_type: str) -> str | None:
    cls = module_type.rsplit(".", 1)[-1]
    if cls == "Embedding":
        return "embedding"
    if cls == "Linear":
        return "linear"
    if cls.endswith("RMSNorm"):
        return "rmsnorm"
    if cls in ("SiLU", "SiLUActivation"):
        return "silu"
    return None


def _op_name(node) -> str:
    target = node.target
    name = getattr(target, "__name__", str(target))
    return name.split(".")[0]


def _leaf(node) -> tuple[str, str] | None:
    """(module path, kind) of the innermost recognised leaf module executing ``node``."""
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return None
    path, mtype = list(stack.values())[-1]
    kind = _leaf_kind(mtype if isinstance(mtype, str) else getattr(mtype, "__name__", ""))
    return (path, kind) if kind else None


class _Lifter:
    def __init__(self, ep, dims: ModelDims, prefix: str) -> None:
        self.ep, self.dims, self.prefix = ep, dims, prefix
        self.ops: list[Op] = []
        self.env: dict[str, Any] = {}
        self.params: dict[str, tuple[int, ...]] = {}
        self.layer_of_value: dict[str, int] = {}

    # -- helpers ----------------------------------------------------------------------------
    def _param_name(self, target: str) -> str:
        name = target[len(self.prefix):] if target.startswith(self.prefix) else target
        return name.removesuffix(".weight")

    def _emit(self, kind: str, inputs: tuple[str, ...], node, **attrs) -> Act:
        out = node.name if isinstance(node.name, str) else str(node)
        self.ops.append(Op(kind, inputs, out, attrs, node=node.name))
        return Act(out)

    def _fail(self, node, why: str = "unsupported op in the LLM IR") -> CompileError:
        return CompileError(f"node '{node.name}' ({node.target}): {why}")

    def _get(self, arg):
        if hasattr(arg, "name") and hasattr(arg, "op"):
            return self.env.get(arg.name, Aux())
        if isinstance(arg, (list, tuple)):
            return [self._get(a) for a in arg]
        return Aux()

    # -- main loop --------------------------------------------------------------------------
    def run(self) -> Graph:
        sig = self.ep.graph_signature
        params = dict(sig.inputs_to_parameters)
        state = self.ep.state_dict
        nodes = list(self.ep.graph.nodes)
        groups = self._leaf_groups(nodes)
        done: set[str] = set()
        output = None
        for node in nodes:
            if node.name in done:
                continue
            if node.op == "placeholder":
                if node.name in params:
                    target = params[node.name]
                    self.env[node.name] = Param(self._param_name(target))
                    self.params[self._param_name(target)] = tuple(state[target].shape)
                elif node.name in sig.user_inputs:
                    self.env[node.name] = Act("ids")
                else:
                    self.env[node.name] = Aux()
            elif node.op == "output":
                output = self._get(node.args[0][0] if isinstance(node.args[0], (list, tuple))
                                   else node.args[0])
            elif node.name in groups:
                path, kind, members = groups[node.name]
                self._lift_leaf(path, kind, members)
                done.update(m.name for m in members)
            else:
                self.env[node.name] = self._lift_node(node)
        if not isinstance(output, Act):
            raise CompileError("graph output does not depend on the input ids")
        graph = Graph(self.dims, self.ops, self.params, "ids", output.value)
        graph.validate()
        return graph

    def _leaf_groups(self, nodes) -> dict[str, tuple[str, str, list]]:
        """First node name -> (module path, kind, member nodes) for each leaf-module call."""
        groups: dict[str, tuple[str, str, list]] = {}
        current_key, current = None, None
        for node in nodes:
            leaf = _leaf(node) if node.op == "call_function" else None
            if leaf is None:
                current_key = None
                continue
            if leaf != current_key:
                current_key = leaf
                current = (leaf[0], leaf[1], [])
                groups[node.name] = current
            current[2].append(node)
        return groups

    def _lift_leaf(self, path: str, kind: str, members: list) -> None:
        names = {m.name for m in members}
        acts, weights = [], []
        for m in members:
            for arg in m.all_input_nodes:
                if arg.name in names:
                    continue
                val = self.env.get(arg.name, Aux())
                if isinstance(val, Act) and val not in acts:
                    acts.append(val)
                elif isinstance(val, Param) and val not in weights:
                    weights.append(val)
                elif isinstance(val, Part):
                    raise self._fail(m, "pattern intermediate enters a module")
        # casts of the module input (HF RMSNorm's `.to(float32)`) may be reused outside the
        # module (the residual reads it): they are the input itself
        passthrough = set()
        for m in members:
            if _op_name(m) in _LAYOUT and m.args and getattr(m.args[0], "name", None) is not None:
                src = m.args[0].name
                val = self.env.get(src) if src not in names else self.env.get(src, None)
                if isinstance(val, Act) and (src not in names or src in passthrough):
                    self.env[m.name] = val
                    passthrough.add(m.name)
            elif _op_name(m) in _IGNORED:
                passthrough.add(m.name)
        outs = [m for m in members if m.name not in passthrough
                and any(u.name not in names for u in m.users)]
        last = outs[-1] if outs else members[-1]
        if len(acts) != 1 or len(outs) != 1:
            raise self._fail(last, f"{kind} module '{path}' has {len(acts)} activation inputs "
                                   f"and {len(outs)} outputs (expected 1 and 1)")
        attrs: dict[str, Any] = {}
        if kind != "silu":
            if len(weights) != 1:
                raise self._fail(last, f"{kind} module '{path}' needs exactly one weight "
                                       f"(bias is not supported), found {len(weights)}")
            attrs["weight"] = weights[0].name
            shape = self.params[weights[0].name]
            if kind == "linear":
                attrs.update(out_features=shape[0], in_features=shape[1])
            elif kind == "embedding":
                attrs.update(vocab=shape[0], hidden=shape[1])
            else:
                attrs["eps"] = self.dims.norm_eps
        self.env[last.name] = self._emit(kind, (acts[0].value,), last, **attrs)

    def _lift_node(self, node):
        if node.op != "call_function":
            raise self._fail(node, f"unsupported node kind {node.op}")
        op = _op_name(node)
        args = [self._get(a) for a in node.args]
        flat = [a for x in args for a in (x if isinstance(x, list) else [x])]
        if not any(isinstance(a, (Act, Part)) for a in flat):
            return Aux()
        if op in _IGNORED:
            return Aux()
        if op in _LAYOUT and isinstance(args[0], Act):
            return args[0]
        if op == "getitem" and isinstance(args[0], Act):
            return args[0]
        handler = getattr(self, f"_op_{op}", None)
        if handler is None:
            raise self._fail(node)
        result = handler(node, args)
        if result is None:
            raise self._fail(node, "operands do not match a supported LLM pattern")
        return result

    # -- recognised ops ---------------------------------------------------------------------
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
        x = args[0]
        return Part("neg_hi", x.value) if isinstance(x, Part) and x.pattern == "slice_hi" else None

    def _op_cat(self, node, args):
        parts = args[0]
        if (len(parts) == 2 and isinstance(parts[0], Part) and isinstance(parts[1], Part)
                and parts[0].pattern == "neg_hi" and parts[1].pattern == "slice_lo"
                and parts[0].value == parts[1].value):
            return Part("rot_half", parts[0].value)
        return None

    def _op_mul(self, node, args):
        a, b = args[0], args[1]
        if isinstance(a, Act) and isinstance(b, Act):
            return self._emit("mul", (a.value, b.value), node)
        x, other = (a, b) if isinstance(b, Aux) else (b, a)
        if isinstance(other, Aux) and isinstance(x, Act):
            return Part("x_cos", x.value)
        if isinstance(other, Aux) and isinstance(x, Part) and x.pattern == "rot_half":
            return Part("rot_sin", x.value)
        return None

    def _op_add(self, node, args):
        a, b = args[0], args[1]
        if isinstance(a, Act) and isinstance(b, Act):
            return self._emit("add", (a.value, b.value), node, residual=True)
        if (isinstance(a, Part) and isinstance(b, Part) and {a.pattern, b.pattern} ==
                {"x_cos", "rot_sin"} and a.value == b.value):
            heads = self._heads_of(node)
            return self._emit("rope", (a.value,), node, heads=heads,
                              head_dim=self.dims.head_dim, theta=self.dims.rope_theta)
        return None

    def _op_silu(self, node, args):
        return self._emit("silu", (args[0].value,), node) if isinstance(args[0], Act) else None

    def _heads_of(self, node) -> int:
        val = node.meta.get("val")
        shape = tuple(getattr(val, "shape", ()))
        if len(shape) != 4 or shape[-1] != self.dims.head_dim:
            raise self._fail(node, f"expected a [batch, heads, tokens, {self.dims.head_dim}] "
                                   f"tensor, traced shape {shape}")
        return int(shape[1])

    def _layer(self, node) -> int:
        stack = node.meta.get("nn_module_stack") or {}
        for path, _ in reversed(list(stack.values())):
            parts = path.split(".")
            if "layers" in parts:
                return int(parts[parts.index("layers") + 1])
        raise self._fail(node, "attention outside a decoder layer (no 'layers.N' module)")

    def _op_scaled_dot_product_attention(self, node, args):
        q, k, v = args[:3]
        if not all(isinstance(t, Act) for t in (q, k, v)):
            return None
        for arg in node.args[:3]:
            self._heads_of(arg)
        if len(node.args) > 3 and isinstance(args[3], (Act, Part)):
            raise self._fail(node, "attention mask depends on activations")
        heads, d = self.dims.heads, self.dims.head_dim
        scale = node.kwargs.get("scale") or 1.0 / math.sqrt(d)
        layer = self._layer(node)
        base = node.name
        kc = Op("kv_append", (k.value,), f"{base}_kcache", {"layer": layer, "which": "k"}, base)
        vc = Op("kv_append", (v.value,), f"{base}_vcache", {"layer": layer, "which": "v"}, base)
        hd = {"heads": heads, "kv_heads": self.dims.kv_heads, "head_dim": d}
        self.ops += [kc, vc,
                     Op("attn_score", (q.value, kc.output), f"{base}_score",
                        {**hd, "scale": float(scale)}, base),
                     Op("softmax", (f"{base}_score",), f"{base}_probs", {"causal": True}, base),
                     Op("attn_value", (f"{base}_probs", vc.output), base, hd, base)]
        return Act(base)


def dims_from_hf(config) -> ModelDims:
    """ModelDims from a transformers LlamaConfig."""
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    theta = getattr(config, "rope_theta", None)
    if theta is None:
        theta = (getattr(config, "rope_parameters", None) or {}).get("rope_theta", 10000.0)
    return ModelDims(
        name=getattr(config, "name_or_path", "") or config.model_type, layers=config.num_hidden_layers,
        hidden=config.hidden_size, heads=config.num_attention_heads,
        kv_heads=config.num_key_value_heads, head_dim=head_dim,
        intermediate=config.intermediate_size, vocab=config.vocab_size,
        max_position=config.max_position_embeddings, rope_theta=float(theta),
        norm_eps=float(config.rms_norm_eps))


def lift(exported, dims: ModelDims, prefix: str = "") -> Graph:
    """Lift a ``torch.export.ExportedProgram`` into the IR (parameter names lose ``prefix``)."""
    return _Lifter(exported, dims, prefix).run()


def from_hf(model, example_len: int = 8) -> Graph:
    """Export a transformers ``LlamaForCausalLM`` (through a logits-only wrapper) and lift it."""
    import torch

    class _Logits(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, ids):
            return self.m(input_ids=ids, use_cache=False).logits

    ids = torch.zeros(1, example_len, dtype=torch.long)
    exported = torch.export.export(_Logits(model.eval()), (ids,))
    return lift(exported, dims_from_hf(model.config), prefix="m.")
