"""The BITMOD engine's metadata prefetch: while a group streams, the next group's datatype ids,
stored group scales of the array's rows (and, for a tile's first group, their row scales) are
read into a second register set, a piece of ``timing.meta_rows(lines)`` rows per field (the
tile's version 2 layout stores a block's rows of a group side by side, so a piece is one
contiguous field of the metadata reader).

Position of the tile being fetched, kept incrementally (no division by the runtime block B, no
product of the position: the code address is kept as sums too):
``n0`` the first row of its block, ``s`` its offset inside the block (B is a multiple of the
array's rows), ``Bq = B`` the rows of every block (the tile's blocks are stored whole); entry ``n0 * ng + g * Bq + s`` is
the tile's first row of group ``g`` in the ids/scales sections, and its first beat starts at code
bit ``(n0 * ng + g * Bq) * G * b + s * lanes * b`` (golden.quant.packing, version 2).
"""
from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Module, Mux, Signal

from .timing import meta_rows
REGS = (("fmt", 4), ("scale", 16), ("row_scale", 16))


@dataclass
class TileHeader:
    """What the fetch needs of the engine: header fields and section bit addresses."""
    n: Signal
    m: Signal
    ng: Signal
    block: Signal
    group_bits: Signal          # G * b
    lane_bits: Signal           # lanes * b
    id_bits: Signal
    fp16_mode: Signal
    codes_bit: Signal
    ids_bit: Signal
    scales_bit: Signal
    rows_bit: Signal


