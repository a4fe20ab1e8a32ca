"""Row accumulator: a VPU's output buffer, summing a row block over its k-blocks plus INT32 bias."""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import stream, wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out

from .geometry import ChainGeometry
from .layouts import chain_out_layout
from .reduction import nlog_of


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
    ``last`` closes the block. Row i takes ``res[i mod R]`` when ``i // R == r0 // R``, so each row
    has one adder and a per-N 4:1 select, whatever the pass. A row-packed pass (``rows2``, packed
    chains, one token) covers 2R rows, lane 0's results first, moves r0 on by 2R (or by 2) and
    adds into token 0's rows only.
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
        with m.FSM():
            with m.State("LOAD"):
                m.d.comb += self.bias.ready.eq(1)
                with m.If(self.bias.valid):
                    m.d.sync += [acc[t][r].eq(self.bias.payload[r])
                                 for t in range(geo.tokens) for r in range(rows)]
                    m.d.sync += r0.eq(0)
                    if part is not None:
                        m.d.sync += part.eq(0)
                    m.next = "ACCUMULATE"
            with m.State("ACCUMULATE"):
                m.d.comb += self.i.ready.eq(1)
                with m.If(self.i.valid):
                    self._add(m, r0, acc, beat)
                    self._advance(m, r0, part, beat)
                    with m.If(beat.last):
                        m.next = "EMIT"
            with m.State("EMIT"):
                m.d.comb += self.o.valid.eq(1)
                with m.If(self.o.ready):
                    m.next = "LOAD"
        return m

    def _add(self, m, r0, acc, beat):
        geo = self.geo
        for r in range(geo.m):
            hit = Signal(name=f"hit{r}")
            picks = [Signal(signed(geo.acc_bits), name=f"pick{r}_{t}") for t in range(geo.tokens)]
            with m.Switch(beat.nlog):
                for n in geo.n_options:
                    with m.Case(nlog_of(n)):
                        self._select(m, beat, geo.results_per_pass(n), r, r0, hit, picks)
            for t in range(geo.tokens):
                m.d.sync += acc[t][r].eq(acc[t][r] + Mux(hit, picks[t], 0))

    def _select(self, m, beat, per, r, r0, hit, picks):
        """Row ``r``'s share of a pass with ``per`` results per lane: ``res[t][r mod per]`` per
        token, or for a row-packed pass (2 x ``per`` rows, lane 1 after lane 0) token 0 takes
        ``res[lane of r][r mod per]``."""
        def per_token():
            shift = per.bit_length() - 1
            m.d.comb += hit.eq((r0 >> shift) == (r >> shift))
            m.d.comb += [pick.eq(beat.res[t][r % per]) for t, pick in enumerate(picks)]
        if not self.geo.packed:
            per_token()
            return
        shift2 = per.bit_length()
        with m.If(beat.rows2):
            m.d.comb += [hit.eq((r0 >> shift2) == (r >> shift2)),
                         picks[0].eq(beat.res[(r // per) % 2][r % per]), picks[1].eq(0)]
        with m.Else():
            per_token()

    def _advance(self, m, r0, part, beat):
        geo = self.geo
        rows2 = beat.rows2 if geo.packed else 0
        with m.Switch(beat.nlog):
            for n in geo.n_options:
                with m.Case(nlog_of(n)):
                    if geo.passes_per_row(n) == 1:
                        per = geo.results_per_pass(n)
                        m.d.sync += r0.eq(r0 + Mux(rows2, 2 * per, per))
                    else:
                        with m.If(part == geo.passes_per_row(n) - 1):
                            m.d.sync += [part.eq(0), r0.eq(r0 + Mux(rows2, 2, 1))]
                        with m.Else():
                            m.d.sync += part.eq(part + 1)
