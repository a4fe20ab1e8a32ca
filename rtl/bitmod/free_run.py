"""Self-driving array for simulation-speed benchmarks: pseudo-random beats in, checksum out.

The weight and activation beats come from xorshift64 generators stepped once per accepted beat,
so the array runs at full rate with no testbench activity per cycle; ``done`` rises after
``dots`` (an input) finished dot products, and ``checksum`` (XOR of every result word) lets two simulators
prove they computed the same thing.
"""
from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ...golden import formats
from ...golden.bitserial import hw_index
from . import layouts
from .array import BitmodArray, hierarchy_blocks
from .layouts import array_act_layout, weight_row_layout
from .params import EngineParams

FP4_BASE = hw_index(formats.BITMOD_CANDIDATES[4][0])


def _xorshift(m: Module, seed: int, advance) -> Signal:
    x = Signal(64, init=seed)
    t1 = x ^ (x << 13)[:64]
    t2 = t1 ^ (t1 >> 7)
    with m.If(advance):
        m.d.sync += x.eq(t2 ^ (t2 << 17)[:64])
    return x


class ArrayFreeRun(wiring.Component):
    """BitmodArray fed by on-chip generators (4-bit BitMoD grids, random datatype ids, random
    finite group and row scales; the scale mode alternates between int and fp16 per tile).

    Ports: ``dots: In(32)`` tiles to run (hold it from reset), ``done: Out(1)`` (sticky),
    ``count: Out(32)`` finished tiles (output beats with ``last``),
    ``checksum: Out(32)``: XOR of the 32-bit folds of every output beat. Every dot product has
    ``groups`` groups; the array and output are always ready/valid-driven at full rate.
    ``hierarchical``: the array's PEs are Instances of one PE module (export and Verilator only).
    """

    def __init__(self, p: EngineParams, groups: int = 4, *, hierarchical: bool = False):
        self.p, self.groups, self.hierarchical = p, groups, hierarchical
        super().__init__({"dots": In(32), "done": Out(1), "count": Out(32),
                          "checksum": Out(32)})

    def elaborate(self, platform):
        m = Module()
        p = self.p
        m.submodules.array = arr = BitmodArray(p, hierarchical=self.hierarchical)
        row_bits = weight_row_layout(p).size
        a_bits = array_act_layout(p).size
        step = arr.w.ready
        w_rand = Cat(*[_xorshift(m, 0x9E3779B97F4A7C15 + i, step)
                       for i in range(-(-p.rows * row_bits // 64))])
        a_rand = Cat(*[_xorshift(m, 0xD1B54A32D192ED03 + i, step)
                       for i in range(-(-a_bits // 64))])
        for r in range(p.rows):
            bits = w_rand[r * row_bits:(r + 1) * row_bits]
            row = arr.weight_row(r)
            n_codes, n_scale = len(row.codes), len(row.scale)
            scale = bits[n_codes + 2:n_codes + 2 + n_scale]
            m.d.comb += [row.codes.eq(bits[:n_codes]),
                         row.fmt.eq(FP4_BASE + bits[n_codes:n_codes + 2]),
                         row.scale.eq(_finite_fp16(scale)),
                         row.row_scale.eq(_finite_fp16(bits[-16:]))]
        for c in range(p.cols):
            for j in range(p.lanes):
                word = a_rand[(c * p.lanes + j) * 16:(c * p.lanes + j + 1) * 16]
                m.d.comb += arr.a.payload[layouts.col(c)][layouts.lane(j)].eq(_finite_fp16(word))
        chunks = p.group_size // p.lanes
        chunk = Signal(range(chunks))
        group = Signal(range(self.groups))
        fp16_scale = Signal()
        m.d.comb += [arr.w.valid.eq(~self.done), arr.a.valid.eq(~self.done),
                     arr.w.payload.first.eq(chunk == 0),
                     arr.w.payload.last.eq(chunk == chunks - 1),
                     arr.w.payload.dot_last.eq(group == self.groups - 1),
                     arr.w.payload.fp16_scale.eq(fp16_scale),
                     arr.o.ready.eq(1)]
        with m.If(step):
            m.d.sync += chunk.eq(chunk + 1)
            with m.If(chunk == chunks - 1):
                m.d.sync += [chunk.eq(0), group.eq(group + 1)]
                with m.If(group == self.groups - 1):
                    m.d.sync += [group.eq(0), fp16_scale.eq(~fp16_scale)]
        word = arr.o.payload.as_value()
        fold = _xor_tree([word[i:i + 32] for i in range(0, len(word), 32)])
        with m.If(arr.o.valid):
            m.d.sync += self.checksum.eq(self.checksum ^ fold)
            with m.If(arr.o.payload.last):
                m.d.sync += self.count.eq(self.count + 1)
                with m.If(self.count + 1 == self.dots):
                    m.d.sync += self.done.eq(1)
        return m

    @property
    def verilog_blocks(self):
        """The modules a hierarchical export emits (see :class:`~.array.BitmodArray`)."""
        return hierarchy_blocks(self.p, self.hierarchical)

    def cycles(self, dots: int) -> int:
        return free_run_cycles(self.p, self.groups, dots)


def _finite_fp16(word):
    """A random 16-bit word as a finite fp16: the top exponent bit cleared (field <= 15)."""
    return Cat(word[:14], Const(0, 1), word[15])


def _xor_tree(values):
    """XOR of ``values`` as a balanced tree: a 32 x 32 array's result word has 1472 32-bit
    slices, and a left-leaning chain that deep overflows Python's recursion in Amaranth."""
    while len(values) > 1:
        values = [a ^ b for a, b in zip(values[::2], values[1::2])] + \
                 ([values[-1]] if len(values) % 2 else [])
    return values[0]


def free_run_cycles(p: EngineParams, groups: int, dots: int) -> int:
    """Cycles until ``done`` (2 term slots per 4-bit weight, no stalls, plus the latency to the
    last output beat of the last tile)."""
    return dots * groups * p.cycles_per_group(formats.BITMOD_CANDIDATES[4][0]) + p.latency


