"""A row unit's back end: dequantization and cross-group accumulation of its band's PEs' groups."""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ...golden.bitserial.weights import MIN_GROUP_EXP
from . import layouts
from .align_add import AlignAdd
from .layouts import band_holds_layout, band_layout, result_layout
from .params import SCALE_EXP_BITS, SCAN_STAGES, EngineParams
from .scan import band_bits, by_row, col_bits, ram_addr, ram_addr_bits, row_bits


class RowAccumulate(wiring.Component):
    """golden.bitserial's dequant and cross-group accumulate for the PEs of a band of
    ``band_rows`` rows (one row by default), one PE per cycle (the scan, rtl/bitmod/scan.py:
    column by column, within a column row by row), so no PE holds a dequant unit or an output
    accumulator.

    Ports:
      - ``close: In(1)``, ``scale: In(...)``, ``scale_exp: In(...)``: a group closes; each band
        row's (fields ``r0`` ...) dequant integer and exponent (:class:`~.scale.RowScaleDecode`).
      - ``arm: In(1)``: that group is in the hold registers; its scales become the scan's.
      - ``sa_valid``, ``sa_col``, ``sa_row``, ``sa_bank``, ``sa_fresh``: In: the scan's read
        stage.
      - ``holds: In(band_holds_layout)``: the PEs' closed group sums.
      - ``rd_addr: In(...)``, ``rd_data: Out(result_layout)``: the output unit's read port of the
        result RAM (asynchronous).
    Timing: the scan reads PE (row, c)'s hold register in cycle t, multiplies ``R = A * s``
    (exact, golden ``dequant``; its exponent ``X + s_exp``) in t+1 while reading that PE's
    running sum from the RAM, aligns R and the sum in t+2 and adds them in t+3 (AlignAdd 40 b
    in two stages, zero at MIN_GROUP_EXP), writing the RAM at the end of t+3 (:attr:`latency`
    = SCAN_STAGES = 4). The RAM holds ``2 x cols x band_rows`` sums: a dot product accumulates
    in the bank of its parity while the other bank's results are converted.
    """

    def __init__(self, p: EngineParams):
        self.p = p
        self.row_bits = band_bits(p)
        self.addr_bits = ram_addr_bits(p)
        super().__init__({
            "close": In(1), "scale": In(band_layout(p, p.scale_int_bits)),
            "scale_exp": In(band_layout(p, signed(SCALE_EXP_BITS))),
            "arm": In(1), "sa_valid": In(1), "sa_col": In(col_bits(p)),
            "sa_row": In(row_bits(p)), "sa_bank": In(1), "sa_fresh": In(1),
            "holds": In(band_holds_layout(p)), "rd_addr": In(self.addr_bits),
            "rd_data": Out(result_layout(p))})

    latency = SCAN_STAGES

    def elaborate(self, platform):
        m = Module()
        p, dp = self.p, self.p.dp
        # the scale of a closing group waits for its sums to reach the hold registers; a group
        # closes at least ACC_DELAY cycles after the previous one, so one spare register does
        s_layout, e_layout = self.scale.shape(), self.scale_exp.shape()
        next_s, next_e = Signal(s_layout, name="next_s"), Signal(e_layout, name="next_e")
        cur_s, cur_e = Signal(s_layout, name="cur_s"), Signal(e_layout, name="cur_e")
        with m.If(self.close):
            m.d.sync += [next_s.eq(self.scale), next_e.eq(self.scale_exp)]
        with m.If(self.arm):
            m.d.sync += [cur_s.eq(next_s), cur_e.eq(next_e)]

        layout = result_layout(p)
        m.submodules.ram = ram = Memory(shape=layout, depth=1 << self.addr_bits, init=[])
        old_port, out_port = ram.read_port(domain="comb"), ram.read_port(domain="comb")
        write = ram.write_port()
        m.d.comb += [out_port.addr.eq(self.rd_addr), self.rd_data.eq(out_port.data)]

        # read stage: the hold register of the scan's PE, and its row's scale
        a_mant, a_exp = Signal(signed(dp.acc_bits)), Signal(dp.exp_bits)
        row = self.sa_row[:self.row_bits]
        with m.Switch(Cat(self.sa_col, row)):
            for b in range(p.band_rows):
                for c in range(p.cols):
                    with m.Case(c | b << len(self.sa_col)):
                        hold = self.holds[layouts.row(b)][layouts.col(c)]
                        m.d.comb += [a_mant.eq(hold.mant), a_exp.eq(hold.exp)]
        rows = [layouts.row(b) for b in range(p.band_rows)]
        a_s = by_row(m, [cur_s[r] for r in rows], row, "a_s")
        a_e = by_row(m, [cur_e[r] for r in rows], row, "a_e")
        b_mant, b_exp = Signal.like(a_mant), Signal.like(a_exp)
        b_s, b_e = Signal.like(a_s), Signal.like(a_e)
        b_fresh, b_valid = Signal(), Signal()
        b_addr = Signal(self.addr_bits)
        m.d.sync += [b_mant.eq(a_mant), b_exp.eq(a_exp), b_s.eq(a_s), b_e.eq(a_e),
                     b_fresh.eq(self.sa_fresh), b_valid.eq(self.sa_valid),
                     b_addr.eq(ram_addr(p, self.sa_col, self.sa_bank, self.sa_row))]

        # dequant stage: R = A * s exactly (35 b), exponent X + s_exp, or MIN_GROUP_EXP for a
        # zero R (golden: a zero operand has no exponent; a PE's zero group sum may come with
        # any exponent, GroupAccumulator). Zero is read off the factors, so the align stage
        # need not test the 35-bit product
        c_prod = Signal(signed(p.result_bits))
        c_exp = Signal(signed(dp.out_exp_bits))
        c_fresh, c_valid = Signal(), Signal()
        c_addr = Signal(self.addr_bits)
        m.d.sync += [c_prod.eq(b_mant * b_s),
                     c_exp.eq(Mux(b_mant.any() & b_s.any(), b_exp + b_e, MIN_GROUP_EXP)),
                     c_fresh.eq(b_fresh), c_valid.eq(b_valid), c_addr.eq(b_addr)]

        # output accumulator (signed exponents, zero at MIN_GROUP_EXP as golden's exp_floor): the
        # column's running sum is read from the RAM two stages before the write (asynchronous
        # read at b_addr, registered), so the RAM read, the alignment and the 40-bit add are
        # three paths. No write to that address can be in flight: a column is scanned once per
        # group and groups close at least min_group_cycles >= SCAN_STAGES - 1 cycles apart
        # (params.py), so the next read of a column comes after this scan's write
        # (test_one_column_groups_back_to_back_stay_exact)
        m.submodules.oacc = oacc = AlignAdd(dp.out_bits, p.result_bits, signed(dp.out_exp_bits),
                                            MIN_GROUP_EXP, acc_zero_at_floor=True,
                                            val_zero_at_floor=True)
        c_old = Signal(layout)
        m.d.comb += old_port.addr.eq(b_addr)
        m.d.sync += c_old.eq(old_port.data)
        d_valid, d_addr = Signal(), Signal(self.addr_bits)
        m.d.sync += [d_valid.eq(c_valid), d_addr.eq(c_addr)]
        # a stored zero sum has exponent MIN_GROUP_EXP (AlignAdd returns it so) and a fresh
        # group replaces the RAM's word (also its never-written reset value) by that zero, so
        # the adder need not test the 40-bit sum for zero
        m.d.comb += [oacc.acc.eq(Mux(c_fresh, 0, c_old.mant)),
                     oacc.acc_exp.eq(Mux(c_fresh, MIN_GROUP_EXP, c_old.exp)),
                     oacc.val.eq(c_prod), oacc.val_exp.eq(c_exp),
                     write.en.eq(d_valid), write.addr.eq(d_addr),
                     write.data.mant.eq(oacc.sum), write.data.exp.eq(oacc.sum_exp)]
        return m
