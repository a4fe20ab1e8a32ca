"""cocotb module for bench_bitmod_array: wait for ``done`` of the self-driving array (no
per-cycle Python), report wall seconds, cycles and the checksum."""
import json
import os
import time

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge


@cocotb.test()
async def free_run(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.dots.value = int(os.environ["BENCH_DOTS"])
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    start_ns = cocotb.utils.get_sim_time(unit="ns")
    start = time.perf_counter()
    await RisingEdge(dut.done)
    await ReadOnly()
    seconds = time.perf_counter() - start
    cycles = round((cocotb.utils.get_sim_time(unit="ns") - start_ns) / 10)
    with open(os.environ["BENCH_OUT"], "w") as fh:
        json.dump({"seconds": seconds, "cycles": cycles, "checksum": int(dut.checksum.value),
                   "count": int(dut.count.value)}, fh)
