"""Timing results of the analytical model: per operation, per pass, per run.

Conventions: an operation's time is ``max(compute, memory) + overhead`` cycles (compute and its
off-chip traffic overlap perfectly, double buffering, no fill/drain), summed over operations.
The SFU is a separate unit running concurrently with the matrix engine, so a pass takes
``max(sum of matrix-op cycles, sum of SFU cycles)``. Bytes are bytes (1 B = 8 bit); rates use
decimal units (1 GB/s = 1e9 B/s).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OpTiming:
    """One operation (per copy; ``count`` identical copies, one per decoder block)."""
    name: str
    kind: str
    unit: str                     # "engine" (matrix engine) or "sfu"
    count: int
    macs: int
    compute_cycles: float
    memory_cycles: float
    overhead_cycles: float = 0.0
    bytes_read: float = 0.0
    bytes_written: float = 0.0
    energy_pj: float | None = None

    @property
    def cycles(self) -> float:
        return max(self.compute_cycles, self.memory_cycles) + self.overhead_cycles

    @property
    def bound(self) -> str:
        if self.unit == "sfu":
            return "sfu"
        return "compute" if self.compute_cycles >= self.memory_cycles else "memory"

    @property
    def total_cycles(self) -> float:
        return self.cycles * self.count

    @property
    def total_bytes(self) -> float:
        return (self.bytes_read + self.bytes_written) * self.count


@dataclass(frozen=True)
class PassTiming:
    """A prefill or one decode step."""
    stage: str
    tokens: int
    kv_len: int
    clock_hz: float
    ops: tuple[OpTiming, ...]
    vector_ops: tuple[OpTiming, ...] = field(default=())

    def busy(self) -> dict[str, float]:
        """Cycles each unit is busy: matrix compute, off-chip memory, SFU."""
        return {"compute": sum(o.compute_cycles * o.count for o in self.ops),
                "memory": sum(o.memory_cycles * o.count for o in self.ops),
                "sfu": sum(o.compute_cycles * o.count for o in self.vector_ops)}

    @property
    def engine_cycles(self) -> float:
        return sum(o.total_cycles for o in self.ops)

    @property
    def cycles(self) -> float:
        """Matrix operations plus SFU work, in series: every SFU op (norm, RoPE, softmax, SwiGLU,
        residual add) consumes the matrix op before it and feeds the one after it, and the
        compiler lowers op by op, so neither overlaps the other (docs/perf.md, "Analytical
        against event-level")."""
        return self.engine_cycles + self.busy()["sfu"]

    @property
    def seconds(self) -> float:
        return self.cycles / self.clock_hz

    @property
    def bytes(self) -> float:
        return sum(o.total_bytes for o in self.ops)

    @property
    def macs(self) -> int:
        return sum(o.macs * o.count for o in self.ops)

    @property
    def limiting_unit(self) -> str:
        busy = self.busy()
        return max(busy, key=busy.get)

    @property
    def energy_pj(self) -> float | None:
        """Engine energy (None when the config lacks an energy the engine needs) plus SFU energy
        when the config gives ``energy.sfu_pj_per_element`` (else the SFU is not counted, as in
        the BitMoD authors' model)."""
        if not self.ops or any(o.energy_pj is None for o in self.ops):
            return None
        return sum(o.energy_pj * o.count for o in self.ops + self.vector_ops  # type: ignore
                   if o.energy_pj is not None)

    def to_dict(self) -> dict:
        busy = self.busy()
        return {"stage": self.stage, "tokens": self.tokens, "kv_len": self.kv_len,
                "cycles": self.cycles, "seconds": self.seconds, "bytes": self.bytes,
                "macs": self.macs, "limiting_unit": self.limiting_unit,
                "utilization": {k: (v / self.cycles if self.cycles else 0.0)
                                for k, v in busy.items()},
                "energy_pj": self.energy_pj,
                "ops": [{"name": o.name, "kind": o.kind, "count": o.count, "macs": o.macs,
                         "compute_cycles": o.compute_cycles, "memory_cycles": o.memory_cycles,
                         "cycles": o.cycles, "bound": o.bound,
                         "bytes": o.bytes_read + o.bytes_written}
                        for o in self.ops + self.vector_ops]}


@dataclass(frozen=True)
class RunTiming:
    """A prompt of ``prompt_len`` tokens followed by ``gen_len`` decode steps."""
    model: str
    config: str
    policy: str
    engine: str
    prefill: PassTiming
    decode: tuple[PassTiming, ...]
    footprint_bytes: float = 0.0          # weights + embedding + K/V cache (see analyze.py)
    capacity_bytes: float = float("inf")  # off-chip memory capacity of the config

    @property
    def fits_memory(self) -> bool:
        return self.footprint_bytes <= self.capacity_bytes

    @property
    def prefill_seconds(self) -> float:
        return self.prefill.seconds

    @property
    def decode_seconds(self) -> float:
        return sum(p.seconds for p in self.decode)

    @property
    def decode_tokens_per_second(self) -> float:
        return len(self.decode) / self.decode_seconds if self.decode else 0.0

    @property
    def total_seconds(self) -> float:
        return self.prefill_seconds + self.decode_seconds

    @property
    def energy_pj(self) -> dict[str, float] | None:
        """Prefill, decode (all steps) and total energy in pJ; None when the config gives no
        energies for the engine."""
        parts = [self.prefill.energy_pj] + [p.energy_pj for p in self.decode]
        if any(e is None for e in parts):
            return None
        return {"prefill": parts[0], "decode": sum(parts[1:]), "total": sum(parts)}

    def summary(self) -> dict:
        last = self.decode[-1] if self.decode else None
        return {"model": self.model, "config": self.config, "policy": self.policy,
                "engine": self.engine, "prompt_len": self.prefill.tokens,
                "gen_len": len(self.decode),
                "prefill_cycles": self.prefill.cycles, "prefill_s": self.prefill_seconds,
                "decode_s": self.decode_seconds,
                "decode_tokens_per_s": self.decode_tokens_per_second,
                "total_s": self.total_seconds,
                "prefill_limiting_unit": self.prefill.limiting_unit,
                "decode_limiting_unit": last.limiting_unit if last else None,
                "footprint_bytes": self.footprint_bytes, "capacity_bytes": self.capacity_bytes,
                "fits_memory": self.fits_memory, "energy_pj": self.energy_pj}
