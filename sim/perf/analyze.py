"""Analytical mode: time a whole prompt + generation for a shape-only model on one config.

Convention: a run is one prefill of ``prompt_len`` tokens and ``gen_len`` decode steps; decode
step ``i`` (from 0) feeds the token at position ``prompt_len + i`` and attends
``prompt_len + i + 1`` positions. Decode tokens/s = ``gen_len / decode time``. Batch 1.
"""
from __future__ import annotations

from ...base.errors import PolicyError, UsageError
from ...base.config import Config
from ...golden.model_shapes import ModelShape
from . import bitmod_model, csd_model
from .policy import PerfPolicy
from .result import PassTiming, RunTiming
from .workload import Attention, Pass, decode_step, prefill

ENGINES = {"bitmod": bitmod_model, "csd": csd_model}


def engine_for(cfg: Config, policy: PerfPolicy):
    """The engine model the policy asks for; a one-line error when the config lacks it."""
    if getattr(cfg, policy.engine) is None:
        have = [e for e in ENGINES if getattr(cfg, e) is not None]
        raise PolicyError(f"policy '{policy.name}' needs a {policy.engine} engine but config "
                         f"'{cfg.name}' has only: {', '.join(have)}")
    return ENGINES[policy.engine]


def time_pass(p: Pass, cfg: Config, policy: PerfPolicy) -> PassTiming:
    return engine_for(cfg, policy).time_pass(p, cfg, policy)


def footprint_bytes(shape: ModelShape, policy: PerfPolicy, max_len: int) -> float:
    """Off-chip bytes the run needs: every linear weight (policy bytes, ``lm_head`` included),
    the embedding table in fp16 when not tied, and the K/V cache at ``max_len`` positions."""
    p = decode_step(shape, 1, vector_ops=False)
    weights = sum(policy.weight_bytes(op) * op.count for op in p.matmuls if op.kind == "linear")
    embedding = 0 if shape.tied_embeddings else 2 * shape.vocab * shape.hidden
    kv = 2 * shape.layers * shape.kv_dim * max_len * policy.kv_bits / 8
    return weights + embedding + kv


def analyze(shape: ModelShape, cfg: Config, policy: PerfPolicy, prompt_len: int, gen_len: int,
            attention: Attention = "exact", vector_ops: bool = True,
            progress: bool = False) -> RunTiming:
    """Prefill plus ``gen_len`` decode steps (see the module docstring)."""
    if gen_len < 0:
        raise UsageError(f"gen_len must be >= 0, got {gen_len}")
    if prompt_len + gen_len > shape.max_position:
        raise UsageError(f"prompt_len + gen_len = {prompt_len + gen_len} exceeds the model's "
                         f"max_position {shape.max_position} ({shape.name})")
    model = engine_for(cfg, policy)
    first = model.time_pass(prefill(shape, prompt_len, attention, vector_ops), cfg, policy)
    steps = range(gen_len)
    if progress:
        from tqdm import tqdm
        steps = tqdm(steps, desc="decode steps", unit="step", leave=False)
    decode = tuple(model.time_pass(decode_step(shape, prompt_len + i + 1, attention, vector_ops),
                                   cfg, policy) for i in steps)
    return RunTiming(shape.name, cfg.name, policy.name, policy.engine, first, decode,
                     footprint_bytes(shape, policy, prompt_len + gen_len),
                     cfg.memory.capacity_gb * 1e9)
