"""The lifting loop: walk an exported graph in order, give each node a value
(:mod:`.frontend_values`) and emit IR ops for leaf-module calls (:mod:`.frontend_leaf`) and
recognised dataflow patterns (:mod:`.frontend_patterns`)."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..golden.llm.config import LlamaConfig
from .frontend_leaf import LeafModules, leaf_groups
from .frontend_patterns import Patterns
from .frontend_values import IGNORED, LAYOUT, Act, Aux, Param, Part, op_name
from .ir import CompileError, Graph, Op


class Lifter(LeafModules, Patterns):
    def __init__(self, ep, dims: LlamaConfig, prefix: str) -> None:
        self.ep, self.dims, self.prefix = ep, dims, prefix
        self.ops: list[Op] = []
        self.env: dict[str, Any] = {}
        self.params: dict[str, tuple[int, ...]] = {}
        self.storage: dict[str, int] = {}
        self.layers_seen = 0

    def _param_name(self, target: str) -> str:
        name = target[len(self.prefix):] if target.startswith(self.prefix) else target
        return name.removesuffix(".weight")

    def _weight_attrs(self, kind: str, weight: str) -> dict[str, Any]:
        shape = self.params[weight]
        if kind == "linear":
            return {"weight": weight, "out_features": shape[0], "in_features": shape[1]}
        if kind == "embedding":
            return {"weight": weight, "vocab": shape[0], "hidden": shape[1]}
        return {"weight": weight}

    def _emit(self, kind: str, inputs: tuple[str, ...], node, **attrs) -> Act:
        op = Op(kind, inputs, node.name, attrs, node=node.name)
        if kind == "silu":
            # directly after its producer (the gate projection): golden's swiglu(gate, up)
            # traces the up projection first; the IR keeps one order for every source
            # (transformers, llama_ir), and codegen fuses the SiLU into the following mul
            at = next(i for i, o in enumerate(self.ops) if o.output == inputs[0]) + 1
            self.ops.insert(at, op)
        else:
            self.ops.append(op)
        return Act(op.output)

    def _fail(self, node, why: str = "unsupported op in the LLM IR") -> CompileError:
        return CompileError(f"node '{node.name}' ({node.target}): {why}")

    def _get(self, arg):
        if hasattr(arg, "name") and hasattr(arg, "op"):
            return self.env.get(arg.name, Aux())
        if isinstance(arg, (list, tuple)):
            return [self._get(a) for a in arg]
        return Aux()

    def run(self) -> Graph:
        sig = self.ep.graph_signature
        params = dict(sig.inputs_to_parameters)
        state = self.ep.state_dict
        nodes = list(self.ep.graph.nodes)
        groups = leaf_groups(nodes)
        done: set[str] = set()
        output = None
        for node in nodes:
            if node.name in done:
                continue
            if node.op == "placeholder":
                if node.name in params:
                    target = params[node.name]
                    self.env[node.name] = Param(self._param_name(target))
                    name = self._param_name(target)
                    self.params[name] = tuple(state[target].shape)
                    self.storage[name] = state[target].untyped_storage().data_ptr()
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
        # a tied table is one tensor under two names, and the graph may read either name
        used = {self.storage[op.weight] for op in self.ops if op.weight}
        unused = [name for name in self.params if self.storage[name] not in used]
        if unused:
            raise CompileError(f"parameter '{unused[0]}' is not used by any IR op")
        graph = Graph(self.dims, stamp_layers(self.ops), self.params, "ids", output.value)
        graph.validate()
        return graph

    def _lift_node(self, node):
        if node.op != "call_function":
            raise self._fail(node, f"unsupported node kind {node.op}")
        op = op_name(node)
        args = [self._get(a) for a in node.args]
        flat = [a for x in args for a in (x if isinstance(x, list) else [x])]
        if not any(isinstance(a, (Act, Part)) for a in flat):
            return Aux()
        if op in IGNORED:
            return Aux()
        if op in LAYOUT and isinstance(args[0], Act):
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


LAYER_PREFIX = "model.layers."


def stamp_layers(ops: list[Op]) -> list[Op]:
    """Each op with the decoder layer it belongs to: the layer of the last weight read so far
    (``model.layers.{i}.*``), None outside the layers (embedding, final norm, head). The only place
    the compiler reads a layer out of a weight name; later passes use ``Op.layer``."""
    out, layer = [], None
    for op in ops:
        if op.weight:
            layer = (int(op.weight[len(LAYER_PREFIX):].split(".")[0])
                     if op.weight.startswith(LAYER_PREFIX) else None)
        out.append(replace(op, layer=layer))
    return out
