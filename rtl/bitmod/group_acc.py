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
    leave -- the old one (no step, or a zero partial), 0 (a closed group), the larger exponent,
    or one more (an overflow) -- and picked once the add's overflow is known. A sum that
    cancels to zero is not one of the choices: its zero test (an OR over the sum, after the
    carry chain) would put three more LUT levels on the loop. It leaves the exponent the add
    had and sets ``cancelled``, which makes the next step align ``acc`` (0 at any distance is
    0) and take ``val`` as it is, as golden's ``(0, 0)`` state does. The add itself is
    ``AlignAdd``'s (``align``, ``add_normalize``), and the results are golden's, except that a
    zero ``sum``'s ``sum_exp`` is unspecified (golden gives 0): a zero operand's exponent counts
    for nothing in golden's ``accumulate``, and the row unit tests the mantissa
    (``RowAccumulate``).

    Ports: In ``val`` (the partial, ``signed(val_bits)``), ``val_exp``,
    ``next_exp`` (``exp_bits``: the ``val_exp`` of the next cycle, whether or not it steps),
    ``step``, ``clear``; Out ``sum`` (``signed(acc_bits)``), ``sum_exp``: this cycle's step
    result (combinational), and ``acc``/``acc_exp``: the state, golden's exactly. Timing: one
    step per cycle, :attr:`latency` 0 from ``val`` to ``sum``; the state updates at the clock
    edge."""

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
        acc = self.acc
        # invariant: unless ``cancelled``, ``small`` says val_exp >= exp (acc is the operand to
        # align) and ``dist`` is |val_exp - exp|, clamped (both start true of (0, 0))
        exp, cancelled = Signal(w, name="exp"), Signal(name="cancelled")
        small, dist = Signal(init=1, name="small"), Signal(max(1, (n - 1).bit_length()),
                                                          name="dist")
        aligns_acc, top = Signal(name="aligns_acc"), Signal(w, name="top")
        m.d.comb += [self.acc_exp.eq(Mux(cancelled, 0, exp)),
                     aligns_acc.eq(small | cancelled),
                     top.eq(Mux(aligns_acc, self.val_exp, exp))]
        a, v = align(m, aligns_acc, acc, self.val, dist)
        total, val_nz = add_normalize(m, a, v, top, 0), Signal(name="val_nz")
        stepped = Signal(w, name="stepped")        # the step's exponent, but for a zero sum
        m.d.comb += [val_nz.eq(self.val.any()),
                     stepped.eq(Mux(total.over, total.top_up, top)),
                     self.sum.eq(Mux(val_nz, total.value, acc)),
                     self.sum_exp.eq(Mux(val_nz, stepped, exp))]

        # the exponent this cycle leaves, as one of four candidates known early
        nxt = Signal(w, name="nxt")

        def leave(e):
            up, down = self.next_exp - e, e - self.next_exp
            m.d.comb += nxt.eq(e)
            m.d.sync += [small.eq(~up[w]), dist.eq(clamp_shift(m, Mux(up[w], down, up)[:w], n))]

        with m.If(~self.step | ~self.clear & ~val_nz):
            leave(exp)
        with m.Elif(self.clear):
            leave(0)
        with m.Elif(total.over):
            leave(total.top_up)
        with m.Else():
            leave(top)
        with m.If(self.step):
            m.d.sync += [acc.eq(Mux(self.clear, 0, self.sum)), exp.eq(nxt)]
            with m.If(self.clear):
                m.d.sync += cancelled.eq(0)
            with m.Elif(val_nz):
                m.d.sync += cancelled.eq(total.zero)
        return m
