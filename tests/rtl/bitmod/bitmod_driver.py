"""Drive a BitMoD PE or array in amaranth.sim with a job of bitmod_cases; collect the output
beats and the cycle of every accepted chunk (the benches assert exact results and cycle counts
from these with bitmod_cases.check_run)."""
from __future__ import annotations


from bitflight.rtl.bitmod import layouts
from bitflight.rtl.bitmod.array import BitmodArray
from bitflight.sim.hdl import amaranth_run


def run_job(dut, job: dict, max_cycles: int = 200_000, ready_every: int = 1) -> dict:
    """Returns {"beats": [(cycle, [fp16 per row], last)], "accept": cycles}.

    ``ready_every`` > 1 back-pressures the output: ``o.ready`` only every that many cycles."""
    is_array = isinstance(dut, BitmodArray)
    want = sum(len(tile) for tile in job["expected"])
    state = {"beats": [], "accept": []}

    async def bench(ctx):
        i, cycle = 0, 0
        src = dut.w if is_array else dut.i
        while len(state["beats"]) < want and cycle < max_cycles:
            feeding = i < len(job["w"])
            if feeding and is_array:
                beat = job["w"][i]
                ctx.set(dut.w.payload, layouts.flags_value(beat))
                for r in range(dut.p.rows):
                    ctx.set(dut.weight_row(r), beat["rows"][r])
                ctx.set(dut.a.payload, layouts.array_act_value(job["a"][i]))
            elif feeding:
                ctx.set(dut.i.payload, layouts.pe_in_value(job["w"][i], job["a"][i]))
            ctx.set(src.valid, feeding)
            if is_array:
                ctx.set(dut.a.valid, feeding)
            if feeding and ctx.get(src.ready):
                state["accept"].append(cycle)
                i += 1
            ctx.set(dut.o.ready, cycle % ready_every == 0)
            if ctx.get(dut.o.valid) and ctx.get(dut.o.ready):
                if is_array:
                    word = ctx.get(dut.o.payload)
                    rows = [int(word[layouts.row(r)]) for r in range(dut.p.rows)]
                    state["beats"].append((cycle, rows, int(word.last)))
                else:
                    state["beats"].append((cycle, [ctx.get(dut.o.payload)], 1))
            await ctx.tick()
            cycle += 1

    amaranth_run.run(dut, bench)
    return state
