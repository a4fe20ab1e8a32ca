"""Floating align-add of (mantissa, exponent) pairs: golden.bitserial.accumulate in hardware."""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Shape, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class AlignAdd(wiring.Component):
    """``sum = acc >> (M - acc_exp) + val >> (M - val_exp)`` with ``M = max(acc_exp, val_exp)``;
    if the sum leaves ``signed(acc_bits)`` it is shifted right once more and ``M + 1`` returned.
    A zero operand has exponent ``floor`` (no exponent), and a zero sum is returned as
    (0, floor); ``acc_zero_at_floor=True`` promises that a zero ``acc`` comes with exponent
    ``floor`` (true of any sum this unit returned), which saves the test. The group accumulator uses unsigned exponents and floor 0, the output
    accumulator signed exponents and floor MIN_GROUP_EXP (golden ``EngineWeight.exp_floor``).

    Ports: ``acc: In(signed(acc_bits))``, ``acc_exp: In(exp_shape)``, ``val: In(signed(val_bits))``,
    ``val_exp: In(exp_shape)``, ``sum: Out(signed(acc_bits))``, ``sum_exp: Out(exp_shape)``.
    Timing: combinational (:attr:`latency` = 0), or with ``stages=2`` the aligned operands
    are registered and ``sum``/``sum_exp`` follow their inputs by one cycle (:attr:`latency` =
    1): exponents and shifts in the first cycle, the add and its normalization in the second.
    Shifts are arithmetic (floor), as in the golden; their distances are clamped
    (:func:`clamp_shift`), which changes no result.
    """

    def __init__(self, acc_bits: int, val_bits: int, exp_shape, floor: int = 0, *,
                 acc_zero_at_floor: bool = False, stages: int = 1):
        if val_bits > acc_bits:
            raise ValueError(f"AlignAdd: val_bits {val_bits} > acc_bits {acc_bits}")
        if stages not in (1, 2):
            raise ValueError(f"AlignAdd: stages {stages} is not 1 or 2")
        self.acc_bits, self.floor, self.stages = acc_bits, floor, stages
        self.acc_zero_at_floor = acc_zero_at_floor
        self.exp_shape = Shape.cast(exp_shape)
        super().__init__({"acc": In(signed(acc_bits)), "acc_exp": In(exp_shape),
                          "val": In(signed(val_bits)), "val_exp": In(exp_shape),
                          "sum": Out(signed(acc_bits)), "sum_exp": Out(exp_shape)})

    @property
    def latency(self) -> int:
        return self.stages - 1

    def elaborate(self, platform):
        m = Module()
        e_acc, e_val = Signal.like(self.acc_exp), Signal.like(self.acc_exp)
        acc_exp = self.acc_exp if self.acc_zero_at_floor else \
            Mux(self.acc.any(), self.acc_exp, self.floor)
        m.d.comb += [e_acc.eq(acc_exp),
                     e_val.eq(Mux(self.val.any(), self.val_exp, self.floor))]
        top = Signal.like(self.acc_exp)
        m.d.comb += top.eq(Mux(e_acc > e_val, e_acc, e_val))
        # both >= 0 by the choice of top, and at most 2**width - 1 for either signedness
        d_acc, d_val = Signal(self.exp_shape.width), Signal(self.exp_shape.width)
        m.d.comb += [d_acc.eq(top - e_acc), d_val.eq(top - e_val)]
        a, v = Signal(signed(self.acc_bits)), Signal(signed(len(self.val)))
        m.d.comb += [a.eq(self.acc >> clamp_shift(m, d_acc, self.acc_bits)),
                     v.eq(self.val >> clamp_shift(m, d_val, len(self.val)))]
        if self.stages == 2:
            a_r, v_r, top_r = Signal.like(a), Signal.like(v), Signal.like(top)
            m.d.sync += [a_r.eq(a), v_r.eq(v), top_r.eq(top)]
            a, v, top = a_r, v_r, top_r
        total = Signal(signed(self.acc_bits + 1))
        m.d.comb += total.eq(a + v)
        over = Signal()
        m.d.comb += over.eq(total[-1] != total[-2])
        m.d.comb += [self.sum.eq(Mux(over, total >> 1, total)),
                     self.sum_exp.eq(Mux(total.any(), top + over, self.floor))]
        return m


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
