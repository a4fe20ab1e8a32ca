"""What the PEs of a row or a column share: a row's term decoders, a column's fp16 unpack.

A row's PEs all see the same weight chunk and a column's the same activations (rows = output
channels, columns = tokens), so the array decodes terms once per row and unpacks activations
once per column, registers them and broadcasts the registers (rtl/bitmod/array.py).
"""
from __future__ import annotations

from amaranth.hdl import Cat, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ...golden.bitserial.params import FP16_FRAC
from . import layouts
from .decoder import CodeUnpack, TermDecoder
from .layouts import acts_layout, terms_layout, unpacked_acts_layout
from .params import CODE_BITS, FMT_BITS, SLOT_BITS, EngineParams


class RowTerms(wiring.Component):
    """The term decoders of one row: packed codes -> one term per lane.

    Ports: ``codes: In(CODE_BITS * lanes)``, ``fmt: In(FMT_BITS)``, ``slot: In(SLOT_BITS)``;
    ``terms: Out(terms_layout)`` (valid, neg, shift per lane, :class:`~.decoder.TermDecoder`);
    ``slots: Out(3)``: term slots of the datatype. Combinational (:attr:`latency` = 0).
    """

    latency = 0

    def __init__(self, p: EngineParams):
        self.p = p
        super().__init__({"codes": In(CODE_BITS * p.lanes), "fmt": In(FMT_BITS),
                          "slot": In(SLOT_BITS), "terms": Out(terms_layout(p)), "slots": Out(3)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.unpack = unpack = CodeUnpack(self.p.lanes)
        m.d.comb += [unpack.fmt.eq(self.fmt), unpack.packed.eq(self.codes)]
        for j in range(self.p.lanes):
            dec = m.submodules[f"dec{j}"] = TermDecoder()
            term = self.terms[layouts.lane(j)]
            m.d.comb += [dec.fmt.eq(self.fmt), dec.code.eq(getattr(unpack, f"code{j}")),
                         dec.slot.eq(self.slot), term.valid.eq(dec.valid), term.neg.eq(dec.neg),
                         term.shift.eq(dec.shift)]
        m.d.comb += self.slots.eq(m.submodules.dec0.slots)
        return m


class ColumnActs(wiring.Component):
    """The fp16 unpack of one column: per lane significand (subnormal: no hidden bit), the
    significand minus one (for the PEs' negative products, rtl/bitmod/datapath.py), exponent
    ``max(e, 1)`` (a subnormal's scale), sign and ``nz`` (non-zero significand), as
    golden.bitserial.lane_cycle reads an activation.

    Ports: ``acts: In(acts_layout)``, ``out: Out(unpacked_acts_layout)``. Combinational.
    """

    latency = 0

    def __init__(self, p: EngineParams):
        self.p = p
        super().__init__({"acts": In(acts_layout(p)), "out": Out(unpacked_acts_layout(p))})

    def elaborate(self, platform):
        m = Module()
        for j in range(self.p.lanes):
            act, out = self.acts[layouts.lane(j)], self.out[layouts.lane(j)]
            frac, e = act[:FP16_FRAC], act[FP16_FRAC:15]
            m.d.comb += [out.sig.eq(Cat(frac, e.any())), out.sig_m1.eq(out.sig - 1),
                         out.exp.eq(e | ~e.any()), out.sign.eq(act[15]),
                         out.nz.eq(act[:15].any())]
        return m
