"""One tile row of the BitMoD array: its rows' decoders and skew, its row units and its PEs."""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.data import StructLayout
from amaranth.lib.wiring import In, Out

from . import layouts
from .hier import Block, place
from .layouts import (band_holds_layout, band_layout, out_scale_layout, result_layout,
                      row_holds_layout, terms_layout, tile_weights_layout, unpacked_acts_layout)
from .params import ACC_DELAY, SCALE_EXP_BITS, SLOT_BITS, EngineParams
from .scan import col_bits, ram_addr_bits, row_bits
from ..delay import delay, delay_ram


def row_control_layout(p: EngineParams) -> StructLayout:
    """What a tile row's PEs (``step``, ``group_end``) and row units (the rest,
    rtl/bitmod/scan.py) take from the sequencer and the scan control, one cycle per tile row
    late."""
    return StructLayout({"step": 1, "group_end": 1, "close": 1, "arm": 1, "sa_valid": 1,
                         "sa_col": col_bits(p), "sa_row": row_bits(p), "sa_bank": 1,
                         "sa_fresh": 1})


def column_acts_layout(p: EngineParams) -> StructLayout:
    """Every column's unpacked activations (fields ``c0`` ...), as they pass down the tile rows."""
    return StructLayout({layouts.col(c): unpacked_acts_layout(p) for c in range(p.cols)})


def is_block(hierarchical: bool | str, kind: str) -> bool:
    """Whether a unit of ``kind`` (a key of :func:`~.array.array_blocks`) is its own Verilog
    module under a ``BitmodArray`` hierarchy mode (False, True or "pe")."""
    return hierarchical is True or (hierarchical == "pe" and kind == "pe")


def place_unit(m: Module, name: str, kind: str, ports: dict, blocks: dict[str, Block],
               hierarchical: bool | str) -> None:
    """A unit of ``kind`` in ``m``: an Instance of its block's module or its component,
    as the hierarchy mode says (rtl/bitmod/hier.py)."""
    if is_block(hierarchical, kind):
        place(m, name, ports, block=blocks[kind])
    else:
        place(m, name, ports, component=blocks[kind].make())


def tile_row_units(p: EngineParams, tile_row: int) -> list[tuple[int, range]]:
    """(row unit number, rows) of the row units on tile row ``tile_row``."""
    return [(u, rows) for u, (k, rows) in enumerate(p.bands) if k == tile_row]


