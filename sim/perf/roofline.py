"""Roofline per operation (LLM-Viewer style) for any model shape on a config or a device.

Conventions (docs/perf.md):

* OPs = 2 per MAC (one multiply, one add), counting the MACs the engine executes: an N:M-sparse
  weight at density d contributes ``2 * d * MACs``.
* Bytes = stationary operand (weights at the policy's stored bits, or the K/V cache at
  ``kv_bits``) + input activations + output activations (``act_bits``), each moved once: the
  roofline ignores buffer refetches and on-chip reuse across operations (the engine models do not).
* Arithmetic intensity = OPs / bytes; the roof is ``min(peak OPs/s, intensity x bandwidth)`` with
  the *peak* bandwidth (no efficiency); an operation is compute-bound when its intensity exceeds
  the ridge point ``peak / bandwidth``; its roofline time is ``max(OPs / peak, bytes / bandwidth)``.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...base.errors import ConfigError
from ...base.config import Config
from .devices import Device
from .policy import PerfPolicy
from .workload import MatMul, Pass


@dataclass(frozen=True)
class Roof:
    """A machine as the roofline sees it: peak OPs/s and peak bytes/s."""
    name: str
    peak_ops: float
    bandwidth: float

    @property
    def ridge(self) -> float:
        return self.peak_ops / self.bandwidth


@dataclass(frozen=True)
class RooflinePoint:
    name: str
    stage: str
    count: int
    ops: float          # per copy
    bytes: float        # per copy
    roof: Roof

    @property
    def intensity(self) -> float:
        return self.ops / self.bytes

    @property
    def bound(self) -> str:
        return "compute" if self.intensity > self.roof.ridge else "memory"

    @property
    def seconds(self) -> float:
        return max(self.ops / self.roof.peak_ops, self.bytes / self.roof.bandwidth)

    @property
    def attainable(self) -> float:
        return min(self.roof.peak_ops, self.intensity * self.roof.bandwidth)

    def to_dict(self) -> dict:
        return {"name": self.name, "stage": self.stage, "count": self.count, "ops": self.ops,
                "bytes": self.bytes, "intensity": self.intensity, "bound": self.bound,
                "seconds": self.seconds}


def device_roof(device: Device, dtype: str = "fp16") -> Roof:
    return Roof(f"{device.name} ({dtype})", device.peak_ops(dtype), device.bandwidth)


def config_roof(cfg: Config, policy: PerfPolicy, stage: str) -> Roof:
    """Peak of the policy's engine in the stage's mode, and peak off-chip bandwidth."""
    from . import csd_model
    bandwidth = cfg.memory.bandwidth_gbps * 1e9
    if policy.engine == "csd":
        macs = csd_model.peak_macs_per_cycle(cfg, stage)
    else:
        eng = cfg.bitmod
        if eng is None:
            raise ConfigError(f"config '{cfg.name}' has no bitmod engine")
        cycles = 1 if not eng.bit_serial else (policy.term_slots or 1)
        macs = eng.prefill_array.pes * eng.lanes / cycles
    return Roof(f"{cfg.name} ({policy.engine}, {stage})", 2 * macs * cfg.clock_hz, bandwidth)


def op_bytes(op: MatMul, policy: PerfPolicy) -> float:
    act = policy.act_bits / 8
    return policy.weight_bytes(op) + (op.input_elements + op.output_elements) * act


def points(p: Pass, policy: PerfPolicy, roof: Roof) -> list[RooflinePoint]:
    return [RooflinePoint(op.name, p.stage, op.count, 2 * op.macs * policy.density_of(op),
                          op_bytes(op, policy), roof) for op in p.matmuls]


def total_seconds(pts: list[RooflinePoint]) -> float:
    return sum(pt.seconds * pt.count for pt in pts)
