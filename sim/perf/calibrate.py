"""Calibration of the BitMoD engine model against the RTL PE array (issue 7, "Calibration").

The same workload runs on both: ``dots`` output tiles of ``rows x cols`` results, each a dot
product over ``groups`` groups of 4-bit BitMoD weights, i.e. the matrix product
``MatMul(tokens=cols, cin=groups * group_size, cout=dots * rows)`` on the config's array.

* RTL: :class:`~bitflight.rtl.bitmod.free_run.ArrayFreeRun` (the real ``BitmodArray`` fed at full
  rate by on-chip generators) in Amaranth's simulator; the cycles are *counted* until ``done``,
  not taken from the component's own formula.
* Model: the compute cycles of ``bitmod_model.time_matmul`` (the array alone: the RTL bench has
  no memory system, so memory cycles are not part of the comparison).

The model has no fill or drain (docs/perf.md), so the RTL takes the array's output latency
(``scale_bits + 2`` cycles of dequantization and output registers) more per run; that is the only
expected difference, and tests/sim/test_perf_calibration.py fails if any other appears.
Run ``python -m bitflight.sim.perf.calibrate`` to print the comparison.
"""
from __future__ import annotations

from dataclasses import dataclass

MAX_CYCLES = 1_000_000


@dataclass(frozen=True)
class Calibration:
    config: str
    array: str
    groups: int
    dots: int
    rtl_cycles: int
    model_cycles: int

    @property
    def difference(self) -> float:
        """(model - rtl) / rtl."""
        return (self.model_cycles - self.rtl_cycles) / self.rtl_cycles

    def __str__(self) -> str:
        return (f"{self.config} {self.array} array, {self.dots} tiles x {self.groups} groups: "
                f"RTL {self.rtl_cycles:,} cycles, model {self.model_cycles:,} "
                f"({100 * self.difference:+.2f}%)")


def rtl_cycles(params, groups: int, dots: int) -> int:
    """Cycles from reset until the free-running array reports ``dots`` finished tiles."""
    from amaranth.sim import Simulator

    from ...rtl.bitmod.free_run import ArrayFreeRun
    dut = ArrayFreeRun(params, groups)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    counted = {}

    async def count(ctx):
        ctx.set(dut.dots, dots)
        cycles = 0
        while not ctx.get(dut.done):
            await ctx.tick()
            cycles += 1
            if cycles > MAX_CYCLES:
                raise RuntimeError(f"the array did not finish {dots} tiles in {MAX_CYCLES} cycles")
        counted["cycles"] = cycles
    sim.add_testbench(count)
    sim.run()
    return counted["cycles"]


def model_cycles(cfg, groups: int, dots: int, array: str = "prefill") -> int:
    """Compute cycles of the equivalent matrix product on the BitMoD engine model."""
    from . import bitmod_model
    from .policy import PerfPolicy
    from .workload import MatMul
    shape = getattr(cfg.bitmod, f"{array}_array")
    op = MatMul("calibration", "linear", tokens=shape.cols, cin=groups * cfg.bitmod.group_size,
                cout=dots * shape.rows)
    policy = PerfPolicy(name="calibration", engine="bitmod", scheme="bitmod", bits=4,
                        group_size=cfg.bitmod.group_size, kv_bits=16, act_bits=16)
    stage = "prefill" if array == "prefill" else "decode"
    return int(bitmod_model.time_matmul(op, cfg, policy, stage).compute_cycles)


def calibrate(cfg, groups: int = 4, dots: int = 8, array: str = "prefill") -> Calibration:
    from ...rtl.bitmod.params import EngineParams
    params = EngineParams.from_config(cfg, array)
    return Calibration(cfg.name, array, groups, dots, rtl_cycles(params, groups, dots),
                       model_cycles(cfg, groups, dots, array))


def main() -> None:
    from ...config import load
    tiny = load("tiny")
    for array in ("prefill", "decode"):
        print(calibrate(tiny, array=array))


if __name__ == "__main__":
    main()
