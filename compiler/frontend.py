"""Front end: ``torch.export`` a causal LM and lift the ATen graph into the LLM IR (:mod:`.ir`).

Two sources, one lifter (:mod:`.frontend_lift`):

* :func:`from_golden`: the golden LLM (``golden.llm.LlamaModel``) through its ``nn.Module`` view
  ``golden.llm.export.ExportView``, whose forward is the golden decoder itself with float
  numerics. There are no submodules to recognise: linears, the embedding, RMSNorm, RoPE and
  attention are recognised on the dataflow (:mod:`.frontend_patterns`). One decoder layer is
  traced and repeated (:mod:`.frontend_layers`), unless ``whole=True``.
* :func:`from_hf`: a transformers ``LlamaForCausalLM``; nodes inside ``nn.Embedding``,
  ``nn.Linear``, ``*RMSNorm`` and SiLU modules collapse into one op each (:mod:`.frontend_leaf`),
  the rest (RoPE, GQA, ``scaled_dot_product_attention``) is recognised on the dataflow.

Values are classified as activations, auxiliaries (positions, tables, masks), parameters or
pattern intermediates (:mod:`.frontend_values`); layout ops pass an activation through. Any op
that touches an activation and is not recognised stops compilation with the node's name and
target (:class:`~.ir.CompileError`). Shape-only models (no weights) get their IR from
:mod:`.llama_ir`, which tests check op by op against both front-end routes.
"""
from __future__ import annotations

from ..golden.llm.config import LlamaConfig
from .frontend_layers import repeat_layer
from .frontend_lift import Lifter
from .ir import Graph

__all__ = ["dims_from_hf", "from_golden", "from_hf", "lift"]


def dims_from_hf(config) -> LlamaConfig:
    """LlamaConfig from a transformers LlamaConfig (read, and refused field by field, as the golden
    model reads config.json: golden.llm.hf_config)."""
    from ..golden.llm.hf_config import llama_config
    from .llama_ir import dims_from_golden
    name = getattr(config, "name_or_path", "") or config.model_type
    return dims_from_golden(llama_config(config.to_dict(), name, f"model {name}"))


def lift(exported, dims: LlamaConfig, prefix: str = "") -> Graph:
    """Lift a ``torch.export.ExportedProgram`` into the IR (parameter names lose ``prefix``)."""
    return Lifter(exported, dims, prefix).run()


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


def from_golden(model, example_len: int = 8, whole: bool = False) -> Graph:
    """Export a golden.llm ``LlamaModel`` (golden.llm.export) and lift it. By default only the
    first decoder layer is traced and repeated for the others (:mod:`.frontend_layers`; the
    golden decoder runs one loop body for every layer); ``whole=True`` traces every layer."""
    from ..golden.llm import export
    from .llama_ir import dims_from_golden
    dims = dims_from_golden(model.config)
    layers = None if whole else 1
    graph = lift(export.export(model, example_len, layers), dims)
    if whole or dims.layers == 1:
        return graph
    shapes = {name.removesuffix(".weight"): tuple(w.shape) for name, w in model.weights.items()}
    shapes["lm_head"] = tuple(model.linear_weight("lm_head").shape)
    return repeat_layer(graph, dims, shapes)
