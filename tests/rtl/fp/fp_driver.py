"""Drive an fp unit in amaranth.sim: one vector per cycle, outputs collected ``latency`` cycles
later (for combinational units the same cycle)."""
from __future__ import annotations

import numpy as np
from amaranth.sim import Simulator


def run_unit(dut, inputs: dict[str, np.ndarray], outputs: tuple[str, ...] = ("y",),
             latency: int | None = None) -> dict[str, np.ndarray]:
    """Apply ``inputs[port][i]`` in cycle i; return ``{port: values}`` read in cycle i + latency."""
    latency = dut.latency if latency is None else latency
    n = len(next(iter(inputs.values())))
    cols = {name: [int(v) for v in vals] for name, vals in inputs.items()}
    got = {name: [] for name in outputs}

    async def bench(ctx):
        for i in range(n + latency):
            if i < n:
                for name, vals in cols.items():
                    ctx.set(getattr(dut, name), vals[i])
            if i >= latency:
                for name in outputs:
                    got[name].append(ctx.get(getattr(dut, name)))
            if latency:
                await ctx.tick()

    sim = Simulator(dut)
    if latency:
        sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return {name: np.array(vals, dtype=np.int64) for name, vals in got.items()}


def mismatches(ins: dict[str, np.ndarray], got: np.ndarray, want: np.ndarray, n: int = 5):
    """The first few failing vectors, readable in an assertion message."""
    bad = np.flatnonzero(np.asarray(got, np.int64) != np.asarray(want, np.int64))
    return [({k: hex(int(v[i])) for k, v in ins.items()}, hex(int(got[i])), hex(int(want[i])))
            for i in bad[:n]]


def run_iterative(dut, inputs: dict[str, np.ndarray], gap: int = 0) -> tuple[np.ndarray, list[int]]:
    """Start one operation per ``done`` (back to back, or ``gap`` idle cycles later); return ``y``
    of each and the measured start-to-done cycles."""
    n = len(next(iter(inputs.values())))
    cols = {name: [int(v) for v in vals] for name, vals in inputs.items()}
    got, cycles = [], []

    async def bench(ctx):
        for i in range(n):
            for name, vals in cols.items():
                ctx.set(getattr(dut, name), vals[i])
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            for name in cols:                       # operands matter only in the start cycle
                ctx.set(getattr(dut, name), 0xFFFFFFFF)
            count = 1
            while not ctx.get(dut.done):
                assert ctx.get(dut.busy)
                await ctx.tick()
                count += 1
            cycles.append(count)
            got.append(ctx.get(dut.y))
            for _ in range(gap):
                await ctx.tick()
                assert not ctx.get(dut.busy) and ctx.get(dut.y) == got[-1]

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return np.array(got, dtype=np.int64), cycles
