"""A pass's results spread over slots, so that row i of a block always takes slot i mod S.

A pass with N kept weights per row yields R = results_per_pass(N) results for the rows
r0 .. r0 + R - 1 (r0 a multiple of R), so row i takes result i mod R. With S a multiple of every
R, i mod R = (i mod S) mod R: spreading the results once as ``slot[s] = res[s mod R]`` leaves each
row a fixed slot, and the per-N select is made S times instead of once per row (the VPU's row
accumulator and the MM/MV engine's row sums share it; docs/rtl/csd.md, "VPU").
"""
from __future__ import annotations

from amaranth.hdl import Module, Signal, signed

from .geometry import ChainGeometry
from .reduction import n_cases


def slot_count(geo: ChainGeometry, row_packed: bool = False) -> int:
    """S: the most results a pass has (twice that for row-packed passes), at most m."""
    return min(geo.m, geo.max_results * (2 if row_packed else 1))


def spread(m: Module, res, nlog, geo: ChainGeometry, width: int, name: str) -> list[Signal]:
    """``slot[s] = res[s mod R]`` for ``s < width``, R the results per pass of the beat's N
    (``nlog``), as combinational signals named ``{name}_{s}``."""
    slots = [Signal(signed(geo.acc_bits), name=f"{name}_{s}") for s in range(width)]
    for n in n_cases(m, nlog, geo.n_options):
        per = geo.results_per_pass(n)
        m.d.comb += [slots[s].eq(res[s % per]) for s in range(width)]
    return slots
