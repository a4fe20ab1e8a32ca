"""cocotb module for bench_hdl: let the example counter run N cycles with no per-cycle Python."""
import os
import time

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly


@cocotb.test()
async def free_run(dut):
    cycles = int(os.environ["BENCH_CYCLES"])
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.en.value = 1
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    start = time.perf_counter()
    await ClockCycles(dut.clk, cycles)
    await ReadOnly()
    seconds = time.perf_counter() - start
    assert int(dut.count.value) == cycles % 256
    with open(os.environ["BENCH_OUT"], "w") as fh:
        fh.write(f"{seconds}\n")
