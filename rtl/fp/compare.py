"""The totalOrder maximum of docs/numerics.md ``max(v)``, two operands at a time."""
from __future__ import annotations

from amaranth.hdl import Module, Mux
from amaranth.lib.wiring import Component, In, Out, Signature

from .fields import F32, unpack


def order_key(x):
    """Signed key whose integer order is IEEE totalOrder on non-NaN binary32 (golden order_key)."""
    return Mux(x[31], x ^ 0x7FFFFFFF, x).as_signed()


class Fp32Max(Component):
    """``y = max(a, b)`` under totalOrder (``+0 > -0``); 0x7FC00000 if either operand is NaN.

    Ports: In ``a`` (32), In ``b`` (32), Out ``y`` (32). Timing: combinational (``latency == 0``).
    """
    latency = 0

    def __init__(self):
        super().__init__(Signature({"a": In(32), "b": In(32), "y": Out(32)}))

    def elaborate(self, platform):
        m = Module()
        nan = unpack(self.a).nan | unpack(self.b).nan
        larger = Mux(order_key(self.a) >= order_key(self.b), self.a, self.b)
        m.d.comb += self.y.eq(Mux(nan, F32.qnan, larger))
        return m
