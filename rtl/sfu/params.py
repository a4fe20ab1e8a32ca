"""Sizes of the SFU (rtl/sfu): how many per-element dividers, how long a row may be."""
from __future__ import annotations

from dataclasses import dataclass

from ...base.errors import ConfigError
from ...compiler.isa import MiscOp

# passes over a row per op (FlightLLM's two-phase SFU; SOFTMAX recomputes E in its third pass)
PASSES = {MiscOp.SOFTMAX: 3, MiscOp.RMSNORM: 2, MiscOp.REQUANT: 2}
# ops with a division per element (SILU's sigma, REQUANT's x / s): paced by the divider pool
DIVIDING = (MiscOp.SILU, MiscOp.SWIGLU, MiscOp.REQUANT)
# ops the SFU executes (COPY is the top's CopyEngine)
OPS = tuple(op for op in MiscOp if op != MiscOp.COPY)


def passes(op: int) -> int:
    return PASSES.get(MiscOp(op), 1)


@dataclass(frozen=True)
class SfuParams:
    """``dividers``: binary32 dividers working round-robin on the per-element divisions (SILU,
    SWIGLU, REQUANT), so those ops take one element every ``ceil((div latency + 1) / dividers)``
    cycles; ``tree_levels``: levels of the streaming reducer, rows up to ``2^levels - 1``
    elements (16: every ``cols`` the ISA can encode)."""
    dividers: int = 4
    tree_levels: int = 16

    def __post_init__(self):
        if self.dividers < 1:
            raise ConfigError(f"sfu.dividers: need at least one divider, got {self.dividers}")
        if not 1 <= self.tree_levels <= 24:
            raise ConfigError(f"sfu.tree_levels: {self.tree_levels} is not in 1..24")

    @classmethod
    def from_config(cls, cfg, **overrides) -> "SfuParams":
        return cls(**overrides)
