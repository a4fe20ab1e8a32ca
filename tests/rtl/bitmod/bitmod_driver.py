"""Drive a BitMoD PE or array in amaranth.sim with a job of bitmod_cases; collect results and the
cycle of every accepted beat (the benches assert exact results and cycle counts from these)."""
from __future__ import annotations

from amaranth.sim import Simulator

from bitflight.rtl.bitmod import layouts
from bitflight.rtl.bitmod.array import BitmodArray




def run_job(dut, job: dict, max_cycles: int = 200_000, ready_every: int = 1) -> dict:
    """Returns {"results": [[[mant, exp]]] per dot product, "accept": cycles, "out": cycles}.

    ``ready_every`` > 1 back-pressures the output: ``o.ready`` only every that many cycles."""
    is_array = isinstance(dut, BitmodArray)
    rows = len(job["w"][0]["rows"])
    cols = len(job["a"][0])
    state = {"results": [], "accept": [], "out": []}

    async def bench(ctx):
        i, cycle, want = 0, 0, len(job["expected"])
        out = dut.o
        while len(state["results"]) < want and cycle < max_cycles:
            if i < len(job["w"]):
                beat_w, beat_a = job["w"][i], job["a"][i]
                if is_array:
                    ctx.set(dut.w.payload, layouts.array_weight_value(beat_w))
                    ctx.set(dut.a.payload, layouts.array_act_value(beat_a))
                    ctx.set(dut.w.valid, 1)
                    ctx.set(dut.a.valid, 1)
                    accepted = ctx.get(dut.w.ready)
                else:
                    ctx.set(dut.i.payload, {"w": beat_w["rows"][0],
                                            "acts": layouts.acts_value(beat_a[0]),
                                            **{k: beat_w[k] for k in ("first", "last", "dot_last")}})
                    ctx.set(dut.i.valid, 1)
                    accepted = ctx.get(dut.i.ready)
                if accepted:
                    state["accept"].append(cycle)
                    i += 1
            else:
                ctx.set(dut.w.valid if is_array else dut.i.valid, 0)
                if is_array:
                    ctx.set(dut.a.valid, 0)
            ctx.set(out.ready, cycle % ready_every == 0)
            if ctx.get(out.valid) and ctx.get(out.ready):
                state["out"].append(cycle)
                if is_array:
                    word = ctx.get(out.payload)
                    res = [[[word[layouts.pe(r, c)].mant, word[layouts.pe(r, c)].exp]
                            for c in range(cols)] for r in range(rows)]
                else:
                    res = [[[ctx.get(out.payload.mant), ctx.get(out.payload.exp)]]]
                state["results"].append(res)
            await ctx.tick()
            cycle += 1

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return state
