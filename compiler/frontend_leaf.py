"""Leaf-module recognition: in a graph exported from an ``nn.Module`` network (transformers'
LlamaForCausalLM), every node executed inside an ``nn.Embedding``, ``nn.Linear``, ``*RMSNorm`` or
SiLU activation module (read from the node's ``nn_module_stack``) collapses into one IR op whose
input is the module's activation input and whose weight is the module's parameter."""
from __future__ import annotations

from typing import Any

from .frontend_values import IGNORED, LAYOUT, Act, Aux, Param, Part, op_name


def leaf_kind(module_type: str) -> str | None:
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


def leaf(node) -> tuple[str, str] | None:
    """(module path, kind) of the innermost recognised leaf module executing ``node``."""
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return None
    path, mtype = list(stack.values())[-1]
    kind = leaf_kind(mtype if isinstance(mtype, str) else getattr(mtype, "__name__", ""))
    return (path, kind) if kind else None


def leaf_groups(nodes) -> dict[str, tuple[str, str, list]]:
    """First node name -> (module path, kind, member nodes) for each leaf-module call."""
    groups: dict[str, tuple[str, str, list]] = {}
    current_key, current = None, None
    for node in nodes:
        found = leaf(node) if node.op == "call_function" else None
        if found is None:
            current_key = None
            continue
        if found != current_key:
            current_key = found
            current = (found[0], found[1], [])
            groups[node.name] = current
        current[2].append(node)
    return groups


class LeafModules:
    """Lifter mixin: one IR op per leaf-module call."""

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
            if op_name(m) in LAYOUT and m.args and getattr(m.args[0], "name", None) is not None:
                src = m.args[0].name
                val = self.env.get(src) if src not in names else self.env.get(src, None)
                if isinstance(val, Act) and (src not in names or src in passthrough):
                    self.env[m.name] = val
                    passthrough.add(m.name)
            elif op_name(m) in IGNORED:
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
            attrs = self._weight_attrs(kind, weights[0].name)
            if kind == "rmsnorm":
                attrs["eps"] = self.dims.norm_eps
        self.env[last.name] = self._emit(kind, (acts[0].value,), last, **attrs)
