"""Weights of a LLaMA-architecture model as a dict of float32 tensors named like Hugging Face.

Three sources: a GGUF file (llama.cpp names, Q/K rows permuted for its interleaved RoPE), a Hugging
Face folder (config.json + *.safetensors) and seeded random weights for a shape-only config.

llama.cpp's converter reorders the rows of every attention head of ``q_proj`` and ``k_proj`` so
that its RoPE can rotate adjacent pairs (x0, x1), (x2, x3), ...; Hugging Face's RoPE rotates
(x_i, x_{i+d/2}). Within one head of width d, GGUF row 2j is HF row j and GGUF row 2j+1 is HF row
j + d/2. :func:`unpermute_rope_rows` undoes that, so one model (the HF convention) serves all
sources.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ...base.errors import ModelError
from . import gguf_fields
from .config import LlamaConfig
from .hf_config import config_from_hf  # noqa: F401  (the loader reads both sources from here)

_GGUF_BLOCK = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
               "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
               "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
               "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm"}


def unpermute_rope_rows(w: np.ndarray, n_heads: int) -> np.ndarray:
    """GGUF (interleaved-pair) row order -> Hugging Face (half-split) row order, per head."""
    rows = w.shape[0]
    half = rows // n_heads // 2
    return w.reshape(n_heads, half, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def permute_rope_rows(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Inverse of :func:`unpermute_rope_rows` (HF -> GGUF order), used by tests."""
    rows = w.shape[0]
    half = rows // n_heads // 2
    return w.reshape(n_heads, 2, half, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _meta(gf, key, path, default=None):
    arch = gf.architecture
    value = gf.metadata.get(f"{arch}.{key}", default)
    if value is None:
        raise ModelError(f"{path}: GGUF metadata '{arch}.{key}' missing")
    return value


def config_from_gguf(gf) -> LlamaConfig:
    path = gf.path
    if gf.architecture != "llama":
        raise ModelError(f"{path}: unsupported architecture '{gf.architecture}' (supported: llama)")
    gguf_fields.check_metadata(gf)
    hidden = int(_meta(gf, "embedding_length", path))
    heads = int(_meta(gf, "attention.head_count", path))
    emb = gf.tensors.get("token_embd.weight")
    if emb is None:
        raise ModelError(f"{path}: tensor 'token_embd.weight' missing")
    head_dim = int(gf.metadata.get("llama.attention.key_length", hidden // heads))
    for key, value in (("attention.value_length", head_dim), ("rope.dimension_count", head_dim),
                       ("vocab_size", emb.shape[0])):
        if int(gf.metadata.get(f"llama.{key}", value)) != value:
            raise ModelError(f"{path}: GGUF metadata 'llama.{key}' = "
                             f"{gf.metadata[f'llama.{key}']} differs from {value} (head width "
                             "or embedding rows); bitflight supports only that value")
    return LlamaConfig(
        name=str(gf.metadata.get("general.name", path.stem)),
        layers=int(_meta(gf, "block_count", path)), hidden=hidden, heads=heads,
        kv_heads=int(_meta(gf, "attention.head_count_kv", path, heads)), head_dim=head_dim,
        intermediate=int(_meta(gf, "feed_forward_length", path)), vocab=emb.shape[0],
        max_position=int(_meta(gf, "context_length", path, 2048)),
        rope_theta=float(_meta(gf, "rope.freq_base", path, 10000.0)),
        norm_eps=float(_meta(gf, "attention.layer_norm_rms_epsilon", path)),
        tied_embeddings="output.weight" not in gf.tensors,
        bos_token_id=gf.metadata.get("tokenizer.ggml.bos_token_id"),
        eos_token_id=gf.metadata.get("tokenizer.ggml.eos_token_id"))


def weights_from_gguf(gf, cfg: LlamaConfig, progress: bool = False) -> dict[str, torch.Tensor]:
    names = [("token_embd.weight", "model.embed_tokens.weight"),
             ("output_norm.weight", "model.norm.weight")]
    if not cfg.tied_embeddings:
        names.append(("output.weight", "lm_head.weight"))
    for i in range(cfg.layers):
        names += [(f"blk.{i}.{g}.weight", f"model.layers.{i}.{h}.weight")
                  for g, h in _GGUF_BLOCK.items()]
    gguf_fields.check_tensors(gf, {g for g, _ in names})
    out = {}
    it = names
    if progress:
        from tqdm import tqdm
        it = tqdm(names, desc="dequantizing GGUF", unit="tensor", leave=False)
    for gname, hname in it:
        w = gf.tensor(gname)
        if gname.endswith("attn_q.weight"):
            w = unpermute_rope_rows(w, cfg.heads)
        elif gname.endswith("attn_k.weight"):
            w = unpermute_rope_rows(w, cfg.kv_heads)
        out[hname] = torch.from_numpy(w if w.flags.writeable else w.copy())
    return out


# Buffers older checkpoints stored: transformers recomputes them from the config, and so do we.
_IGNORED = (".rotary_emb.inv_freq",)


def weights_from_hf(folder: Path, cfg: LlamaConfig) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise ModelError(f"{folder}: no *.safetensors file")
    out = {}
    for f in files:
        try:
            out.update({k: v.float() for k, v in load_file(str(f)).items()})
        except (SafetensorError, OSError) as exc:
            raise ModelError(f"{f}: cannot read safetensors ({exc})") from None
    _check_head_tying(out, cfg, folder)
    check_weights(out, cfg, str(folder))
    return out


def _check_head_tying(w: dict, cfg: LlamaConfig, folder: Path) -> None:
    """config.json's tie_word_embeddings must agree with the tensors: transformers would tie
    over a different stored head, or initialise a missing untied head at random."""
    head, emb = w.get("lm_head.weight"), w.get("model.embed_tokens.weight")
    if cfg.tied_embeddings and head is not None:
        if emb is None or not torch.equal(head, emb):
            raise ModelError(f"{folder}: config.json says tie_word_embeddings = true, but the "
                             "safetensors hold an lm_head.weight different from the embedding")
        del w["lm_head.weight"]
    if not cfg.tied_embeddings and head is None:
        raise ModelError(f"{folder}: config.json says tie_word_embeddings = false, but the "
                         "safetensors hold no lm_head.weight")


def random_weights(cfg: LlamaConfig, seed: int = 0) -> dict[str, torch.Tensor]:
    """Seeded weights scaled like an initialised LLaMA (std 0.02; norm gains 1 +- 0.1)."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, shape in weight_shapes(cfg):
        if len(shape) == 1:
            out[name] = 1 + 0.1 * torch.randn(*shape, generator=g)
        else:
            out[name] = 0.02 * torch.randn(*shape, generator=g)
    return out


def check_weights(w: dict, cfg: LlamaConfig, source: str) -> None:
    """Every tensor the forward pass reads is present with the right shape, and no other
    (a bias or an extra projection would be silently dropped)."""
    expect = {name: shape for name, shape in weight_shapes(cfg)}
    extra = sorted(name for name in w if name not in expect and not name.endswith(_IGNORED))
    if extra:
        raise ModelError(f"{source}: unexpected tensor '{extra[0]}' (the golden LLaMA reads no "
                         "such tensor)")
    for name, shape in expect.items():
        if name not in w:
            raise ModelError(f"{source}: weight '{name}' missing")
        if tuple(w[name].shape) != shape:
            raise ModelError(f"{source}: weight '{name}' has shape {tuple(w[name].shape)}, "
                             f"expected {shape}")


def weight_shapes(cfg: LlamaConfig):
    yield "model.embed_tokens.weight", (cfg.vocab, cfg.hidden)
    yield "model.norm.weight", (cfg.hidden,)
    if not cfg.tied_embeddings:
        yield "lm_head.weight", (cfg.vocab, cfg.hidden)
    for i in range(cfg.layers):
        p = f"model.layers.{i}."
        yield p + "self_attn.q_proj.weight", (cfg.q_dim, cfg.hidden)
        yield p + "self_attn.k_proj.weight", (cfg.kv_dim, cfg.hidden)
        yield p + "self_attn.v_proj.weight", (cfg.kv_dim, cfg.hidden)
        yield p + "self_attn.o_proj.weight", (cfg.hidden, cfg.q_dim)
        yield p + "mlp.gate_proj.weight", (cfg.intermediate, cfg.hidden)
        yield p + "mlp.up_proj.weight", (cfg.intermediate, cfg.hidden)
        yield p + "mlp.down_proj.weight", (cfg.hidden, cfg.intermediate)
        yield p + "input_layernorm.weight", (cfg.hidden,)
        yield p + "post_attention_layernorm.weight", (cfg.hidden,)
