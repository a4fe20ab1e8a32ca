"""MM / MV with engine BITMOD: fp16 activations x a packed BitMoD (or INT / FP) weight tile on the
``rtl/bitmod`` PE array, fp16 results to OUT, bit for bit as sim.isa (golden.ops.linear_bitmod).

Schedule: the result ``O[m, n]`` is cut into array tiles of ``rows`` outputs x ``cols`` tokens
(columns outer, rows inner). For each tile and each group, the metadata of its rows (datatype
id -> hardware format, stored group scale, row scale) is read first (:mod:`.meta`); then the
group's chunks of ``lanes`` weights / activations stream into the array, one beat per ``slots``
cycles when the readers hit. The tile is in golden.quant's version 2 layout (blocks of a
multiple of ``rows`` rows, chunks of ``lanes``, the last block stored whole) with its codes
starting a WGT row, so a beat's codes of all the array's rows are one of a few fixed slices of
the WGT rows the beat reader holds (:mod:`.beat`). Tokens past ``m`` repeat the last token; rows
past ``n`` read the last block's padding rows (their results are not written); activations past
``k`` (the zero-padded last group) are +0.0.
"""
from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ....compiler import isa
from ...bitmod import layouts
from ...bitmod.array import BitmodArray
from ...bitmod.params import ACT_BITS, CODE_BITS, EngineParams
from ..faults import Fault, TileFault
from ..params import TopParams
from ..shared import shared_factories
from ..unit import fields, pulse_fault, unit_signature
from . import timing
from .meta import MetaFetch, TileHeader
from .beat import BeatReader
from .reader import FieldReader, addr_bits
from .tile import (BLOCKED_VERSION, HEADER_WORDS, MAGIC_WORD, MODE_FP16, MODE_INT, Word,
                   hw_formats)
from .writer import RowWriter

LINE = isa.LINE_BYTES
UNREADABLE_A = (isa.DType.INT8, isa.DType.INT32, isa.DType.FP32)   # other engines / sim.isa paths


