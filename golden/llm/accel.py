"""Accelerator numerics: the decoder computed as an engine computes it, from a policy.

``AcceleratorNumerics(policy, model)`` quantizes every linear layer as the policy says (golden.quant
schemes; golden.sparse N:M for the csd engine) and supplies the engine's activation numerics, every
one a golden/ops function of docs/numerics.md:

=========  ====================================================================================
engine     ops
=========  ====================================================================================
bitmod     fp16 activations everywhere; linears ``ops.linear_bitmod`` (golden.bitserial.linear,
           bit-accurate) or, with ``linear="dequant"``, the fp16-rounded exact product with the
           dequantized weights (``ops.bitmod_linear.reference``: ~100x faster, for long runs; it
           is a stand-in, not the engine's arithmetic).
csd        FlightLLM: per-token INT8 activations into every linear (REQUANT), exact INT32
           accumulation (``ops.int_linear`` dense, ``ops.sparse_linear`` N:M via
           golden.sparse.matmul), binary32 requantization to fp16.
both       fp16-weight layers (scheme fp16): the tree product ``ops.fp16_linear``; RMSNorm,
           SwiGLU, RoPE, residual add: the SFU row functions (``ops.fp16``); attention by the KV
           cache type: ``ops.attention_fp16`` (fp16 cache) or ``ops.attention_int8`` (int8 cache:
           stored codes and scales, INT8 Q/P, INT32 products), as the ISA's attention MMs do.
=========  ====================================================================================

RoPE uses the host's fp16 tables (``ops.rope_table``, the rows ``compiler.target.rope_table``
writes into the memory image), not the float model's float32 ones.

Quantized weights come from the process-level cache (``quant_cache``): a second model built from
the same weights with the same formats (``make demo`` runs generate, eval and run --check in one
process) re-quantizes nothing.

The KV cache holds fp16 values (``kv_cache: fp16``) or per-token-and-head INT8 entries
(``ops.kv_int8``: codes and binary32 scale). Embedding lookups return the float table row rounded
to fp16; logits are returned as float32.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from ...base.errors import PolicyError
from .. import ops
from ..ops import bitmod_linear, rope_table
from .rope_scaling import inverse_frequencies


class BitmodWeight(NamedTuple):
    """A BitMoD-engine layer: the QuantizedWeight, its bit-serial tables (bitserial mode) or its
    dequantized float32 matrix (dequant mode); the other one is None."""
    qw: object
    engine: object
    dequantized: torch.Tensor | None


def prepare_weight(w: torch.Tensor, spec, engine: str, linear: str = "bitserial"):
    """One layer's weight as the engine stores it: an fp16 tensor (scheme fp16), an INT NMSparse
    (csd, sparse), a QuantizedWeight (csd, dense) or a :class:`BitmodWeight` (bitmod)."""
    if spec.scheme == "fp16":
        return w.to(torch.float16)
    if spec.sparsity is not None:
        from .. import sparse
        s = spec.sparsity
        sp = sparse.prune_nm(w, n=s.n) if s.n is not None else sparse.prune_nm(w, density=s.density)
        return sparse.quantize_int(sp, spec.bits)
    from .quant_cache import quantize
    group = spec.group_size if spec.group_size is not None else w.shape[1]
    if engine != "bitmod" and w.shape[1] % group:
        raise PolicyError(f"weight: K={w.shape[1]} is not a whole number of groups of {group}; the "
                         "INT engine needs whole groups (group_size: null gives per-row scales)")
    # A width that is not a multiple of the group (SmolLM2: 576 = 4.5 x 128) ends each row with a
    # zero-padded partial group; the padding is the code of 0 and cannot move a group's scale.
    qw = quantize(w, spec.scheme, spec.bits, group_size=group, scale_mode=spec.scale_mode,
                  pad=w.shape[1] % group != 0)
    if engine != "bitmod":
        return qw
    if linear == "dequant":
        return BitmodWeight(qw, None, qw.dequantize().float())
    from .. import bitserial
    return BitmodWeight(qw, bitserial.engine_weight(qw, bitserial.DEFAULT.lanes), None)


class AcceleratorNumerics:
    """Numerics of one engine under one policy (see the module docstring)."""

    def __init__(self, policy, model, linear: str = "bitserial", progress: bool = False):
        if linear not in ("bitserial", "dequant"):
            raise ValueError(f"linear: expected bitserial or dequant, got {linear!r}")
        self.policy, self.linear_mode = policy, linear
        self.name = f"{policy.engine}:{policy.name}"
        self.weights = {}
        names = model.config.linear_names()
        if progress:
            from tqdm import tqdm
            names = tqdm(names, desc=f"quantizing ({policy.name})", unit="layer", leave=False)
        for name in names:
            try:
                self.weights[name] = prepare_weight(model.linear_weight(name),
                                                    policy.weight_for(name), policy.engine, linear)
            except ValueError as exc:
                raise PolicyError(f"{name}: {exc}") from None

    # -- linears ----------------------------------------------------------------------------
    def linear(self, name: str, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        w = self.weights[name]
        if isinstance(w, torch.Tensor):               # fp16 layer: the tree product
            return bitmod_linear.linear_fp16(x, w)
        if self.policy.engine == "csd":
            return ops.sparse_linear(x, w) if hasattr(w, "block_n") else ops.int_linear(x, w)
        if w.dequantized is not None:
            return bitmod_linear.reference(x, w.dequantized)
        return ops.linear_bitmod(x, w.engine)

    # -- everything else ----------------------------------------------------------------------
    def embed(self, table, ids):
        return ops.to_fp16(torch.nn.functional.embedding(ids, table))

    def rmsnorm(self, x, gain, eps):
        return ops.rmsnorm_fp16(x, gain, eps)

    def rope_tables(self, positions: torch.Tensor, config):
        """The host's fp16 tables: cosines [T, head_dim/2] and sines [T, head_dim/2]."""
        inv_freq = inverse_frequencies(config.head_dim, config.rope_theta, config.rope_scaling)
        rows = torch.from_numpy(rope_table.table_rows(positions.tolist(), inv_freq))
        half = config.head_dim // 2
        return rows[:, :half], rows[:, half:]

    def rope(self, x, cos, sin):
        return ops.rope_fp16(x, torch.cat((cos, sin), dim=-1))

    def kv_store(self, t):
        return ops.kv_int8(t) if self.policy.kv_cache == "int8" else ops.to_fp16(t)

    def attention(self, q, k, v, mask):
        if self.policy.kv_cache == "int8":
            return ops.attention_int8(q, k, v, mask)
        return ops.attention_fp16(q, k, v, mask)

    def swiglu(self, gate, up):
        return ops.swiglu_fp16(gate, up)

    def add(self, a, b):
        return ops.add_fp16(a, b)


def accelerator_model(model, policy, linear: str = "bitserial", progress: bool = False):
    """``model`` with the numerics of ``policy`` (a Policy or a policy name/path)."""
    from ..policy import Policy, load_policy
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    return model.with_numerics(AcceleratorNumerics(policy, model, linear, progress))
