"""Driving an ``amaranth.lib.stream`` DUT (``i`` in, ``o`` out) from cocotb, shared by the RTL
calibration (cocotb_stream_timing.py) and the CSD RTL bench (tests/rtl/csd/cocotb_csd.py).

Signals: ``clk``, ``rst``, ``i__valid/ready/payload``, ``o__valid/ready/payload``. Inputs change
on the falling edge and handshakes are sampled in the read-only phase before the rising edge, so
a beat counts in the cycle whose rising edge transfers it.
"""
import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

MAX_IDLE = 1000      # cycles without any handshake before a run is declared stuck


async def reset(dut, cycles: int = 2) -> None:
    """Start a 100 MHz clock and hold reset for ``cycles`` cycles with nothing offered."""
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.i__valid.value = 0
    dut.o__ready.value = 0
    for _ in range(cycles):
        await RisingEdge(dut.clk)
    dut.rst.value = 0


async def drive(dut, payloads, *, ready_prob: float = 1.0, valid_prob: float = 1.0,
                seed: int = 0) -> tuple[list[int], list[int], list[int]]:
    """Offer ``payloads`` (each cycle with probability ``valid_prob``; output ready with
    ``ready_prob``) until as many output beats came back. Returns (output payloads, input
    handshake cycles, output handshake cycles), cycles counted from this call."""
    rng = np.random.default_rng(seed)
    outs, accepted, emitted = [], [], []
    sent, cycle, idle = 0, 0, 0
    while len(outs) < len(payloads):
        await FallingEdge(dut.clk)
        offer = sent < len(payloads) and rng.random() < valid_prob
        dut.i__valid.value = int(offer)
        if offer:
            dut.i__payload.value = payloads[sent]
        dut.o__ready.value = int(rng.random() < ready_prob)
        await ReadOnly()
        moved = False
        if dut.i__valid.value and dut.i__ready.value:
            accepted.append(cycle)
            sent += 1
            moved = True
        if dut.o__valid.value and dut.o__ready.value:
            outs.append(int(dut.o__payload.value))
            emitted.append(cycle)
            moved = True
        await RisingEdge(dut.clk)
        cycle += 1
        idle = 0 if moved else idle + 1
        assert idle < MAX_IDLE, (f"no handshake for {MAX_IDLE} cycles: "
                                 f"{len(outs)}/{len(payloads)} beats out")
    return outs, accepted, emitted
