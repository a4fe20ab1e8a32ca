"""The DMA engines' on-chip range check (rtl/top/dma_common.py BufferRange) against its
definition: ``lo = buf_addr * 16``, ``hi = lo + length * count1 * count2`` (counts of 0 mean 1),
``ok`` (and ``total``, exact when ``ok``) two cycles after ``start``, ``hi`` three cycles after."""
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
            ok = hi <= P.buffer_bytes[buf]
            assert ctx.get(dut.ready) and not ctx.get(dut.hi_ready)
            assert ctx.get(dut.ok) == ok, (buf, buf_addr, length, c1, c2)
            if ok:
                assert ctx.get(dut.total) == hi - lo
            await ctx.tick()
            assert ctx.get(dut.ready) and ctx.get(dut.hi_ready) and ctx.get(dut.ok) == ok
            assert (ctx.get(dut.lo), ctx.get(dut.hi)) == (lo, hi)

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


_small = st.tuples(st.sampled_from(list(isa.Buf)), st.integers(0, 80), st.integers(0, 1200),
                   st.integers(0, 4), st.integers(0, 4))
# factors around the 11-bit decision width of these buffers (k = 1024 bytes' bit length) and
# up to the fields' maxima: every overflow flag of the narrow products
_wide = st.tuples(st.sampled_from(list(isa.Buf)), st.integers(0, 80),
                  st.one_of(st.integers(0, 3), st.integers(1000, 2100), st.integers(0, (1 << 24) - 1)),
                  st.one_of(st.integers(0, 3), st.integers(500, 2100), st.integers(0, 65535)),
                  st.one_of(st.integers(0, 3), st.integers(500, 2100), st.integers(0, 65535)))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(_small, _wide), min_size=1, max_size=6))
def test_random_ranges(cases):
    _check(cases)


def test_products_at_the_decision_width():
    """Totals of exactly 2**11 (the decision width here) from each factor, and zero lengths
    with large counts."""
    _check([(isa.Buf.ACT, 0, 2048, 1, 1), (isa.Buf.ACT, 0, 1024, 2, 1),
            (isa.Buf.ACT, 0, 512, 2, 2), (isa.Buf.ACT, 0, 1, 1, 2048), (isa.Buf.ACT, 0, 1, 2048, 1),
            (isa.Buf.ACT, 0, 0, 65535, 65535), (isa.Buf.ACT, 0, 1024, 1, 1),
            (isa.Buf.ACT, 0, 1, 1024, 1), (isa.Buf.ACT, 0, 1, 1, 1024), (isa.Buf.ACT, 0, 2, 32, 16),
            (isa.Buf.ACT, 0, 2, 32, 17)])
