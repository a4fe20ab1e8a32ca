"""The DMA engines' on-chip range check (rtl/top/dma_common.py BufferRange) against its
definition: ``lo = buf_addr * 16``, ``hi = lo + length * count1 * count2`` (counts of 0 mean 1),
``ok`` when ``hi`` is at most the buffer's size, all valid two cycles after ``start``."""
from amaranth.sim import Simulator
from hypothesis import given, settings, strategies as st

from bitflight.compiler import isa
from bitflight.rtl.top.dma_common import BufferRange
from bitflight.rtl.top.params import TopParams

P = TopParams(channels=1, buffer_lines=(64, 32, 16, 8, 4))


def _check(cases):
    dut = BufferRange(P)

    async def bench(ctx):
        for buf, buf_addr, length, c1, c2 in cases:
            for sig, v in ((dut.buf, buf), (dut.buf_addr, buf_addr), (dut.length, length),
                           (dut.count1, c1), (dut.count2, c2), (dut.start, 1)):
                ctx.set(sig, v)
            await ctx.tick()
            ctx.set(dut.start, 0)
            assert not ctx.get(dut.ready)
            await ctx.tick()
            lo = buf_addr * 16
            hi = lo + length * (c1 or 1) * (c2 or 1)
            assert ctx.get(dut.ready)
            assert (ctx.get(dut.lo), ctx.get(dut.hi)) == (lo, hi)
            assert ctx.get(dut.ok) == (hi <= P.buffer_bytes[buf]), (buf, buf_addr, length, c1, c2)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def test_edges_around_the_buffer_end():
    """Exactly full, one byte over, a start beyond the end, a start at the end with no bytes
    past it, and counts of 0."""
    size = P.buffer_bytes[isa.Buf.ACT]
    lines = size // 16
    _check([(isa.Buf.ACT, 0, size, 1, 1), (isa.Buf.ACT, 0, size + 1, 1, 1),
            (isa.Buf.ACT, lines - 1, 16, 0, 0), (isa.Buf.ACT, lines - 1, 17, 0, 0),
            (isa.Buf.ACT, lines + 1, 1, 1, 1), (isa.Buf.ACT, lines, 0, 1, 1),
            (isa.Buf.ACT, (1 << 20) - 1, 1, 1, 1), (isa.Buf.WGT, 2, 16, 3, 9),
            (isa.Buf.WGT, 2, 16, 3, 10), (isa.Buf.BIAS, 0, (1 << 24) - 1, 65535, 65535)])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(isa.Buf)), st.integers(0, 80),
                          st.integers(0, 1200), st.integers(0, 4), st.integers(0, 4)),
                min_size=1, max_size=6))
def test_random_ranges(cases):
    _check(cases)
