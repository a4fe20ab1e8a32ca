"""VPU with its output buffer: a CSD chain feeding a row accumulator (final INT32 rows + bias)."""
from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out, connect

from .accumulator import RowAccumulator, rows_layout
from .chain import CsdChain
from .geometry import ChainGeometry
from .layouts import chain_in_layout


class Vpu(wiring.Component):
    """CsdChain + RowAccumulator: passes in (row-block order), finished 16-row blocks out.

    Ports: ``i`` In(stream of :func:`chain_in_layout`) passes ordered by
    ``schedule.row_block_passes`` with ``last`` on each block's final pass; ``bias``
    In(stream of m x signed(acc_bits)) one beat per row block; ``o`` Out(stream of
    :func:`rows_layout`) per token, the block's m INT32 outputs (``x @ W.T + bias``).
    Timing: one pass per cycle while the accumulator takes results; a block of b passes leaves
    ``latency`` cycles after its first pass is accepted, i.e. chain latency + b; back-to-back
    blocks cost b + 2 cycles each (:attr:`RowAccumulator.block_overhead`).
    """

    def __init__(self, geo: ChainGeometry):
        self.geo = geo
        super().__init__({"i": In(stream.Signature(chain_in_layout(geo))),
                          "bias": In(stream.Signature(ArrayLayout(
                              rows_layout(geo).elem_shape.elem_shape, geo.m))),
                          "o": Out(stream.Signature(rows_layout(geo)))})

    @property
    def latency(self) -> int:
        """Chain latency; the block leaves that many cycles after its last pass is accepted."""
        return self.geo.latency + 1

    @property
    def dsp_slices(self) -> int:
        """The chain's slices, plus one per row and token when the rows are DSP accumulators."""
        rows = self.geo.m * self.geo.tokens if self.geo.row_accumulator == "dsp48e2" else 0
        return self.geo.slices + rows

    def elaborate(self, platform):
        m = Module()
        chain = m.submodules.chain = CsdChain(self.geo)
        acc = m.submodules.acc = RowAccumulator(self.geo)
        connect(m, wiring.flipped(self.i), chain.i)
        connect(m, chain.o, acc.i)
        connect(m, wiring.flipped(self.bias), acc.bias)
        connect(m, acc.o, wiring.flipped(self.o))
        return m
