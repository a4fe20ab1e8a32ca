"""Simulation speed of the BitMoD PE array: Verilator (cocotb waits on ``done``) vs Amaranth.

Usage: .venv/bin/python -m bitflight.sim.bench bitmod_array [-- --config tiny --dots 2000]
(the 32 x 32 bitmod-asic array: ``-- --config bitmod-asic --hierarchical --amaranth-dots 0``)
The array (``bitmod.prefill_array`` of the config) runs :class:`~bitflight.rtl.bitmod.free_run.
ArrayFreeRun`: on-chip pseudo-random 4-bit BitMoD weights and fp16 activations at full rate, so
neither simulator runs Python per cycle (cocotb awaits ``done``; Amaranth uses ``run_until``).
Both must finish with the same checksum. Prints a Markdown table for
docs/results/simulation-speed.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path


def _amaranth(p, dots: int, groups: int) -> tuple[int, float, int]:
    """(cycles, seconds, checksum) of the free-running array on Amaranth's simulator."""
    from amaranth.sim import Simulator

    from ...rtl.bitmod.free_run import ArrayFreeRun
    dut = ArrayFreeRun(p, groups)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    cycles = dut.cycles(dots)
    result = {}

    async def read_back(ctx):
        ctx.set(dut.dots, dots)
        await ctx.delay((cycles + 1) * 1e-8)      # one wake-up, no per-cycle Python
        result.update(done=ctx.get(dut.done), checksum=ctx.get(dut.checksum))
    sim.add_testbench(read_back)
    start = time.perf_counter()
    sim.run()
    seconds = time.perf_counter() - start
    if not result["done"]:
        raise RuntimeError("Amaranth run did not reach done in the predicted cycles")
    return cycles, seconds, result["checksum"]


def _verilator(build, dots: int) -> dict:
    from .. import hdl
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        hdl.run(build, "cocotb_bitmod_free_run", test_dir=Path(__file__).parent,
                env={"BENCH_OUT": str(out), "BENCH_DOTS": str(dots)})
        return json.loads(out.read_text())


def main() -> None:
    from ...base import config
    from ...rtl.bitmod.free_run import free_run_cycles
    from ...rtl.bitmod.params import EngineParams
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="tiny")
    ap.add_argument("--dots", type=int, default=4000, help="dot products in the Verilator run")
    ap.add_argument("--amaranth-dots", type=int, default=8)
    ap.add_argument("--groups", type=int, default=4, help="groups per dot product")
    ap.add_argument("--hierarchical", action="store_true",
                    help="PEs as Instances of one PE module, built with Verilator hier_block "
                         "(what a 32x32 array needs; give --amaranth-dots 0 with it)")
    args = ap.parse_args()
    if args.hierarchical and args.amaranth_dots:
        ap.error("--hierarchical runs only in Verilator: add --amaranth-dots 0")
    p = EngineParams.from_config(config.load(args.config))
    build = _build(p, args.groups, args.config, args.hierarchical)
    vl = _verilator(build, args.dots)
    expected = free_run_cycles(p, args.groups, args.dots)
    if vl["count"] != args.dots or abs(vl["cycles"] - expected) > 2:
        raise RuntimeError(f"Verilator run: {vl} (expected {expected} cycles)")
    runs = [("cocotb + Verilator (awaits done)", vl["cycles"], vl["seconds"])]
    if args.amaranth_dots:
        am_cycles, am_seconds, am_sum = _amaranth(p, args.amaranth_dots, args.groups)
        vl_small = _verilator(build, args.amaranth_dots)["checksum"]
        if am_sum != vl_small:
            raise RuntimeError(f"checksums differ: Amaranth {am_sum:#x}, Verilator {vl_small:#x}")
        runs.append(("Amaranth pysim (one wake-up at the end)", am_cycles, am_seconds))
    macs_per_cycle = p.rows * p.cols * p.lanes / 2
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
          f"(shared), Python {platform.python_version()}; config {args.config}: "
          f"{p.rows}x{p.cols} PEs, {p.lanes} lanes, group {p.group_size}, 4-bit BitMoD weights")
    print("| simulator | run | wall s | cycles/s | MACs/s |\n|---|---|---|---|---|")
    for name, cycles, seconds in runs:
        rate = cycles / seconds
        print(f"| {name} | {cycles} cycles | {seconds:.2f} | {rate:,.0f} | "
              f"{rate * macs_per_cycle:,.0f} |")
    print(f"Verilator build: {build.seconds:.1f} s ({'cache hit' if build.cache_hit else 'fresh'})"
          f"{', hierarchical' if args.hierarchical else ''}; checksum {vl['checksum']:#010x}")
    if args.amaranth_dots:
        print(f"Amaranth and Verilator checksums of the {args.amaranth_dots}-dot run agree "
              f"({am_sum:#010x})")


def _build(p, groups: int, config_name: str, hierarchical: bool):
    """The free-running array's Verilator build; the flat one's key is shared with
    sim/hdl/calibrate.py (one compile for both)."""
    from ...fpga import export
    from ...rtl.bitmod.free_run import ArrayFreeRun
    from .. import hdl
    if not hierarchical:
        return hdl.build(lambda: ArrayFreeRun(p, groups), top="bitmod_free_run",
                         key=f"bench-bitmod-array-{config_name}-g{groups}")
    text = export.verilog_text(ArrayFreeRun(p, groups, hierarchical=True), "bitmod_free_run")
    return hdl.build(export.mark_hier_blocks(text, "bitmod_free_run"), top="bitmod_free_run",
                     key=f"bench-bitmod-array-hier-{config_name}-g{groups}",
                     build_args=export.VERILATOR_HIER_ARGS)
