"""Tile feeder of the CSD MM/MV engine: parses a packed weight tile in WGT on chip and streams
its passes through the MPU, then hands each finished output row to the requantize stage.

Order of work (one instruction, ``m`` rows of A, tile ``n x k``):

    for each token t:            sx = BIAS[s_addr] float32 t
      for each 16-row block br:  sums = 0
        for each k-block kb:     act = ACT row t, columns kb*16 ..; N = descriptor (dense: 16)
          passes of the block, ``vpus`` per MPU beat (same activations, idle lanes pad)
        wait for the MPU to drain
        for each row of the block: its weight scale from the tile -> ``o`` (sum, scales, t, col)

The pair pointer of an N:M tile runs through golden.sparse's pair stream in exactly this order
(blocks row-major, each block's rows one after the other), so it restarts at 0 for every token.
All reads go through one buffer read port, one line at a time (2 cycles each when the port is
free); the cycle count is :mod:`..csd.timing`'s formula.
"""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.data import ArrayLayout, StructLayout
from amaranth.lib.wiring import In, Out

from ...compiler import isa
from ..csd import tile_fields as tf
from ..csd.geometry import ChainGeometry
from ..csd.lanes import PAIR_BITS, check_geometry, dense_lane, effective_n, idle_lane, sparse_lane
from ..csd.layouts import lane_layout
from ..csd.mpu import Mpu
from ..csd.reduction import nlog_of
from ..csd.row_sums import RowSums, tag_layout
from .buffers import read_port
from .params import TopParams

LINE = isa.LINE_BYTES


def row_layout() -> StructLayout:
    """One output element before requantization: the exact INT32 ``acc``, the weight scale
    ``ws`` (binary32 bits, or binary16 bits in the low half when ``wide`` is 0), the activation
    scale ``sx`` (binary32), and where it goes: row ``t`` of A, column ``col``."""
    return StructLayout({"acc": signed(32), "ws": unsigned(32), "wide": unsigned(1),
                         "sx": unsigned(32), "t": unsigned(16), "col": unsigned(16)})


def instr_layout(p: TopParams) -> StructLayout:
    la = p.line_addr_bits
    return StructLayout({"sparse": unsigned(1), "rows": unsigned(16), "n": unsigned(16),
                         "k": unsigned(16), "a_addr": unsigned(la), "b_addr": unsigned(la),
                         "s_addr": unsigned(la)})


