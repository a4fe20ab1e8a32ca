"""The DMA byte realigner against a byte-stream model (Amaranth simulator, hypothesis cases)."""
import random

from amaranth.sim import Simulator
from hypothesis import given, settings, strategies as st

from bitflight.rtl.top.aligner import LANES, Aligner


def _chunks(rng, total, aligned_start):
    """Split ``total`` bytes into (lane offset, count) beats; the first may start mid-line."""
    out, left = [], total
    first = True
    while left:
        o = rng.randrange(LANES) if (first or not aligned_start) else 0
        c = min(left, rng.randint(1, LANES - o))
        out.append((o, c))
        left -= c
        first = False
    return out


def _run(seed, total, ready_prob):
    rng = random.Random(seed)
    stream = bytes(rng.randrange(256) for _ in range(total))
    ins, needs = _chunks(rng, total, False), _chunks(rng, total, False)
    dut = Aligner()
    got = []

    async def feed(ctx):
        pos = 0
        for lo, count in ins:
            while rng.random() < 1 - ready_prob:   # idle cycles with junk on the payload
                ctx.set(dut.i.payload, {"data": rng.getrandbits(8 * LANES),
                                        "lo": rng.randrange(LANES), "count": LANES})
                await ctx.tick()
            line = bytearray(rng.randrange(256) for _ in range(LANES))  # junk outside the bytes
            line[lo:lo + count] = stream[pos:pos + count]
            pos += count
            ctx.set(dut.i.payload, {"data": int.from_bytes(line, "little"), "lo": lo,
                                    "count": count})
            ctx.set(dut.i.valid, 1)
            await ctx.tick().until(dut.i.ready)
            ctx.set(dut.i.valid, 0)

    async def ask(ctx):
        for o, c in needs:
            ctx.set(dut.need.payload, {"o": o, "c": c, "tag": c & 1})
            ctx.set(dut.need.valid, 1)
            await ctx.tick().until(dut.need.ready)
            ctx.set(dut.need.valid, 0)

    async def take(ctx):
        for o, c in needs:
            while True:
                ctx.set(dut.o.ready, rng.random() < ready_prob)
                await ctx.delay(1e-9)
                if ctx.get(dut.o.valid) and ctx.get(dut.o.ready):
                    break
                await ctx.tick()
            word = ctx.get(dut.o.payload.data).to_bytes(LANES, "little")
            strb = ctx.get(dut.o.payload.strb)
            assert strb == ((1 << c) - 1) << o
            assert ctx.get(dut.o.payload.tag) == c & 1
            got.append(word[o:o + c])
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_process(feed)
    sim.add_process(ask)
    sim.add_testbench(take)
    sim.run()
    assert b"".join(got) == stream


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), total=st.integers(1, 200),
       ready=st.sampled_from([1.0, 0.5]))
def test_aligner_reorders_any_alignment(seed, total, ready):
    _run(seed, total, ready)


def test_full_lines_one_per_cycle_at_any_offset():
    """Steady state: with the output always ready, a stream entering at any lane offset leaves
    as full 16-byte lines, one beat in and one out per cycle (the window's third line is what
    lets the input be accepted without looking at the output side)."""
    for offset in range(LANES):
        dut, beats = Aligner(), 24
        total = beats * LANES - offset
        state = {"out": 0, "cycles": 0}

        async def bench(ctx):
            ctx.set(dut.need.payload, {"o": 0, "c": LANES, "tag": 0})
            ctx.set(dut.o.ready, 1)
            fed = 0
            while state["out"] < total // LANES:
                lo = offset if fed == 0 else 0
                if fed < total:
                    ctx.set(dut.i.payload, {"data": 0, "lo": lo, "count": LANES - lo})
                ctx.set(dut.i.valid, fed < total)
                ctx.set(dut.need.valid, 1)
                await ctx.delay(1e-9)
                took = ctx.get(dut.i.valid) and ctx.get(dut.i.ready)
                state["out"] += ctx.get(dut.o.valid) and ctx.get(dut.o.ready)
                await ctx.tick()
                state["cycles"] += 1
                fed += (LANES - lo) if took else 0

        sim = Simulator(dut)
        sim.add_clock(1e-6)
        sim.add_testbench(bench)
        sim.run()
        # the first line leaves one cycle after the beat that completes it is taken
        assert state["cycles"] <= total // LANES + 2, (offset, state)


def _cycle_model_run(seed, cycles):
    """Random traffic on every port, ``clear`` included, against a byte queue: each cycle
    ``i.ready`` is ``held + count <= 48``, ``o.valid`` is ``need.valid and held >= c``, an emit
    shows the queue's first ``c`` bytes at lanes ``o ..``, a clear drops everything held (and the
    beat offered in that cycle)."""
    rng = random.Random(seed)
    dut, queue = Aligner(), []
    seen = {"emits": 0, "clears": 0, "full": 0}

    async def bench(ctx):
        for cycle in range(cycles):
            lo = rng.randrange(LANES)
            count = rng.randint(1, LANES - lo)
            data = rng.getrandbits(8 * LANES)
            o = rng.randrange(LANES)
            c = rng.randint(1, LANES - o)
            clear = rng.random() < 0.03
            for sig, v in ((dut.i.valid, rng.random() < 0.7), (dut.i.payload.data, data),
                           (dut.i.payload.lo, lo), (dut.i.payload.count, count),
                           (dut.need.valid, rng.random() < 0.7), (dut.need.payload.o, o),
                           (dut.need.payload.c, c), (dut.need.payload.tag, 0),
                           (dut.o.ready, rng.random() < 0.7), (dut.clear, clear)):
                ctx.set(sig, v)
            await ctx.delay(1e-9)
            fits = len(queue) + count <= 48
            seen["full"] += not fits
            assert ctx.get(dut.i.ready) == fits, cycle
            assert ctx.get(dut.o.valid) == (ctx.get(dut.need.valid) and len(queue) >= c), cycle
            if ctx.get(dut.o.valid) and ctx.get(dut.o.ready):
                word = ctx.get(dut.o.payload.data).to_bytes(LANES, "little")
                assert list(word[o:o + c]) == queue[:c], cycle
                del queue[:c]
                seen["emits"] += 1
            if clear:
                queue.clear()
                seen["clears"] += 1
            elif ctx.get(dut.i.valid) and fits:
                line = data.to_bytes(LANES, "little")
                queue.extend(line[(lo + k) % LANES] for k in range(count))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return seen


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_handshakes_and_bytes_follow_a_byte_queue(seed):
    _cycle_model_run(seed, 150)


def test_cycle_model_run_reaches_full_clear_and_emits():
    seen = _cycle_model_run(3, 400)
    assert min(seen.values()) > 5, seen
