"""PE array: rows (output channels) x cols (tokens), registry target ``bitmod-array``."""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...base.errors import ConfigError
from . import layouts
from .datapath import PeDatapath
from ..delay import delay
from .fronts import ColumnActs, RowTerms
from .hier import Block
from .layouts import (array_act_layout, array_out_layout, array_weight_ports,
                      weight_flags_layout, weight_port, weight_row_layout)
from .output import ArrayOutput, finalize_block
from .params import EngineParams, slots_of
from .row_acc import RowAccumulate
from .scale import RowScaleDecode
from .scan import GroupScan
from .sequencer import Sequencer
from .tile_row import (TileRow, column_acts_layout, is_block, place_unit, row_control_layout,
                       widest)


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
    its row unit's scale and control by its tile row). Each tile row (its rows' decoders and
    delay lines, its row units and its PEs) is a :class:`~.tile_row.TileRow` submodule, so an
    export writes it as a Verilog module of its own.

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
        # the columns' activations, unpacked once each, skewed by their tile column
        acts = Signal(column_acts_layout(p), name="acts_t0")
        for c in range(p.cols):
            skewed = delay(m, self.a.payload[layouts.col(c)], c // p.tile_shape[1], None,
                           f"acts_skew_c{c}")
            place_unit(m, f"acts_{c}", "acts", {"acts": skewed, "out": acts[layouts.col(c)]},
                       blocks, self.hierarchical)
        # the tile rows (rtl/bitmod/tile_row.py): each takes the step and scan control one
        # register later than the one above, and the activations from it
        control = Signal(row_control_layout(p), name="control_t0")
        m.d.comb += control.eq(Cat(seq.step, seq.group_end, close, scan.arm, scan.sa_valid,
                                   scan.sa_col, scan.sa_row, scan.sa_bank, scan.sa_fresh))
        tile_slots = []
        for k in range(p.tile_grid[0]):
            if k:
                control = delay(m, control, 1, None, f"control_t{k}", reset_less=False)
            tile = TileRow(p, k, blocks, hierarchical=self.hierarchical)
            m.submodules[f"tile_row_{k}"] = tile
            m.d.comb += [tile.w.eq(getattr(self, weight_port(k))),
                         tile.fp16_scale.eq(flags.fp16_scale), tile.slot.eq(seq.slot),
                         tile.control.eq(control), tile.acts.eq(acts),
                         tile.rd_addr.eq(out.rd_addr)]
            m.d.comb += [out.push_data[layouts.row(r)].eq(tile.push_data[layouts.row(r)])
                         for r in tile.rows]
            m.d.comb += [out.results[f"u{u}"].eq(tile.results[f"u{u}"]) for u, _ in tile.units]
            acts = tile.acts_below
            tile_slots.append(tile.slots)
        m.d.comb += [seq.slots.eq(widest(m, tile_slots)),
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


def hierarchy_blocks(p: EngineParams, hierarchical: bool | str) -> tuple[Block, ...]:
    """The modules an export of an array in that mode emits beside its top."""
    return tuple(block for kind, block in array_blocks(p).items() if is_block(hierarchical, kind))
