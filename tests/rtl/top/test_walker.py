"""The DMA run walker's bursts and range faults: the ISA's runs (compiler.footprint.dma_runs)
cut by AXI4's burst rules, worked out here per beat (Amaranth simulator, hypothesis cases)."""
import random

from amaranth.sim import Simulator
from hypothesis import given, settings, strategies as st

from bitflight.compiler import isa
from bitflight.compiler.footprint import dma_runs
from bitflight.rtl.top.params import TopParams
from bitflight.rtl.top.walker import LANES, RunWalker
from bitflight.sim.hdl import amaranth_run


def _params(max_beats=16):
    return TopParams(channels=1, buffer_lines=(64,) * 5, max_burst_beats=max_beats)


ADDR_BITS = _params().hbm_addr_bits


def _expected_bursts(lo, length, max_beats):
    """Cut bytes [lo, lo + length) into INCR bursts by walking them one beat at a time: a burst
    ends at a 4 KiB page, after ``max_beats`` beats, or with the run."""
    bursts, cur, hi = [], lo, lo + length
    while cur < hi:
        start = cur & ~(LANES - 1)
        beats, pos = 0, start
        while pos < hi and beats < max_beats and (beats == 0 or pos % 4096):
            beats, pos = beats + 1, pos + LANES
        end = min(pos, hi)
        bursts.append({"addr": start % (1 << ADDR_BITS), "beats": beats, "first": cur % LANES,
                       "bytes": end - cur, "head": min(end, start + LANES) - cur})
        cur = end
    return bursts


def _want(ld, pos0, max_beats):
    return [b for lo, hi in dma_runs(ld, pos0) for b in _expected_bursts(lo, hi - lo, max_beats)]


def _walk(ld, pos0, limit, max_beats, ready_prob, seed):
    """Run the LD instruction ``ld`` through the walker; return (bursts, fault or None)."""
    dut = RunWalker(_params(max_beats), gather=False)
    rng = random.Random(seed)
    got, fault = [], []

    async def bench(ctx):
        ctx.set(dut.cmd, {name: ld[name] for name in dut.cmd.shape().members})
        ctx.set(dut.pos0, pos0)
        ctx.set(dut.limit, limit)
        await ctx.tick().repeat(2)   # cmd and pos0 hold from two cycles before start
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)        # busy from here until the last run is done
        for _ in range(100_000):
            ready = rng.random() < ready_prob
            ctx.set(dut.bursts.ready, ready)
            await ctx.delay(1e-9)
            if ctx.get(dut.fault):
                fault.append((ctx.get(dut.fault_lo), ctx.get(dut.fault_hi)))
            if ctx.get(dut.bursts.valid) and ready:
                got.append({k: ctx.get(getattr(dut.bursts.payload, k))
                            for k in ("addr", "beats", "first", "bytes", "head")})
            if not ctx.get(dut.busy):
                return
            await ctx.tick()
        raise AssertionError("walker never went idle")

    amaranth_run.run(dut, bench)
    return got, (fault[0] if fault else None)


_cmds = st.fixed_dictionaries({
    "hbm_addr": st.one_of(st.integers(0, 1 << 14), st.integers((1 << ADDR_BITS) - 9000,
                                                               (1 << ADDR_BITS) - 1)),
    "length": st.one_of(st.integers(0, 64), st.integers(4000, 9000)),
    "count1": st.integers(0, 3), "stride1": st.integers(0, 5000),
    "count2": st.integers(0, 2), "stride2": st.integers(0, 20000), "rel": st.integers(0, 1)})


@settings(max_examples=60, deadline=None)
@given(cmd=_cmds, pos0=st.integers(0, 7), max_beats=st.sampled_from([1, 4, 16, 256]),
       ready_prob=st.sampled_from([1.0, 0.4]), seed=st.integers(0, 1000))
def test_bursts_follow_axi_rules(cmd, pos0, max_beats, ready_prob, seed):
    """Every run, every page boundary and burst cap, also for runs that wrap the 32-bit AXI
    address (the channel limit here is large enough for any run)."""
    ld = isa.make("LD", **cmd)
    got, fault = _walk(ld, pos0, 1 << 60, max_beats, ready_prob, seed)
    assert fault is None
    assert got == _want(ld, pos0, max_beats)


def test_run_past_the_channel_faults_with_its_range():
    """Run 1 of 3 ends 1 byte past the limit: the bursts of run 0 go out, then the fault
    names run 1's byte range and no burst of it is issued."""
    ld = isa.make("LD", hbm_addr=4000, length=100, count1=3, stride1=1000)
    got, fault = _walk(ld, 0, 5099, 16, 1.0, 0)
    assert fault == (5000, 5100)
    assert got == _expected_bursts(4000, 100, 16)


def test_zero_fill_runs_are_not_range_checked():
    ld = isa.make("LD", hbm_addr=1 << 20, length=48, zero_fill=1)
    got, fault = _walk(ld, 0, 0, 16, 1.0, 0)
    assert fault is None and got == _want(ld, 0, 16)


@settings(max_examples=20, deadline=None)
@given(pairs=st.lists(st.tuples(st.integers(0, (1 << 32) - 1), st.integers(0, (1 << 32) - 1)),
                      min_size=1, max_size=8))
def test_relative_offset_is_pos0_times_stride1_two_cycles_later(pairs):
    """The walker's pipelined ``pos0 x stride1`` over full 32-bit operands (the program tests
    use small positions): a fresh pair every cycle, each product two cycles later."""
    from amaranth.hdl import Module, Signal
    from bitflight.rtl.top.walker import partial_products
    m, a, b, y = Module(), Signal(32), Signal(32), Signal(68)
    m.d.sync += y.eq(partial_products(m, a, b, "t"))

    async def bench(ctx):
        for k in range(len(pairs) + 1):
            if k < len(pairs):
                ctx.set(a, pairs[k][0])
                ctx.set(b, pairs[k][1])
            await ctx.tick()
            if k >= 1:
                x, z = pairs[k - 1]
                assert ctx.get(y) == x * z, (k, x, z)

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def _busy_cycles(ld):
    """Cycles the walker is busy for ``ld`` with a free META port and bursts taken at once."""
    dut = RunWalker(_params(), gather=True)
    cycles = []

    async def bench(ctx):
        ctx.set(dut.cmd, {name: ld[name] for name in dut.cmd.shape().members})
        ctx.set(dut.limit, 1 << 40)
        ctx.set(dut.bursts.ready, 1)
        await ctx.tick().repeat(2)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        n, asked = 0, 0
        while ctx.get(dut.busy):
            ctx.set(dut.ids.ready, ctx.get(dut.ids.valid))
            ctx.set(dut.ids.rvalid, asked)          # the line the cycle after the grant
            asked = ctx.get(dut.ids.valid)
            n += 1
            await ctx.tick()
        cycles.append(n)

    amaranth_run.run(dut, bench)
    return cycles[0]


def test_run_cycles_are_the_models():
    """sim.perf's RTL mode (sim/top/perf_timing.py) charges WALK_RUN per run, one cycle per
    burst and WALK_GATHER more per gathered run: the walker takes exactly that."""
    from bitflight.sim.top.perf_timing import WALK_GATHER, WALK_RUN
    for count1 in (1, 3):
        plain = isa.make("LD", length=16, count1=count1, stride1=16)
        gathered = isa.make("LD", length=16, count1=count1, stride1=16, gather=1)
        assert _busy_cycles(plain) == count1 * (WALK_RUN + 1)
        assert _busy_cycles(gathered) == count1 * (WALK_RUN + 1 + WALK_GATHER)
