"""Attention dimensions derived from head counts, for golden.model_shapes.ModelShape (the one
class of model dimensions; golden.llm.LlamaConfig is its LLaMA specialisation)."""
from __future__ import annotations


class AttentionDims:
    """Mixin for a class with ``heads``, ``kv_heads`` and ``head_dim`` attributes."""
    heads: int
    kv_heads: int
    head_dim: int

    @property
    def q_dim(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim

    @property
    def gqa_group(self) -> int:
        """Query heads that share one key-value head."""
        return self.heads // self.kv_heads