class TileFeeder(wiring.Component):
    """Ports: ``start`` In(1) with ``instr`` In(:func:`instr_layout`) (held while busy);
    ``rd`` Out(buffer read port); ``o`` Out(stream of :func:`row_layout`), one element per row
    of A and column of the tile, row-block by row-block; ``bad`` Out(1): pulse, the tile header
    is not one this engine runs (fields checked: scheme int_sym / INT4-or-INT8 values, fp16 or
    per-row float32 scales, one group per row, m = block = 16, the instruction's n and k,
    k a multiple of 16); ``busy`` Out(1); ``mismatch`` Out(1) (see :class:`RowSums`)."""

    def __init__(self, params: TopParams, geo: ChainGeometry, vpus: int):
        check_geometry(geo)
        self.params, self.geo, self.vpus = params, geo, vpus
        super().__init__({"start": In(1), "instr": In(instr_layout(params)),
                          "rd": Out(read_port(params)), "o": Out(stream.Signature(row_layout())),
                          "bad": Out(1), "busy": Out(1), "mismatch": Out(1)})

    def elaborate(self, platform):
        m = Module()
        p, geo, vpus, ins = self.params, self.geo, self.vpus, self.instr
        mpu = m.submodules.mpu = Mpu(geo, vpus)
        sums = m.submodules.sums = RowSums(geo, vpus, mpu.latency)
        m.d.comb += [mpu.o.ready.eq(1), sums.res.eq(mpu.o.payload),
                     sums.res_valid.eq(mpu.o.valid), self.mismatch.eq(sums.mismatch)]
        bb = p.line_addr_bits + 5                      # byte addresses inside a buffer
        pair_w = PAIR_BITS

        hdr = Signal(tf.HEADER_LINES * 8 * LINE)
        # the tile's geometry, registered by CHECK
        w4, kbs, record = Signal(), Signal(12), Signal(16)
        stream_off, val_off, scl_off = Signal(bb), Signal(bb), Signal(bb)
        # loop state
        t, br, kb = Signal(16), Signal(12), Signal(12)
        npass, pidx, lane_no = Signal(5), Signal(5), Signal(range(vpus))
        pair, blk_n = Signal(bb), Signal(5)
        rows_blk, row_i = Signal(5), Signal(5)
        sx, ws, act = Signal(32), Signal(32), Signal(8 * LINE)
        window = Signal(2 * geo.m * pair_w)
        slot_beat = [Signal(bb, name=f"slot{s}_beat") for s in range(2)]
        slot_ok = [Signal(name=f"slot{s}_ok") for s in range(2)]
        load_slot, load_at = Signal(), Signal(bb)
        code_line, code_half = Signal(8 * LINE), Signal()
        lanes = Signal(ArrayLayout(lane_layout(geo), vpus))
        tags = Signal(tag_layout(geo, vpus))
        drain = Signal(range(mpu.latency + 3))
        hline = Signal(range(tf.HEADER_LINES + 1))

        neff_log, count, per_pass = Signal(3), Signal(5), Signal(5)
        with m.Switch(blk_n):
            for n in range(1, geo.m + 1):
                with m.Case(n):
                    m.d.comb += neff_log.eq(nlog_of(effective_n(geo, n)))
        m.d.comb += [per_pass.eq(geo.slices >> neff_log),     # rows per pass
                     count.eq(Mux(ins.sparse, (per_pass * blk_n)[:5], geo.m))]
        beat0, beat1 = pair >> 4, (pair + count - 1) >> 4

        def read(state, buf, line, then, capture):
            """Two states: ask for ``line`` of ``buf`` until granted, then take the data."""
            with m.State(state):
                m.d.comb += [self.rd.valid.eq(1), self.rd.buf.eq(buf), self.rd.addr.eq(line)]
                with m.If(self.rd.ready):
                    m.next = state + "_DATA"
            with m.State(state + "_DATA"):
                m.d.sync += capture(self.rd.rdata)
                m.next = then

        def next_lane():
            with m.If(lane_no == vpus - 1):
                m.next = "PUSH"
            with m.Else():
                m.d.sync += lane_no.eq(lane_no + 1)
                m.next = "PASS"

        row = (br << 4) + row_i
        desc_byte = tf.SPARSE_HEADER_BYTES + br * kbs + kb
        code_byte, idx_byte, val_byte, scale_byte = (Signal(bb + 16, name=n) for n in (
            "code_byte", "idx_byte", "val_byte", "scale_byte"))
        m.d.comb += [
            code_byte.eq(stream_off + ((br << 4) + pidx) * record + (kb << Mux(w4, 3, 4))),
            idx_byte.eq(stream_off + (load_at << 3)),
            val_byte.eq(val_off + (load_at << Mux(w4, 3, 4))),
            scale_byte.eq(scl_off + Mux(ins.sparse, row << 2, row << 1))]
        m.d.comb += self.busy.eq(1)
        with m.FSM(name="feed"):
            with m.State("IDLE"):
                m.d.comb += self.busy.eq(0)
                with m.If(self.start):
                    m.d.sync += hline.eq(0)
                    m.next = "HEADER"
            read("HEADER", isa.Buf.WGT, ins.b_addr + hline, "HEADER_NEXT",
                 lambda d: [hdr.word_select(hline, 8 * LINE).eq(d), hline.eq(hline + 1)])
            with m.State("HEADER_NEXT"):
                m.next = "CHECK"
                with m.If(hline != tf.HEADER_LINES):
                    m.next = "HEADER"
            with m.State("CHECK"):
                ok = self._check(m, hdr, ins, w4, kbs, stream_off, val_off, scl_off, record)
                m.d.sync += [t.eq(0)] + [s.eq(0) for s in slot_ok]
                m.d.comb += self.bad.eq(~ok)
                m.next = "TOKEN"
                with m.If(~ok):
                    m.next = "IDLE"
            with m.State("TOKEN"):
                with m.If(t == ins.rows):
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += [br.eq(0), pair.eq(0)]
                    m.next = "SX"
            read("SX", isa.Buf.BIAS, ins.s_addr + (t >> 2), "BLOCK",
                 lambda d: [sx.eq(d.word_select(t[:2], 32))])
            with m.State("BLOCK"):
                left = ins.n - (br << 4)
                with m.If((br << 4) >= ins.n):
                    m.d.sync += t.eq(t + 1)
                    m.next = "TOKEN"
                with m.Else():
                    m.d.comb += sums.clear.eq(1)
                    m.d.sync += [kb.eq(0), rows_blk.eq(Mux(left > 16, 16, left))]
                    m.next = "KBLOCK"
            with m.State("KBLOCK"):
                with m.If(kb == kbs):
                    m.d.sync += drain.eq(0)
                    m.next = "DRAIN"
                with m.Else():
                    m.next = "ACT"
            read("ACT", isa.Buf.ACT, ins.a_addr + t * kbs + kb, "DESC",
                 lambda d: [act.eq(d)])
            with m.State("DESC"):
                m.d.sync += [pidx.eq(0), lane_no.eq(0)]
                with m.If(ins.sparse):
                    m.next = "DESC_READ"
                with m.Else():
                    m.d.sync += [blk_n.eq(geo.m), npass.eq(rows_blk)]
                    m.next = "PASS"
            read("DESC_READ", isa.Buf.WGT, ins.b_addr + (desc_byte >> 4), "DESC_N",
                 lambda d: [blk_n.eq(d.word_select(desc_byte[:4], 8))])
            with m.State("DESC_N"):
                m.d.sync += npass.eq(1 << neff_log)
                m.next = "PASS"
                with m.If(blk_n == 0):
                    m.d.sync += kb.eq(kb + 1)
                    m.next = "KBLOCK"
            with m.State("PASS"):
                with m.If(pidx == npass):
                    with m.If(lane_no != 0):
                        m.next = "PUSH"
                    with m.Else():
                        m.d.sync += kb.eq(kb + 1)
                        m.next = "KBLOCK"
                with m.Elif(~ins.sparse):
                    m.d.sync += [code_half.eq(code_byte[3]), load_at.eq(code_byte >> 4)]
                    m.next = "CODES"
                with m.Elif(slot_ok[0] & (slot_beat[0] == beat0)):
                    with m.If((beat1 == beat0) | (slot_ok[1] & (slot_beat[1] == beat1))):
                        m.next = "BUILD"
                    with m.Else():
                        m.d.sync += [load_slot.eq(1), load_at.eq(beat1)]
                        m.next = "IDX"
                with m.Elif(slot_ok[1] & (slot_beat[1] == beat0)):
                    half = geo.m * pair_w
                    m.d.sync += [window[:half].eq(window[half:]), slot_beat[0].eq(slot_beat[1]),
                                 slot_ok[0].eq(1), slot_ok[1].eq(0)]
                with m.Else():
                    m.d.sync += [load_slot.eq(0), load_at.eq(beat0)]
                    m.next = "IDX"
            read("CODES", isa.Buf.WGT, ins.b_addr + load_at, "DENSE",
                 lambda d: [code_line.eq(d)])
            with m.State("DENSE"):
                dense_lane(m, geo, code_line, code_half, w4, lanes[lane_no], "sync")
                m.d.sync += [tags[lane_no].used.eq(1),
                             tags[lane_no].r0.eq(pidx), pidx.eq(pidx + 1)]
                next_lane()
            read("IDX", isa.Buf.WGT, ins.b_addr + (idx_byte >> 4), "VAL",
                 lambda d: self._take_indices(window, load_slot, d.word_select(idx_byte[3], 64)))
            read("VAL", isa.Buf.WGT, ins.b_addr + (val_byte >> 4), "PASS",
                 lambda d: self._take_values(window, load_slot, w4, d, val_byte[3])
                 + self._fill_slot(load_slot, slot_beat, slot_ok, load_at))
            with m.State("BUILD"):
                sparse_lane(m, geo, window, pair[:4], blk_n, w4, lanes[lane_no], "sync")
                m.d.sync += [tags[lane_no].used.eq(1),
                             tags[lane_no].r0.eq((pidx * per_pass)[:4]),
                             pidx.eq(pidx + 1), pair.eq(pair + count)]
                next_lane()
            with m.State("PUSH"):
                m.d.comb += [mpu.i.valid.eq(1), mpu.i.payload.lanes.eq(lanes),
                             mpu.i.payload.act[0].eq(act)]
                with m.If(mpu.i.ready):
                    m.d.comb += [sums.push.eq(1), sums.tags.eq(tags)]
                    m.d.sync += [lane_no.eq(0), tags.eq(0)]
                    m.d.sync += [lanes[v].eq(lane_layout(geo).const(idle_lane(geo)))
                                 for v in range(vpus)]
                    m.next = "PASS"
            with m.State("DRAIN"):
                m.d.sync += drain.eq(drain + 1)
                with m.If(drain == mpu.latency + 1):
                    m.d.sync += row_i.eq(0)
                    m.next = "ROW"
            with m.State("ROW"):
                with m.If(row_i == rows_blk):
                    m.d.sync += br.eq(br + 1)
                    m.next = "BLOCK"
                with m.Else():
                    m.next = "SCALE"
            read("SCALE", isa.Buf.WGT, ins.b_addr + (scale_byte >> 4), "EMIT",
                 lambda d: [ws.eq(Mux(ins.sparse, d.word_select(scale_byte[2:4], 32),
                                      d.word_select(scale_byte[1:4], 16)))])
            with m.State("EMIT"):
                o = self.o.payload
                m.d.comb += [self.o.valid.eq(1), o.acc.eq(sums.sums[row_i]), o.ws.eq(ws),
                             o.wide.eq(ins.sparse), o.sx.eq(sx), o.t.eq(t), o.col.eq(row)]
                with m.If(self.o.ready):
                    m.d.sync += row_i.eq(row_i + 1)
                    m.next = "ROW"
        return m

    def _check(self, m, hdr, ins, w4, kbs, stream_off, val_off, scl_off, record):
        """Whether the header is a tile this engine runs; registers its geometry."""
        def sp(name):
            return tf.field(hdr, tf.SPARSE, name)

        def dn(name):
            return tf.field(hdr, tf.DENSE, name)
        ok = Signal()
        sparse_ok = (((sp("code") == tf.SPARSE_INT_CODES[4]) | (sp("code") == tf.SPARSE_INT_CODES[8]))
                     & (sp("m") == self.geo.m) & (sp("block") == self.geo.m)
                     & (sp("n_out") == ins.n) & (sp("k") == ins.k) & (sp("scale_off") != 0))
        dense_ok = ((dn("scheme") == tf.INT_SYM) & ((dn("bits") == 4) | (dn("bits") == 8))
                    & (dn("scale_mode") == tf.FP16_SCALES) & (dn("id_bits") == 0)
                    & (dn("zp_bits") == 0) & (dn("n") == ins.n) & (dn("k") == ins.k)
                    & (dn("ng") == 1) & (dn("version") == 1))    # row by row, not blocked
        m.d.comb += ok.eq(Mux(ins.sparse, sparse_ok, dense_ok) & (ins.k[:4] == 0))
        m.d.sync += kbs.eq(ins.k >> 4)
        with m.If(ins.sparse):
            m.d.sync += [w4.eq(sp("code") == tf.SPARSE_INT_CODES[4]),
                         stream_off.eq(sp("index_off")), val_off.eq(sp("value_off")),
                         scl_off.eq(sp("scale_off"))]
        with m.Else():
            m.d.sync += [w4.eq(dn("bits") == 4), stream_off.eq(dn("codes_off")),
                         scl_off.eq(dn("scales_off")), record.eq(dn("record"))]
        return ok

    def _take_indices(self, window, slot, bits) -> list:
        """Beat indices (16 nibbles) into window slot ``slot``."""
        out = []
        for s in range(2):
            for i in range(self.geo.m):
                lo = (s * self.geo.m + i) * PAIR_BITS
                out.append(window[lo:lo + 4].eq(Mux(slot == s, bits[4 * i:4 * i + 4],
                                                    window[lo:lo + 4])))
        return out

    def _take_values(self, window, slot, w4, line, half) -> list:
        """Beat values into window slot ``slot``: INT4 nibbles of the ``half`` of ``line`` (the
        chain sign-extends them), or INT8 bytes of the whole line."""
        nibbles = line.word_select(half, 64)
        out = []
        for s in range(2):
            for i in range(self.geo.m):
                lo = (s * self.geo.m + i) * PAIR_BITS + 4
                value = Mux(w4, nibbles[4 * i:4 * i + 4], line[8 * i:8 * i + 8])
                out.append(window[lo:lo + 8].eq(Mux(slot == s, value, window[lo:lo + 8])))
        return out

    @staticmethod
    def _fill_slot(slot, slot_beat, slot_ok, beat) -> list:
        return [slot_beat[1].eq(Mux(slot, beat, slot_beat[1])),
                slot_ok[1].eq(slot_ok[1] | slot),
                slot_beat[0].eq(Mux(slot, slot_beat[0], beat)),
                slot_ok[0].eq(slot_ok[0] | ~slot)]
