"""cocotb bench of fp_bench_top.FpBench under Verilator (run by test_fp_verilator.py).

No vector crosses the cocotb boundary: the top generates its operands from a counter and folds
every result into a signature. This module only clocks it: ``run`` high for exactly FP_VECTORS
cycles, a snapshot of every ``(cnt, sig)`` pair each FP_CHECK cycles and after the pipelines
drain, written as JSON to FP_RESULTS for the pytest side to compare with golden.
"""
from __future__ import annotations

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge

DRAIN = 64                     # > every latency in the top


def _snapshot(dut, names):
    return {"n": int(dut.n.value),
            **{name: [int(getattr(dut, f"cnt_{name}").value),
                      int(getattr(dut, f"sig_{name}").value)] for name in names}}


@cocotb.test()
async def fp_stream(dut):
    count, check = int(os.environ["FP_VECTORS"]), int(os.environ["FP_CHECK"])
    names = os.environ["FP_SIGNATURES"].split(",")
    assert count % check == 0, "FP_VECTORS must be a multiple of FP_CHECK"
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.run.value = 0
    dut.seed.value = int(os.environ["FP_SEED"])
    dut.rst.value = 1
    for _ in range(2):
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    snaps = [_snapshot(dut, names)]
    dut.run.value = 1
    for _ in range(count // check):
        await ClockCycles(dut.clk, check, rising=False)
        snaps.append(_snapshot(dut, names))
    dut.run.value = 0
    await ClockCycles(dut.clk, DRAIN, rising=False)
    snaps.append(_snapshot(dut, names))
    with open(os.environ["FP_RESULTS"], "w") as f:
        json.dump(snaps, f)
