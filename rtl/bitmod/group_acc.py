"""The PE's group accumulator: golden.bitserial.accumulate, one partial per cycle, with the
exponent arithmetic moved off its one-cycle loop."""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .align_add import add_normalize, align, clamp_shift


class GroupAccumulator(wiring.Component):
    """``(acc, acc_exp) <- accumulate(acc, acc_exp, val, val_exp)`` on every ``step`` (golden
    ``bitserial.accumulate``, unsigned exponents, floor 0); ``step & clear`` ends the group: the
    state restarts from (0, 0) and ``sum``/``sum_exp`` show the closed group's result in that
    cycle.

    The loop is ``acc -> align -> add -> acc``; a plain align-add (``AlignAdd``) also subtracts
    the stored exponent from the partial's at its start and forms the new exponent after the
    add. Here which operand to align and by how far are registers, computed a cycle ahead from
    ``next_exp`` (the partial exponent the next cycle brings) for each exponent this step can
    leave -- the old one (no step, or a zero partial), 0 (a zero sum, or a closed group), the
    larger exponent, or one more (an overflow) -- and picked once the add is known. The add
    itself is ``AlignAdd``'s (``align``, ``add_normalize``), and the results are golden's.

    Ports: In ``val`` (the partial, ``signed(val_bits)``), ``val_exp``,
    ``next_exp`` (``exp_bits``: the ``val_exp`` of the next cycle, whether or not it steps),
    ``step``, ``clear``; Out ``sum`` (``signed(acc_bits)``), ``sum_exp``: this cycle's step
    result (combinational), and ``acc``/``acc_exp``: the state. Timing: one step per cycle,
    :attr:`latency` 0 from ``val`` to ``sum``; the state updates at the clock edge."""

    latency = 0

    def __init__(self, acc_bits: int, val_bits: int, exp_bits: int):
        if val_bits > acc_bits:
            raise ValueError(f"GroupAccumulator: val_bits {val_bits} > acc_bits {acc_bits}")
        self.acc_bits, self.exp_bits = acc_bits, exp_bits
        super().__init__({"val": In(signed(val_bits)), "val_exp": In(exp_bits),
                          "next_exp": In(exp_bits), "step": In(1), "clear": In(1),
                          "sum": Out(signed(acc_bits)), "sum_exp": Out(exp_bits),
                          "acc": Out(signed(acc_bits)), "acc_exp": Out(exp_bits)})

    def elaborate(self, platform):
        m = Module()
        w, n = self.exp_bits, self.acc_bits
        acc, acc_exp = self.acc, self.acc_exp
        # invariant: in every cycle ``small`` says val_exp >= acc_exp (acc is the operand to
        # align) and ``dist`` is |val_exp - acc_exp|, clamped (both start true of (0, 0))
        small, dist = Signal(init=1), Signal(max(1, (n - 1).bit_length()))
        top = Signal(w)
        m.d.comb += top.eq(Mux(small, self.val_exp, acc_exp))
        a, v = align(m, small, acc, self.val, dist)
        total, val_nz = add_normalize(m, a, v, top, 0), Signal()
        m.d.comb += [val_nz.eq(self.val.any()),
                     self.sum.eq(Mux(val_nz, total.value, acc)),
                     self.sum_exp.eq(Mux(val_nz, total.exp, acc_exp))]

        # the exponent this cycle leaves, as one of four candidates known early
        hold = ~self.step | ~self.clear & ~val_nz
        restart = self.step & (self.clear | total.zero)
        nxt = Signal(w)

        def leave(exp):
            up, down = self.next_exp - exp, exp - self.next_exp
            m.d.comb += nxt.eq(exp)
            m.d.sync += [small.eq(~up[w]), dist.eq(clamp_shift(m, Mux(up[w], down, up)[:w], n))]

        with m.If(hold):
            leave(acc_exp)
        with m.Elif(restart):
            leave(0)
        with m.Elif(total.over):
            leave(total.top_up)
        with m.Else():
            leave(top)
        with m.If(self.step):
            m.d.sync += [acc.eq(Mux(self.clear, 0, self.sum)), acc_exp.eq(nxt)]
        return m
