"""The SFU's streaming reducer (rtl/sfu/tree.py) in amaranth.sim, with combinational and
pipelined adders: every row's sum bit-exact against golden's fixed tree (golden.ops.binary32.tree),
``finish`` given exactly ``settle(used)`` cycles after the last term, ``done`` exactly
``fold(used)`` cycles after ``finish``."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from amaranth.sim import Simulator

from bitflight.golden.ops import binary32
from bitflight.rtl.sfu.params import SfuParams
from bitflight.rtl.sfu.tree import StreamingTree

U32 = np.uint32
LEVELS = 6


def terms(rng, n: int) -> np.ndarray:
    """Non-negative binary32 terms (the only ones the SFU reduces): zeros, subnormals, values
    spread over many binades so that every add rounds, and a few large ones."""
    mag = rng.integers(0, 0x7F000000, n, dtype=U32)
    pick = rng.integers(0, 8, n)
    mag[pick == 0] = 0
    mag[pick == 1] &= U32(0x007FFFFF)                       # subnormal
    mag[pick == 2] = rng.integers(0x3C000000, 0x44000000, int((pick == 2).sum()), dtype=U32)
    return mag


def run_rows(stages: int, rows: list[np.ndarray], gaps: list[int]):
    """Feed each row (a term per cycle, ``gaps`` idle cycles after each term), finish it after
    ``settle``, return (sums, finish-to-done cycles)."""
    tree = StreamingTree(LEVELS, SfuParams(add_stages=stages))
    sums, folds = [], []

    async def bench(ctx):
        for row, gap in zip(rows, gaps):
            used = len(row).bit_length()
            ctx.set(tree.used, used)
            for t in row:
                ctx.set(tree.term, int(t))
                ctx.set(tree.valid, 1)
                await ctx.tick()
                ctx.set(tree.valid, 0)
                ctx.set(tree.term, 0xFFFFFFFF)               # terms matter only while valid
                await ctx.tick().repeat(gap) if gap else None
            await ctx.tick().repeat(tree.settle(used)) if used else None
            ctx.set(tree.finish, 1)
            for count in itertools.count(1):            # cycles from finish to done
                await ctx.tick()
                ctx.set(tree.finish, 0)
                if ctx.get(tree.done):
                    break
            folds.append(count)
            sums.append(ctx.get(tree.sum))

    sim = Simulator(tree)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return np.array(sums, dtype=U32), folds, tree


@pytest.mark.parametrize("stages", [0, 1, 4])
def test_rows_match_golden_tree_and_fold_time(stages):
    rng = np.random.default_rng(stages)
    sizes = [0, 1, 2, 3, 4, 5, 7, 8, 13, 31, 32, 63]
    rows = [terms(rng, n) for n in sizes]
    gaps = [0] * len(rows)
    gaps[4] = gaps[9] = 1                                  # spaced terms: same partials
    sums, folds, tree = run_rows(stages, rows, gaps)
    want = np.array([binary32.tree(r.view(np.float32)).view(U32) if len(r) else 0
                     for r in rows], dtype=U32)
    np.testing.assert_array_equal(sums, want)
    assert folds == [tree.fold(n.bit_length()) for n in sizes]
    assert tree.fold(5) == 5 * (stages + 1) + 1 and tree.settle(5) == 5 * (stages + 1)
