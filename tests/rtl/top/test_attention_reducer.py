"""The attention engine's streaming reducer (one adder, amaranth.sim) equals golden's fixed
tree (``binary32.tree`` over the terms in feed order) bit for bit, and takes the cycles its
docstring states."""
import numpy as np
from amaranth.sim import Simulator
from hypothesis import given, settings, strategies as st

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


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.one_of(st.integers(0, 2**32 - 1), st.sampled_from(list(SPECIAL))),
                         max_size=19), min_size=1, max_size=4))
def test_reducer_is_the_fixed_tree(sums):
    got, cycles = reduce(sums)
    assert [canon(g) for g in got] == [golden(t) for t in sums]
    for terms, n in zip(sums, cycles):
        levels = (len(terms) - 1).bit_length() if terms else 0
        assert n == (1 if not terms else levels + 2)


def test_signed_zero_padding():
    """A lone -0 stays -0 (n = 1); three -0 give +0 (the padding adds +0)."""
    neg = int(np.float32(-0.0).view(np.uint32))
    got, _ = reduce([[neg], [neg, neg, neg], [neg, neg]])
    assert got == [neg, 0, neg]
