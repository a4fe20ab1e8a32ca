"""The array's group scan control: when a group may close, and the row units' column scan."""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..delay import delay
from .params import ACC_DELAY, SCAN_STAGES, EngineParams


def col_bits(p: EngineParams) -> int:
    """Width of a column index (at least 1 bit: no 0-bit signals)."""
    return max(1, (p.cols - 1).bit_length())


def band_bits(p: EngineParams) -> int:
    """Width of a row's index within its row unit's band (0 when a unit serves one row)."""
    return (p.band_rows - 1).bit_length()


def row_bits(p: EngineParams) -> int:
    """Width of the scan's row index (at least 1 bit: no 0-bit signals)."""
    return max(1, band_bits(p))


def ram_addr_bits(p: EngineParams) -> int:
    """Width of :func:`ram_addr`."""
    return band_bits(p) + col_bits(p) + 1


def ram_addr(p: EngineParams, col, bank, row):
    """A row unit's result RAM address: the row within the band (no bits when a unit serves one
    row), the column and the dot product's bank (its parity)."""
    return Cat(row[:band_bits(p)], col, bank)


def scan_order(m: Module, p: EngineParams, en) -> tuple:
    """The scan's position (col, row), column by column and within a column row by row,
    advanced on ``en`` and back to (0, 0) after the last; and whether it is at the last."""
    col, row = Signal(col_bits(p), name="scan_col"), Signal(row_bits(p), name="scan_row")
    last_row, last_col = row == p.band_rows - 1, col == p.cols - 1
    with m.If(en):
        m.d.sync += row.eq(Mux(last_row, 0, row + 1))
        with m.If(last_row):
            m.d.sync += col.eq(Mux(last_col, 0, col + 1))
    return col, row, last_row & last_col


def by_row(m: Module, values: list, row, name: str):
    """``values[row]`` as a signal (``values[0]`` for a row past the list)."""
    out = Signal(values[0].shape(), name=name)
    m.d.comb += out.eq(values[0])
    with m.Switch(row):
        for b in range(1, len(values)):
            with m.Case(b):
                m.d.comb += out.eq(values[b])
    return out


class GroupScan(wiring.Component):
    """One per array. A closed group's sums wait in the PEs' hold registers; each row unit reads
    those of its band (``band_rows`` rows, a row per unit by default) one per cycle, column by
    column and within a column row by row (the *scan*: read, dequant multiply, output align-add
    into the unit's result RAM). Nothing downstream of the scan's read can stall, so whether a
    group may close is known when its last step is issued:

    - the previous scan must have read its last column by the time the new sums reach the hold
      registers, and a row unit has one spare scale register: at least
      :attr:`EngineParams.min_group_cycles` cycles between closing steps;
    - a dot product accumulates in the RAM bank of its parity; its results stay there until the
      output unit has converted them, so a group of the dot product after next waits for that.

    The control is the first tile row's: the PEs of tile row R close the group R cycles later
    (the array's tiles, rtl/bitmod/array.py) and its row units get ``close``, ``arm`` and the
    scan's read stage R cycles late, so within a row the timing is the first row's.

    Ports:
      - ``close: In(1)``, ``final: In(1)``: the sequencer steps the chunk that closes a group
        (``final``: the dot product's last); ``close_ok: Out(1)``: such a step may happen now.
      - ``arm: Out(1)``: the closed group is in PE (0, 0)'s hold register from the next
        cycle (ACC_DELAY cycles after ``close``); the row unit takes its scale as the scan's.
      - ``sa_valid, sa_col, sa_row, sa_bank, sa_fresh``: Out: the scan's read stage: column,
        row within the band (0 when bands are one row), RAM bank, and whether the group is the
        first of its dot product (the RAM's old value is ignored).
      - ``ready: Out(1)``, ``ready_bank: Out(1)``: the first result of a dot product (column
        0, the band's first row) is written to the last row unit's RAM this cycle (the output
        unit may read it from the next one, and reads the rest in the scan's order).
      - ``out_done: In(1)``, ``out_bank: In(1)``: the output unit read the last column of a
        bank's results.
    """

    def __init__(self, p: EngineParams):
        self.p = p
        super().__init__({"close": In(1), "final": In(1), "close_ok": Out(1), "arm": Out(1),
                          "sa_valid": Out(1), "sa_col": Out(col_bits(p)),
                          "sa_row": Out(row_bits(p)), "sa_bank": Out(1),
                          "sa_fresh": Out(1), "ready": Out(1), "ready_bank": Out(1),
                          "out_done": In(1), "out_bank": In(1)})

    def elaborate(self, platform):
        m = Module()
        p = self.p
        spacing = p.min_group_cycles
        gap = Signal(range(spacing + 1), init=spacing)      # cycles since the last close
        bank, fresh = Signal(), Signal(init=1)              # the dot product being accumulated
        pending = Signal(2)                                 # a bank holds unconverted results
        m.d.comb += self.close_ok.eq((gap == spacing) & ~pending.bit_select(bank, 1))
        with m.If(self.close):
            m.d.sync += [gap.eq(1), fresh.eq(self.final)]
            with m.If(self.final):
                m.d.sync += bank.eq(~bank)
        with m.Elif(gap != spacing):
            m.d.sync += gap.eq(gap + 1)
        set_mask = Mux(self.close & self.final, 1 << bank, 0)
        clear_mask = Mux(self.out_done, 1 << self.out_bank, 0)
        m.d.sync += pending.eq((pending & ~clear_mask) | set_mask)

        # the closing step's flags travel beside its partial to the group accumulator
        fields = delay(m, Cat(self.close, self.final, fresh, bank), ACC_DELAY, None, "closed",
                       reset_less=False)
        arm, final, first, arm_bank = fields[0], fields[1], fields[2], fields[3]
        m.d.comb += self.arm.eq(arm)

        # a scan ends before the next group arms (min_group_cycles), so it starts at (0, 0)
        col, row, last = scan_order(m, p, self.sa_valid)
        cur_final = Signal()
        with m.If(self.sa_valid & last):
            m.d.sync += self.sa_valid.eq(0)
        with m.If(arm):
            m.d.sync += [self.sa_valid.eq(1), self.sa_bank.eq(arm_bank),
                         self.sa_fresh.eq(first), cur_final.eq(final)]
        m.d.comb += [self.sa_col.eq(col), self.sa_row.eq(row)]

        # column 0 (its first row) of a final scan reaches the first tile row's RAM write
        # SCAN_STAGES - 1 cycles after its read, the last tile row's row_skew cycles later (the
        # row units of tile row R run the scan R cycles late)
        tail = delay(m, Cat(self.sa_valid & cur_final & (col == 0) & (row == 0), self.sa_bank),
                     SCAN_STAGES - 1 + p.row_skew, None, "ready", reset_less=False)
        m.d.comb += [self.ready.eq(tail[0]), self.ready_bank.eq(tail[1])]
        return m
