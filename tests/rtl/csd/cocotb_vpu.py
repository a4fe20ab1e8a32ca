"""cocotb bench of the Verilated VPU (chain + row accumulator): final rows with bias, bit-exact.

Environment: CSD_PACKED ("0"/"1"), CSD_CASES (JSON list of make_case keyword sets plus "seed").
"""
import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from csd_cases import expected, geometry, make_case
from vpu_bench import vpu_outputs, vpu_vectors


@cocotb.test()
async def rows_bit_exact(dut):
    geo = geometry("tiny", packed=os.environ.get("CSD_PACKED") == "1")
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.i__valid.value = dut.bias__valid.value = dut.o__ready.value = 0
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    for spec in json.loads(os.environ["CSD_CASES"]):
        spec = dict(spec)
        seed = spec.pop("seed")
        sp, x, bias = make_case(seed, **spec)
        blocks, bias_beats, pass_beats = vpu_vectors(geo, sp, x, bias)
        outs, bi, pi, cycle = [], 0, 0, 0
        while len(outs) < len(blocks):
            await FallingEdge(dut.clk)
            dut.bias__valid.value = int(bi < len(bias_beats))
            if bi < len(bias_beats):
                dut.bias__payload.value = bias_beats[bi]
            dut.i__valid.value = int(pi < len(pass_beats))
            if pi < len(pass_beats):
                dut.i__payload.value = pass_beats[pi]
            dut.o__ready.value = 1
            await ReadOnly()
            bi += int(bool(dut.bias__valid.value) and bool(dut.bias__ready.value))
            pi += int(bool(dut.i__valid.value) and bool(dut.i__ready.value))
            if dut.o__valid.value:
                outs.append(int(dut.o__payload.value))
            await RisingEdge(dut.clk)
            cycle += 1
            assert cycle < 100_000, "VPU made no progress"
        got = vpu_outputs(geo, blocks, outs, (x.shape[0], sp.shape[0]))
        want = expected(sp, x, bias)
        bad = np.argwhere(got != want)
        assert not bad.size, f"{spec} seed {seed}: {len(bad)} mismatches, first {tuple(bad[0])}"
        # one pass per cycle, plus the chain latency once and 2 cycles per row block
        assert cycle <= len(pass_beats) + geo.latency + 2 * len(blocks) + 2, cycle
        dut._log.info("%s: %d blocks, %d passes, %d cycles, bit-exact", spec, len(blocks),
                      len(pass_beats), cycle)
