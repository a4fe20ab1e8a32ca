"""Writing a LLaMA model to GGUF (llama.cpp layout: Q/K rows permuted, tensors optionally
quantized by the gguf package). Used to make small test models and to hand models to llama.cpp."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...base.errors import ModelError
from ...base.atomic_file import replacing
from .config import LlamaConfig
from .weights import _GGUF_BLOCK, permute_rope_rows

_HF_TO_GGUF = {v: k for k, v in _GGUF_BLOCK.items()}


def write_llama_gguf(path: str | os.PathLike, config: LlamaConfig, weights: dict,
                     tensor_type: str = "F32", arch: str = "llama") -> Path:
    """Write ``weights`` (HF names) as a GGUF file; 2-D weights are stored as ``tensor_type``
    (F32, F16, Q8_0, Q4_0, Q4_1, ...), norm gains always as F32. Written via a temp file + rename."""
    import gguf
    if config.rope_scaling is not None:
        raise ModelError(f"{path}: GGUF export of a model with RoPE scaling is not supported")
    qtype = gguf.GGMLQuantizationType[tensor_type]
    with replacing(path) as tmp:
        _write(gguf.GGUFWriter(str(tmp), arch), config, weights, qtype)
    return Path(path)


def _write(w, config: LlamaConfig, weights: dict, qtype) -> None:
    import gguf
    w.add_name(config.name)
    w.add_block_count(config.layers)
    w.add_context_length(config.max_position)
    w.add_embedding_length(config.hidden)
    w.add_feed_forward_length(config.intermediate)
    w.add_head_count(config.heads)
    w.add_head_count_kv(config.kv_heads)
    w.add_rope_freq_base(config.rope_theta)
    w.add_layer_norm_rms_eps(config.norm_eps)
    w.add_rope_dimension_count(config.head_dim)
    w.add_vocab_size(config.vocab)
    for hname, tensor in weights.items():
        a = tensor.detach().float().numpy()
        if hname == "model.embed_tokens.weight":
            gname = "token_embd.weight"
        elif hname == "model.norm.weight":
            gname = "output_norm.weight"
        elif hname == "lm_head.weight":
            gname = "output.weight"
        else:
            _, _, layer, rest = hname.split(".", 3)
            gname = f"blk.{layer}.{_HF_TO_GGUF[rest.removesuffix('.weight')]}.weight"
            if rest.startswith("self_attn.q_proj"):
                a = permute_rope_rows(a, config.heads)
            elif rest.startswith("self_attn.k_proj"):
                a = permute_rope_rows(a, config.kv_heads)
        if a.ndim == 2 and qtype not in (gguf.GGMLQuantizationType.F32,):
            data = gguf.quants.quantize(np.ascontiguousarray(a), qtype)
            w.add_tensor(gname, data, raw_dtype=qtype)
        else:
            w.add_tensor(gname, np.ascontiguousarray(a, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
