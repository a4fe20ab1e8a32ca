"""EagerWriteFIFO against amaranth.lib.fifo.SyncFIFOBuffered: the same random w_en / w_data /
r_en on both, every output equal in every cycle (the eager memory write must not be visible)."""
import random

from amaranth.hdl import Module
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.sim import Simulator
from hypothesis import given, settings, strategies as st

from bitflight.rtl.top.queue_fifo import EagerWriteFIFO


def _compare(seed, depth, w_prob, r_prob):
    m = Module()
    m.submodules.ref = ref = SyncFIFOBuffered(width=8, depth=depth)
    m.submodules.dut = dut = EagerWriteFIFO(width=8, depth=depth)
    rng = random.Random(seed)
    seen = {"full": 0, "reads": 0}

    async def bench(ctx):
        for cycle in range(150):
            w_en, data, r_en = rng.random() < w_prob, rng.randrange(256), rng.random() < r_prob
            for f in (ref, dut):
                ctx.set(f.w_en, w_en)
                ctx.set(f.w_data, data)
                ctx.set(f.r_en, r_en)
            await ctx.delay(1e-9)
            for name in ("w_rdy", "r_rdy", "level"):
                assert ctx.get(getattr(dut, name)) == ctx.get(getattr(ref, name)), (cycle, name)
            if ctx.get(ref.r_rdy):
                assert ctx.get(dut.r_data) == ctx.get(ref.r_data), cycle
                seen["reads"] += r_en
            seen["full"] += not ctx.get(ref.w_rdy)
            await ctx.tick()

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return seen


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31), depth=st.sampled_from([2, 3, 4, 8]),
       w_prob=st.sampled_from([0.3, 0.7, 1.0]), r_prob=st.sampled_from([0.3, 0.7, 1.0]))
def test_same_cycles_and_data_as_sync_fifo_buffered(seed, depth, w_prob, r_prob):
    _compare(seed, depth, w_prob, r_prob)


def test_comparison_reaches_full_and_reads():
    """A writer faster than the reader fills the FIFO (where writing the slot at the pointer
    would overwrite an unread entry) and reads still happen, so the comparison is not vacuous."""
    for depth in (2, 4):
        seen = _compare(5, depth, 1.0, 0.3)
        assert seen["full"] > 10 and seen["reads"] > 10, (depth, seen)
