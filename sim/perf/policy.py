"""Numerics the performance model needs per operation: stored bits, PE cycles, N:M density.

A :class:`PerfPolicy` names the engine (``bitmod`` or ``csd``), the weight scheme and bit width
(cycles per weight come from ``golden.formats`` term slots; stored bytes from the packed layout of
``golden.quant.packing``), optional N:M densities per operation, and the KV-cache and activation
widths. Built-in presets cover the designs docs/perf.md compares; any YAML file with the same keys
works too (``--policy FILE``).

Real policies are ``golden.policy`` files: ``policy_loader.load_policy`` reads them through
``project_policy.from_project_policy``, so ``perf --policy NAME`` times what ``compile --policy
NAME`` builds. This schema exists only for what golden.policy cannot express because golden
cannot compute it: the paper baselines (``ant``/``olive`` with fractional ``weight_bits`` from the
BitMoD artifact, ``cycles_per_weight`` of a bit-parallel PE), N:M on the BitMoD engine (an
exploration) and explicit per-op densities. The presets golden.policy can express are tested to
mean the same there (tests/sim/test_perf_presets.py).

Byte conventions: weight bytes are the packed quantized matrix of ``golden.quant.packing``
(codes, datatype ids, per-group scales and per-row scales; header excluded). When
``weight_bits`` is given instead, a row of ``cin`` weights takes ``ceil(cin * weight_bits / 8)``
bytes (the BitMoD artifact's rule, used by the reproductions). An N:M-sparse matrix in the
FlightLLM layout of ``golden.sparse`` stores per kept weight its value and a 4-bit in-block index,
plus one descriptor byte per 16x16 block: ``density * (value_bits + 4) + 8 / 256`` bits per weight.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from ...golden import formats
from ...golden.model_shapes import ModelShape
from .workload import MatMul



class WeightNumerics(BaseModel):
    """How one weight matrix is stored and consumed."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    scheme: Literal["fp16", "bitmod", "int_sym", "int_asym", "fp", "ant", "olive"] = Field(
        "bitmod", description="golden.policy's scheme names, plus the paper baselines ant/olive")
    bits: PositiveInt = 4
    group_size: PositiveInt | None = Field(128, description="None: one group per row")
    scale_mode: Literal["fp16", "int", "e8m0"] = "int"
    weight_bits: float | None = Field(None, gt=0, description="stored bits per weight incl. "
                                      "metadata; None: from the golden packed layout")
    cycles_per_weight: PositiveInt | None = Field(None, description="None: the format's term slots")

    @model_validator(mode="before")
    @classmethod
    def _renamed_scheme(cls, data):
        if isinstance(data, dict) and data.get("scheme") == "int":
            raise ValueError("scheme 'int' is now 'int_sym' (or 'int_asym'), the names "
                             "golden.policy uses")
        return data

    @model_validator(mode="after")
    def _check_numerics(self):
        if self.scheme in ("bitmod", "fp") and self.bits not in formats.BITMOD_CANDIDATES:
            raise ValueError(f"bits: {self.scheme} has no {self.bits}-bit grids (3 or 4)")
        if self.weight_bits is None and self.scheme in ("ant", "olive"):
            raise ValueError(f"weight_bits is required for scheme {self.scheme}")
        return self

    @property
    def format_name(self) -> str:
        """The golden.formats name whose term slots the bit-serial PE spends per weight."""
        if self.scheme == "fp16":
            return "fp16"
        if self.scheme == "bitmod":
            return formats.BITMOD_CANDIDATES[self.bits][0]
        if self.scheme == "fp":
            return "fp3" if self.bits == 3 else "fp4_e2m1"
        return f"int{self.bits}"

    @property
    def term_slots(self) -> int | None:
        """PE cycles per weight on the bit-serial engine (None: not a bit-serial format)."""
        if self.cycles_per_weight is not None:
            return self.cycles_per_weight
        if self.scheme in ("ant", "olive"):
            return None
        return formats.get(self.format_name).term_slots

    def dense_bytes(self, cin: int, cout: int) -> int:
        if self.weight_bits is not None:
            return math.ceil(cin * self.weight_bits / 8) * cout
        if self.scheme == "fp16":
            return 2 * cin * cout
        group = self.group_size or cin
        return _packed_bytes(cout, cin, group, self.bits, 2 if self.scheme == "bitmod" else 0,
                             self.scale_mode, self.scheme == "int_asym")


