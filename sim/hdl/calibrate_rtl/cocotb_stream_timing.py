"""cocotb module for bitflight.sim.hdl.calibrate_csd: stream passes into a Verilated CSD chain at full
rate (output always ready) and record each run's handshake cycles and output beats.

Environment: CAL_IN (JSON ``{"runs": [[payload hex, ...], ...]}``), CAL_OUT (JSON written here:
per run ``{"accepted": [...], "emitted": [...], "outputs": [hex, ...]}``, cycles counted from the
start of the run).
"""
import json
import os

import cocotb

from bitflight.sim.hdl.calibrate_rtl.stream_driver import drive, reset


@cocotb.test()
async def stream_timing(dut):
    await reset(dut)
    with open(os.environ["CAL_IN"]) as fh:
        runs = [[int(p, 16) for p in run] for run in json.load(fh)["runs"]]
    results = []
    for payloads in runs:
        outs, accepted, emitted = await drive(dut, payloads)
        results.append({"accepted": accepted, "emitted": emitted,
                        "outputs": [format(b, "x") for b in outs]})
    with open(os.environ["CAL_OUT"], "w") as fh:
        json.dump(results, fh)
