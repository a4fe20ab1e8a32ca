"""Sizes of the SFU (rtl/sfu): how many per-element dividers, how long a row may be."""
from __future__ import annotations

from dataclasses import dataclass

from ...base.config import Sfu as SfuSchema
from ...base.errors import ConfigError
from ...compiler.isa import MiscOp
from ..fp import F16ToF32, F32Rint, F32ToF16, Fp32Add, Fp32Div, Fp32Mul, Fp32Sqrt, I32ToF32

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
    elements (16: every ``cols`` the ISA can encode); ``add_stages`` / ``mul_stages``: register
    ranks inside each binary32 adder / multiplier (rtl/fp, at their cut points; 0: one op per
    cycle, combinational), with two ranks in each conversion and one in the dividers' and square
    root's rounding once either is > 0. 4 / 6 (the sixth multiplier rank registers the operands in
    front of the hard multipliers) route the whole SFU at >= 100 MHz on an ECP5-85 on every seed
    tried (docs/rtl/sfu.md "Pipelining"); they move latencies only, never a result. Their
    defaults are the config schema's (``sfu.add_stages``, ``sfu.mul_stages``)."""
    dividers: int = 4
    tree_levels: int = 16
    add_stages: int = SfuSchema.model_fields["add_stages"].default
    mul_stages: int = SfuSchema.model_fields["mul_stages"].default

    def __post_init__(self):
        if self.dividers < 1:
            raise ConfigError(f"sfu.dividers: need at least one divider, got {self.dividers}")
        if not 1 <= self.tree_levels <= 24:
            raise ConfigError(f"sfu.tree_levels: {self.tree_levels} is not in 1..24")
        for name in ("add_stages", "mul_stages"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 6:
                raise ConfigError(f"sfu.{name}: {value!r} is not in 0..6")

    @property
    def pipelined(self) -> bool:
        return self.add_stages > 0 or self.mul_stages > 0

    @property
    def conv_stages(self) -> int:
        """Register ranks of each conversion (``rint``, ``i32 -> f32``, ``f32 -> f16``): both of
        their cut points once the SFU is pipelined at all (one rank would land after the last)."""
        return 2 if self.pipelined else 0

    @property
    def round_stages(self) -> int:
        """Register ranks in the divider's and the square root's final rounding."""
        return 1 if self.pipelined else 0

    def add(self):
        return Fp32Add(self.add_stages)

    def mul(self):
        return Fp32Mul(self.mul_stages)

    def div(self):
        return Fp32Div(stages=self.round_stages)

    def sqrt(self):
        return Fp32Sqrt(stages=self.round_stages)

    def rint(self):
        return F32Rint(self.conv_stages)

    def to_f32(self):
        return I32ToF32(self.conv_stages)

    def to_f16(self):
        return F32ToF16(self.conv_stages)

    @staticmethod
    def widen():
        return F16ToF32()                  # a 10-bit shift: never the slow path

    @classmethod
    def from_config(cls, cfg, **overrides) -> "SfuParams":
        for name in ("add_stages", "mul_stages"):
            if cfg is not None and name not in overrides:
                overrides[name] = getattr(cfg.sfu, name)
        return cls(**overrides)
