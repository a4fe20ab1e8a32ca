"""Bit-serial dequantization unit: group sum x unsigned integer scale, one scale bit per cycle."""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class Dequant(wiring.Component):
    """MSB-first shift-and-add (``R = (R << 1) + (scale_bit ? acc : 0)``), as golden
    ``bitserial.dequant`` (BitMoD dequant.v, docs/references.md#bitmod-2.3); the result's exponent is the group
    exponent plus the scale's exponent (0 for an integer scale, the fp16 group scale's exponent
    in fp16 mode: golden.bitserial.weights), signed.

    Ports:
      - ``start: In(1)``, ``acc: In(signed(acc_bits))``, ``exp: In(exp_bits)``,
        ``scale: In(scale_bits)``, ``scale_exp: In(signed(scale_exp_bits))``, ``tag: In(1)``:
        a finished group; accepted when ``idle``.
      - ``idle: Out(1)``: can take ``start`` this cycle (also in the cycle ``done`` is consumed).
      - ``done: Out(1)``, ``result: Out(signed(acc_bits + scale_bits))``,
        ``res_exp: Out(signed(out_exp_bits))``, ``res_tag``: the product, held until ``take``.
      - ``take: In(1)``: the consumer takes ``result`` this cycle.
    Timing: ``start`` high in cycle c -> ``done`` high from cycle c + scale_bits + 1
    (:attr:`latency`); a new ``start`` is accepted in the cycle ``done`` is taken, so one group
    every scale_bits + 1 cycles at most (:attr:`interval`). ``scale_bits`` is the same in both
    scale modes (an integer scale is zero-extended), so the timing does not depend on the mode.
    """

    def __init__(self, acc_bits: int, exp_bits: int, scale_bits: int, scale_exp_bits: int,
                 out_exp_bits: int):
        self.scale_bits = scale_bits
        super().__init__({"start": In(1), "acc": In(signed(acc_bits)), "exp": In(exp_bits),
                          "scale": In(scale_bits), "scale_exp": In(signed(scale_exp_bits)),
                          "tag": In(1), "idle": Out(1), "done": Out(1),
                          "result": Out(signed(acc_bits + scale_bits)),
                          "res_exp": Out(signed(out_exp_bits)), "res_tag": Out(1),
                          "take": In(1)})

    @property
    def latency(self) -> int:
        return self.scale_bits + 1

    @property
    def interval(self) -> int:
        return self.scale_bits + 1

    def elaborate(self, platform):
        m = Module()
        sb = self.scale_bits
        mult = Signal.like(self.acc)
        bits = Signal(sb)
        left = Signal(range(sb + 1))
        busy = Signal()
        m.d.comb += [self.done.eq(busy & ~left.any()),
                     self.idle.eq(~busy | (self.done & self.take))]
        with m.If(busy & (left != 0)):
            m.d.sync += [self.result.eq((self.result << 1) + Mux(bits[-1], mult, 0)),
                         bits.eq(bits << 1), left.eq(left - 1)]
        with m.If(self.done & self.take):
            m.d.sync += busy.eq(0)
        with m.If(self.start & self.idle):
            m.d.sync += [mult.eq(self.acc), bits.eq(self.scale), left.eq(sb),
                         self.result.eq(0), self.res_exp.eq(self.exp + self.scale_exp),
                         self.res_tag.eq(self.tag), busy.eq(1)]
        return m
