"""cocotb module for sim.perf.calibrate_csd: stream passes into a Verilated CSD chain at full
rate (output always ready) and record each run's handshake cycles and output beats.

Environment: CAL_IN (JSON ``{"runs": [[payload hex, ...], ...]}``), CAL_OUT (JSON written here:
per run ``{"accepted": [...], "emitted": [...], "outputs": [hex, ...]}``, cycles counted from the
end of reset).
"""
import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

MAX_IDLE = 1000      # cycles without a handshake before the run is declared stuck


@cocotb.test()
async def stream_timing(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.i__valid.value = 0
    dut.o__ready.value = 1
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    with open(os.environ["CAL_IN"]) as fh:
        runs = [[int(p, 16) for p in run] for run in json.load(fh)["runs"]]
    cycle, results = 0, []
    for payloads in runs:
        accepted, emitted, outputs = [], [], []
        sent, idle = 0, 0
        while len(outputs) < len(payloads):
            await FallingEdge(dut.clk)
            dut.i__valid.value = int(sent < len(payloads))
            if sent < len(payloads):
                dut.i__payload.value = payloads[sent]
            await ReadOnly()
            moved = False
            if dut.i__valid.value and dut.i__ready.value:
                accepted.append(cycle)
                sent += 1
                moved = True
            if dut.o__valid.value:
                outputs.append(format(int(dut.o__payload.value), "x"))
                emitted.append(cycle)
                moved = True
            await RisingEdge(dut.clk)
            cycle += 1
            idle = 0 if moved else idle + 1
            assert idle < MAX_IDLE, f"no handshake for {MAX_IDLE} cycles ({len(outputs)} out)"
        results.append({"accepted": accepted, "emitted": emitted, "outputs": outputs})
    with open(os.environ["CAL_OUT"], "w") as fh:
        json.dump(results, fh)
