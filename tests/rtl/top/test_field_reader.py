"""The BitMoD engine's field reader (rtl/top/bitmod/reader.py) against its definition: whenever
it says ``hit``, the first ``span`` bits of ``data`` are the buffer's bits at ``addr``, whatever
the port's grants; every field asked for is served; a stream through consecutive lines served at
one field per ``gap`` cycles never waits once the port grants every request (the read-ahead);
a flush forgets the window. A wide reader does the same over WGT rows of several lines."""
import random

from amaranth.hdl import Module
from hypothesis import given, settings, strategies as st

from bitflight.rtl.top.bitmod.reader import FieldReader
from bitflight.rtl.top.params import TopParams
from bitflight.sim.hdl import amaranth_run

BUF = 2


def _line(addr):
    """Line ``addr`` of the modelled buffer: 128 pseudo-random bits."""
    return random.Random(addr).getrandbits(128)


def _bits(addr, span):
    """Bits ``[addr, addr + span)`` of the buffer, LSB-first."""
    first = addr // 128
    window = sum(_line(first + k) << 128 * k for k in range(span // 128 + 2))
    return (window >> (addr % 128)) & ((1 << span) - 1)


def _row(addr, banks):
    """The WGT row holding line ``addr``: its ``banks`` lines, the first at the lowest bits."""
    first = addr - addr % banks
    return sum(_line(first + k) << 128 * k for k in range(banks))


def _serve(fields, width, grant_prob, seed, gap=0, flush_at=(), banks=1, seen_prob=0.0,
           grain=0, single=False):
    """Ask for ``fields`` [(addr, span)] in turn (the next ``gap`` cycles after a hit); return the
    cycle of each hit and the reads granted. ``banks`` > 1: a wide reader on WGT rows of that many
    lines, which also sees, with probability ``seen_prob`` a cycle when its own read is not
    arriving, another client's read of a row at or just after the current field's."""
    params = TopParams(channels=1, buffer_lines=(256,) * 5, wgt_lines=banks)
    dut = FieldReader(params, width, wide=banks > 1, grain=grain, single=single)
    rng = random.Random(seed)
    hits = []

    port = {"pending": None, "cycle": 0, "near": 0, "reads": 0}

    async def bench(ctx):
        ctx.set(dut.buf, BUF)

        async def clock():
            """One cycle of the buffer's read port: grant at random, data the cycle after."""
            granted = rng.random() < grant_prob
            ctx.set(dut.rd.rvalid, port["pending"] is not None)
            row = port["pending"]
            if banks > 1:
                if row is None and rng.random() < seen_prob:
                    row = port["near"] + rng.randrange(3)
                ctx.set(dut.rd.seen, row is not None)
                ctx.set(dut.rd.seen_row, row or 0)
            ctx.set(dut.rd.rdata, 0 if row is None else _row(row * banks, banks))
            ctx.set(dut.rd.ready, granted and ctx.get(dut.rd.valid))
            hit = ctx.get(dut.hit)
            data = ctx.get(dut.data)
            port["pending"] = None
            if ctx.get(dut.rd.valid) and ctx.get(dut.rd.ready):
                assert ctx.get(dut.rd.buf) == BUF
                addr = ctx.get(dut.rd.addr)
                assert addr % banks == 0          # a wide reader names a row's first line
                port["pending"] = addr // banks
                port["reads"] += 1
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
            port["near"] = addr // (128 * banks)
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
    return hits, port["reads"]


_fields = st.lists(st.tuples(st.integers(0, 40 * 128), st.sampled_from([0, 8, 16, 48, 64, 128])),
                   min_size=1, max_size=24)


@settings(max_examples=40, deadline=None)
@given(fields=_fields, grant_prob=st.sampled_from([1.0, 0.5, 0.2]), seed=st.integers(0, 999),
       flush=st.integers(0, 30))
def test_random_fields_are_the_buffer_bits(fields, grant_prob, seed, flush):
    fields = [(a, min(s, 128)) for a, s in fields]
    hits, _ = _serve(fields, 128, grant_prob, seed, flush_at=(flush,))
    assert len(hits) == len(fields)


@settings(max_examples=30, deadline=None)
@given(fields=st.lists(st.tuples(st.integers(0, 60 * 128), st.integers(0, 512)), min_size=1,
                       max_size=16),
       banks=st.sampled_from([2, 4]), grant_prob=st.sampled_from([1.0, 0.3]),
       seed=st.integers(0, 999), flush=st.integers(0, 20),
       seen_prob=st.sampled_from([0.0, 0.3, 0.8]))
def test_wide_reader_fields_are_the_buffer_bits(fields, banks, grant_prob, seed, flush,
                                                seen_prob):
    width = 128 * banks
    fields = [(a, min(s, width)) for a, s in fields]
    hits, _ = _serve(fields, width, grant_prob, seed, flush_at=(flush,), banks=banks,
                     seen_prob=seen_prob)
    assert len(hits) == len(fields)


@settings(max_examples=30, deadline=None)
@given(fields=st.lists(st.tuples(st.integers(0, 60 * 128), st.integers(0, 512)), min_size=1,
                       max_size=16),
       grain=st.integers(1, 9), grant_prob=st.sampled_from([1.0, 0.3]),
       seed=st.integers(0, 999), flush=st.integers(0, 20))
def test_coarse_reader_fields_at_its_grain(fields, grain, grant_prob, seed, flush):
    """A reader whose fields start at multiples of ``2**grain`` bits (the metadata reader on
    tiles whose sections start WGT rows): the buffer's bits at every such field."""
    width = 512
    fields = [(a >> grain << grain, min(s, width)) for a, s in fields]
    hits, _ = _serve(fields, width, grant_prob, seed, flush_at=(flush,), banks=4, grain=grain)
    assert len(hits) == len(fields)


@settings(max_examples=30, deadline=None)
@given(fields=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 3)), min_size=1,
                       max_size=16),
       grain=st.integers(5, 9), grant_prob=st.sampled_from([1.0, 0.3]),
       seed=st.integers(0, 999), flush=st.integers(0, 20))
