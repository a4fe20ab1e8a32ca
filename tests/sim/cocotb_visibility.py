"""cocotb side of test_hdl's visibility tests: which signals of ``vis`` can the bench reach?

Env: VISIBLE = comma-separated names of the signals the build should expose: ``seen`` (the top
module's own register) and ``inner``'s ``secret`` and ``mem_x``."""
from __future__ import annotations

import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles


def _reachable(scope, name: str) -> bool:
    try:
        getattr(scope, name)
    except AttributeError:
        return False
    return True


@cocotb.test()
async def visibility(dut):
    want = {n for n in os.environ["VISIBLE"].split(",") if n}
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.a.value = 4
    await ClockCycles(dut.clk, 3)
    # secret = a + 1 = 5, then mem_x[a % 4 = 0] = 5: y = 5 + 5
    assert int(dut.y.value) == 10, f"the top's ports: y = {int(dut.y.value)}, expected 10"
    got = {name for name in ("secret", "mem_x")
           if _reachable(dut, "inner") and _reachable(dut.inner, name)}
    got |= {"seen"} if _reachable(dut, "seen") else set()
    assert got == want, f"reachable {sorted(got)}, expected {sorted(want)}"
