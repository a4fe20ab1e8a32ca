"""cocotb checks of rtl/examples Counter, run by tests/sim/test_hdl.py through bitflight.sim.hdl.

Environment: COUNT_CYCLES (cycles to count, default 20), EXPECT_OFFSET (added to the expected
count; nonzero makes test_counts fail on purpose, to test failure reporting).
"""
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge


async def _reset(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.en.value = 0
    dut.rst.value = 1
    await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0


@cocotb.test()
async def test_counts(dut):
    """count equals the number of enabled edges, modulo 2**8."""
    cycles = int(os.environ.get("COUNT_CYCLES", "20"))
    offset = int(os.environ.get("EXPECT_OFFSET", "0"))
    await _reset(dut)
    enabled = 0
    for cycle in range(cycles):
        en = cycle % 3 != 2  # skip every third edge
        dut.en.value = int(en)
        enabled += en
        await FallingEdge(dut.clk)
    await ReadOnly()
    got = int(dut.count.value)
    assert got == (enabled + offset) % 256, f"count {got} != expected {(enabled + offset) % 256}"


@cocotb.test()
async def test_wrap_flag(dut):
    """wrap is high exactly while en is high and count is 255."""
    await _reset(dut)
    dut.en.value = 1
    for cycle in range(300):
        await ReadOnly()
        count, wrap = int(dut.count.value), int(dut.wrap.value)
        assert wrap == (count == 255), f"cycle {cycle}: count {count} wrap {wrap}"
        await FallingEdge(dut.clk)
