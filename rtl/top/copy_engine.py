"""MISC COPY: move ``rows x cols`` elements of ``dt_in`` from one buffer block to another."""
from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ...compiler import isa
from .buffers import write_port
from .faults import Fault
from .lines import LineReader
from .params import TopParams
from .unit import fields, pulse_fault, unit_signature

LANES = isa.LINE_BYTES
# element bytes of the types sim.isa can read as a tensor (those with a numpy type; others
# fault DTYPE, as there); all powers of two, so a block's bytes are a shift of rows x cols
ELEMENT_BYTES = {dt: info.bits // 8 for dt, info in isa.DTYPES.items() if info.numpy}
if any(nb & (nb - 1) for nb in ELEMENT_BYTES.values()):
    raise ValueError(f"COPY: element bytes {ELEMENT_BYTES} are not all powers of two")


class CopyEngine(wiring.Component):
    """``nbytes(dt_in, rows*cols)`` bytes from line ``a_addr`` of ``a_buf`` to line ``o_addr`` of
    ``o_buf`` (``dt_out`` is not used: sim.isa writes the block as read). Overlapping blocks are
    copied as if read first: downwards when the destination starts above the source.

    Ports: ``unit`` (MISC); ``rd`` / ``wr``: one buffer read and one write client. Checks as
    sim.isa: the element type, the source range, the destination range. Timing: one line per
    cycle when both ports are free, ``done`` the cycle after the last line is written."""

    def __init__(self, params: TopParams):
        self.params = params
        super().__init__({"unit": In(unit_signature(isa.TYPES["MISC"], params)),
                          "wr_port": Out(write_port(params))})
        self._reader = LineReader(params)
        self.rd = [self._reader.rd]
        self.wr = [self.wr_port]

    @staticmethod
    def accepts(view):
        return view.op == isa.MiscOp.COPY

    def elaborate(self, platform):
        m = Module()
        p, misc = self.params, fields(self.unit, "MISC")
        reader = m.submodules.reader = self._reader
        # one multiplier at start (rows x cols), not two in a row: the element size is a shift
        known, log2_size = Signal(), Signal(2)
        for dt, n in ELEMENT_BYTES.items():
            with m.If(misc.dt_in == dt):
                m.d.comb += [known.eq(1), log2_size.eq(n.bit_length() - 1)]
        total = Signal(40)
        a_lo, o_lo = misc.a_addr * LANES, misc.o_addr * LANES
        lines = (total + LANES - 1) >> 4
        tail = total[:4]
        down = (misc.a_buf == misc.o_buf) & (misc.o_addr > misc.a_addr)
        a_end = misc.a_addr + lines - 1                     # the block's last source line
        m.d.comb += [reader.buf.eq(misc.a_buf), reader.down.eq(down), reader.count.eq(lines),
                     reader.first.eq(Mux(down, a_end, misc.a_addr))]
        # Each line comes with the source line it was read from, so its target line is that plus
        # a fixed offset and the block's last line a compare: no counter moves with the write
        # handshake, whose `ready` is the ACT/OUT write arbiter's grant (on ECP5 the LD engine's
        # write request -> the arbiter -> COPY's counters was a worst path of the shell).
        offset, a_last = Signal(p.line_addr_bits + 1), Signal(p.line_addr_bits + 1)
        src = reader.lines.payload
        last = src.addr == a_last                            # the block's last line
        w = self.wr_port
        m.d.comb += [w.buf.eq(misc.o_buf), w.addr.eq(src.addr + offset), w.data.eq(src.data),
                     w.be.eq(Mux(last & (tail != 0), ((Const(1, LANES + 1) << tail) - 1)[:LANES],
                                 (1 << LANES) - 1)),
                     w.valid.eq(reader.lines.valid), reader.lines.ready.eq(w.ready)]

        def size_of(buf):
            out = Signal(range(max(p.buffer_bytes) + 1))
            with m.Switch(buf):
                for b in isa.Buf:
                    with m.Case(b):
                        m.d.comb += out.eq(p.buffer_bytes[b])
            return out
        a_size, o_size = size_of(misc.a_buf), size_of(misc.o_buf)
        # `lo + total > size` as `total > size - lo`, the room registered at start: the sum of a
        # 40-bit add and a compare sat in front of the reader's start (seeds 7 and 9 of the
        # shell on ECP5); the fields hold from start to done
        a_room, o_room = Signal(signed(len(total) + 2)), Signal(signed(len(total) + 2))
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.unit.start):
                    m.d.sync += [total.eq((misc.rows * misc.cols) << log2_size),
                                 a_room.eq(a_size - a_lo), o_room.eq(o_size - o_lo)]
                    m.next = "CHECK"
            with m.State("CHECK"):
                with m.If(~known):
                    pulse_fault(m, self.unit, Fault.DTYPE, misc.dt_in)
                    m.next = "DONE"
                with m.Elif(total > a_room):
                    pulse_fault(m, self.unit, Fault.BUFFER_RANGE, a_lo, a_lo + total, misc.a_buf)
                    m.next = "DONE"
                with m.Elif(total > o_room):
                    pulse_fault(m, self.unit, Fault.BUFFER_RANGE, o_lo, o_lo + total, misc.o_buf)
                    m.next = "DONE"
                with m.Else():
                    m.d.comb += reader.start.eq(1)
                    m.d.sync += [offset.eq(misc.o_addr - misc.a_addr), a_last.eq(a_end)]
                    m.next = "COPY"
            with m.State("COPY"):
                with m.If(reader.idle):                      # every line handed out and written
                    m.next = "DONE"
            with m.State("DONE"):
                m.d.comb += self.unit.done.eq(1)
                m.next = "IDLE"
        return m