class BitmodEngine(wiring.Component):
    """Ports: ``unit`` (MM or MV); ``rd``: the readers (one for header and metadata and the beat
    reader, both on whole WGT rows of ``params.wgt_lines`` lines, then one per array column for
    the activations); ``wr``: one write client on OUT. Checks, in sim.isa's order: A's element
    type (DTYPE), A in ACT, B in WGT (BUFFER_RANGE), the tile header (TILE: magic, datatypes the
    array decodes, scale mode, shape against n/k, group a multiple of lanes, the version 2 layout
    of the array's rows and lanes, full blocks and codes at a WGT row), o_dt FP16 (RESULT_TYPE),
    acc 0 (ACCUMULATE), O in OUT. Timing: :mod:`.timing`; ``done`` the cycle after the last
    result line is written."""

    def __init__(self, params: TopParams, engine: EngineParams, queue: isa.Queue):
        self.params, self.ep, self.queue = params, engine, queue
        super().__init__({"unit": In(unit_signature(isa.BY_QUEUE[queue], params))})
        W = params.wgt_lines
        self._meta = FieldReader(params, timing.meta_width(engine, W), wide=True,
                                 grain=timing.meta_grain(engine, W),     # header, metadata
                                 single=timing.meta_single_row(engine, W))
        self._beat = BeatReader(params, engine)
        self._acts = [FieldReader(params, ACT_BITS * engine.lanes) for _ in range(engine.cols)]
        self._writer = RowWriter(params, 2 * engine.rows)
        self.rd = [r.rd for r in [self._meta, self._beat, *self._acts]]
        self.wr = [self._writer.wr]

    @staticmethod
    def accepts(view):
        unreadable = 0
        for dt in UNREADABLE_A:
            unreadable = unreadable | (view.a_dt == dt)
        return ((view.engine == isa.Engine.BITMOD) & ~view.skip_pad
                & (view.b_dt != isa.DType.FP16) & ~unreadable)

    def elaborate(self, platform):
        m = Module()
        p, ep = self.params, self.ep
        R, C, lanes = ep.rows, ep.cols, ep.lanes
        ins = fields(self.unit, isa.BY_QUEUE[self.queue].name)
        m.submodules.array = arr = BitmodArray(ep)
        m.submodules.meta = meta = self._meta
        m.submodules.writer = writer = self._writer
        m.submodules.beat = beats = self._beat
        for i, r in enumerate(self._acts):
            m.submodules[f"acts{i}"] = r
        readers = [meta, beats, *self._acts]
        AB = addr_bits(p)
        start = self.unit.start
        for r in readers:
            m.d.comb += r.flush.eq(start)
        m.d.comb += meta.buf.eq(isa.Buf.WGT)
        for r in self._acts:
            m.d.comb += r.buf.eq(isa.Buf.ACT)

        # -- header words and the fields taken from them ------------------------------------
        hdr = [Signal(32, name=f"hdr{w}") for w in range(HEADER_WORDS)]
        version, scheme, bits = hdr[Word.VERSION][:16], hdr[Word.VERSION][16:24], \
            hdr[Word.VERSION][24:32]
        mode, id_bits, zp_bits = hdr[Word.MODE][:8], hdr[Word.MODE][8:16], hdr[Word.MODE][16:24]
        flags = hdr[Word.MODE][24:32]
        group, ng = hdr[Word.G], hdr[Word.NG][:20]
        block, chunk = hdr[Word.LAYOUT][:16], hdr[Word.LAYOUT][16:]
        fp16_mode = mode == MODE_FP16
        b_bit = Signal(AB)
        m.d.comb += b_bit.eq(ins.b_addr << 7)

        def section_bit(word):
            out = Signal(AB, name=f"sec{int(word)}_bit")
            m.d.comb += out.eq(b_bit + (hdr[word] << 3))
            return out
        head = TileHeader(n=ins.n, m=ins.m, ng=ng, block=block, group_bits=Signal(AB),
                          lane_bits=Signal(AB), id_bits=id_bits, fp16_mode=fp16_mode,
                          codes_bit=section_bit(Word.CODES), ids_bit=section_bit(Word.IDS),
                          scales_bit=section_bit(Word.SCALES), rows_bit=section_bit(Word.ROWS))
        # registered: the header is read before TILE_CHECK and these are first used after it;
        # as sums of products of header words they chained two multipliers into the next
        # group's code address (ECP5, 14.6 ns)
        m.d.sync += [head.group_bits.eq(group * bits[:4]), head.lane_bits.eq(lanes * bits[:4])]

        table = hw_formats()
        fmt_ok = Signal()
        with m.Switch(Cat(bits, scheme)):
            for (sid, b), hws in table.items():
                with m.Case(b | (sid << 8)):
                    m.d.comb += fmt_ok.eq(id_bits == (len(hws) - 1).bit_length())

        def fmt_of_id(gid, m):
            out = Signal(4)
            with m.Switch(Cat(bits, scheme)):
                for (sid, b), hws in table.items():
                    with m.Case(b | (sid << 8)):
                        with m.Switch(gid):
                            for i, hw in enumerate(hws):
                                with m.Case(i):
                                    m.d.comb += out.eq(hw)
            return out

        # -- loop state ----------------------------------------------------------------------
        r0, c0 = Signal(16), Signal(16)          # first row (output) / column (token) of the tile
        g = Signal(20)                           # group of the dot product
        jn = Signal(32)                          # element within the group
        e = Signal(32)                           # element within the dot product
        hbits = timing.header_bits(ep, p.wgt_lines)      # header words read at a time: hw
        hw = hbits // 32
        hword = Signal(range(HEADER_WORDS // hw + 1))
        act_base = [Signal(AB, name=f"act_base{c}") for c in range(C)]
        m_last = ins.m - 1

        def clamp(v, last):
            return Mux(v > last, last, v)

        # -- metadata of the next group, fetched while the current one streams --------------
        fetch = MetaFetch(R, C, AB, p.wgt_lines)
        m.d.comb += meta.span.eq(hbits)     # header fields; the fetch sets its own
        fetch.elaborate(m, head, meta, fmt_of_id)

        # -- beat to the array ---------------------------------------------------------------
        # whether this beat ends the group (jn + lanes == group), registered: the beat reader's
        # take and the FSM read it on the beat's path
        at_last = Signal()
        first, last = jn == 0, at_last
        dot_last = g + 1 == ng
        w_beat, a_beat = arr.w.payload, arr.a.payload
        m.d.comb += [w_beat.first.eq(first), w_beat.last.eq(last), w_beat.dot_last.eq(dot_last),
                     w_beat.fp16_scale.eq(fp16_mode)]
        code_addr = Signal(AB)
        # registered for the beat reader's take: the next beat's address within the group (a path
        # from the array's ready through the sum into the reader's window was critical on ECP5)
        code_next = Signal(AB)
        streaming, grouping = Signal(), Signal()
        code_base = Mux(grouping, fetch.next_code, code_addr)
        m.d.comb += [beats.addr.eq(code_base), beats.bits.eq(bits[:4])]
        for r in range(R):
            row = arr.weight_row(r)
            fmt, scale, row_scale = fetch.cur[r]
            m.d.comb += [row.fmt.eq(fmt), row.scale.eq(scale), row.row_scale.eq(row_scale),
                         row.codes.eq(beats.codes[r * lanes * CODE_BITS:
                                                 (r + 1) * lanes * CODE_BITS])]
        for c, rdr in enumerate(self._acts):
            m.d.comb += [rdr.addr.eq(act_base[c] + (e << 4)), rdr.span.eq(ACT_BITS * lanes)]
            col = a_beat[layouts.col(c)]
            for j in range(lanes):
                live = e + j < ins.k
                m.d.comb += col[layouts.lane(j)].eq(
                    Mux(live, rdr.data[ACT_BITS * j:ACT_BITS * (j + 1)], 0))
        hits = Cat(beats.hit, *[r.hit for r in self._acts]).all()
        m.d.comb += [arr.w.valid.eq(streaming & hits), arr.a.valid.eq(streaming & hits),
                     beats.req.eq(streaming | (grouping & fetch.valid))]
        beat = arr.w.valid & arr.w.ready
        # the next beat of the stream, when there is one: the window moves with this take
        m.d.comb += [beats.take.eq(beat & (~at_last | (~dot_last & fetch.valid))),
                     beats.ahead.eq(Mux(at_last, fetch.next_code, code_next))]
        first_of_group = [code_next.eq(fetch.next_code + fetch.next_stride),
                          at_last.eq(group == lanes)]
        final_tile = (r0 + R >= ins.n) & (c0 + C >= ins.m)

        # -- result side: its own tile counters, in the same order ---------------------------
        or0, oc0, ocol = Signal(16), Signal(16), Signal(range(C + 1))   # C + 1: no 0-bit signal
        out_done = Signal()
        ocolumn = Signal(17)
        m.d.comb += ocolumn.eq(oc0 + ocol)
        left = Signal(17)
        m.d.comb += left.eq(ins.n - or0)
        # the column's byte offset 2 (ocolumn x n + or0), kept as a sum: the product fed the
        # writer's address (ECP5, 14.2 ns)
        col_off, two_n, back = Signal(34), Signal(18), Signal(34)
        m.d.sync += [two_n.eq(ins.n << 1), back.eq((ins.n * (C - 1)) << 1)]
        m.d.comb += [writer.addr.eq((ins.o_addr << 4) + col_off),
                     writer.data.eq(Cat(*[arr.o.payload[layouts.row(r)] for r in range(R)])),
                     writer.count.eq(Mux(left >= R, 2 * R, left << 1))]
        keep = ocolumn < ins.m
        m.d.comb += writer.valid.eq(arr.o.valid & keep & ~out_done)
        m.d.comb += arr.o.ready.eq(Mux(keep, writer.done, arr.o.valid))
        with m.If(arr.o.valid & arr.o.ready):
            with m.If(ocol == C - 1):
                m.d.sync += ocol.eq(0)
                with m.If(or0 + R >= ins.n):
                    m.d.sync += [or0.eq(0), col_off.eq(col_off + two_n - (or0 << 1))]
                    with m.If(oc0 + C >= ins.m):
                        m.d.sync += out_done.eq(1)
                    with m.Else():
                        m.d.sync += oc0.eq(oc0 + C)
                with m.Else():
                    m.d.sync += [or0.eq(or0 + R), col_off.eq(col_off - back + 2 * R)]
            with m.Else():
                m.d.sync += [ocol.eq(ocol + 1), col_off.eq(col_off + two_n)]

        # -- control -------------------------------------------------------------------------
        def size_check(lo, nbytes, buf):
            return lo + nbytes > p.buffer_bytes[buf]
        a_lo, b_lo, o_lo = ins.a_addr * LINE, ins.b_addr * LINE, ins.o_addr * LINE
        a_bytes = Signal(34)
        o_bytes = Signal(34)
        # registered: the instruction's fields hold from start on, and CHECK is a cycle later
        # (the products into the range compares were the MV engine's critical path on ECP5)
        m.d.sync += [a_bytes.eq(ins.m * ins.k * 2), o_bytes.eq(ins.m * ins.n * 2)]
        b_bytes = ins.b_lines * LINE
        hdr_nk, ins_nk = Cat(hdr[Word.K], hdr[Word.N]), Cat(ins.k, Const(0, 16), ins.n)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(start):
                    m.d.sync += [out_done.eq(0), hword.eq(0), or0.eq(0), oc0.eq(0), ocol.eq(0),
                                 col_off.eq(0)]
                    m.next = "CHECK"
            with m.State("CHECK"):
                with m.If(ins.a_dt != isa.DType.FP16):
                    pulse_fault(m, self.unit, Fault.DTYPE, ins.a_dt)
                    m.next = "DONE"
                with m.Elif(size_check(a_lo, a_bytes, isa.Buf.ACT)):
                    pulse_fault(m, self.unit, Fault.BUFFER_RANGE, a_lo, a_lo + a_bytes,
                                isa.Buf.ACT)
                    m.next = "DONE"
                with m.Elif(size_check(b_lo, b_bytes, isa.Buf.WGT)):
                    pulse_fault(m, self.unit, Fault.BUFFER_RANGE, b_lo, b_lo + b_bytes,
                                isa.Buf.WGT)
                    m.next = "DONE"
                with m.Else():
                    m.next = "HEADER"
            with m.State("HEADER"):
                m.d.comb += [meta.req.eq(1),
                             meta.addr.eq(b_bit + (hword << (hbits.bit_length() - 1)))]
                with m.If(meta.hit):
                    with m.Switch(hword):
                        for h in range(HEADER_WORDS // hw):
                            with m.Case(h):
                                m.d.sync += [hdr[hw * h + w].eq(meta.data[32 * w:32 * w + 32])
                                             for w in range(hw)]
                    m.d.sync += hword.eq(hword + 1)
                    with m.If(hword == HEADER_WORDS // hw - 1):
                        m.next = "TILE_CHECK"
            with m.State("TILE_CHECK"):
                with m.If((hdr[Word.MAGIC] != MAGIC_WORD)
                          | ((version != 1) & (version != BLOCKED_VERSION))):
                    pulse_fault(m, self.unit, Fault.TILE, hdr[Word.MAGIC], version,
                                TileFault.MAGIC)
                    m.next = "DONE"
                with m.Elif(~fmt_ok):
                    pulse_fault(m, self.unit, Fault.TILE, scheme, bits, TileFault.FORMAT)
                    m.next = "DONE"
                with m.Elif(((mode != MODE_FP16) & (mode != MODE_INT)) | (zp_bits != 0)):
                    pulse_fault(m, self.unit, Fault.TILE, mode, zp_bits, TileFault.SCALE)
                    m.next = "DONE"
                with m.Elif(hdr_nk != ins_nk):
                    pulse_fault(m, self.unit, Fault.TILE, hdr_nk, ins_nk, TileFault.SHAPE)
                    m.next = "DONE"
                with m.Elif((group == 0) | (group % lanes != 0)):
                    pulse_fault(m, self.unit, Fault.TILE, group, lanes, TileFault.GROUP)
                    m.next = "DONE"
                with m.Elif((version != BLOCKED_VERSION) | (chunk != lanes) | (block == 0)
                            | (block % R != 0)):
                    pulse_fault(m, self.unit, Fault.TILE, Cat(chunk, block, version),
                                (R << 16) | lanes, TileFault.LAYOUT)
                    m.next = "DONE"
                with m.Elif(~flags[0] | Cat(*[s[:p.wgt_row_bits.bit_length() - 1] for s in (
                        head.codes_bit, head.ids_bit, head.scales_bit, head.rows_bit)]).any()):
                    pulse_fault(m, self.unit, Fault.TILE, (flags << 32) | head.codes_bit[7:],
                                p.wgt_lines, TileFault.ALIGN)
                    m.next = "DONE"
                with m.Elif(ins.o_dt != isa.DType.FP16):
                    pulse_fault(m, self.unit, Fault.RESULT_TYPE, ins.o_dt)
                    m.next = "DONE"
                with m.Elif(ins.acc):
                    pulse_fault(m, self.unit, Fault.ACCUMULATE)
                    m.next = "DONE"
                with m.Elif(size_check(o_lo, o_bytes, isa.Buf.OUT)):
                    pulse_fault(m, self.unit, Fault.BUFFER_RANGE, o_lo, o_lo + o_bytes,
                                isa.Buf.OUT)
                    m.next = "DONE"
                with m.Elif((ins.m == 0) | (ins.n == 0)):
                    m.next = "DONE"
                with m.Else():
                    m.d.comb += fetch.go.eq(1)
                    m.d.sync += [r0.eq(0), c0.eq(0)]
                    m.next = "TILE"
            with m.State("TILE"):
                for c in range(C):
                    m.d.sync += act_base[c].eq((ins.a_addr << 7)
                                               + ((clamp(c0 + c, m_last) * ins.k) << 4))
                m.d.sync += [g.eq(0), jn.eq(0), e.eq(0), at_last.eq(group == lanes)]
                m.next = "GROUP"
            with m.State("GROUP"):
                m.d.comb += grouping.eq(1)
                with m.If(fetch.valid):
                    m.d.comb += fetch.take.eq(1)
                    m.d.sync += [code_addr.eq(fetch.next_code), *first_of_group]
                    m.next = "STREAM"
            with m.State("STREAM"):
                m.d.comb += streaming.eq(1)
                with m.If(beat):
                    m.d.sync += [e.eq(e + lanes), jn.eq(jn + lanes),
                                 code_addr.eq(code_addr + fetch.stride),
                                 code_next.eq(code_next + fetch.stride),
                                 at_last.eq(jn + 2 * lanes == group)]
                    with m.If(last):
                        m.d.sync += [jn.eq(0), g.eq(g + 1), at_last.eq(group == lanes)]
                        m.next = "GROUP"
                        with m.If(~dot_last & fetch.valid):      # the next group goes on
                            m.d.comb += fetch.take.eq(1)
                            m.d.sync += [code_addr.eq(fetch.next_code), *first_of_group]
                            m.next = "STREAM"
                        with m.If(dot_last):
                            m.next = "TILE"
                            with m.If(final_tile):
                                m.next = "DRAIN"
                            with m.Elif(r0 + R >= ins.n):
                                m.d.sync += [r0.eq(0), c0.eq(c0 + C)]
                            with m.Else():
                                m.d.sync += r0.eq(r0 + R)
            with m.State("DRAIN"):
                with m.If(out_done):
                    m.next = "DONE"
            with m.State("DONE"):
                m.d.comb += self.unit.done.eq(1)
                m.next = "IDLE"
        # in GROUP the readers already ask for the group's first fields (the codes at the
        # prefetched address): a new tile's refills start a cycle early
        for r in self._acts:
            m.d.comb += r.req.eq(streaming | grouping)
        return m


def bitmod_factories(cfg) -> dict:
    """Per queue (MM, MV), a factory ``params -> [engine]`` of the BITMOD engine: MM on the
    prefill array, MV on the decode array, or one array for both queues when the config gives
    them the same shape (``bitmod.one_array``; :mod:`..shared`); empty without a BitMoD
    section."""
    if cfg.bitmod is None:
        return {}

    def make(params, queue):
        prefill, decode = params.bitmod
        return BitmodEngine(params, prefill if queue == isa.Queue.MM else decode, queue)
    if cfg.bitmod.one_array:
        return shared_factories(make)
    return {q: (lambda q: lambda p: [make(p, q)])(q) for q in (isa.Queue.MM, isa.Queue.MV)}
