"""Hardware-flow costs on the example counter: Verilator build (cold, cached) and sim speed.

Usage: .venv/bin/python -m bitflight.sim.bench hdl [-- --cycles 200000]
Measures, on this machine: (1) a cold Verilator build in an empty cache folder, (2) the same
build again (a cache hit), (3) cycles per second of the counter running free under cocotb +
Verilator (the cocotb coroutine only awaits ClockCycles), (4) the same on Amaranth's simulator
(run_until, no per-cycle Python) and (5) tick() calls per second from Python on the
pyverilator-mm model (when the 'interactive' extra is installed). docs/hardware-flow.md quotes
the results.
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path


def _amaranth_cycles_per_s(cycles: int) -> float:
    from amaranth.sim import Simulator

    from ...rtl.examples.counter import Counter
    dut = Counter(8)
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def enable(ctx):
        ctx.set(dut.en, 1)
    sim.add_testbench(enable)
    start = time.perf_counter()
    sim.run_until(cycles * 1e-8)
    return cycles / (time.perf_counter() - start)


def _stepping_cycles_per_s(cycles: int) -> float:
    from ...rtl.examples.counter import Counter
    from ..hdl.interactive import interactive
    sim = interactive(Counter(8))
    sim.reset()
    sim["en"] = 1
    start = time.perf_counter()
    sim.tick(cycles)
    seconds = time.perf_counter() - start
    assert sim["count"] == cycles % 256
    return cycles / seconds


def main() -> None:
    from ...fpga.tools import ToolError
    from ...rtl.examples.counter import Counter
    from .. import hdl
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=200_000)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-hdl-cache-") as cache:
        saved = os.environ.get("BITFLIGHT_BUILD_CACHE")
        os.environ["BITFLIGHT_BUILD_CACHE"] = cache
        try:
            cold = hdl.build(lambda: Counter(8), top="counter", key="bench-counter")
            warm = hdl.build(lambda: Counter(8), top="counter", key="bench-counter")
            assert not cold.cache_hit and warm.cache_hit
            rows += [("Verilator build, empty cache", f"{cold.seconds:.1f} s"),
                     ("same build again (cache hit, includes Verilog export)",
                      f"{warm.seconds:.2f} s")]
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "seconds.txt"
                hdl.run(warm, "cocotb_free_run", test_dir=Path(__file__).parent,
                        env={"BENCH_CYCLES": str(args.cycles), "BENCH_OUT": str(out)},
                        log=Path(tmp) / "sim.log")
                seconds = float(out.read_text())
            try:
                stepping = _stepping_cycles_per_s(min(args.cycles, 100_000))
            except ToolError as exc:  # the optional extra is not installed
                stepping = f"not measured ({exc})"
        finally:
            if saved is None:
                os.environ.pop("BITFLIGHT_BUILD_CACHE", None)
            else:
                os.environ["BITFLIGHT_BUILD_CACHE"] = saved
    rows.append((f"cocotb + Verilator, {args.cycles} free-running cycles",
                 f"{args.cycles / seconds / 1e3:.0f} k cycles/s"))
    rows.append((f"Amaranth simulator, {args.cycles} cycles (run_until)",
                 f"{_amaranth_cycles_per_s(args.cycles) / 1e3:.0f} k cycles/s"))
    rows.append((f"pyverilator-mm stepping, {min(args.cycles, 100_000)} tick() calls",
                 stepping if isinstance(stepping, str) else f"{stepping / 1e3:.0f} k cycles/s"))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print("| measurement | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
