"""A small IR of LLM operations: what the front end produces and the passes consume.

A :class:`Graph` is a list of :class:`Op` in execution order over named values. Activations are
2-D ``[T, features]`` (T = tokens of this step, unknown until a bucket is chosen); attention
scores are ``[heads, T, S]`` with ``S`` = cached + new positions. Weights are named by their
Hugging Face parameter path (``model.layers.0.self_attn.q_proj``), which is also what the format
policy matches.

Op kinds (inputs -> output; attributes):

=============  =====================================  ==========================================
kind           inputs                                 attributes
=============  =====================================  ==========================================
embedding      ids                                    weight, vocab, hidden
linear         x [T, K]                               weight, in_features, out_features
rmsnorm        x [T, D]                               weight (gain), eps
rope           x [T, H*d]                             heads, head_dim, theta, scaling (LLaMA-3
                                                      RoPE scaling, only when the model has it)
kv_append      x [T, KVH*d]                           layer, which ("k" or "v"); output is the
                                                      whole cache [S, KVH*d] after appending
attn_score     q [T, H*d], k [S, KVH*d]               heads, kv_heads, head_dim, scale
softmax        s [H, T, S]                            causal (query t sees keys <= start + t)
attn_value     p [H, T, S], v [S, KVH*d]              heads, kv_heads, head_dim
silu           x                                      -
mul            a, b                                   -
add            a, b                                   residual (bool)
=============  =====================================  ==========================================
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..base.errors import CompileError
from ..golden.llm.config import LlamaConfig

OP_KINDS: dict[str, int] = {       # kind -> number of value inputs
    "embedding": 1, "linear": 1, "rmsnorm": 1, "rope": 1, "kv_append": 1, "attn_score": 2,
    "softmax": 1, "attn_value": 2, "silu": 1, "mul": 2, "add": 2,
}
WEIGHTED = ("embedding", "linear", "rmsnorm")



@dataclass(frozen=True)
class Op:
    kind: str
    inputs: tuple[str, ...]
    output: str
    attrs: dict[str, Any] = field(default_factory=dict)
    node: str = ""          # source node (fx node name) for error messages
    layer: int | None = None  # decoder layer of the op, set by the front end (None: embed/head)

    def __post_init__(self) -> None:
        if self.kind not in OP_KINDS:
            raise CompileError(f"node '{self.node or self.output}': unknown IR op '{self.kind}'")
        if len(self.inputs) != OP_KINDS[self.kind]:
            raise CompileError(f"node '{self.node or self.output}': {self.kind} takes "
                               f"{OP_KINDS[self.kind]} inputs, got {len(self.inputs)}")
        if self.kind in WEIGHTED and "weight" not in self.attrs:
            raise CompileError(f"node '{self.node or self.output}': {self.kind} needs a weight")

    @property
    def weight(self) -> str | None:
        return self.attrs.get("weight")


def rope_attrs(dims: LlamaConfig) -> dict:
    """A rope op's theta, and its scaling only when there is one (so the graphs of unscaled
    models are what they were)."""
    scaling = {} if dims.rope_scaling is None else {"scaling": dims.rope_scaling}
    return {"theta": dims.rope_theta, **scaling}


@dataclass
class Graph:
    """Ops in execution order; ``params`` maps weight name -> shape (tensors live elsewhere)."""
    dims: LlamaConfig
    ops: list[Op]
    params: dict[str, tuple[int, ...]]
    input: str = "ids"
    output: str = ""

    def validate(self) -> None:
        """Every input defined before use, every weight known, the output produced."""
        defined = {self.input}
        for op in self.ops:
            for name in op.inputs:
                if name not in defined:
                    raise CompileError(f"node '{op.node or op.output}': {op.kind} reads "
                                       f"undefined value '{name}'")
            if op.weight is not None and op.weight not in self.params:
                raise CompileError(f"node '{op.node or op.output}': unknown weight "
                                   f"'{op.weight}'")
            if op.output in defined:
                raise CompileError(f"node '{op.node}': value '{op.output}' defined twice")
            defined.add(op.output)
        if self.output not in defined:
            raise CompileError(f"graph output '{self.output}' is never produced")

    def producers(self) -> dict[str, Op]:
        return {op.output: op for op in self.ops}

    def count(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for op in self.ops:
            out[op.kind] = out.get(op.kind, 0) + 1
        return out

    def text(self) -> str:
        """A readable listing (one op per line), used in docs and error reports."""
        lines = []
        for op in self.ops:
            attrs = " ".join(f"{k}={v}" for k, v in op.attrs.items())
            lines.append(f"{op.output} = {op.kind}({', '.join(op.inputs)}) {attrs}".rstrip())
        return "\n".join(lines + [f"return {self.output}"])


def weight_roles(graph: Graph) -> tuple[dict[str, int | None], dict[str, str]]:
    """Each weight's decoder layer (``Op.layer``) and its role there: the position of the op that
    reads it among its layer's weighted ops (``w0``, ``w1``...), the same in every layer, so the
    regions of one layer map one to one onto another's (relocation). Weights outside the layers
    keep their name as role."""
    layer_of: dict[str, int | None] = {}
    role_of: dict[str, str] = {}
    seen: dict[int | None, int] = {}
    for op in graph.ops:
        if op.weight and op.weight not in layer_of:
            layer_of[op.weight] = op.layer
            if op.layer is None:
                role_of[op.weight] = op.weight
            else:
                role_of[op.weight] = f"w{seen.setdefault(op.layer, 0)}"
                seen[op.layer] += 1
    return layer_of, role_of
