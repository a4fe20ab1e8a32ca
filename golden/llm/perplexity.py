"""Perplexity under weight-only fake quantization (the BitMoD protocol,
docs/references.md#bitmod-3.1).

Every linear layer, ``lm_head`` included, gets weights quantized and dequantized by golden.quant;
activations stay float32. Tied embeddings are untied for this: the input embedding table stays
float (it is a lookup, not a linear), only the ``lm_head`` copy is quantized. The token stream is
cut into non-overlapping windows of ``seq_len``; perplexity = exp(mean next-token NLL) over every
predicted position (seq_len - 1 per window).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import torch

from ...base.errors import UsageError
from .model import LlamaModel

LAYER_TYPE = re.compile(r"(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj|lm_head)$")


@dataclass
class FakeQuantResult:
    model: LlamaModel
    bits_per_weight: float                  # all linears, metadata included
    mse_by_type: dict[str, float] = field(default_factory=dict)


def fake_quantize(model: LlamaModel, scheme: str, bits: int, group_size: int | None = 128,
                  scale_mode: str = "fp16", progress: bool = False) -> FakeQuantResult:
    """A copy of ``model`` whose linear weights are quantized-dequantized (shared other weights).
    ``scheme == "fp16"`` rounds weights to fp16 (the FP16 baseline)."""
    from .quant_cache import quantize
    cfg = model.config
    weights = dict(model.weights)
    sq, count, total_bits = {}, {}, 0.0
    names = cfg.linear_names()
    if progress:
        from tqdm import tqdm
        names = tqdm(names, desc=f"quantizing {scheme} w{bits}", unit="layer", leave=False)
    for name in names:
        w = model.linear_weight(name)
        if scheme == "fp16":
            deq, bpw = w.half().float(), 16.0
        else:
            g = group_size if scheme != "mx" else None
            pad = g is not None and w.shape[1] % g != 0
            qw = quantize(w, scheme, bits, group_size=g, scale_mode=scale_mode, pad=pad)
            deq, bpw = qw.dequantize().float(), float(qw.bits_per_weight)
        kind = LAYER_TYPE.search(name).group(1)
        sq[kind] = sq.get(kind, 0.0) + float(((deq - w) ** 2).sum())
        count[kind] = count.get(kind, 0) + w.numel()
        total_bits += bpw * w.numel()
        weights[name + ".weight"] = deq
    config = cfg.replace(tied_embeddings=False)
    return FakeQuantResult(LlamaModel(config, weights),
                           total_bits / sum(count.values()),
                           {k: sq[k] / count[k] for k in sq})


@torch.no_grad()
def perplexity(model: LlamaModel, tokens: list[int], seq_len: int = 1024,
               progress: bool = False, desc: str = "perplexity") -> float:
    """exp(mean NLL) over non-overlapping windows of ``seq_len`` (a shorter tail window counts)."""
    if len(tokens) < 2:
        raise UsageError("perplexity needs at least 2 tokens")
    ids = torch.tensor(tokens, dtype=torch.long)
    windows = [ids[i:i + seq_len] for i in range(0, len(ids), seq_len)]
    windows = [w for w in windows if len(w) > 1]
    it = windows
    if progress:
        from tqdm import tqdm
        it = tqdm(windows, desc=desc, unit="window", leave=False)
    nll, n = 0.0, 0
    for w in it:
        logits = model(w[None])[0, :-1]
        nll += float(torch.nn.functional.cross_entropy(logits, w[1:], reduction="sum"))
        n += len(w) - 1
    return math.exp(nll / n)
