"""The array's output unit: one fp16 conversion per row unit, scanning a finished tile's columns."""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.data import StructLayout
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from . import layouts
from .finalize import Finalize, sign_magnitude
from .hier import Block, place
from .layouts import array_out_layout, array_results_layout, out_scale_layout
from .params import OUTPUT_READ_STAGES, EngineParams
from .scan import by_row, ram_addr, ram_addr_bits, scan_order

# Tiles whose output scales are held: one per result RAM bank (rtl/bitmod/scan.py lets a tile's
# last group close only when its bank's previous results have been converted).
SCALE_DEPTH = 2


class ArrayOutput(wiring.Component):
    """Converts a finished rows x cols tile to fp16: one conversion per row unit, which reads its
    band's rows of a column one per cycle, so one column (token) per ``band_rows`` cycles.

    Ports:
      - ``ready: In(1)``, ``ready_bank: In(1)``: the first result of a tile (column 0, each
        band's first row) is written to the row units' result RAMs (bank ``ready_bank``) this
        cycle; the others follow one per cycle in the order read here, so reading one per cycle
        from the next cycle on never overtakes them.
      - ``rd_addr: Out(...)``, ``results: In(array_results_layout)``: the RAM address read in
        this cycle and every row unit's (mant, exp) there.
      - ``done: Out(1)``, ``done_bank: Out(1)``: the last result of a bank's tile is read.
      - ``push: In(1)``, ``push_data: In(rows x out_scale_layout)``: the output scales (row
        scale, unit shift) of each row of a tile, pushed when its last group closes.
      - ``o: Out(stream(array_out_layout))``: per column a beat with the fp16 result of every
        row; ``last`` on the tile's last column.
    Timing: with bands of one row, column c of a tile whose column 0 is written in cycle t is on
    ``o`` from cycle t + 1 + :attr:`latency` + c (read in t + 1 + c into a register beside the
    tile's output scales, then the :class:`~.finalize.Finalize` stages). With bands of B > 1
    rows, row b of column c is read in t + 1 + c x B + b and a register collects the beat,
    which is on ``o`` from t + :attr:`latency` + c x B + B (:attr:`latency` counts the
    collecting register). The unit's pipeline stalls as a whole while ``o`` is valid and not
    ready; nothing upstream of the RAM does (the scan control holds back a tile that would
    overwrite unread results). ``hierarchical``: each conversion is an Instance of
    :func:`finalize_block`'s module.
    """

    def __init__(self, p: EngineParams, *, hierarchical: bool = False):
        self.p, self.hierarchical = p, hierarchical
        self.push_layout = StructLayout({layouts.row(r): out_scale_layout()
                                         for r in range(p.rows)})
        super().__init__({"ready": In(1), "ready_bank": In(1),
                          "rd_addr": Out(ram_addr_bits(p)),
                          "results": In(array_results_layout(p)), "done": Out(1),
                          "done_bank": Out(1), "push": In(1), "push_data": In(self.push_layout),
                          "o": Out(stream.Signature(array_out_layout(p)))})

    @property
    def latency(self) -> int:
        """Cycles from a result's read to its beat on ``o`` (with bands of one row), or to the
        collecting register (with longer bands): :attr:`EngineParams.output_stages`."""
        return self.p.output_stages

    def elaborate(self, platform):
        m = Module()
        p = self.p
        banded = p.band_rows > 1
        m.submodules.scales = scales = SyncFIFO(width=self.push_layout.size, depth=SCALE_DEPTH)
        m.d.comb += [scales.w_data.eq(self.push_data), scales.w_en.eq(self.push)]
        head = self.push_layout(scales.r_data)

        ready, bank = Signal(2), Signal()
        advance = Signal()       # the whole pipeline moves (its output is free or taken)
        feed = Signal()
        col, row, last_read = scan_order(m, p, feed)       # the scan's order: never overtakes it
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready),
                     feed.eq(ready.bit_select(bank, 1) & advance),
                     self.rd_addr.eq(ram_addr(p, col, bank, row)),
                     self.done.eq(feed & last_read), self.done_bank.eq(bank),
                     scales.r_en.eq(feed & last_read)]
        set_mask = Mux(self.ready, 1 << self.ready_bank, 0)
        clear_mask = Mux(self.done, 1 << bank, 0)
        m.d.sync += ready.eq((ready & ~clear_mask) | set_mask)
        with m.If(feed & last_read):
            m.d.sync += bank.eq(~bank)

        # the RAM read and the tile's scales registered before the conversion: on ECP5 the read
        # address -> LUT-RAM -> |mant| x row scale was the large arrays' worst path (the scale
        # FIFO's head is popped with the last column's read, so it is registered with it)
        # the mantissa's negation (40 bits) is done here, before the read register, so the
        # conversion's first stage holds only the multiply by the row scale
        scales_r, row_r = Signal(self.push_layout), Signal.like(row)
        with m.If(advance):
            m.d.sync += [scales_r.eq(head), row_r.eq(row)]
        block = finalize_block(p)
        values = []
        for u, (_, rows) in enumerate(p.bands):
            res = self.results[f"u{u}"]
            scale = out_scale_layout()(by_row(m, [scales_r[layouts.row(r)] for r in rows], row_r,
                                              f"scale_u{u}"))
            sign, mag = sign_magnitude(res.mant)
            sign_r, mag_r = Signal(name=f"sign_u{u}"), Signal(len(mag), name=f"mag_u{u}")
            exp_r = Signal.like(res.exp, name=f"exp_u{u}")
            with m.If(advance):
                m.d.sync += [sign_r.eq(sign), mag_r.eq(mag), exp_r.eq(res.exp)]
            value = Signal(16, name=f"value_u{u}") if banded else \
                self.o.payload[layouts.row(rows[0])]
            ports = {"en": advance, "row_scale": scale.row_scale, "unit_shift": scale.unit_shift,
                     "sign": sign_r, "mag": mag_r, "exp": exp_r, "value": value}
            if self.hierarchical:
                place(m, f"finalize_{u}", ports, block=block)
            else:
                place(m, f"finalize_{u}", ports, component=block.make())
            values.append((rows, value))

        # valid, last and (with bands) the row travel beside the read register and the
        # conversion's stages
        valid, last, at_row = feed, feed & last_read, row
        for stage in range(1, self.latency):
            valid_r, last_r = Signal(name=f"s{stage}_valid"), Signal(name=f"s{stage}_last")
            row_s = Signal.like(row, name=f"s{stage}_row")
            with m.If(advance):
                m.d.sync += [valid_r.eq(valid), last_r.eq(last), row_s.eq(at_row)]
            valid, last, at_row = valid_r, last_r, row_s
        if banded:
            # the collecting register: each unit's row of the beat as it comes out; the beat is
            # valid with its last row
            with m.If(advance & valid):
                for rows, value in values:
                    with m.Switch(at_row):
                        for b, r in enumerate(rows):
                            with m.Case(b):
                                m.d.sync += self.o.payload[layouts.row(r)].eq(value)
            valid = valid & (at_row == p.band_rows - 1)
        with m.If(advance):
            m.d.sync += [self.o.valid.eq(valid), self.o.payload.last.eq(last)]
        return m


def finalize_block(p: EngineParams) -> Block:
    """One row's fp16 conversion as a Verilog module of its own (rtl/bitmod/hier.py)."""
    return Block("bitmod_finalize", lambda: Finalize(p.dp))
