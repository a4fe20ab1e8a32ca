"""Row accumulator: a VPU's output buffer, summing a row block over its k-blocks plus INT32 bias."""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out

from .dsp48e2 import Dsp48e2Accumulator
from .geometry import ChainGeometry
from .layouts import chain_out_layout
from .reduction import n_cases
from .slots import slot_count, spread


def rows_layout(geo: ChainGeometry) -> ArrayLayout:
    """``out[token][row]`` for the ``m`` rows of one 16-row block."""
    return ArrayLayout(ArrayLayout(signed(geo.acc_bits), geo.m), geo.tokens)


class RowAccumulator(wiring.Component):
    """Adds a chain's pass results into the rows they belong to (schedule.row_block_passes order).

    Ports: ``bias`` In(stream of m x signed(acc_bits)): one beat per row block, taken before its
    passes (all zeros for no bias); ``i`` In(stream of :func:`chain_out_layout`) the chain's
    results; ``o`` Out(stream of :func:`rows_layout`) the finished row block, per token.
    Row pointer: a pass with N (R = results_per_pass(N) results) covers rows r0 .. r0 + R - 1 and
    moves r0 on by R (or by 1 every passes_per_row(N) passes when N > slices); the pass flagged
    ``last`` closes the block. Row i takes ``res[i mod R]`` when ``i // R == r0 // R``: one adder
    per row, its operand from a per-N select shared by the rows i mod S (:meth:`_spread`). A
    row-packed pass (``rows2``, packed chains, one token) covers 2R rows, lane 0's results
    first, moves r0 on by 2R (or by 2) and adds into token 0's rows only. The rows are zeroed
    as ``o`` is accepted (``o.payload`` reads 0 until the next block's bias beat).
    With ``row_accumulator: dsp48e2`` each row of each token is a DSP48E2's P register
    (:class:`~.dsp48e2.Dsp48e2Accumulator`) instead of a fabric adder and register, with the
    same enable, bias, operand and clear, so the same sums in the same cycles.
    Timing: takes one result beat per cycle; the block leaves on ``o`` the cycle after its last
    pass is added, and the next bias beat is taken the cycle after ``o`` is accepted (2 cycles
    between blocks; a block of b passes occupies b + 2 cycles).
    """

    def __init__(self, geo: ChainGeometry):
        self.geo = geo
        super().__init__({"bias": In(stream.Signature(ArrayLayout(signed(geo.acc_bits), geo.m))),
                          "i": In(stream.Signature(chain_out_layout(geo))),
                          "o": Out(stream.Signature(rows_layout(geo)))})

    @property
    def block_overhead(self) -> int:
        """Cycles per row block beyond one per pass."""
        return 2

    def elaborate(self, platform):
        m = Module()
        geo, rows = self.geo, self.geo.m
        r0 = Signal(range(rows))
        # Pass counter within a row, only when some N needs more than one pass per row.
        parts = max(geo.passes_per_row(n) for n in geo.n_options)
        part = Signal(range(parts)) if parts > 1 else None
        acc = self.o.payload
        beat = self.i.payload
        load = Signal()                     # the bias beat is taken this cycle
        add = Signal()                      # a pass result beat is taken this cycle
        clear = Signal()                    # the finished block leaves: every row back to 0
        with m.FSM():
            with m.State("LOAD"):
                m.d.comb += [self.bias.ready.eq(1), load.eq(self.bias.valid)]
                with m.If(self.bias.valid):
                    m.d.sync += r0.eq(0)
                    if part is not None:
                        m.d.sync += part.eq(0)
                    m.next = "ACCUMULATE"
            with m.State("ACCUMULATE"):
                m.d.comb += [self.i.ready.eq(1), add.eq(self.i.valid)]
                with m.If(self.i.valid):
                    self._advance(m, r0, part, beat)
                    with m.If(beat.last):
                        m.next = "EMIT"
            with m.State("EMIT"):
                m.d.comb += [self.o.valid.eq(1), clear.eq(self.o.ready)]
                with m.If(self.o.ready):
                    m.next = "LOAD"
        slots = self._spread(m, beat)
        for r in range(rows):
            en = load | (add & self._hit(m, beat, r, r0))
            bias = self.bias.payload[r]
            for t in range(geo.tokens):
                share = slots[t][r % len(slots[t])]
                if geo.row_accumulator == "dsp48e2":
                    row = m.submodules[f"row{t}_{r}"] = Dsp48e2Accumulator(geo.acc_bits)
                    m.d.comb += [row.en.eq(en), row.load.eq(load), row.clear.eq(clear),
                                 row.bias.eq(bias), row.value.eq(share), acc[t][r].eq(row.p)]
                    continue
                # Rows are zeroed as a block leaves (the registers' synchronous reset) and the
                # bias is added to that zero, so a row's register has no multiplexer behind its
                # adder and its carry chain's operand is the register itself: each sum bit is
                # one LUT (register, bias, slot, load) in front of the carry chain.
                with m.If(clear):
                    m.d.sync += acc[t][r].eq(0)
                with m.Elif(en):
                    m.d.sync += acc[t][r].eq(acc[t][r] + Mux(load, bias, share))
        return m

    def _spread(self, m, beat) -> list[list[Signal]]:
        """Per token, the pass's results over S slots (:mod:`.slots`): row r takes slot r mod
        S. A row-packed pass covers 2R rows, lane 0's results first, into token 0 only:
        ``slot[s] = res[(s // R) mod 2][s mod R]`` for token 0, zero for token 1."""
        geo = self.geo
        width = slot_count(geo, geo.packed)
        slots = [spread(m, beat.res[t], beat.nlog, geo, width, f"slot{t}")
                 for t in range(geo.tokens)]
        if geo.packed:
            for n in n_cases(m, beat.nlog, geo.n_options):
                per = geo.results_per_pass(n)
                with m.If(beat.rows2):
                    m.d.comb += [slots[0][s].eq(beat.res[(s // per) % 2][s % per])
                                 for s in range(width)]
                    m.d.comb += [slots[1][s].eq(0) for s in range(width)]
        return slots

    def _hit(self, m, beat, r, r0) -> Signal:
        """Row ``r`` is one of the pass's rows: ``r // R == r0 // R`` (2R rows when row-packed)."""
        geo = self.geo
        hit = Signal(name=f"hit{r}")
        for n in n_cases(m, beat.nlog, geo.n_options):
            shift = geo.results_per_pass(n).bit_length() - 1
            m.d.comb += hit.eq((r0 >> shift) == (r >> shift))
            if geo.packed:
                with m.If(beat.rows2):
                    m.d.comb += hit.eq((r0 >> (shift + 1)) == (r >> (shift + 1)))
        return hit

    def _advance(self, m, r0, part, beat):
        geo = self.geo
        rows2 = beat.rows2 if geo.packed else 0
        for n in n_cases(m, beat.nlog, geo.n_options):
            if geo.passes_per_row(n) == 1:
                per = geo.results_per_pass(n)
                m.d.sync += r0.eq(r0 + Mux(rows2, 2 * per, per))
            else:
                with m.If(part == geo.passes_per_row(n) - 1):
                    m.d.sync += [part.eq(0), r0.eq(r0 + Mux(rows2, 2, 1))]
                with m.Else():
                    m.d.sync += part.eq(part + 1)
