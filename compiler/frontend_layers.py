"""Repeat a traced decoder layer: the IR of an L-layer model from a graph traced with its first
layer only (golden.llm.export ``layers=1``).

The golden decoder runs the same loop body for every layer, so layer i's ops are layer 0's with
``model.layers.0.`` weights renamed to ``model.layers.i.``, the KV cache of layer i, and the
residual stream of layer i-1 as input. The layer body is located from the graph itself: the ops
from the first one that reads a layer-0 weight up to (not including) the first later op that
reads a weight outside layer 0; it must take exactly one value from before it and hand exactly
one value to what follows (the residual stream), otherwise the graph is not a stack of layers
and the model must be traced whole.
"""
from __future__ import annotations

from dataclasses import replace

from ..golden.llm.config import LlamaConfig
from .ir import CompileError, Graph, Op

LAYER0 = "model.layers.0."


def _layer_span(ops: list[Op]) -> tuple[int, int]:
    start = next((i for i, op in enumerate(ops) if (op.weight or "").startswith(LAYER0)), None)
    if start is None:
        raise CompileError("traced graph has no 'model.layers.0.' weights to repeat")
    # ops of the layer that precede its first weighted op (none in LLaMA) would be missed:
    # the single-input check below catches that
    end = next((i for i in range(start, len(ops))
                if ops[i].weight and not ops[i].weight.startswith(LAYER0)), len(ops))
    return start, end


def repeat_layer(graph: Graph, dims: LlamaConfig,
                 shapes: dict[str, tuple[int, ...]]) -> Graph:
    """``graph`` (one traced layer) -> the ``dims.layers``-layer graph. ``shapes`` maps every
    weight of the model (IR names) to its shape: each repeated weight must exist with layer 0's
    shape, and every model weight must end up in the graph."""
    ops = graph.ops
    start, end = _layer_span(ops)
    body = ops[start:end]
    inside = {op.output for op in body}
    entering = {v for op in body for v in op.inputs if v not in inside}
    leaving = {v for op in ops[end:] for v in op.inputs if v in inside}
    if graph.output in inside:
        leaving.add(graph.output)
    if len(entering) != 1 or len(leaving) != 1:
        raise CompileError(f"node '{body[0].node}': the traced layer reads {sorted(entering)} "
                           f"and hands on {sorted(leaving)}; expected one residual stream each")
    (x_in,), (x_out,) = entering, leaving
    out_ops, params = list(ops[:end]), dict(graph.params)
    x = x_out
    for layer in range(1, dims.layers):
        names = {v: f"L{layer}.{v}" for v in inside}
        names[x_in] = x
        for op in body:
            attrs = dict(op.attrs)
            if op.weight and op.weight.startswith(LAYER0):
                attrs["weight"] = f"model.layers.{layer}.{op.weight[len(LAYER0):]}"
                want = shapes.get(attrs["weight"])
                if want != graph.params[op.weight]:
                    raise CompileError(f"node '{op.node}': layer {layer} weight "
                                       f"'{attrs['weight']}' has shape {want}, layer 0's "
                                       f"{graph.params[op.weight]}")
                params[attrs["weight"]] = want
            if op.kind == "kv_append":
                attrs["layer"] = layer
            out_ops.append(replace(op, inputs=tuple(names[v] for v in op.inputs),
                                   output=names[op.output], attrs=attrs, layer=layer))
        x = names[x_out]
    for op in ops[end:]:
        out_ops.append(replace(op, inputs=tuple(x if v == x_out else v for v in op.inputs)))
    missing = sorted(set(shapes) - set(params))
    if missing:
        raise CompileError(f"model weight '{missing[0]}' is not used by the traced graph")
    output = x if graph.output == x_out else graph.output
    result = Graph(dims, out_ops, params, graph.input, output)
    result.validate()
    return result
