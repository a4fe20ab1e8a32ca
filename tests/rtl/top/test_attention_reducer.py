"""The attention engine's streaming reducer (one adder, amaranth.sim) equals golden's fixed
tree (``binary32.tree`` over the terms in feed order) bit for bit (seeded random sums, specials,
signed zeros), and takes the cycles its docstring states."""
import numpy as np
from amaranth.sim import Simulator

from bitflight.golden.ops import binary32
from bitflight.rtl.top.attention.reducer import StreamingReducer

SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 3.4e38, -3.4e38, 1.0,
                    -1.0, 1e-38], np.float32).view(np.uint32)


def reduce(sums: list[list[int]]) -> tuple[list[int], list[int]]:
    """Feed each list of binary32 words as one sum; (results, cycles from finish to done)."""
    dut = StreamingReducer()
    results, cycles = [], []

    async def bench(ctx):
        for terms in sums:
            for word in terms:
                ctx.set(dut.term.valid, 1)
                ctx.set(dut.term.payload, int(word))
                while not ctx.get(dut.term.ready):
                    await ctx.tick()
                await ctx.tick()
                ctx.set(dut.term.valid, 0)
            while not ctx.get(dut.term.ready):
                await ctx.tick()
            ctx.set(dut.finish, 1)
            await ctx.tick()
            ctx.set(dut.finish, 0)
            n = 1
            while not ctx.get(dut.done):
                await ctx.tick()
                n += 1
            results.append(ctx.get(dut.result))
            cycles.append(n)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return results, cycles


def golden(terms) -> int:
    return int(binary32.canon(binary32.tree(np.asarray(terms, np.uint32).view(np.float32)))
               .view(np.uint32))


def canon(word: int) -> int:
    return int(binary32.canon(np.uint32(word).view(np.float32)).view(np.uint32))


def _sums(seed: int) -> list[list[int]]:
    """Sums of 0..19 terms: random bit patterns, normal values, cancellations and specials."""
    rng = np.random.default_rng(seed)
    out = []
    for n in list(range(20)) + [int(x) for x in rng.integers(1, 20, 12)]:
        kind = rng.integers(3)
        if kind == 0:
            terms = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
        elif kind == 1:
            terms = (rng.standard_normal(n) * 10.0 ** rng.integers(-30, 30)).astype(
                np.float32).view(np.uint32)
        else:
            terms = rng.choice(SPECIAL, n)
        out.append([int(x) for x in terms])
    neg = int(np.float32(-0.0).view(np.uint32))
    return out + [[neg], [neg, neg, neg], [neg, neg]]


def test_reducer_is_the_fixed_tree():
    """One simulation, many sums; a lone -0 stays -0 (n = 1), three -0 give +0 (the padding
    adds +0), two give -0."""
    sums = _sums(3)
    got, cycles = reduce(sums)
    assert [canon(g) for g in got] == [golden(t) for t in sums]
    assert got[-3:] == [sums[-3][0], 0, sums[-1][0]]
    for terms, n in zip(sums, cycles):
        assert n == (1 if not terms else (len(terms) - 1).bit_length() + 2)
