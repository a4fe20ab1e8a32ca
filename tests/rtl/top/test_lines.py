"""The line reader (rtl/top/lines.py) against its definition: ``count`` lines of one buffer from
``first`` upwards or downwards, in order, whatever the read port's grants and the consumer's
back-pressure; ``idle`` once every line is out; a flush drops what was read ahead."""
import random

from hypothesis import given, settings, strategies as st

from bitflight.rtl.top.lines import LineReader
from bitflight.rtl.top.params import TopParams
from bitflight.sim.hdl import amaranth_run

P = TopParams(channels=1, buffer_lines=(256,) * 5)


def _line(buf, addr):
    return (buf << 100) | (addr * 0x9E3779B1 & 0xFFFF_FFFF)


def _read(jobs, grant_prob, take_prob, seed):
    """Run ``jobs`` [(buf, first, count, down, flush_after)] back to back; per job the lines
    taken before ``idle`` (a flush after ``flush_after`` taken lines, if not None)."""
    dut = LineReader(P)
    rng = random.Random(seed)
    got = []

    async def bench(ctx):
        for buf, first, count, down, flush_after in jobs:
            ctx.set(dut.buf, buf)
            ctx.set(dut.first, first)
            ctx.set(dut.count, count)
            ctx.set(dut.down, down)
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            lines, pending, flushing = [], None, False
            for _ in range(600):
                ctx.set(dut.flush, flushing)
                granted = rng.random() < grant_prob
                ctx.set(dut.rd.ready, granted and ctx.get(dut.rd.valid))
                ctx.set(dut.rd.rvalid, pending is not None)
                ctx.set(dut.rd.rdata, pending or 0)
                take = rng.random() < take_prob
                ctx.set(dut.lines.ready, take)
                if ctx.get(dut.lines.valid) and take:
                    line, addr = ctx.get(dut.lines.payload.data), ctx.get(dut.lines.payload.addr)
                    assert line == _line(buf, addr)         # each line with its own address
                    lines.append(line)
                if flushing and ctx.get(dut.idle):
                    break
                if not flushing and ctx.get(dut.idle) and len(lines) == count:
                    break
                pending = None
                if ctx.get(dut.rd.valid) and ctx.get(dut.rd.ready):
                    assert ctx.get(dut.rd.buf) == buf
                    pending = _line(buf, ctx.get(dut.rd.addr))
                if flush_after is not None and len(lines) >= flush_after:
                    flushing = True
                await ctx.tick()
            else:
                raise AssertionError("the reader never went idle")
            ctx.set(dut.flush, 0)
            ctx.set(dut.rd.rvalid, 0)
            await ctx.tick()
            got.append(lines)

    amaranth_run.run(dut, bench)
    return got


def _want(buf, first, count, down):
    return [_line(buf, first - i if down else first + i) for i in range(count)]


_jobs = st.lists(st.tuples(st.integers(0, 4), st.integers(20, 200), st.integers(0, 12),
                           st.booleans(), st.one_of(st.none(), st.integers(0, 6))),
                 min_size=1, max_size=4)


@settings(max_examples=40, deadline=None)
@given(jobs=_jobs, grant_prob=st.sampled_from([1.0, 0.5, 0.2]),
       take_prob=st.sampled_from([1.0, 0.6]), seed=st.integers(0, 1000))
def test_lines_in_order_under_any_grants(jobs, grant_prob, take_prob, seed):
    got = _read(jobs, grant_prob, take_prob, seed)
    for (buf, first, count, down, flush_after), lines in zip(jobs, got):
        want = _want(buf, first, count, down)
        if flush_after is None:
            assert lines == want
        else:                       # a prefix, at least up to the flush
            assert lines == want[:len(lines)] and len(lines) >= min(flush_after, count)


def test_one_line_per_cycle_when_granted():
    """Timing of the docstring: the first line on ``lines`` 4 cycles after the start pulse
    (cycle 0 here is the one after it), then one per cycle."""
    dut = LineReader(P)
    seen = []

    async def bench(ctx):
        ctx.set(dut.first, 10)
        ctx.set(dut.count, 6)
        ctx.set(dut.start, 1)
        ctx.set(dut.lines.ready, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        pending = None
        for cycle in range(12):
            ctx.set(dut.rd.ready, ctx.get(dut.rd.valid))
            ctx.set(dut.rd.rvalid, pending is not None)
            ctx.set(dut.rd.rdata, pending or 0)
            if ctx.get(dut.lines.valid):
                seen.append(cycle)
            pending = _line(0, ctx.get(dut.rd.addr)) if ctx.get(dut.rd.valid) else None
            await ctx.tick()

    amaranth_run.run(dut, bench)
    assert seen == [3, 4, 5, 6, 7, 8]
