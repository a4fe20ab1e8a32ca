"""Calibration of the BitMoD engine model against the RTL PE array (issue 7, "Calibration").

The same workload runs on both: ``dots`` output tiles of ``rows x cols`` results, each a dot
product over ``groups`` groups of 4-bit BitMoD weights, i.e. the matrix product
``MatMul(tokens=cols, cin=groups * group_size, cout=dots * rows)`` on the config's array.

* RTL: :class:`~bitflight.rtl.bitmod.free_run.ArrayFreeRun` (the real ``BitmodArray`` fed at full
  rate by on-chip generators) in Amaranth's simulator, or in Verilator (the build
  ``sim/bench/bench_bitmod_array.py`` caches, so both share one compile); the cycles are *counted*
  from reset until ``done``, not taken from the component's own formula.
* Model: the compute cycles of ``bitmod_model.time_matmul`` (the array alone: the RTL bench has
  no memory system, so memory cycles are not part of the comparison) plus
  :func:`.bitmod_model.fill_drain_cycles`, the array's output latency (dequantization, output
  registers, the fp16 conversion and one beat per column; rtl/bitmod/params.py), which a run
  pays once.

With that term the two agree exactly; tests/sim/test_perf_calibration.py fails on any other
difference. ``python -m bitflight.sim.hdl.calibrate [--verilator]`` prints the table; the CSD
chain's calibration is :mod:`.calibrate_csd`.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ...base.yaml_model import package_dir

MAX_CYCLES = 1_000_000
HERE = package_dir("bitflight.sim.hdl.calibrate_rtl")      # the cocotb test modules


@dataclass(frozen=True)
class Calibration:
    """One workload timed by the RTL and by the model (whose cycles include ``fill_drain``).
    ``beats``: input beats the bench fed the RTL (CSD: passes or MPU beats; None for the
    self-driving BitMoD array, which counts nothing on its input)."""
    config: str
    workload: str
    rtl_cycles: int
    model_cycles: int
    simulator: str = "amaranth"
    fill_drain: int = 0
    beats: int | None = None

    @property
    def difference(self) -> float:
        """(model - rtl) / rtl."""
        return (self.model_cycles - self.rtl_cycles) / self.rtl_cycles

    @staticmethod
    def table_header() -> str:
        return ("| config | workload | simulator | RTL cycles | model cycles (fill/drain) | "
                "difference |\n|---|---|---|---|---|---|")

    def table_row(self) -> str:
        return (f"| {self.config} | {self.workload} | {self.simulator} | {self.rtl_cycles:,} | "
                f"{self.model_cycles:,} ({self.fill_drain}) | {100 * self.difference:+.2f}% |")

    def __str__(self) -> str:
        return (f"{self.config} {self.workload} ({self.simulator}): RTL {self.rtl_cycles:,} "
                f"cycles, model {self.model_cycles:,} ({100 * self.difference:+.2f}%)")


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


def array_build(params, groups: int, config_name: str, array: str):
    """The Verilator build of the free-running array (the prefill one is the bench's build)."""
    from ...rtl.bitmod.free_run import ArrayFreeRun
    from .. import hdl
    key = (f"bench-bitmod-array-{config_name}-g{groups}" if array == "prefill"
           else f"calibrate-bitmod-{array}-{config_name}-g{groups}")
    return hdl.build(lambda: ArrayFreeRun(params, groups), top="bitmod_free_run", key=key)


def verilator_cycles(params, groups: int, dots: int, config_name: str,
                     array: str = "prefill") -> int:
    """Cycles from reset until ``done``, counted in Verilator (no per-cycle Python)."""
    from .. import hdl
    build = array_build(params, groups, config_name, array)
    with tempfile.TemporaryDirectory(prefix="bitflight-calibrate-") as tmp:
        out = Path(tmp) / "out.json"
        hdl.run(build, "cocotb_free_run_cycles", test_dir=HERE, log=Path(tmp) / "sim.log",
                env={"CAL_DOTS": str(dots), "CAL_OUT": str(out)})
        result = json.loads(out.read_text())
    if result["count"] != dots:
        raise RuntimeError(f"Verilator run finished {result['count']} of {dots} tiles")
    return result["cycles"]


def model_cycles(cfg, groups: int, dots: int, array: str = "prefill") -> int:
    """Compute cycles of the equivalent matrix product on the BitMoD engine model (no drain)."""
    from ..perf import bitmod_model
    from ..perf.policy import PerfPolicy
    from ..perf.workload import MatMul
    shape = getattr(cfg.bitmod, f"{array}_array")
    op = MatMul("calibration", "linear", tokens=shape.cols, cin=groups * cfg.bitmod.group_size,
                cout=dots * shape.rows)
    policy = PerfPolicy(name="calibration", engine="bitmod", scheme="bitmod", bits=4,
                        group_size=cfg.bitmod.group_size, kv_bits=16, act_bits=16)
    stage = "prefill" if array == "prefill" else "decode"
    return int(bitmod_model.time_matmul(op, cfg, policy, stage).compute_cycles)


def calibrate(cfg, groups: int = 4, dots: int = 8, array: str = "prefill",
              simulator: str = "amaranth") -> Calibration:
    from ...rtl.bitmod.params import EngineParams
    from ..perf import bitmod_model
    params = EngineParams.from_config(cfg, array)
    if simulator == "verilator":
        rtl = verilator_cycles(params, groups, dots, cfg.name, array)
    elif simulator == "amaranth":
        rtl = rtl_cycles(params, groups, dots)
    else:
        raise ValueError(f"simulator: expected 'amaranth' or 'verilator', got {simulator!r}")
    shape = getattr(cfg.bitmod, f"{array}_array")
    drain = bitmod_model.fill_drain_cycles(cfg, array)
    workload = (f"{array} {shape.rows}x{shape.cols} array, {dots} tiles x {groups} groups of "
                f"{cfg.bitmod.group_size} BitMoD-4")
    return Calibration(cfg.name, workload, rtl, model_cycles(cfg, groups, dots, array) + drain,
                       simulator, drain)


def main(argv: list[str] | None = None) -> None:
    from ...base.config import load
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="tiny")
    ap.add_argument("--verilator", action="store_true",
                    help="also time a larger run (--dots) of the arrays in Verilator")
    ap.add_argument("--dots", type=int, default=2000)
    ap.add_argument("--verilator-arrays", nargs="+", choices=("prefill", "decode"),
                    default=["prefill"], help="arrays to build for Verilator (one build each)")
    args = ap.parse_args(argv)
    cfg = load(args.config)
    print(Calibration.table_header())
    for array in ("prefill", "decode"):
        print(calibrate(cfg, array=array).table_row())
    if args.verilator:
        for array in args.verilator_arrays:
            print(calibrate(cfg, dots=args.dots, array=array, simulator="verilator").table_row())


if __name__ == "__main__":
    main()
