"""The BitMoD engine's field reader (rtl/top/bitmod/reader.py) against its definition: whenever
it says ``hit``, the first ``span`` bits of ``data`` are the buffer's bits at ``addr``, whatever
the port's grants; every field asked for is served; a stream through consecutive lines served at
one field per ``gap`` cycles never waits once the port grants every request (the read-ahead);
a flush forgets the window."""
import random

from hypothesis import given, settings, strategies as st

from bitflight.rtl.top.bitmod.reader import FieldReader
from bitflight.rtl.top.params import TopParams
from bitflight.sim.hdl import amaranth_run

P = TopParams(channels=1, buffer_lines=(256,) * 5)
BUF = 2


def _line(addr):
    """Line ``addr`` of the modelled buffer: 128 pseudo-random bits."""
    return random.Random(addr).getrandbits(128)


def _bits(addr, span):
    """Bits ``[addr, addr + span)`` of the buffer, LSB-first."""
    first = addr // 128
    window = _line(first) | (_line(first + 1) << 128)
    return (window >> (addr % 128)) & ((1 << span) - 1)


def _serve(fields, width, grant_prob, seed, gap=0, flush_at=()):
    """Ask for ``fields`` [(addr, span)] in turn (the next ``gap`` cycles after a hit); return
    the cycle of each hit."""
    dut = FieldReader(P, width)
    rng = random.Random(seed)
    hits = []

    async def bench(ctx):
        ctx.set(dut.buf, BUF)
        port = {"pending": None, "cycle": 0}

        async def clock():
            """One cycle of the buffer's read port: grant at random, data the cycle after."""
            granted = rng.random() < grant_prob
            ctx.set(dut.rd.ready, granted and ctx.get(dut.rd.valid))
            ctx.set(dut.rd.rvalid, port["pending"] is not None)
            ctx.set(dut.rd.rdata, port["pending"] or 0)
            hit = ctx.get(dut.hit)
            data = ctx.get(dut.data)
            port["pending"] = None
            if ctx.get(dut.rd.valid) and ctx.get(dut.rd.ready):
                assert ctx.get(dut.rd.buf) == BUF
                port["pending"] = _line(ctx.get(dut.rd.addr))
            await ctx.tick()
            port["cycle"] += 1
            return hit, data

        for i, (addr, span) in enumerate(fields):
            if i in flush_at:
                ctx.set(dut.flush, 1)
                await clock()
                ctx.set(dut.flush, 0)
            ctx.set(dut.req, 0)
            for _ in range(gap if i else 0):           # the consumer is busy
                await clock()
            ctx.set(dut.addr, addr)
            ctx.set(dut.span, span)
            ctx.set(dut.req, 1)
            for _ in range(60):
                hit, data = await clock()
                if hit:
                    assert data & ((1 << span) - 1) == _bits(addr, span), (i, addr)
                    hits.append(port["cycle"])
                    break
            else:
                raise AssertionError(f"field {i} at bit {addr} never served")
        ctx.set(dut.req, 0)

    amaranth_run.run(dut, bench)
    return hits


_fields = st.lists(st.tuples(st.integers(0, 40 * 128), st.sampled_from([0, 8, 16, 48, 64, 128])),
                   min_size=1, max_size=24)


@settings(max_examples=40, deadline=None)
@given(fields=_fields, grant_prob=st.sampled_from([1.0, 0.5, 0.2]), seed=st.integers(0, 999),
       flush=st.integers(0, 30))
def test_random_fields_are_the_buffer_bits(fields, grant_prob, seed, flush):
    fields = [(a, min(s, 128)) for a, s in fields]
    hits = _serve(fields, 128, grant_prob, seed, flush_at=(flush,))
    assert len(hits) == len(fields)


@settings(max_examples=20, deadline=None)
@given(start=st.integers(0, 2000), step=st.sampled_from([48, 64, 128]),
       grant_prob=st.sampled_from([1.0, 0.7]), seed=st.integers(0, 99))
def test_increasing_fields_any_step(start, step, grant_prob, seed):
    """Forward streams of any stride (a tile's beats), fields crossing lines included."""
    fields = [(start + i * step, 64) for i in range(20)]
    assert len(_serve(fields, 64, grant_prob, seed)) == len(fields)


def test_a_stream_never_waits_once_started():
    """64-bit fields at consecutive 64-bit steps, one every 2 cycles (the array's rate at 2
    slots): after the first field's refill, every later field hits in the cycle it is asked."""
    fields = [(512 + 64 * i, 64) for i in range(32)]
    hits = _serve(fields, 64, 1.0, 0, gap=1)
    assert all(b - a == 2 for a, b in zip(hits[1:], hits[2:])), hits
    assert hits[0] <= 4                     # move the window, grant, data, then the hit


def test_a_field_in_the_upper_line_slides_without_waiting():
    """A whole-line stride (int8 beats of a 2-row array in blocks of 4): each field lies in the
    line after the last one, read ahead, so the stream still runs at one field per 2 cycles."""
    fields = [(128 * i, 64) for i in range(16)]
    hits = _serve(fields, 64, 1.0, 0, gap=1)
    assert all(b - a == 2 for a, b in zip(hits[2:], hits[3:])), hits
