"""Model sources for the compiler: an IR graph plus (optionally) weights and the golden model.

``load(spec)`` accepts

* ``tiny-llama``: a random transformers LlamaForCausalLM with GQA (2 layers, width 64, 4 query
  and 2 KV heads, vocab 256), lifted through ``torch.export`` by the front end;
* ``tiny-golden`` (or ``tiny-golden:LAYERS``): the same shapes as a golden.llm model with random
  weights (no transformers);
* anything ``golden.llm.load_model`` accepts (``smollm2``, a ``.gguf`` file, a Hugging Face
  folder, a shape-only config name such as ``llama2-7b``).

Golden models get their graph from ``torch.export`` of the golden decoder itself
(:func:`.frontend.from_golden`); with ``weights=False`` a shape-only config is read with
golden.model_shapes, nothing is materialized and the graph is built from its dimensions by
:mod:`.llama_ir` (programs and sizes only).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .ir import Graph


@dataclass
class ModelSource:
    name: str
    graph: Graph
    weights: dict[str, torch.Tensor] | None      # IR weight name -> float32 tensor
    golden: object | None                        # golden.llm.LlamaModel (float numerics)
    hf: object | None = None                     # the transformers model it came from, if any

    @property
    def embed_table(self) -> torch.Tensor:
        return self.weights["model.embed_tokens"]


def tiny_llama_hf(layers: int = 2, seed: int = 0, tied: bool = False):
    """The random tiny GQA LLaMA (transformers), built without any download."""
    from transformers import LlamaConfig, LlamaForCausalLM
    cfg = LlamaConfig(vocab_size=256, hidden_size=64, intermediate_size=128,
                      num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=512, tie_word_embeddings=tied)
    torch.manual_seed(seed)
    return LlamaForCausalLM(cfg).eval()


def tiny_golden(layers: int = 2, seed: int = 0):
    """The same tiny GQA LLaMA as :func:`tiny_llama_hf`, directly as a golden.llm model with
    random weights (no transformers import: fast, for CI)."""
    from ..golden.llm import LlamaConfig, LlamaModel
    cfg = LlamaConfig(name="tiny-golden", layers=layers, hidden=64, heads=4, kv_heads=2,
                      head_dim=16, intermediate=128, vocab=256, max_position=512,
                      rope_theta=10000.0, norm_eps=1e-6, tied_embeddings=False)
    gen = torch.Generator().manual_seed(seed)
    shapes = {"model.embed_tokens.weight": (256, 64), "model.norm.weight": (64,),
              "lm_head.weight": (256, 64)}
    for i in range(layers):
        p = f"model.layers.{i}"
        shapes.update({f"{p}.self_attn.q_proj.weight": (64, 64),
                       f"{p}.self_attn.k_proj.weight": (32, 64),
                       f"{p}.self_attn.v_proj.weight": (32, 64),
                       f"{p}.self_attn.o_proj.weight": (64, 64),
                       f"{p}.mlp.gate_proj.weight": (128, 64), f"{p}.mlp.up_proj.weight": (128, 64),
                       f"{p}.mlp.down_proj.weight": (64, 128),
                       f"{p}.input_layernorm.weight": (64,),
                       f"{p}.post_attention_layernorm.weight": (64,)})
    weights = {name: (1.0 + 0.1 * torch.randn(shape, generator=gen)) if len(shape) == 1
               else 0.05 * torch.randn(shape, generator=gen) for name, shape in shapes.items()}
    return LlamaModel(cfg, weights)


def golden_from_hf(model):
    """A golden.llm LlamaModel with the weights of a transformers LLaMA."""
    from ..golden.llm import LlamaModel
    from ..golden.llm.hf_config import llama_config
    name = getattr(model.config, "name_or_path", "") or "hf"
    cfg = llama_config(model.config.to_dict(), name, f"model {name}")
    weights = {k: v.detach().float() for k, v in model.state_dict().items()}
    return LlamaModel(cfg, weights)


def _ir_weights(golden) -> dict[str, torch.Tensor]:
    out = {k.removesuffix(".weight"): v for k, v in golden.weights.items()
           if k.endswith(".weight")}
    out["lm_head"] = golden.linear_weight("lm_head")
    return out


def from_golden(name: str, golden, weights: bool = True) -> ModelSource:
    """A golden.llm ``LlamaModel`` as a compiler source (graph from torch.export of it)."""
    from . import frontend
    return ModelSource(name, frontend.from_golden(golden),
                       _ir_weights(golden) if weights else None, golden)


def load(spec: str, weights: bool = True, seed: int = 0) -> ModelSource:
    from . import frontend, llama_ir
    if spec == "tiny-golden" or spec.startswith("tiny-golden:"):
        layers = int(spec.split(":")[1]) if ":" in spec else 2
        return from_golden(spec, tiny_golden(layers=layers, seed=seed), weights)
    if spec == "tiny-llama":
        from . import interp
        hf = tiny_llama_hf(seed=seed)
        return ModelSource(spec, frontend.from_hf(hf), interp.hf_weights(hf) if weights else None,
                           golden_from_hf(hf), hf)
    if not weights:
        from ..golden import model_shapes
        try:
            shape = model_shapes.load_shape(spec)
        except ValueError:
            shape = None
        if shape is not None:
            return ModelSource(spec, llama_ir.build(llama_ir.dims_from_shape(shape)), None, None)
    from ..golden.llm import load_model
    return from_golden(spec, load_model(spec, seed=seed), weights)
