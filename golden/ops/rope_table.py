"""RoPE cos/sin tables for the accelerator: host-side constants (docs/numerics.md, "Host-side
constants").

The host writes these tables into the memory image (``compiler.target.rope_table``) and the
golden accelerator model reads the same rows, so both take them from :func:`table_rows`. Each
entry is evaluated in float64 by Python's ``math`` module (scalar libm; the angle ``p * f`` is
one float64 product) and rounded once to fp16. The inverse frequencies are an argument (float64
Python floats) so that a frequency scaling (LLaMA-3 ``rope_scaling``) plugs in unchanged;
:func:`default_inv_freq` is the plain ``theta^(-2i/d)`` of LLaMA / SmolLM2.
"""
from __future__ import annotations

import math

import numpy as np


def default_inv_freq(head_dim: int, theta: float) -> list[float]:
    """``1 / theta^(2i / head_dim)`` for i < head_dim / 2, as float64 Python floats."""
    if head_dim <= 0 or head_dim % 2:
        raise ValueError(f"RoPE: head_dim {head_dim} must be positive and even")
    return [1.0 / theta ** (2 * i / head_dim) for i in range(head_dim // 2)]


def table_rows(positions, inv_freq: list[float]) -> np.ndarray:
    """fp16 [len(positions), 2 * len(inv_freq)]: per position the cosines of every frequency,
    then their sines (the ROPE table row layout of docs/isa.md)."""
    rows = [[math.cos(p * w) for w in inv_freq] + [math.sin(p * w) for w in inv_freq]
            for p in (int(p) for p in positions)]
    return np.array(rows, dtype=np.float64).reshape(-1, 2 * len(inv_freq)).astype(np.float16)
