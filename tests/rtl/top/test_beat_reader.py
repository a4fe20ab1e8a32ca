"""The BITMOD engine's beat reader (rtl/top/bitmod/beat.py) against its definition: whenever it
says ``hit``, each array row's ``lanes x b`` bits of ``codes`` are the buffer's bits of that row
of the beat (and the bits above are 0), for beats at aligned addresses (a multiple of
``rows x lanes x b`` past a WGT row start), whatever the port's grants; every beat asked for is
served; a flush forgets the window. With every request granted, a tile's beat stream hits in
exactly the cycles sim.perf's model of the reader (sim/top/beat_model.py) predicts."""
import random

from hypothesis import given, settings, strategies as st

from bitflight.rtl.bitmod.params import CODE_BITS, EngineParams
from bitflight.rtl.top.bitmod.beat import BeatReader
from bitflight.rtl.top.bitmod.timing import window_rows
from bitflight.rtl.top.params import TopParams
from bitflight.sim.hdl import amaranth_run
from bitflight.sim.top.beat_model import BeatStream

from test_field_reader import _bits, _row

LANES = 4
BUFFER_LINES = 1024


def _serve(rows, banks, bits, beats, grant_prob, seed, slots=2, flush_at=()):
    """Ask for ``beats`` (bit addresses) in turn, each taken on a hit at least ``slots`` cycles
    after the one before, naming the next one with the take (``ahead``) as the engine does;
    return each beat's cycle (the cycles count from the first request)."""
    params = TopParams(channels=1, buffer_lines=(BUFFER_LINES,) * 5, wgt_lines=banks)
    dut = BeatReader(params, EngineParams(rows=rows, cols=1, lanes=LANES))
    rng = random.Random(seed)
    hits = []
    port = {"pending": None, "cycle": 0}
    piece = LANES * bits

    async def bench(ctx):
        ctx.set(dut.bits, bits)

        async def clock(accept=None):
            """One cycle of the buffer's read port (grant at random, data the cycle after);
            ``accept(hit, codes)`` says whether the beat is taken this cycle, and sets the take
            and the next address before the port's grant is decided."""
            ctx.set(dut.rd.rvalid, port["pending"] is not None)
            row = port["pending"]
            ctx.set(dut.rd.rdata, 0 if row is None else _row(row * banks, banks))
            hit, codes = ctx.get(dut.hit), ctx.get(dut.codes)
            taken = accept(hit, codes) if accept else False
            ctx.set(dut.rd.ready, rng.random() < grant_prob and ctx.get(dut.rd.valid))
            port["pending"] = None
            if ctx.get(dut.rd.valid) and ctx.get(dut.rd.ready):
                addr = ctx.get(dut.rd.addr)
                assert addr % banks == 0 and ctx.get(dut.rd.buf) == 1      # WGT rows
                port["pending"] = addr // banks
            await ctx.tick()
            ctx.set(dut.take, 0)
            port["cycle"] += 1
            return taken

        ctx.set(dut.flush, 1)
        await ctx.tick()
        ctx.set(dut.flush, 0)
        last = None
        for i, addr in enumerate(beats):
            if i in flush_at:
                ctx.set(dut.req, 0)
                ctx.set(dut.flush, 1)
                await clock()
                ctx.set(dut.flush, 0)
                last = None
            ctx.set(dut.addr, addr)
            ctx.set(dut.req, 1)

            def accept(hit, codes):
                now = port["cycle"]
                if not hit or (last is not None and now < last + slots):
                    return False
                for r in range(rows):
                    got = (codes >> r * LANES * CODE_BITS) & ((1 << LANES * CODE_BITS) - 1)
                    assert got == _bits(addr + r * piece, piece), (i, addr, r)
                hits.append(now)
                if i + 1 < len(beats) and i + 1 not in flush_at:      # the engine's take
                    ctx.set(dut.take, 1)
                    ctx.set(dut.ahead, beats[i + 1])
                return True
            for _ in range(200):
                if await clock(accept):
                    last = hits[-1]
                    break
            else:
                raise AssertionError(f"beat {i} at bit {addr} never served")
        ctx.set(dut.req, 0)

    amaranth_run.run(dut, bench)
    return hits


SHAPES = [(2, 2), (4, 2), (20, 2), (8, 8), (3, 4)]        # (array rows, lines per WGT row)


@settings(max_examples=40, deadline=None)
@given(shape=st.sampled_from(SHAPES), bits=st.sampled_from([3, 4, 6, 8]),
       steps=st.lists(st.integers(-3, 40), min_size=1, max_size=16),
       grant_prob=st.sampled_from([1.0, 0.5, 0.2]), seed=st.integers(0, 999),
       flush=st.integers(0, 20))
def test_aligned_beats_are_the_buffer_bits(shape, bits, steps, grant_prob, seed, flush):
    """Beats at random aligned addresses (steps of the beat's grain, backwards too)."""
    rows, banks = shape
    unit = rows * LANES * bits
    row0 = random.Random(seed).randrange(8) * banks * 128
    beats, at = [], 0
    last = (BUFFER_LINES * 128 - row0 - unit) // unit          # beats inside the buffer
    for s in steps:
        at = min(max(0, at + s), last)
        beats.append(row0 + at * unit)
    assert len(_serve(rows, banks, bits, beats, grant_prob, seed, flush_at=(flush,))) == \
        len(beats)


@settings(max_examples=25, deadline=None)
@given(shape=st.sampled_from(SHAPES), bits=st.sampled_from([3, 4, 6, 8]),
       block=st.integers(1, 3), slots=st.sampled_from([2, 3, 4]), count=st.integers(1, 24))
def test_a_tile_stream_hits_when_the_model_says(shape, bits, block, slots, count):
    """A tile's beats ``B x lanes x b`` bits apart (B a multiple of the rows), every request
    granted: hit cycles as BeatStream's."""
    rows, banks = shape
    stride, beat, row = block * rows * LANES * bits, rows * LANES * bits, banks * 128
    hits = _serve(rows, banks, bits, [j * stride for j in range(count)], 1.0, 0, slots)
    model = BeatStream(stride, beat, row, window_rows(EngineParams(rows=rows, cols=1), banks))
    want = [model.first(0, 0)]
    for j in range(1, count):
        want.append(max(want[-1] + slots, model.after(j, want[-1])))
    assert hits == want
