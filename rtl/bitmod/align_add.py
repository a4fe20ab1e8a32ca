"""Floating align-add of (mantissa, exponent) pairs: golden.bitserial.accumulate in hardware."""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class AlignAdd(wiring.Component):
    """``sum = acc >> (M - acc_exp) + val >> (M - val_exp)`` with ``M = max(acc_exp, val_exp)``;
    if the sum leaves ``signed(acc_bits)`` it is shifted right once more and ``M + 1`` returned.
    A zero operand has exponent 0 (no exponent), and a zero sum is returned as (0, 0).

    Ports: ``acc: In(signed(acc_bits))``, ``acc_exp: In(exp_bits)``, ``val: In(signed(val_bits))``,
    ``val_exp: In(exp_bits)``, ``sum: Out(signed(acc_bits))``, ``sum_exp: Out(exp_bits)``.
    Timing: combinational (:attr:`latency` = 0). Shifts are arithmetic (floor), as in the golden.
    """

    latency = 0

    def __init__(self, acc_bits: int, val_bits: int, exp_bits: int):
        if val_bits > acc_bits:
            raise ValueError(f"AlignAdd: val_bits {val_bits} > acc_bits {acc_bits}")
        self.acc_bits = acc_bits
        super().__init__({"acc": In(signed(acc_bits)), "acc_exp": In(exp_bits),
                          "val": In(signed(val_bits)), "val_exp": In(exp_bits),
                          "sum": Out(signed(acc_bits)), "sum_exp": Out(exp_bits)})

    def elaborate(self, platform):
        m = Module()
        e_acc, e_val = Signal.like(self.acc_exp), Signal.like(self.acc_exp)
        m.d.comb += [e_acc.eq(Mux(self.acc.any(), self.acc_exp, 0)),
                     e_val.eq(Mux(self.val.any(), self.val_exp, 0))]
        top = Signal.like(self.acc_exp)
        m.d.comb += top.eq(Mux(e_acc > e_val, e_acc, e_val))
        d_acc, d_val = Signal.like(top), Signal.like(top)   # both >= 0 by the choice of top
        m.d.comb += [d_acc.eq(top - e_acc), d_val.eq(top - e_val)]
        total = Signal(signed(self.acc_bits + 1))
        m.d.comb += total.eq((self.acc >> d_acc) + (self.val >> d_val))
        over = Signal()
        m.d.comb += over.eq(total[-1] != total[-2])
        m.d.comb += [self.sum.eq(Mux(over, total >> 1, total)),
                     self.sum_exp.eq(Mux(total.any(), top + over, 0))]
        return m
