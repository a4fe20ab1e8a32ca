"""cocotb: fpga/models/dsp48e2.v against Yosys' DSP48E1 model, cycle by cycle (run by
tests/sim/test_dsp48e2_model.py). Both are configured alike (A2/B2, M, P registers, constant
OPMODE P = M or P = PCIN + M); A stays within the DSP48E1's 25-bit multiplier input, where the
two slices compute the same. Random operands and extremes, random clock enables, resets."""
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly

EXTREMES_A = (-(1 << 24), (1 << 24) - 1, 0, -1, 1)
EXTREMES_B = (-(1 << 17), (1 << 17) - 1, 0, -1, 1)


@cocotb.test()
async def test_models_agree(dut):
    rng = random.Random(int(os.environ.get("DSP_SEED", "1")))
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value, dut.ce.value, dut.sel.value = 1, 1, 0
    dut.a.value, dut.b.value, dut.pcin.value = 0, 0, 0
    for _ in range(2):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    nonzero, cycles = 0, int(os.environ.get("DSP_CYCLES", "3000"))
    for cycle in range(cycles):
        dut.a.value = rng.choice(EXTREMES_A) if rng.random() < 0.2 else rng.randrange(-(1 << 24), 1 << 24)
        dut.b.value = rng.choice(EXTREMES_B) if rng.random() < 0.2 else rng.randrange(-(1 << 17), 1 << 17)
        dut.pcin.value = rng.randrange(1 << 48)
        dut.sel.value = rng.random() < 0.5
        dut.ce.value = rng.random() < 0.8
        dut.rst.value = rng.random() < 0.01
        await ReadOnly()
        p1, p2 = int(dut.p1.value), int(dut.p2.value)
        assert p1 == p2, f"cycle {cycle}: DSP48E1 P {p1:#x} != DSP48E2 model P {p2:#x}"
        nonzero += p1 != 0
        await FallingEdge(dut.clk)
    assert nonzero > cycles // 2
