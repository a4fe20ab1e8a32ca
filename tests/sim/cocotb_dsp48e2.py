"""cocotb: fpga/models/dsp48e2.v against Yosys' DSP48E1 model, cycle by cycle (run by
tests/sim/test_dsp48e2_model.py). Both are configured alike. DSP_MODE "mac": A2/B2, M, P
registers, constant OPMODE P = M or P = PCIN + M, A within the DSP48E1's 25-bit multiplier input,
where the two slices compute the same; "acc": no multiplier, P = P + A:B or P = P + C chosen per
cycle. Random operands and extremes, random clock enables, resets."""
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly

EXTREMES_A = (-(1 << 24), (1 << 24) - 1, 0, -1, 1)
EXTREMES_B = (-(1 << 17), (1 << 17) - 1, 0, -1, 1)
EXTREMES_48 = (0, 1, (1 << 48) - 1, 1 << 47, (1 << 47) - 1)


def _operands(rng, mac: bool) -> tuple[int, int, int]:
    """(A, B, C): A within 25 bits for the MAC (the DSP48E1's multiplier input), the full 30
    bits when A:B is an addend."""
    a_bits = 25 if mac else 30
    a = rng.choice(EXTREMES_A) if rng.random() < 0.2 else rng.randrange(-(1 << a_bits - 1),
                                                                         1 << a_bits - 1)
    b = rng.choice(EXTREMES_B) if rng.random() < 0.2 else rng.randrange(-(1 << 17), 1 << 17)
    c = 0 if mac else rng.choice(EXTREMES_48) if rng.random() < 0.2 else rng.randrange(1 << 48)
    return a, b, c


@cocotb.test()
async def test_models_agree(dut):
    mac = os.environ.get("DSP_MODE", "mac") == "mac"
    rng = random.Random(int(os.environ.get("DSP_SEED", "1")))
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value, dut.ce.value, dut.sel.value = 1, 1, 0
    dut.a.value, dut.b.value, dut.c.value, dut.pcin.value = 0, 0, 0, 0
    for _ in range(2):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    nonzero, cycles = 0, int(os.environ.get("DSP_CYCLES", "3000"))
    for cycle in range(cycles):
        dut.a.value, dut.b.value, dut.c.value = _operands(rng, mac)
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
