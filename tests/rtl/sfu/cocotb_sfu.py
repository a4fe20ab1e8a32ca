"""cocotb bench of the SFU through sfu_harness (run by test_sfu_verilator.py).

Env: SFU_JOBS = path of a pickle of sfu_cases jobs. Per job: the op's configuration is set, the
input beats go in as fast as the harness takes them, the output beats are collected until every
result is there, and sfu_cases.check compares them with golden. When nothing can move, the bench
sleeps until ``in_room`` or ``out_avail`` rises (value-change callbacks, no Python per cycle), so
Python runs once per beat, not once per cycle.
"""
from __future__ import annotations

import os
import pickle

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, First, ReadOnly, RisingEdge, Timer

from sfu_cases import RS, K, beats, check

PERIOD_NS = 10
STALL_CYCLES = 100_000         # no beat in or out for this long: the SFU hangs


async def run_job(dut, job):
    await FallingEdge(dut.clk)
    dut.op.value, dut.imm.value = job["op"], job["imm"]
    dut.eps.value, dut.cols.value = job["eps"], job["cols"]
    todo = beats(job)
    rows, cols = job["a"].shape
    want = rows * cols
    got, results, sent = [], 0, 0
    while results < want:
        await FallingEdge(dut.clk)
        push = sent < len(todo) and int(dut.in_room.value)
        if push:
            dut.in_beat.value = todo[sent]
            sent += 1
        dut.push.value = int(push)
        pop = int(dut.out_avail.value)
        if pop:
            word = int(dut.out_beat.value)
            got.append(word)
            results += word >> (K * RS)
        dut.pop.value = pop
        if push or pop:
            continue
        # both handshakes are low now, so the next rising edge of either is the next progress
        wake = [RisingEdge(dut.out_avail)] + ([RisingEdge(dut.in_room)] if sent < len(todo) else [])
        stall = Timer(STALL_CYCLES * PERIOD_NS, "ns")
        fired = await First(*wake, stall)
        assert fired is not stall, f"no progress ({results} of {want} results)"
    await FallingEdge(dut.clk)
    dut.push.value = dut.pop.value = 0
    check(job, got)


@cocotb.test()
async def sfu_jobs(dut):
    with open(os.environ["SFU_JOBS"], "rb") as f:
        jobs = pickle.load(f)
    cocotb.start_soon(Clock(dut.clk, PERIOD_NS, unit="ns").start())
    dut.push.value = dut.pop.value = 0
    dut.rst.value = 1
    await ClockCycles(dut.clk, 2)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    for job in jobs:
        await run_job(dut, job)
        for _ in range(1000):
            await RisingEdge(dut.clk)
            await ReadOnly()
            if int(dut.idle.value):
                break
        else:
            raise AssertionError("the SFU did not become idle after its job")