class PerfPolicy(WeightNumerics):
    """Per-operation numerics for the performance model: the default weight numerics (the
    inherited fields), per-op ``overrides``, N:M ``density`` and the KV / activation widths."""

    name: str = Field(min_length=1)
    engine: Literal["bitmod", "csd"]
    overrides: dict[str, WeightNumerics] = Field(default_factory=dict,
                                                 description="op name -> its weight numerics")
    density: dict[str, float] = Field(default_factory=dict,
                                      description="op name (or 'projections') -> N/M kept fraction")
    kv_bits: Literal[4, 8, 16] = 16
    act_bits: Literal[8, 16] = 16
    description: str = ""

    @model_validator(mode="after")
    def _check(self) -> "PerfPolicy":
        for op, d in self.density.items():
            if not 0 < d <= 1:
                raise ValueError(f"density.{op}: {d} is not in (0, 1]")
        return self

    @property
    def default(self) -> WeightNumerics:
        return WeightNumerics(**{k: getattr(self, k) for k in WeightNumerics.model_fields})

    def numerics_of(self, op: MatMul) -> WeightNumerics:
        return self.overrides.get(op.name) or self.default

    def term_slots_of(self, op: MatMul) -> int | None:
        return self.numerics_of(op).term_slots

    def density_of(self, op: MatMul) -> float:
        if op.kind != "linear":
            return 1.0
        if op.name in self.density:
            return self.density[op.name]
        if op.name != "lm_head" and "projections" in self.density:
            return self.density["projections"]
        return 1.0

    # -- bytes --------------------------------------------------------------------------------
    def weight_bytes(self, op: MatMul) -> float:
        """Bytes of one copy of ``op``'s stationary operand (weights or the K/V cache)."""
        if op.kind != "linear":
            return math.ceil(op.cin * self.kv_bits / 8) * op.cout * op.batch
        dense = self.numerics_of(op).dense_bytes(op.cin, op.cout)
        d = self.density_of(op)
        if d == 1.0:
            return dense
        from ...golden.sparse import packing as sparse_packing   # imports torch: only when sparse
        kept = d * op.cin * op.cout
        return (8 * dense * d + sparse_packing.metadata_bits(op.cout, op.cin, kept)) / 8

    def stored_bits_per_weight(self, op: MatMul) -> float:
        return 8 * self.weight_bytes(op) / (op.cin * op.cout * op.batch)


@lru_cache(maxsize=1024)
def _packed_bytes(n: int, k: int, g: int, bits: int, id_bits: int, scale_mode: str,
                  zero_point: bool = False) -> int:
    from ...golden.quant import packing     # imports torch: only when a layout is needed
    _, total = packing.layout(n, math.ceil(k / g), g, bits, id_bits, scale_mode, zero_point)
    return total - packing.HEADER_SIZE


PRESETS: dict[str, PerfPolicy] = {p.name: p for p in (
    PerfPolicy(name="fp16", engine="bitmod", scheme="fp16", bits=16, kv_bits=16,
               description="FP16 weights, activations and KV cache"),
    PerfPolicy(name="bitmod-w4-g128", engine="bitmod", bits=4, kv_bits=8,
               description="BitMoD 4-bit mixed datatypes, g128, int8 scales; FP16 acts; int8 KV"),
    PerfPolicy(name="bitmod-w3-g128", engine="bitmod", bits=3, kv_bits=8,
               description="BitMoD 3-bit mixed datatypes, g128, int8 scales; FP16 acts; int8 KV"),
    PerfPolicy(name="bitmod-w6", engine="bitmod", scheme="int_sym", bits=6, kv_bits=8,
               description="INT6 on the BitMoD engine (the paper's lossless setting)"),
    PerfPolicy(name="bitmod-w3-nm8", engine="bitmod", bits=3, kv_bits=8,
               density={"projections": 0.5},
               description="BitMoD W3 with 8:16 sparsity on every decoder projection"),
    PerfPolicy(name="bitmod-w3-nm4", engine="bitmod", bits=3, kv_bits=8,
               density={"projections": 0.25},
               description="BitMoD W3 with 4:16 sparsity on every decoder projection"),
    PerfPolicy(name="flightllm-int4", engine="csd", scheme="int_sym", bits=4, scale_mode="fp16",
               kv_bits=8, act_bits=8,
               description="FlightLLM: INT4 weights g128 fp16 scales, INT8 activations and KV"),
    PerfPolicy(name="flightllm-int8", engine="csd", scheme="int_sym", bits=8, scale_mode="fp16",
               kv_bits=8, act_bits=8, description="CSD engine with INT8 weights"),
)}
