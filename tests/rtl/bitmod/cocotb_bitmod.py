"""cocotb bench of the BitMoD PE / array under Verilator (run by test_bitmod_verilator.py and
test_bitmod_hier.py).

Env: BITMOD_JOBS = path of a JSON list of bitmod_cases jobs; BITMOD_TARGET = "pe" | "array";
BITMOD_PARAMS = JSON of EngineParams fields (the PE is their 1 x 1 case). Per job
(bitmod_cases.check_run): the fp16 results equal golden.bitserial.dot bit for bit, chunks are
accepted exactly every ``slots`` cycles, a group takes its paper cycle count, and the first and
last beat of the first tile appear ``result_latency`` / ``latency`` cycles after its last chunk.
"""
from __future__ import annotations

import dataclasses
import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from bitflight.rtl.bitmod import layouts
from bitflight.rtl.bitmod.params import EngineParams

from bitmod_cases import check_run


def _params(target: str) -> EngineParams:
    p = EngineParams(**json.loads(os.environ["BITMOD_PARAMS"]))
    return p if target == "array" else dataclasses.replace(p, rows=1, cols=1)


def _beats(job, target, p):
    """Per chunk, Verilog input port -> word (the array's flags, tile rows and activations,
    or the PE's one input payload)."""
    if target == "array":
        return [{port.replace(".", "__"): word
                 for port, word in layouts.array_words(p, w, a).items()}
                for w, a in zip(job["w"], job["a"])]
    il = layouts.pe_in_layout(p)
    return [{"i__payload": il.const(layouts.pe_in_value(w, a)).as_value().value}
            for w, a in zip(job["w"], job["a"])]


async def _run_job(dut, job, target, p):
    words = _beats(job, target, p)
    src_valid = dut.w__valid if target == "array" else dut.i__valid
    src_ready = dut.w__ready if target == "array" else dut.i__ready
    want = sum(len(tile) for tile in job["expected"])
    beats, accepts = [], []
    i = cycle = 0
    while len(beats) < want:
        assert cycle < 100_000, "timeout waiting for results"
        await FallingEdge(dut.clk)
        if i < len(words):
            for port, word in words[i].items():
                getattr(dut, port).value = word
            src_valid.value = 1
            if target == "array":
                dut.a__valid.value = 1
        else:
            src_valid.value = 0
            if target == "array":
                dut.a__valid.value = 0
        await ReadOnly()
        if i < len(words) and int(src_ready.value):
            accepts.append(cycle)
            i += 1
        if int(dut.o__valid.value):
            word = int(dut.o__payload.value)
            beats.append((cycle, *layouts.array_beat(p, word)) if target == "array"
                         else (cycle, [word], 1))
        await RisingEdge(dut.clk)
        cycle += 1
    check_run(job, beats, accepts, p.result_latency, p.latency)


@cocotb.test()
async def bitmod_jobs(dut):
    target = os.environ["BITMOD_TARGET"]
    p = _params(target)
    with open(os.environ["BITMOD_JOBS"]) as f:
        jobs = json.load(f)
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.o__ready.value = 1
    dut.rst.value = 1
    for _ in range(2):
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    for job in jobs:
        await _run_job(dut, job, target, p)