def test_single_row_reader_fields_that_do_not_cross(fields, grain, grant_prob, seed, flush):
    """A reader that holds one row (the metadata reader where no field crosses a row): fields
    of ``2**grain`` bits at multiples of their size, in random rows, are the buffer's bits."""
    size = 1 << grain
    fields = [(row * 512 + slot * size % 512, size) for row, slot in fields]
    hits, _ = _serve(fields, 512, grant_prob, seed, flush_at=(flush,), banks=4, grain=grain,
                     single=True)
    assert len(hits) == len(fields)


def test_wide_stream_of_whole_rows_never_waits():
    """A beat of a whole WGT row each (4-bit codes of 1024 rows in rows of 128 lines, here 4
    lines): one row every 2 cycles, read ahead, so every field after the first hits at once."""
    fields = [(1024 + 512 * i, 512) for i in range(16)]
    hits, _ = _serve(fields, 512, 1.0, 0, gap=1, banks=4)
    assert all(b - a == 2 for a, b in zip(hits[1:], hits[2:])), hits


@settings(max_examples=20, deadline=None)
@given(start=st.integers(0, 2000), step=st.sampled_from([48, 64, 128]),
       grant_prob=st.sampled_from([1.0, 0.7]), seed=st.integers(0, 99))
def test_increasing_fields_any_step(start, step, grant_prob, seed):
    """Forward streams of any stride (a tile's beats), fields crossing lines included."""
    fields = [(start + i * step, 64) for i in range(20)]
    assert len(_serve(fields, 64, grant_prob, seed)[0]) == len(fields)


def test_a_stream_never_waits_once_started():
    """64-bit fields at consecutive 64-bit steps, one every 2 cycles (the array's rate at 2
    slots): after the first field's refill, every later field hits in the cycle it is asked."""
    fields = [(512 + 64 * i, 64) for i in range(32)]
    hits, _ = _serve(fields, 64, 1.0, 0, gap=1)
    assert all(b - a == 2 for a, b in zip(hits[1:], hits[2:])), hits
    assert hits[0] <= 4                     # move the window, grant, data, then the hit


def test_a_field_in_the_upper_line_slides_without_waiting():
    """A whole-line stride (int8 beats of a 2-row array in blocks of 4): each field lies in the
    line after the last one, read ahead, so the stream still runs at one field per 2 cycles."""
    fields = [(128 * i, 64) for i in range(16)]
    hits, _ = _serve(fields, 64, 1.0, 0, gap=1)
    assert all(b - a == 2 for a, b in zip(hits[2:], hits[3:])), hits


def test_rows_seen_on_the_port_are_not_read_again():
    """The same stream, with every cycle's port data some nearby row (another code reader's
    reads): the reader asks for fewer rows than it uses, and every field is still the
    buffer's bits."""
    fields = [(1024 + 512 * i, 512) for i in range(16)]
    _, alone = _serve(fields, 512, 1.0, 0, gap=1, banks=4)
    hits, shared = _serve(fields, 512, 1.0, 0, gap=1, banks=4, seen_prob=1.0)
    assert len(hits) == len(fields) and alone >= 17 and shared <= alone - 4, (alone, shared)


@settings(max_examples=60, deadline=None)
@given(window=st.integers(0, (1 << 96) - 1), amount=st.integers(0, 127),
       width=st.integers(1, 48), unit_log2=st.integers(0, 3))
def test_shift_down_is_a_truncated_shift(window, amount, width, unit_log2):
    """``unit``: a shift by ``amount`` units of ``2**unit_log2`` bits."""
    from amaranth.hdl import Const
    from amaranth.sim import Simulator

    from bitflight.rtl.top.bitmod.reader import shift_down
    m = Module()
    amount >>= unit_log2
    out = shift_down(m, Const(window, 96), Const(amount, 7 - unit_log2), width,
                     unit=1 << unit_log2)
    seen = {}

    async def bench(ctx):
        seen["v"] = ctx.get(out)
    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert len(out) == width
    assert seen["v"] == (window >> (amount << unit_log2)) & ((1 << width) - 1)
