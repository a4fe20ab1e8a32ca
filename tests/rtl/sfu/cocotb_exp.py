"""cocotb bench of the exp unit alone (run by test_sfu_verilator.py): one argument per cycle,
every result compared with golden.ops.expo.exp_nonpos after ``EXP_LATENCY`` cycles.

Env: EXP_CASES = path of a .npy file of binary32 bit patterns (uint32)."""
from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly

from bitflight.golden.ops import expo


@cocotb.test()
async def exp_unit(dut):
    bits = np.load(os.environ["EXP_CASES"]).astype(np.uint32)
    latency = int(os.environ["EXP_LATENCY"])
    want = expo.exp_nonpos(bits.view(np.float32)).view(np.uint32)
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 0
    got = []
    for cycle in range(len(bits) + latency):
        await FallingEdge(dut.clk)
        dut.t.value = int(bits[cycle]) if cycle < len(bits) else 0
        await ReadOnly()
        if cycle >= latency:
            got.append(int(dut.y.value))
    got = np.array(got, dtype=np.uint32)
    bad = np.nonzero(got != want)[0]
    assert not len(bad), (f"{len(bad)} of {len(bits)} wrong, first: E({bits[bad[0]]:#010x}) = "
                          f"{got[bad[0]]:#010x}, golden {want[bad[0]]:#010x}")
