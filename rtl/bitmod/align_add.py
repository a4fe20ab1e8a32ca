"""Floating align-add of (mantissa, exponent) pairs: golden.bitserial.accumulate in hardware."""
from __future__ import annotations

from typing import NamedTuple

from amaranth.hdl import Module, Mux, Shape, Signal, Value, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class AlignAdd(wiring.Component):
    """``sum = acc >> (M - acc_exp) + val >> (M - val_exp)`` with ``M = max(acc_exp, val_exp)``;
    if the sum leaves ``signed(acc_bits)`` it is shifted right once more and ``M + 1`` returned.
    A zero operand has exponent ``floor`` (no exponent), and a zero sum is returned as
    (0, floor); ``acc_zero_at_floor=True`` promises that a zero ``acc`` comes with exponent
    ``floor`` (true of any sum this unit returned), which saves the test, and
    ``val_zero_at_floor=True`` promises the same of ``val``. The row unit's output
    accumulator uses signed exponents and floor MIN_GROUP_EXP (golden
    ``EngineWeight.exp_floor``) and makes both promises.

    Ports: ``acc: In(signed(acc_bits))``, ``acc_exp: In(exp_shape)``, ``val: In(signed(val_bits))``,
    ``val_exp: In(exp_shape)``, ``sum: Out(signed(acc_bits))``, ``sum_exp: Out(exp_shape)``.
    Timing: two stages, :attr:`latency` = 1 (``sum``/``sum_exp`` follow their inputs by one
    cycle): exponents and the aligning shift in the first, the add and its normalization in
    the second. Shifts are arithmetic (floor), as in the golden; their distances are clamped
    (:func:`clamp_shift`), which changes no result. (The PE's one-cycle group accumulator is
    ``GroupAccumulator``, group_acc.py.)
    """

    latency = 1

    def __init__(self, acc_bits: int, val_bits: int, exp_shape, floor: int = 0, *,
                 acc_zero_at_floor: bool = False, val_zero_at_floor: bool = False):
        if val_bits > acc_bits:
            raise ValueError(f"AlignAdd: val_bits {val_bits} > acc_bits {acc_bits}")
        self.acc_bits, self.floor = acc_bits, floor
        self.acc_zero_at_floor, self.val_zero_at_floor = acc_zero_at_floor, val_zero_at_floor
        self.exp_shape = Shape.cast(exp_shape)
        super().__init__({"acc": In(signed(acc_bits)), "acc_exp": In(exp_shape),
                          "val": In(signed(val_bits)), "val_exp": In(exp_shape),
                          "sum": Out(signed(acc_bits)), "sum_exp": Out(exp_shape)})

    def elaborate(self, platform):
        m = Module()
        w = self.exp_shape.width
        e_acc = Signal.like(self.acc_exp)
        m.d.comb += e_acc.eq(self.acc_exp if self.acc_zero_at_floor else
                             Mux(self.acc.any(), self.acc_exp, self.floor))
        # a zero val must not coarsen acc (golden: its exponent counts as floor)
        e_val = self.val_exp if self.val_zero_at_floor else \
            Mux(self.val.any(), self.val_exp, self.floor)
        # both differences at once: the sign of one picks the larger exponent, and each one,
        # where it is not negative, is the other operand's alignment (one carry chain deep
        # instead of a compare followed by a subtract)
        up, down = Signal(signed(w + 1)), Signal(signed(w + 1))
        m.d.comb += [up.eq(e_val - e_acc), down.eq(e_acc - e_val)]
        acc_small = ~up[-1]                   # e_val >= e_acc: acc is the one aligned
        top = Signal.like(self.acc_exp)
        dist = Signal(w)                      # 0 .. 2**w - 1 for either signedness
        m.d.comb += [top.eq(Mux(acc_small, e_val, e_acc)),
                     dist.eq(Mux(acc_small, up[:w], down[:w]))]
        a, v = align(m, acc_small, self.acc, self.val, clamp_shift(m, dist, self.acc_bits))
        a_r, v_r, top_r = Signal.like(a), Signal.like(v), Signal.like(top)
        m.d.sync += [a_r.eq(a), v_r.eq(v), top_r.eq(top)]
        total = add_normalize(m, a_r, v_r, top_r, self.floor)
        m.d.comb += [self.sum.eq(total.value), self.sum_exp.eq(total.exp)]
        return m


def align(m: Module, acc_small, acc, val, dist):
    """The two addends of an align-add: the operand with the larger exponent as it is, the
    other (``acc`` where ``acc_small``) shifted right by ``dist`` (floor). One operand is never
    shifted, so one barrel shifter serves both: the swap is a 2:1 select that the shifter's
    first stage and the adder's LUTs absorb (two shifters cost about 45 more LUTs on a 24-bit
    accumulator)."""
    a, v = Signal.like(acc, name="addend"), Signal.like(acc, name="aligned")
    m.d.comb += [a.eq(Mux(acc_small, val, acc)), v.eq(Mux(acc_small, acc, val) >> dist)]
    return a, v


class Sum(NamedTuple):
    """An align-add's result: ``value`` at ``exp``; ``over`` (the raw sum left the width, so
    ``value`` is shifted once more and ``exp`` is ``top_up``) and ``zero`` (``exp`` is the
    floor) are the selects that chose them."""
    value: Value
    exp: Value
    over: Value
    zero: Value
    top_up: Value


def add_normalize(m: Module, a, v, top, floor) -> Sum:
    """``a + v`` at exponent ``top`` with right-only normalization (golden ``accumulate``):
    a sum that leaves ``a``'s width is shifted right once and gets ``top + 1``; a zero sum gets
    ``floor``."""
    total = Signal(signed(len(a) + 1), name="total")
    over, zero, top_up = Signal(name="over"), Signal(name="zero"), Signal.like(top, name="top_up")
    m.d.comb += [total.eq(a + v), over.eq(total[-1] != total[-2]), zero.eq(~total.any()),
                 top_up.eq(top + 1)]
    value, exp = Signal.like(a, name="sum"), Signal.like(top, name="sum_exp")
    m.d.comb += [value.eq(Mux(over, total >> 1, total)),
                 exp.eq(Mux(zero, floor, Mux(over, top_up, top)))]
    return Sum(value, exp, over, zero, top_up)

def clamp_shift(m: Module, dist, width: int):
    """``dist`` limited to the fewest bits that still cover ``width - 1``: an arithmetic right
    shift of a signed ``width``-bit value by ``width - 1`` or more gives its sign fill, so the
    clamp changes no result and saves the barrel shifter's upper stages."""
    bits = max(1, (width - 1).bit_length())
    if len(dist) <= bits:
        return dist
    out = Signal(bits, name=f"{getattr(dist, 'name', 'dist')}_clamped")
    m.d.comb += out.eq(Mux(dist[bits:].any(), (1 << bits) - 1, dist[:bits]))
    return out
