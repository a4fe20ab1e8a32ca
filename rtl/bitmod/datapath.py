"""The datapath of one PE: term decoders, lanes, adder tree, group accumulator, dequant, and the
cross-group output accumulator; sequencing (which slot, when to step) comes from outside."""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ...golden.bitserial.weights import MIN_GROUP_EXP
from . import layouts
from .align_add import AlignAdd
from .decoder import CodeUnpack, TermDecoder
from .dequant import Dequant
from .lane import Lane
from .layouts import acts_layout, result_layout
from .params import CODE_BITS, FMT_BITS, SCALE_EXP_BITS, SLOT_BITS, EngineParams


def datapath_signature(p: EngineParams) -> wiring.Signature:
    """The ports of :class:`PeDatapath` (also what a hierarchical array's PE instances expose)."""
    return wiring.Signature({
        "codes": In(CODE_BITS * p.lanes), "fmt": In(FMT_BITS), "scale": In(p.scale_int_bits),
        "scale_exp": In(signed(SCALE_EXP_BITS)), "acts": In(acts_layout(p)),
        "slot": In(SLOT_BITS), "step": In(1), "group_first": In(1), "group_end": In(1),
        "dot_last": In(1), "can_step": Out(1), "slots": Out(3),
        "o": Out(stream.Signature(result_layout(p)))})


class PeDatapath(wiring.Component):
    """One PE's arithmetic (golden.bitserial.scalar: lane_cycle, accumulate, dequant, accumulate).

    Ports:
      - ``codes: In(CODE_BITS * lanes)``, ``fmt: In(FMT_BITS)``, ``acts: In(acts_layout)``: the
        current chunk (packed codes, hardware datatype index, fp16 activations).
      - ``scale: In(scale_int_bits)``, ``scale_exp: In(signed(6))``: the chunk's group scale as
        the dequant integer and its exponent (rtl/bitmod/scale.py decodes the stored scale once
        per row); read in the cycle that closes the group.
      - ``slot: In(SLOT_BITS)``: the term slot of this cycle.
      - ``step: In(1)``: apply this cycle's partial (the sequencer asserts it only when
        ``can_step``).
      - ``group_first``, ``group_end``, ``dot_last``: In(1): this cycle opens / closes a group;
        the closing group is the dot product's last.
      - ``can_step: Out(1)``: low when this cycle closes a group and the dequant unit is busy.
      - ``slots: Out(3)``: term slots of the chunk's datatype.
      - ``o: Out(stream(result_layout))``: finished dot products, (mant, signed exp).
    Timing: one partial per step; a group closed by the step of cycle c is dequantized in cycles
    c+1 .. c+scale_int_bits, added to the output accumulator in cycle c+scale_int_bits+1, and
    (for the last group) on ``o`` from cycle c+scale_int_bits+2 (:attr:`latency`).
    """

    def __init__(self, p: EngineParams):
        self.p = p
        super().__init__(datapath_signature(p))

    @property
    def latency(self) -> int:
        return self.p.pe_latency

    def elaborate(self, platform):
        m = Module()
        p, dp = self.p, self.p.dp
        m.submodules.unpack = unpack = CodeUnpack(p.lanes)
        m.d.comb += [unpack.fmt.eq(self.fmt), unpack.packed.eq(self.codes)]
        lanes = []
        for j in range(p.lanes):
            dec = m.submodules[f"dec{j}"] = TermDecoder()
            lane = m.submodules[f"lane{j}"] = Lane(dp)
            m.d.comb += [dec.fmt.eq(self.fmt), dec.code.eq(getattr(unpack, f"code{j}")),
                         dec.slot.eq(self.slot), lane.act.eq(self.acts[layouts.lane(j)]),
                         lane.valid.eq(dec.valid), lane.neg.eq(dec.neg),
                         lane.shift.eq(dec.shift)]
            lanes.append(lane)
        m.d.comb += self.slots.eq(m.submodules.dec0.slots)
        e_max = Signal(dp.exp_bits)
        m.d.comb += e_max.eq(_max_tree([Mux(l.live, l.exp, 0) for l in lanes]))
        partial = Signal(signed(dp.partial_bits))
        m.d.comb += [l.e_max.eq(e_max) for l in lanes]
        m.d.comb += partial.eq(_sum_tree([l.aligned for l in lanes]))

        # group accumulator (grp_accum): restarts from (0, 0) on a group's first cycle
        m.submodules.gacc = gacc = AlignAdd(dp.acc_bits, dp.partial_bits, unsigned(dp.exp_bits))
        acc, acc_exp = Signal(signed(dp.acc_bits)), Signal(dp.exp_bits)
        m.d.comb += [gacc.acc.eq(Mux(self.group_first, 0, acc)),
                     gacc.acc_exp.eq(Mux(self.group_first, 0, acc_exp)),
                     gacc.val.eq(partial), gacc.val_exp.eq(e_max)]
        m.submodules.dq = dq = Dequant(dp.acc_bits, dp.exp_bits, p.scale_int_bits, SCALE_EXP_BITS,
                                       dp.out_exp_bits)
        m.d.comb += [self.can_step.eq(~self.group_end | dq.idle),
                     dq.acc.eq(gacc.sum), dq.exp.eq(gacc.sum_exp), dq.scale.eq(self.scale),
                     dq.scale_exp.eq(self.scale_exp), dq.tag.eq(self.dot_last),
                     dq.start.eq(self.step & self.group_end)]
        with m.If(self.step):
            m.d.sync += [acc.eq(gacc.sum), acc_exp.eq(gacc.sum_exp)]

        # cross-group output accumulator: restarts after each finished dot product; signed
        # exponents (fp16 group scales), zero at MIN_GROUP_EXP as golden's exp_floor
        m.submodules.oacc = oacc = AlignAdd(dp.out_bits, p.result_bits, signed(dp.out_exp_bits),
                                            MIN_GROUP_EXP)
        out, out_exp = Signal(signed(dp.out_bits)), Signal(signed(dp.out_exp_bits))
        fresh = Signal(init=1)
        m.d.comb += [oacc.acc.eq(Mux(fresh, 0, out)), oacc.acc_exp.eq(out_exp),
                     oacc.val.eq(dq.result), oacc.val_exp.eq(dq.res_exp)]
        m.d.comb += dq.take.eq(dq.done & (~dq.res_tag | ~self.o.valid | self.o.ready))
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(dq.take):
            m.d.sync += [out.eq(oacc.sum), out_exp.eq(oacc.sum_exp), fresh.eq(dq.res_tag)]
            with m.If(dq.res_tag):
                m.d.sync += [self.o.valid.eq(1), self.o.payload.mant.eq(oacc.sum),
                             self.o.payload.exp.eq(oacc.sum_exp)]
        return m


def _max_tree(values):
    while len(values) > 1:
        nxt = [Mux(a > b, a, b) for a, b in zip(values[::2], values[1::2])]
        values = nxt + ([values[-1]] if len(values) % 2 else [])
    return values[0]


def _sum_tree(values):
    while len(values) > 1:
        nxt = [a + b for a, b in zip(values[::2], values[1::2])]
        values = nxt + ([values[-1]] if len(values) % 2 else [])
    return values[0]
