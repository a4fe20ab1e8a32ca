"""Operand lines of the SFU engine: a few one-line caches ("slots") behind one buffer read port.

Each slot holds the last line it read; the element walker names per slot the line its next
element needs and waits until every wanted slot has it. Misses are served one per cycle in slot
order (the lowest missing slot asks first), so the engine never competes with itself for a
buffer's read port and its timing does not depend on the arbiter's round-robin state.
"""
from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..buffers import BUF_BITS, read_port
from ..params import TopParams


class OperandLines(wiring.Component):
    """Ports, per slot ``k``: ``want[k]`` In(1) with ``buf[k]``/``addr[k]`` (line) held until
    ``have[k]`` Out(1); ``line[k]`` Out(128) is then line ``addr[k]`` of ``buf[k]``. ``forget``
    In(1): pulse at an instruction's start, nothing in flight (the buffers may have changed).
    ``rd`` Out(buffer read port).

    Timing: a hit is combinational; a miss asks the buffer in the cycle it is wanted (after the
    lower slots' misses, one per cycle) and ``have`` rises 2 cycles after its grant."""

    def __init__(self, params: TopParams, slots: int):
        self.params, self.slots = params, slots
        super().__init__({
            "want": In(1).array(slots), "buf": In(BUF_BITS).array(slots),
            "addr": In(params.line_addr_bits).array(slots), "forget": In(1),
            "have": Out(1).array(slots), "line": Out(params.line_bits).array(slots),
            "rd": Out(read_port(params))})

    def elaborate(self, platform):
        m = Module()
        p, n = self.params, self.slots
        tag = [Signal(p.line_addr_bits, name=f"tag{k}") for k in range(n)]
        tag_buf = [Signal(BUF_BITS, name=f"tag_buf{k}") for k in range(n)]
        ok = [Signal(name=f"ok{k}") for k in range(n)]          # the line has arrived
        waiting = [Signal(name=f"waiting{k}") for k in range(n)]
        who = Signal(range(n))                                   # slot of the last grant
        asking = Signal(range(n + 1))
        m.d.comb += asking.eq(n)
        for k in reversed(range(n)):
            hit = ok[k] & (tag[k] == self.addr[k]) & (tag_buf[k] == self.buf[k])
            m.d.comb += self.have[k].eq(hit)
            with m.If(self.want[k] & ~hit & ~waiting[k] & ~self.forget):
                m.d.comb += asking.eq(k)
        with m.Switch(asking):
            for k in range(n):
                with m.Case(k):
                    m.d.comb += [self.rd.valid.eq(1), self.rd.buf.eq(self.buf[k]),
                                 self.rd.addr.eq(self.addr[k])]
                    with m.If(self.rd.ready):
                        m.d.sync += [who.eq(k), waiting[k].eq(1), ok[k].eq(0),
                                     tag[k].eq(self.addr[k]), tag_buf[k].eq(self.buf[k])]
        with m.If(self.rd.rvalid):
            with m.Switch(who):
                for k in range(n):
                    with m.Case(k):
                        m.d.sync += [self.line[k].eq(self.rd.rdata), ok[k].eq(1),
                                     waiting[k].eq(0)]
        with m.If(self.forget):
            m.d.sync += [o.eq(0) for o in ok]
        return m
