"""cocotb bench of the BitMoD PE / array under Verilator (run by test_bitmod_verilator.py).

Env: BITMOD_JOBS = path of a JSON list of bitmod_cases jobs; BITMOD_TARGET = "pe" | "array";
BITMOD_PARAMS = JSON of EngineParams fields; BITMOD_LATENCY = the component's latency property.
Per job: results equal golden.bitserial.dot_accumulator bit for bit, chunks are accepted exactly
every ``slots`` cycles, and the first result appears ``latency`` cycles after its last chunk.
"""
from __future__ import annotations

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from bitflight.rtl.bitmod import layouts
from bitflight.rtl.bitmod.params import EngineParams


def _params() -> EngineParams:
    return EngineParams(**json.loads(os.environ["BITMOD_PARAMS"]))


def _beats(job, target, p):
    """Packed stream words per chunk: (w or i word, a word or None)."""
    if target == "array":
        return [layouts.array_words(p, w, a) for w, a in zip(job["w"], job["a"])]
    il = layouts.pe_in_layout(p)
    return [(il.const({"w": w["rows"][0], "acts": layouts.acts_value(a[0]), "first": w["first"],
                       "last": w["last"], "dot_last": w["dot_last"]}).as_value().value, None)
            for w, a in zip(job["w"], job["a"])]


async def _run_job(dut, job, target, p, latency):
    beats = _beats(job, target, p)
    src_valid = dut.w__valid if target == "array" else dut.i__valid
    src_ready = dut.w__ready if target == "array" else dut.i__ready
    src_payload = dut.w__payload if target == "array" else dut.i__payload
    results, accepts, outs = [], [], []
    i = cycle = 0
    while len(results) < len(job["expected"]):
        assert cycle < 100_000, "timeout waiting for results"
        await FallingEdge(dut.clk)
        if i < len(beats):
            src_payload.value = beats[i][0]
            src_valid.value = 1
            if target == "array":
                dut.a__payload.value = beats[i][1]
                dut.a__valid.value = 1
        else:
            src_valid.value = 0
            if target == "array":
                dut.a__valid.value = 0
        await ReadOnly()
        if i < len(beats) and int(src_ready.value):
            accepts.append(cycle)
            i += 1
        if int(dut.o__valid.value):
            outs.append(cycle)
            if target == "array":
                results.append(layouts.array_results(p, int(dut.o__payload.value)))
            else:
                word = layouts.result_layout(p).from_bits(int(dut.o__payload.value))
                results.append([[[word.mant, word.exp]]])
        await RisingEdge(dut.clk)
        cycle += 1
    assert results == job["expected"], f"{job['scheme']}: {results} != {job['expected']}"
    gaps = {b - a for a, b in zip(accepts, accepts[1:])}
    assert gaps == {job["slots"]}, f"{job['scheme']}: chunk every {gaps} cycles"
    per_group = next(i for i, w in enumerate(job["w"]) if w["last"]) + 1
    measured = accepts[per_group] - accepts[0]      # first chunk of group 0 to that of group 1
    assert measured == job["cycles_per_group"], f"{job['scheme']}: {measured} cycles per group"
    chunks = len(job["w"]) // len(job["expected"])
    assert outs[0] - accepts[chunks - 1] == latency, (outs[0], accepts[chunks - 1])
    return cycle


@cocotb.test()
async def bitmod_jobs(dut):
    p, target = _params(), os.environ["BITMOD_TARGET"]
    latency = int(os.environ["BITMOD_LATENCY"])
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
        await _run_job(dut, job, target, p, latency)
