"""PE array: rows (output channels) x cols (tokens), registry target ``bitmod-array``."""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.data import StructLayout
from amaranth.lib.wiring import In, Out

from ...base.errors import ConfigError
from . import layouts
from .datapath import PeDatapath
from ..delay import delay
from .fronts import ColumnActs, RowTerms
from .hier import Block, place
from .layouts import (array_act_layout, array_out_layout, array_weight_ports,
                      band_holds_layout, band_layout, row_holds_layout, terms_layout,
                      unpacked_acts_layout, weight_flags_layout, weight_port, weight_row_layout)
from .output import ArrayOutput, finalize_block
from .params import ACC_DELAY, SCALE_EXP_BITS, EngineParams, slots_of
from .row_acc import RowAccumulate
from .scale import RowScaleDecode
from .scan import GroupScan, col_bits, row_bits
from .sequencer import Sequencer


class BitmodArray(wiring.Component):
    """``rows x cols`` PEs: row r's weights are shared along the row, column c's activations
    along the column; PE (r, c) computes output channel r of token c. What a row or a column
    shares is computed once for it: per row the term decoders (:class:`~.fronts.RowTerms`) and
    the scale decoder (:class:`~.scale.RowScaleDecode`); per row unit, which serves a band of
    ``EngineParams.band_rows`` rows (one by default), the dequant multiplier and cross-group
    accumulator (:class:`~.row_acc.RowAccumulate`) and the fp16 conversion
    (:class:`~.output.ArrayOutput`); per column the fp16 unpack (:class:`~.fronts.ColumnActs`).
    A PE keeps only its lanes, adder tree and group accumulator (:class:`~.datapath.PeDatapath`).

    The PEs are grouped in tiles of ``EngineParams.tile_shape`` (the config's array ``tile``, by
    default the whole array; edge tiles may be smaller). A tile registers each of its rows'
    terms, each of its columns' activations and the step's flags once and broadcasts them to
    its PEs; it takes them from the tile to its left and the one above, so tile (R, C) runs
    R + C cycles behind the sequencer (a systolic array of tiles: no register drives more than
    one tile, and every wire between tiles is one register long). The array's inputs are
    delayed to match (column c's activations by its tile column, a row's decoded terms and
    its row unit's scale and control by its tile row).

    Ports:
      - ``w: In(stream(weight_flags_layout))``: a weight beat's handshake and the flags shared
        by all rows (first, last, dot_last, fp16_scale);
      - ``w_t0`` ... ``w_t{K-1}: In(tile_weights_layout)``: the beat's rows, per row one chunk
        (packed codes, datatype, stored group scale, row scale), one port per tile row (K =
        the tile rows), read with ``w``'s beat. One port per tile row keeps every signal under
        what Amaranth can hold (a 1024-row beat is 69 636 bits) and lets a tile row's weight
        bank drive its own tile row.
      - ``a: In(stream(array_act_layout))``: per column ``lanes`` fp16 activations.
      - ``o: Out(stream(array_out_layout))``: per finished tile ``cols`` beats, column c's beat
        holding the fp16 result of every row (``r0`` ...), ``last`` on column cols-1.
    Timing: a (w, a) beat pair is consumed every ``slots`` cycles, slots = the largest of the
    rows' datatypes (all rows of one quantized matrix have the same); the group length is the
    stream's (first/last flags, any multiple of lanes); column 0 of a tile is on ``o``
    :attr:`result_latency` cycles after the step that closes its last group (one cycle more
    per tile row after the first: :attr:`EngineParams.row_skew`; ``band_rows`` more with bands
    of several rows), column c ``c x band_rows`` cycles later (:attr:`latency`). The only
    stall is the scan control's (:class:`~.scan.GroupScan`): a closing step waits while groups
    are shorter than ``EngineParams.min_group_cycles`` or a tile's result bank still holds
    unconverted results (``o`` back-pressure); no signal is reduced over the PEs.

    ``hierarchical=True`` is for Verilog export: each PE, and each row's and column's shared
    unit, is an ``Instance`` of one module per kind (:func:`array_blocks`, listed in
    :attr:`verilog_blocks`, converted once by ``bitflight.fpga.export``) instead of an Amaranth
    submodule, so a 32 x 32 array converts in seconds and Verilator compiles each kind once
    (rtl/bitmod/hier.py), and a module-by-module synthesis maps each kind once (the registry
    target's ``modular_build``). ``hierarchical="pe"`` makes only the PE a module: what a
    flattened synthesis gets (the registry target), since Yosys maps the flattened row units
    about 3 % smaller when they come from one Amaranth netlist (8 549 against 8 792 TRELLIS_COMB
    for the tiny array). The default flat array is the one amaranth.sim can run; all give the
    same Verilog behaviour (tests/rtl/bitmod/test_bitmod_hier.py).
    """

    def __init__(self, p: EngineParams, *, hierarchical: bool | str = False):
        if hierarchical not in (False, True, "pe"):
            self._MustUse__silence = True               # a rejected array is not an unused one
            raise ValueError(f"BitmodArray: hierarchical must be False, True or 'pe', not "
                             f"{hierarchical!r}")
        self.p, self.hierarchical = p, hierarchical
        if problem := weight_beat_problem(p):
            self._MustUse__silence = True
            raise ConfigError(problem)
        super().__init__({"w": In(stream.Signature(weight_flags_layout())),
                          **{name: In(layout) for name, layout in array_weight_ports(p).items()},
                          "a": In(stream.Signature(array_act_layout(p))),
                          "o": Out(stream.Signature(array_out_layout(p)))})

    def weight_row(self, r: int):
        """Row ``r``'s weight chunk (a :func:`~.layouts.weight_row_layout` view) on its tile
        row's port."""
        return getattr(self, weight_port(r // self.p.tile_shape[0]))[layouts.row(r)]

    @property
    def verilog_blocks(self) -> tuple[Block, ...]:
        """Modules a hierarchical export must emit next to this one."""
        return hierarchy_blocks(self.p, self.hierarchical)

    @property
    def result_latency(self) -> int:
        return self.p.result_latency

    @property
    def latency(self) -> int:
        return self.p.latency

    def cycles_per_group(self, fmt: str, group_size: int | None = None) -> int:
        return self.p.cycles_per_group(fmt, group_size)

    def throughput(self, fmt: str) -> float:
        """Weight x activation products per cycle over the whole array."""
        return self.p.rows * self.p.cols * self.p.lanes / slots_of(fmt)

    def elaborate(self, platform):
        m = Module()
        p = self.p
        m.submodules.seq = seq = Sequencer()
        m.submodules.scan = scan = GroupScan(p)
        m.submodules.out = out = ArrayOutput(p, hierarchical=is_block(self.hierarchical, "finalize"))
        flags = self.w.payload
        close = Signal()
        m.d.comb += close.eq(seq.step & seq.group_end)
        blocks = array_blocks(p)

        def unit(name: str, kind: str, ports: dict) -> None:
            if is_block(self.hierarchical, kind):
                place(m, name, ports, block=blocks[kind])
            else:
                place(m, name, ports, component=blocks[kind].make())

        def row_front(r: int, skew: int) -> tuple:
            """Row r's term and scale decoders at the sequencer's time: its terms and dequant
            scale ``skew`` cycles late (its tile row's), and its PEs' hold registers."""
            w = self.weight_row(r)
            sig = Signal(p.scale_int_bits, name=f"scale_sig_r{r}")
            exp = Signal(signed(SCALE_EXP_BITS), name=f"scale_exp_r{r}")
            decoded = Signal(terms_layout(p), name=f"decoded_r{r}")
            slots = Signal(3, name=f"slots_r{r}")
            holds = Signal(row_holds_layout(p), name=f"holds_r{r}")
            unit(f"scale_{r}", "scale", {
                "scale": w.scale, "row_scale": w.row_scale, "fmt": w.fmt,
                "fp16_scale": flags.fp16_scale, "sig": sig, "exp": exp,
                "out": out.push_data[layouts.row(r)]})
            unit(f"terms_{r}", "terms", {"codes": w.codes, "fmt": w.fmt, "slot": seq.slot,
                                         "terms": decoded, "slots": slots})
            row_slots.append(slots)
            return (delay(m, decoded, skew, None, f"terms_skew_r{r}"), holds,
                    delay(m, sig, skew, None, f"scale_sig_r{r}"),
                    delay(m, exp, skew, None, f"scale_exp_r{r}"))

        def row_unit(u: int, rows: range, fronts: dict, control) -> None:
            """The row unit of band ``rows`` (its scan, dequant and result RAM) on ``control``;
            a short band's missing rows read as zero."""
            scale = Signal(band_layout(p, p.scale_int_bits), name=f"band_scale_u{u}")
            scale_exp = Signal(band_layout(p, signed(SCALE_EXP_BITS)), name=f"band_scale_exp_u{u}")
            holds = Signal(band_holds_layout(p), name=f"band_holds_u{u}")
            for b, r in enumerate(rows):
                _, row_holds, sig, exp = fronts[r]
                m.d.comb += [scale[layouts.row(b)].eq(sig), scale_exp[layouts.row(b)].eq(exp),
                             holds[layouts.row(b)].eq(row_holds)]
            unit(f"acc_{u}", "acc", {
                "close": control.close, "scale": scale, "scale_exp": scale_exp,
                "arm": control.arm, "sa_valid": control.sa_valid, "sa_col": control.sa_col,
                "sa_row": control.sa_row, "sa_bank": control.sa_bank,
                "sa_fresh": control.sa_fresh, "holds": holds, "rd_addr": out.rd_addr,
                "rd_data": out.results[f"u{u}"]})

        # tiles: the PEs of a tile share one register of each row's terms, of each column's
        # activations and of the step's flags; tile (R, C) takes them from tile (R, C - 1) and
        # tile (R - 1, C), so it runs R + C cycles behind the sequencer and no register drives
        # more than one tile (the whole array is one tile unless the config says otherwise)
        tc = p.tile_shape[1]
        grid_rows, grid_cols = p.tile_grid
        from_above = []
        for c in range(p.cols):
            unpacked = Signal(unpacked_acts_layout(p), name=f"unpack_c{c}")
            skewed = delay(m, self.a.payload[layouts.col(c)], c // tc, None, f"acts_skew_c{c}")
            unit(f"acts_{c}", "acts", {"acts": skewed, "out": unpacked})
            from_above.append(unpacked)
        # what a tile row's PEs and row units follow, passed down the tile rows a register apart
        control = Signal(row_control_layout(p), name="control_t0")
        m.d.comb += control.eq(Cat(seq.step, seq.group_end, close, scan.arm, scan.sa_valid,
                                   scan.sa_col, scan.sa_row, scan.sa_bank, scan.sa_fresh))
        row_slots = []
        bands = list(enumerate(p.bands))
        for tile_row in range(grid_rows):
            if tile_row:
                control = delay(m, control, 1, None, f"control_t{tile_row}", reset_less=False)
            rows = p.tile_row_rows(tile_row)
            fronts = {r: row_front(r, tile_row) for r in rows}
            for u, (band_tile_row, band_rows) in bands:
                if band_tile_row == tile_row:
                    row_unit(u, band_rows, fronts, control)
            from_left = {r: fronts[r][0] for r in rows}
            step_flags = Cat(control.step, control.group_end)
            for tile_col in range(grid_cols):
                cols = range(tile_col * tc, min(tile_col * tc + tc, p.cols))
                name = f"t{tile_row}_{tile_col}"
                step_flags = delay(m, step_flags, 1, None, f"flags_{name}", reset_less=False)
                pe_flags = delay(m, step_flags, ACC_DELAY - 1, None, f"pe_flags_{name}",
                                 reset_less=False)
                for r in rows:
                    from_left[r] = delay(m, from_left[r], 1, None, f"terms_r{r}_{name}")
                for c in cols:
                    from_above[c] = delay(m, from_above[c], 1, None, f"acts_c{c}_{name}")
                for r in rows:
                    for c in cols:
                        unit(f"pe_{r}_{c}", "pe", {
                            "terms": from_left[r], "acts": from_above[c], "step": pe_flags[0],
                            "group_end": pe_flags[1], "hold": fronts[r][1][layouts.col(c)]})
        m.d.comb += [seq.slots.eq(_widest(m, row_slots)),
                     seq.valid.eq(self.w.valid & self.a.valid), seq.first.eq(flags.first),
                     seq.last.eq(flags.last),
                     seq.can_step.eq(~seq.group_end | scan.close_ok),
                     scan.close.eq(close), scan.final.eq(flags.dot_last),
                     scan.out_done.eq(out.done), scan.out_bank.eq(out.done_bank),
                     out.ready.eq(scan.ready), out.ready_bank.eq(scan.ready_bank),
                     out.push.eq(close & flags.dot_last),
                     self.w.ready.eq(seq.ready), self.a.ready.eq(seq.ready)]
        wiring.connect(m, out.o, wiring.flipped(self.o))
        return m


MAX_SIGNAL_BITS = 1 << 16      # Amaranth 0.5's RTLIL backend refuses a wider wire


def weight_beat_problem(p: EngineParams) -> str | None:
    """Why the array cannot be built, if a signal of it would be wider than Amaranth allows
    (then it could be neither simulated nor exported): a tile row's weight rows or the output
    beat (one fp16 result per row)."""
    per_row = weight_row_layout(p).size
    if p.tile_shape[0] * per_row > MAX_SIGNAL_BITS:
        return (f"bitmod array of {p.rows} x {p.cols}: a tile row of {p.tile_shape[0]} rows "
                f"takes {p.tile_shape[0] * per_row} bits of weights per beat ({per_row} per "
                f"row), more than the {MAX_SIGNAL_BITS} bits Amaranth holds in one signal; at "
                f"most {MAX_SIGNAL_BITS // per_row} rows per tile (the array's tile rows)")
    if array_out_layout(p).size > MAX_SIGNAL_BITS:
        return (f"bitmod array of {p.rows} x {p.cols}: an output beat is "
                f"{array_out_layout(p).size} bits, more than the {MAX_SIGNAL_BITS} bits "
                f"Amaranth holds in one signal (the array's rows)")
    return None


def row_control_layout(p: EngineParams) -> StructLayout:
    """What a tile row's PEs (``step``, ``group_end``) and row units (the rest,
    rtl/bitmod/scan.py) take from the sequencer and the scan control, one cycle per tile row
    late."""
    return StructLayout({"step": 1, "group_end": 1, "close": 1, "arm": 1, "sa_valid": 1,
                         "sa_col": col_bits(p), "sa_row": row_bits(p), "sa_bank": 1,
                         "sa_fresh": 1})


def _widest(m: Module, values: list):
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


PE_MODULE = "bitmod_pe_datapath"


def array_blocks(p: EngineParams) -> dict[str, Block]:
    """What the array repeats, each as one Verilog module (what a hierarchical array
    instantiates): the PE datapath, per row the term decoders, the scale decoder, the row
    accumulator and the output unit's fp16 conversion, per column the fp16 unpack."""
    return {"pe": Block(PE_MODULE, lambda: PeDatapath(p)),
            "terms": Block("bitmod_row_terms", lambda: RowTerms(p), clocked=False),
            "scale": Block("bitmod_row_scale", lambda: RowScaleDecode(p), clocked=False),
            "acc": Block("bitmod_row_acc", lambda: RowAccumulate(p)),
            "acts": Block("bitmod_column_acts", lambda: ColumnActs(p), clocked=False),
            "finalize": finalize_block(p)}


def is_block(hierarchical: bool | str, kind: str) -> bool:
    """Whether a unit of ``kind`` (a key of :func:`array_blocks`) is its own Verilog module
    under a ``BitmodArray`` hierarchy mode (False, True or "pe")."""
    return hierarchical is True or (hierarchical == "pe" and kind == "pe")


def hierarchy_blocks(p: EngineParams, hierarchical: bool | str) -> tuple[Block, ...]:
    """The modules an export of an array in that mode emits beside its top."""
    return tuple(block for kind, block in array_blocks(p).items() if is_block(hierarchical, kind))
