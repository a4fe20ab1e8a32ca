"""Dimensions and constants of a LLaMA-architecture decoder, whatever file it came from."""
from __future__ import annotations

from dataclasses import dataclass

from ...base.errors import ModelError
from ..dims import AttentionDims
from .rope_scaling import Llama3RopeScaling


@dataclass(frozen=True)
class LlamaConfig(AttentionDims):
    """Everything the forward pass needs besides the weights.

    ``rope_theta`` and ``norm_eps`` are kept exactly as the source stores them (GGUF stores the
    epsilon as float32, 9.999999747e-06 for SmolLM2) so that logits match the reference bit for bit
    as far as float32 allows.
    """
    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    max_position: int = 2048
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    tied_embeddings: bool = True
    bos_token_id: int | None = None
    eos_token_id: int | None = None
    rope_scaling: Llama3RopeScaling | None = None     # LLaMA-3 frequency scaling, or none

    def __post_init__(self):
        for field in ("layers", "hidden", "heads", "kv_heads", "head_dim", "intermediate", "vocab"):
            if getattr(self, field) <= 0:
                raise ModelError(f"model config {self.name}: {field} must be positive")
        if self.heads % self.kv_heads:
            raise ModelError(f"model config {self.name}: kv_heads {self.kv_heads} does not divide "
                             f"heads {self.heads}")
        if self.head_dim % 2:
            raise ModelError(f"model config {self.name}: head_dim {self.head_dim} must be even (RoPE)")

    def linear_names(self) -> list[str]:
        """Every linear layer in execution order, named as Hugging Face names the modules."""
        names = []
        for i in range(self.layers):
            p = f"model.layers.{i}"
            names += [f"{p}.self_attn.{n}" for n in ("q_proj", "k_proj", "v_proj", "o_proj")]
            names += [f"{p}.mlp.{n}" for n in ("gate_proj", "up_proj", "down_proj")]
        return names + ["lm_head"]