class TileRow(wiring.Component):
    """Tile row ``tile_row`` of a :class:`~.array.BitmodArray`: per row the term and scale
    decoders (at the sequencer's time), one delay line that brings all their outputs to the tile
    row's time (``tile_row`` cycles late; a RAM from 3 cycles on, rtl/delay.py ``delay_ram``),
    the row units of its bands, and its tiles of PEs.
    Inside the array it is an Amaranth submodule, so a Verilog export writes each tile row as a
    module of its own and a module-by-module synthesis maps (and ABC optimizes) one tile row at a
    time, not the whole column at once: the 1024-row column's top module was one ABC network of
    813 759 gates, more than the WebAssembly Yosys' 4 GB could hold (docs/results/resources.md).

    Ports:
      - ``w: In(tile_weights_layout)``: the tile row's weight rows of the beat;
      - ``fp16_scale: In(1)``, ``slot: In(SLOT_BITS)``: the beat's scale mode and the
        sequencer's term slot (both at the sequencer's time);
      - ``control: In(row_control_layout)``: the step and scan control, already ``tile_row``
        cycles late;
      - ``acts: In(column_acts_layout)``: the columns' unpacked activations as the tile row
        above passed them on (``acts_below: Out``: after this tile row's registers, for the
        next);
      - ``slots: Out(3)``: the largest term-slot count of its rows (combinational);
      - ``push_data: Out``: per row its output scales (:func:`~.layouts.out_scale_layout`);
      - ``rd_addr: In``, ``results: Out``: the output unit's RAM address and each of the tile
        row's row units' result there (fields ``u{u}``, array-wide unit numbers).
    Timing: as the array's (rtl/bitmod/array.py): tile column C registers its step flags,
    terms and activations ``C + 1`` cycles after ``control`` and its PEs take the flags
    ``ACC_DELAY + C`` cycles after it. ``hierarchical``: the array's mode (:func:`is_block`).
    """

    def __init__(self, p: EngineParams, tile_row: int, blocks: dict[str, Block], *,
                 hierarchical: bool | str = False):
        self.p, self.tile_row, self.blocks, self.hierarchical = p, tile_row, blocks, hierarchical
        self.rows = p.tile_row_rows(tile_row)
        self.units = tile_row_units(p, tile_row)
        super().__init__({
            "w": In(tile_weights_layout(p, tile_row)), "fp16_scale": In(1),
            "slot": In(SLOT_BITS), "control": In(row_control_layout(p)),
            "acts": In(column_acts_layout(p)), "acts_below": Out(column_acts_layout(p)),
            "slots": Out(3),
            "push_data": Out(StructLayout({layouts.row(r): out_scale_layout() for r in self.rows})),
            "rd_addr": In(ram_addr_bits(p)),
            "results": Out(StructLayout({f"u{u}": result_layout(p) for u, _ in self.units}))})

    def _unit(self, m: Module, name: str, kind: str, ports: dict) -> None:
        place_unit(m, name, kind, ports, self.blocks, self.hierarchical)

    def _row_front(self, m: Module, r: int, row_slots: list) -> list:
        """Row r's term and scale decoders at the sequencer's time: [decoded terms, dequant
        scale significand, exponent]."""
        p = self.p
        w = self.w[layouts.row(r)]
        sig = Signal(p.scale_int_bits, name=f"scale_sig_r{r}")
        exp = Signal(signed(SCALE_EXP_BITS), name=f"scale_exp_r{r}")
        decoded = Signal(terms_layout(p), name=f"decoded_r{r}")
        slots = Signal(3, name=f"slots_r{r}")
        self._unit(m, f"scale_{r}", "scale", {
            "scale": w.scale, "row_scale": w.row_scale, "fmt": w.fmt,
            "fp16_scale": self.fp16_scale, "sig": sig, "exp": exp,
            "out": self.push_data[layouts.row(r)]})
        self._unit(m, f"terms_{r}", "terms", {"codes": w.codes, "fmt": w.fmt, "slot": self.slot,
                                              "terms": decoded, "slots": slots})
        row_slots.append(slots)
        return [decoded, sig, exp]

    def _row_unit(self, m: Module, u: int, rows: range, late: dict, holds: dict) -> None:
        """The row unit of band ``rows`` (its scan, dequant and result RAM) on the rows' scales
        at the tile row's time (``late``) and their PEs' hold registers; a short band's missing
        rows read as zero."""
        p, control = self.p, self.control
        scale = Signal(band_layout(p, p.scale_int_bits), name=f"band_scale_u{u}")
        scale_exp = Signal(band_layout(p, signed(SCALE_EXP_BITS)), name=f"band_scale_exp_u{u}")
        band_holds = Signal(band_holds_layout(p), name=f"band_holds_u{u}")
        for b, r in enumerate(rows):
            _, sig, exp = late[r]
            m.d.comb += [scale[layouts.row(b)].eq(sig), scale_exp[layouts.row(b)].eq(exp),
                         band_holds[layouts.row(b)].eq(holds[r])]
        self._unit(m, f"acc_{u}", "acc", {
            "close": control.close, "scale": scale, "scale_exp": scale_exp,
            "arm": control.arm, "sa_valid": control.sa_valid, "sa_col": control.sa_col,
            "sa_row": control.sa_row, "sa_bank": control.sa_bank,
            "sa_fresh": control.sa_fresh, "holds": band_holds, "rd_addr": self.rd_addr,
            "rd_data": self.results[f"u{u}"]})

    def elaborate(self, platform):
        m = Module()
        p, rows, control = self.p, self.rows, self.control
        tc = p.tile_shape[1]
        row_slots = []
        fronts = [v for r in rows for v in self._row_front(m, r, row_slots)]
        # the decoders' outputs at the tile row's time: one delay line (one RAM and pointer from
        # 3 cycles on, rtl/delay.py) for all its rows
        skewed = delay_ram(m, fronts, self.tile_row, "skew")
        late = {r: skewed[3 * i:3 * i + 3] for i, r in enumerate(rows)}
        holds = {r: Signal(row_holds_layout(p), name=f"holds_r{r}") for r in rows}
        for u, band_rows in self.units:
            self._row_unit(m, u, band_rows, late, holds)
        m.d.comb += self.slots.eq(widest(m, row_slots))
        # the tiles: each registers its rows' terms, its columns' activations and the step
        # flags once for its PEs and passes them on right and down (rtl/bitmod/array.py)
        from_left = {r: late[r][0] for r in rows}
        from_above = [self.acts[layouts.col(c)] for c in range(p.cols)]
        step_flags = Cat(control.step, control.group_end)
        for tile_col in range(p.tile_grid[1]):
            cols = range(tile_col * tc, min(tile_col * tc + tc, p.cols))
            name = f"t{self.tile_row}_{tile_col}"
            step_flags = delay(m, step_flags, 1, None, f"flags_{name}", reset_less=False)
            pe_flags = delay(m, step_flags, ACC_DELAY - 1, None, f"pe_flags_{name}",
                             reset_less=False)
            for r in rows:
                from_left[r] = delay(m, from_left[r], 1, None, f"terms_r{r}_{name}")
            for c in cols:
                from_above[c] = delay(m, from_above[c], 1, None, f"acts_c{c}_{name}")
            for r in rows:
                for c in cols:
                    self._unit(m, f"pe_{r}_{c}", "pe", {
                        "terms": from_left[r], "acts": from_above[c], "step": pe_flags[0],
                        "group_end": pe_flags[1], "hold": holds[r][layouts.col(c)]})
        m.d.comb += [self.acts_below[layouts.col(c)].eq(from_above[c]) for c in range(p.cols)]
        return m


def widest(m: Module, values: list):
    """The largest of ``values`` by a balanced tree whose nodes are signals: an expression
    ``Mux(a > b, a, b)`` names each operand twice, so nesting it copies the whole subtree twice
    per level (2**rows cells for a chain, which is what made the 32-row array unconvertible)."""
    level = 0
    while len(values) > 1:
        nxt = []
        for i, (a, b) in enumerate(zip(values[::2], values[1::2])):
            node = Signal(3, name=f"slots_max_{level}_{i}")
            m.d.comb += node.eq(Mux(a > b, a, b))
            nxt.append(node)
        values = nxt + ([values[-1]] if len(values) % 2 else [])
        level += 1
    return values[0]
