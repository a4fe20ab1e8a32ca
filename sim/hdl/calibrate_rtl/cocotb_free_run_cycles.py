"""cocotb module for bitflight.sim.hdl.calibrate: run the self-driving BitMoD array
(rtl/bitmod/free_run.py) until ``done`` with no per-cycle Python and report the cycles, counted
like the Amaranth run: clock edges after reset up to and including the one that raises ``done``.

Environment: CAL_DOTS (tiles to run), CAL_OUT (JSON ``{"cycles", "count", "checksum"}``).
"""
import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge
from cocotb.utils import get_sim_time

PERIOD_NS = 10


@cocotb.test()
async def free_run_cycles(dut):
    cocotb.start_soon(Clock(dut.clk, PERIOD_NS, unit="ns").start())
    dut.rst.value = 1
    dut.dots.value = int(os.environ["CAL_DOTS"])
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    await RisingEdge(dut.clk)           # the first edge out of reset: cycle 1
    first = get_sim_time(unit="ns")
    await RisingEdge(dut.done)
    cycles = (get_sim_time(unit="ns") - first) // PERIOD_NS + 1
    with open(os.environ["CAL_OUT"], "w") as fh:
        json.dump({"cycles": int(cycles), "count": int(dut.count.value),
                   "checksum": int(dut.checksum.value)}, fh)