class MetaFetch:
    """Registers ``cur`` (the streaming group's, per row: fmt, scale, row_scale) and ``stride``
    (bits between its beats); ``next``, ``next_stride`` the same for the group being fetched,
    and ``next_code`` its first beat's bit address. ``go`` starts an instruction; ``take``
    moves the next group's registers to the current ones when ``valid``."""

    def __init__(self, rows: int, cols: int, addr_bits: int, lines: int = 1):
        self.rows, self.cols, self.ab = rows, cols, addr_bits
        self.piece_rows = meta_rows(lines)      # 16-bit entries filling the reader's field
        self.cur = [[Signal(w, name=f"{n}{r}") for n, w in REGS] for r in range(rows)]
        self.next = [[Signal(w, name=f"next_{n}{r}") for n, w in REGS] for r in range(rows)]
        self.next_code = Signal(addr_bits)
        self.stride, self.next_stride = Signal(addr_bits), Signal(addr_bits)
        self.valid, self.take, self.go = Signal(), Signal(), Signal()

    @property
    def pieces(self) -> int:
        return -(-self.rows // self.piece_rows)

    def elaborate(self, m: Module, h: TileHeader, reader, fmt_of_id) -> None:
        """The fetch FSM on ``reader`` (a FieldReader of at least ``16 * min(rows,
        piece_rows)`` bits); ``fmt_of_id(value, m)`` the
        hardware format of a datatype id."""
        R, C, ab = self.rows, self.cols, self.ab
        g, r0, c0 = Signal(20), Signal(16), Signal(16)        # the group being fetched
        n0, s = Signal(16), Signal(16)
        block_entry, group_entry = Signal(ab), Signal(ab)     # n0 * ng, n0 * ng + g * Bq
        piece, item = Signal(range(self.pieces + 1)), Signal(2)  # item 0 id, 1 scale, 2 row
        bq = Signal(17)
        m.d.comb += bq.eq(h.block)          # full blocks (the engine checks the flag)
        entry = Signal(ab)
        P = self.piece_rows
        # the next group's first code bit, kept as sums instead of products of the position:
        # products of header fields, registered in stages (the header is read before
        # TILE_CHECK; the first step is taken at the first group's hand-over, 5 cycles or more
        # later), each a step of one of the sums (ECP5: the products chained two multipliers
        # into next_code, 14.6 ns)
        code_base, group_step, block_step, s_step, stride, block_entries = (
            Signal(ab, name=n) for n in ("code_base", "group_step", "block_step", "s_step",
                                         "stride_bits", "block_entries"))
        m.d.sync += [code_base.eq(h.codes_bit), group_step.eq(bq * h.group_bits),
                     block_step.eq(group_step * h.ng), s_step.eq(R * h.lane_bits),
                     stride.eq(bq * h.lane_bits), block_entries.eq(h.block * h.ng)]
        code_group, code_block, code_s = (Signal(ab, name=n)
                                          for n in ("code_group", "code_block", "code_s"))
        m.d.comb += entry.eq(group_entry + s + piece * P)
        rows = min(R, P)                                      # rows of a piece
        # fp16 mode has no row scales; int mode's are the tile's rows', the same for each of
        # its groups, so only a tile's first group fetches them (next[r][2] keeps them)
        last_item = Mux(h.fp16_mode | (g != 0), 1, 2)
        # the field's address and span are registered a cycle before it is asked for: the
        # address sums and the reader's line compare were one path (ECP5, 23 ns)
        addr, span = Signal(ab), Signal(range(16 * rows + 1))
        with m.FSM(name="meta_fsm"):
            with m.State("WAIT"):
                with m.If(self.go):
                    m.d.sync += [g.eq(0), r0.eq(0), c0.eq(0), n0.eq(0), s.eq(0),
                                 block_entry.eq(0), group_entry.eq(0), piece.eq(0),
                                 item.eq(0), self.valid.eq(0), code_group.eq(0),
                                 code_block.eq(0), code_s.eq(0)]
                    m.next = "ADDR"
            with m.State("ADDR"):
                with m.Switch(item):
                    with m.Case(0):             # 0, 1 or 2 bits per id
                        m.d.sync += [addr.eq(h.ids_bit + Mux(h.id_bits[1], entry << 1, entry)),
                                     span.eq(rows * h.id_bits[:2])]
                    with m.Case(1):             # fp16 or u8 scales
                        m.d.sync += [addr.eq(h.scales_bit + Mux(h.fp16_mode, entry << 4,
                                                                entry << 3)),
                                     span.eq(Mux(h.fp16_mode, rows * 16, rows * 8))]
                    with m.Default():
                        m.d.sync += [addr.eq(h.rows_bit + ((r0 + piece * P) << 4)),
                                     span.eq(rows * 16)]
                m.next = "FETCH"
            with m.State("FETCH"):
                m.d.comb += [reader.req.eq(1), reader.addr.eq(addr), reader.span.eq(span)]
                with m.If(reader.hit):
                    self._store(m, h, reader.data, piece, item, fmt_of_id)
                    with m.If((item == 0) & (piece == 0)):
                        m.d.sync += [self.next_code.eq(code_base + code_group + code_s),
                                     self.next_stride.eq(stride)]
                    m.d.sync += piece.eq(piece + 1)
                    m.next = "ADDR"
                    with m.If(piece == self.pieces - 1):
                        m.d.sync += [piece.eq(0), item.eq(item + 1)]
                        with m.If(item == last_item):
                            m.d.sync += [item.eq(0), self.valid.eq(1)]
                            m.next = "FULL"
            with m.State("FULL"):
                with m.If(self.take):
                    m.d.sync += self.valid.eq(0)
                    m.next = "ADDR"
                    with m.If(g + 1 != h.ng):
                        m.d.sync += [g.eq(g + 1), group_entry.eq(group_entry + bq),
                                     code_group.eq(code_group + group_step)]
                    with m.Elif(r0 + R < h.n):
                        m.d.sync += [g.eq(0), r0.eq(r0 + R)]
                        with m.If(s + R == h.block):             # the next block
                            next_block = block_entry + block_entries
                            next_code = code_block + block_step
                            m.d.sync += [n0.eq(n0 + h.block), s.eq(0),
                                         block_entry.eq(next_block), group_entry.eq(next_block),
                                         code_block.eq(next_code), code_group.eq(next_code),
                                         code_s.eq(0)]
                        with m.Else():
                            m.d.sync += [s.eq(s + R), group_entry.eq(block_entry),
                                         code_s.eq(code_s + s_step), code_group.eq(code_block)]
                    with m.Elif(c0 + C < h.m):
                        m.d.sync += [g.eq(0), r0.eq(0), c0.eq(c0 + C), n0.eq(0), s.eq(0),
                                     block_entry.eq(0), group_entry.eq(0), code_group.eq(0),
                                     code_block.eq(0), code_s.eq(0)]
                    with m.Else():
                        m.next = "WAIT"
        with m.If(self.take):
            for r in range(R):
                m.d.sync += [now.eq(later) for now, later in zip(self.cur[r], self.next[r])]
            m.d.sync += self.stride.eq(self.next_stride)

    def _store(self, m, h, data, piece, item, fmt_of_id):
        """Row ``piece * piece_rows + t`` takes entry ``t`` of the field just read."""
        P = self.piece_rows
        for t in range(min(self.rows, P)):
            gid = Mux(h.id_bits == 0, 0,
                      Mux(h.id_bits == 1, data[t], data[2 * t:2 * t + 2]))
            fmt = fmt_of_id(gid, m)
            scale = Mux(h.fp16_mode, data[16 * t:16 * t + 16], data[8 * t:8 * t + 8])
            for p in range(self.pieces):
                r = p * P + t
                if r >= self.rows:
                    continue
                with m.If(piece == p):
                    with m.Switch(item):
                        with m.Case(0):
                            m.d.sync += self.next[r][0].eq(fmt)
                        with m.Case(1):
                            m.d.sync += self.next[r][1].eq(scale)
                        with m.Default():
                            m.d.sync += self.next[r][2].eq(data[16 * t:16 * t + 16])
