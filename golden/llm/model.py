"""A LLaMA-architecture decoder in plain PyTorch: RMSNorm, RoPE, GQA, SwiGLU, tied embeddings.

``model(input_ids)`` returns float32 logits [B, S, V]. ``prefill`` / ``decode`` run with a
:class:`KVCache`; decoding token by token gives the same logits as recomputing the whole sequence
(to round-off). Every op goes through a *numerics* object (:mod:`.float_numerics` or
:mod:`.accel`), so the same code is the float reference and the accelerator golden model.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ...base.errors import ModelError
from .config import LlamaConfig
from .float_numerics import FloatNumerics, causal_mask


@dataclass
class KVCache:
    """Per layer, keys and values [B, kv_heads, T, head_dim] as the numerics stores them."""
    keys: list = field(default_factory=list)
    values: list = field(default_factory=list)

    @property
    def length(self) -> int:
        return 0 if not self.keys else self.keys[0].shape[2]

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor):
        if layer == len(self.keys):
            self.keys.append(k)
            self.values.append(v)
        else:
            self.keys[layer] = torch.cat((self.keys[layer], k), dim=2)
            self.values[layer] = torch.cat((self.values[layer], v), dim=2)
        return self.keys[layer], self.values[layer]


class LlamaModel:
    """Weights (HF names, float32) + config + numerics. Not an nn.Module: nothing is trained."""

    def __init__(self, config: LlamaConfig, weights: dict[str, torch.Tensor], numerics=None):
        self.config = config
        self.weights = weights
        self.numerics = numerics or FloatNumerics()

    def with_numerics(self, numerics) -> "LlamaModel":
        """The same weights computed with other numerics (weights are shared, not copied)."""
        return LlamaModel(self.config, self.weights, numerics)

    def first_layers(self, layers: int, vocab: int | None = None) -> "LlamaModel":
        """The model cut after its first ``layers`` decoder layers (embedding, final norm and
        head kept; tensors shared), and with ``vocab`` to the first ``vocab`` token rows of the
        embedding and the head: a real SmolLM2 layer for runs too slow for the whole model."""
        cfg = self.config
        vocab = cfg.vocab if vocab is None else vocab
        if not 0 < layers <= cfg.layers:
            raise ValueError(f"model {cfg.name}: cannot keep {layers} of {cfg.layers} layers")
        if not 0 < vocab <= cfg.vocab:
            raise ValueError(f"model {cfg.name}: cannot keep {vocab} of {cfg.vocab} tokens")
        weights = {name: w[:vocab] if name in ("model.embed_tokens.weight", "lm_head.weight")
                   else w for name, w in self.weights.items()
                   if not name.startswith("model.layers.") or int(name.split(".")[2]) < layers}
        return LlamaModel(cfg.replace(layers=layers, vocab=vocab), weights, self.numerics)

    def linear_weight(self, name: str) -> torch.Tensor:
        if name == "lm_head" and self.config.tied_embeddings:
            return self.weights["model.embed_tokens.weight"]
        return self.weights[name + ".weight"]

    @torch.no_grad()
    def __call__(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.forward(input_ids, None)

    @torch.no_grad()
    def prefill(self, input_ids: torch.Tensor, cache: KVCache | None = None):
        """(logits, cache) of a prompt; with ``cache`` the tokens continue it (a second turn:
        positions cache.length.., attending to the cached keys) and the cache grows."""
        cache = KVCache() if cache is None else cache
        return self.forward(input_ids, cache), cache

    @torch.no_grad()
    def decode(self, token_ids: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """Logits [B, 1, V] of one new token per sequence; ``cache`` grows by one position."""
        if token_ids.dim() == 1:
            token_ids = token_ids[:, None]
        return self.forward(token_ids, cache)

    def _check_ids(self, ids: torch.Tensor) -> torch.Tensor:
        if ids.dim() == 1:
            ids = ids[None, :]
        if ids.dim() != 2 or ids.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"input_ids must be integer [batch, seq], got {tuple(ids.shape)} "
                             f"{ids.dtype}")
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.config.vocab):
            raise ModelError(f"token id out of range 0..{self.config.vocab - 1}")
        return ids.long()

    @torch.no_grad()
    def forward(self, input_ids: torch.Tensor, cache: KVCache | None) -> torch.Tensor:
        return self.network(self._check_ids(input_ids), cache)

    def network(self, ids: torch.Tensor, cache: KVCache | None) -> torch.Tensor:
        """The decoder on checked int64 ids [B, S]. No value-dependent Python branches, so
        ``torch.export`` can trace it (golden.llm.export)."""
        cfg, nx, w = self.config, self.numerics, self.weights
        bsz, seq = ids.shape
        start = cache.length if cache is not None else 0
        cos, sin = nx.rope_tables(torch.arange(start, start + seq), cfg)
        mask = causal_mask(seq, start + seq)
        x = nx.embed(w["model.embed_tokens.weight"], ids)
        for i in range(cfg.layers):
            p = f"model.layers.{i}"
            h = nx.rmsnorm(x, w[f"{p}.input_layernorm.weight"], cfg.norm_eps)
            h = self._attention(i, h, cos, sin, mask, cache)
            x = nx.add(x, h)
            h = nx.rmsnorm(x, w[f"{p}.post_attention_layernorm.weight"], cfg.norm_eps)
            gate = nx.linear(f"{p}.mlp.gate_proj", h, w[f"{p}.mlp.gate_proj.weight"])
            up = nx.linear(f"{p}.mlp.up_proj", h, w[f"{p}.mlp.up_proj.weight"])
            h = nx.linear(f"{p}.mlp.down_proj", nx.swiglu(gate, up), w[f"{p}.mlp.down_proj.weight"])
            x = nx.add(x, h)
        x = nx.rmsnorm(x, w["model.norm.weight"], cfg.norm_eps)
        return nx.linear("lm_head", x, self.linear_weight("lm_head")).float()

    def _attention(self, layer, h, cos, sin, mask, cache):
        cfg, nx, w = self.config, self.numerics, self.weights
        p = f"model.layers.{layer}.self_attn"
        bsz, seq, _ = h.shape

        def heads(t, n):
            return t.view(bsz, seq, n, cfg.head_dim).transpose(1, 2)

        q = heads(nx.linear(f"{p}.q_proj", h, w[f"{p}.q_proj.weight"]), cfg.heads)
        k = heads(nx.linear(f"{p}.k_proj", h, w[f"{p}.k_proj.weight"]), cfg.kv_heads)
        v = heads(nx.linear(f"{p}.v_proj", h, w[f"{p}.v_proj.weight"]), cfg.kv_heads)
        q, k = nx.rope(q, cos, sin), nx.rope(k, cos, sin)
        k, v = nx.kv_store(k), nx.kv_store(v)
        if cache is not None:
            k, v = cache.append(layer, k, v)
        k = k.repeat_interleave(cfg.gqa_group, dim=1)
        v = v.repeat_interleave(cfg.gqa_group, dim=1)
        out = nx.attention(q, k, v, mask)
        out = out.transpose(1, 2).reshape(bsz, seq, cfg.q_dim)
        return nx.linear(f"{p}.o_proj", out, w[f"{p}.o_proj.weight"])
