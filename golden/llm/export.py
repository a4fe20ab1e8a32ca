"""The golden LLM as an ``nn.Module`` for ``torch.export`` (the compiler's front end traces it).

:class:`ExportView` holds a :class:`~.model.LlamaModel`'s weights as parameters under their
Hugging Face paths (``model.layers.0.self_attn.q_proj.weight``; the tensors are shared, not
copied) and its ``forward`` runs the golden decoder itself, :meth:`LlamaModel.network` with
:class:`~.float_numerics.FloatNumerics`, over those parameters. The exported graph is therefore the
golden model's own op sequence, not a re-implementation of it.

A tied output head is exposed as its own ``lm_head.weight`` parameter (the same storage as the
embedding table) and the view's config is untied, so the traced head reads the parameter the
compiler's format policy names ``lm_head``; the arithmetic is unchanged.

``layers=N`` traces only the first N decoder layers (the loop body of ``network`` is the same code
for every layer, so a front end may trace one layer and repeat it: tracing SmolLM2's 30 layers
takes ~10 s, one layer well under 1 s).
"""
from __future__ import annotations


import torch

from ...base.errors import CompileError
from .float_numerics import FloatNumerics
from .model import LlamaModel


class ExportView(torch.nn.Module):
    """``forward(ids [B, S] int64) -> float32 logits [B, S, V]`` of the golden LLM (no KV cache)."""
    numerics = FloatNumerics          # the traced numerics (a subclass may trace other ops)

    def __init__(self, model: LlamaModel, layers: int | None = None) -> None:
        super().__init__()
        try:
            model = model.first_layers(model.config.layers if layers is None else layers)
        except ValueError as exc:
            raise CompileError(str(exc)) from None
        weights = dict(model.weights)
        if model.config.tied_embeddings:
            weights.setdefault("lm_head.weight", model.linear_weight("lm_head"))
        self.config = model.config.replace(tied_embeddings=False)
        for name, tensor in weights.items():
            *path, leaf = name.split(".")
            module = self
            for part in path:
                if not hasattr(module, part):
                    module.add_module(part, torch.nn.Module())
                module = getattr(module, part)
            module.register_parameter(leaf, torch.nn.Parameter(tensor, requires_grad=False))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        weights = dict(self.named_parameters(remove_duplicate=False))
        return LlamaModel(self.config, weights, self.numerics()).network(ids, None)


def export(model: LlamaModel, example_len: int = 8,
           layers: int | None = None) -> torch.export.ExportedProgram:
    """``torch.export`` of :class:`ExportView` (the first ``layers`` layers, default all) on
    ``example_len`` token ids (any ids: the graph does not depend on their values)."""
    ids = torch.zeros(1, example_len, dtype=torch.long)
    return torch.export.export(ExportView(model, layers), (ids,))
